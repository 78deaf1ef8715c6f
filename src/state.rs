//! The state every handler shares: the store, the schemas, the settings and SSO.

use std::sync::Arc;

use crate::config::Settings;
use crate::scim::schema::Registry;
use crate::sso::login::Sso;
use crate::store::Store;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub registry: Arc<Registry>,
    pub settings: Arc<Settings>,
    pub sso: Arc<Sso>,
}
