//! The User and Group schemas every target reads against, loaded once per process rather than
//! per input. Included by each target with `#[path]` (cargo fuzz builds each as its own binary).

use std::sync::OnceLock;

use scim_gateway::scim::schema::{Registry, ResourceSchemas};

static REGISTRY: OnceLock<Option<Registry>> = OnceLock::new();

/// The users' and the groups' schemas, or `None` if the schema files do not load.
pub fn users_and_groups() -> Option<(ResourceSchemas<'static>, ResourceSchemas<'static>)> {
    let registry = REGISTRY.get_or_init(|| Registry::load().ok()).as_ref()?;
    Some((registry.user()?, registry.resource_schemas("Group")?))
}
