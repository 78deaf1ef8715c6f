//! scim-gateway: a multi-tenant SCIM 2.0 provisioning gateway.
//!
//! Layers, from the outside in: `cli` and `http` (thin), `tenant` (every tenant rule), `sso`
//! (OpenID Connect and session tokens), `webhooks` (signing and sending events), `scim`
//! (the protocol, no HTTP or SQL) and `store` (SQLite and PostgreSQL behind one interface).

pub mod app;
pub mod cli;
pub mod clock;
pub mod config;
pub mod http;
pub mod metrics;
pub mod scim;
pub mod sso;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod tenant;
pub mod webhooks;
