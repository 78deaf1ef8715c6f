//! The state every handler shares: the store, the schemas, the settings, SSO and the token cache.

use std::sync::Arc;

use crate::config::Settings;
use crate::scim::schema::Registry;
use crate::sso::login::Sso;
use crate::store::Store;
use crate::tenant::tokens::GrantCache;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub registry: Arc<Registry>,
    pub settings: Arc<Settings>,
    pub sso: Arc<Sso>,
    pub grants: Arc<GrantCache>,
}
