//! The state every handler shares: the store, the schemas, the settings, SSO, the token cache
//! and the webhook sender.

use std::sync::Arc;

use crate::config::Settings;
use crate::scim::schema::Registry;
use crate::sso::login::Sso;
use crate::store::Store;
use crate::tenant::tokens::GrantCache;
use crate::webhooks::sender::Sender;

/// A handle on the shared state: cloning it (axum does for every extractor and layer that takes
/// it, a few times per request) is one reference count, where cloning the state itself was a
/// dozen, on counters every core touches (1.7 % of a write's CPU, issue #21).
#[derive(Clone)]
pub struct AppState(Arc<SharedState>);

impl AppState {
    pub fn new(shared: SharedState) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = SharedState;

    fn deref(&self) -> &SharedState {
        &self.0
    }
}

pub struct SharedState {
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
