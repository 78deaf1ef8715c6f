//! The state every handler shares: the store, the schemas, the settings, SSO, the token cache
//! and the webhook sender.

use std::sync::Arc;

use crate::config::Settings;
use crate::scim::schema::Registry;
use crate::sso::login::Sso;
use crate::store::Store;
use crate::tenant::tokens::GrantCache;
use crate::webhooks::sender::Sender;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub registry: Arc<Registry>,
    pub settings: Arc<Settings>,
    pub sso: Arc<Sso>,
    pub grants: Arc<GrantCache>,
    /// Each SCIM token's request rate.
    pub rate_limits: Arc<crate::http::rate_limit::TokenRateLimits>,
    /// What `/metrics` reports.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Sends signed webhook requests (one connection pool for every delivery).
    pub webhook_sender: Sender,
}
