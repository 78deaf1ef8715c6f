//! Resource, Bulk and search bodies from arbitrary bytes, read against the schemas.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use scim_gateway::scim::bulk::parse_bulk_request;
use scim_gateway::scim::list::ListRequest;
use scim_gateway::scim::resource::parse_resource;
use scim_gateway::scim::schema::Registry;
use serde_json::Value;

/// The schemas, loaded once per process rather than per input.
static REGISTRY: OnceLock<Option<Registry>> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<Value>(data) else { return };
    let Some(registry) = REGISTRY.get_or_init(|| Registry::load().ok()) else { return };
    let (Some(users), Some(groups)) = (registry.user(), registry.resource_schemas("Group")) else {
        return;
    };
    let _ = parse_resource(users, &body);
    let _ = parse_resource(groups, &body);
    let _ = parse_bulk_request(&body, 1000);
    let _ = ListRequest::from_search_body(&body);
});
