//! Delivering events to the host product's webhook endpoints: Standard Webhooks signatures
//! (signature.rs), which URLs an endpoint may have (target.rs), and one signed request (sender.rs).

pub mod endpoints;
pub mod message;
pub mod sender;
pub mod signature;
pub mod target;
pub mod worker;
