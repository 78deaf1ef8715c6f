//! PATCH documents from arbitrary bytes: parsed as JSON, then as a PatchOp applied to a user and,
//! split into attribute and member changes, to a group. Never a panic.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use scim_gateway::scim::filter::FilterLimits;
use scim_gateway::scim::members::split_group_patch;
use scim_gateway::scim::patch::{apply_patch, parse_patch_request};
use scim_gateway::scim::schema::Registry;
use serde_json::{Map, Value, json};

/// The schemas, loaded once per process rather than per input.
static REGISTRY: OnceLock<Option<Registry>> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<Value>(data) else { return };
    let Some(registry) = REGISTRY.get_or_init(|| Registry::load().ok()) else { return };
    let (Some(users), Some(groups)) = (registry.user(), registry.resource_schemas("Group")) else {
        return;
    };
    let user = json!({"userName": "É", "name": {"givenName": "a"}, "emails": [{"value": "e@x", "type": "work"}]});
    let user = user.as_object().cloned().unwrap_or_default();
    let limits = FilterLimits::default();
    if let Ok(request) = parse_patch_request(&body, 1000) {
        let _ = apply_patch(users, &user, "u1", &request, limits);
        if let Ok(split) = split_group_patch(request, limits) {
            let _ = apply_patch(groups, &Map::new(), "g1", &split.attributes, limits);
        }
    }
});
