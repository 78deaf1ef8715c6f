//! PATCH documents from arbitrary bytes: parsed as JSON, then as a PatchOp applied to a user and,
//! split into attribute and member changes, to a group. Never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scim_gateway::scim::filter::FilterLimits;
use scim_gateway::scim::limits::AttributeLimits;
use scim_gateway::scim::members::split_group_patch;
use scim_gateway::scim::patch::{apply_patch, parse_patch_request};
use serde_json::{Map, Value, json};

#[path = "schemas.rs"]
mod schemas;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let Some((users, groups)) = schemas::users_and_groups() else {
        return;
    };
    let user = json!({"userName": "É", "name": {"givenName": "a"}, "emails": [{"value": "e@x", "type": "work"}]});
    let user = user.as_object().cloned().unwrap_or_default();
    let limits = FilterLimits::default();
    if let Ok(request) = parse_patch_request(&body, 1000) {
        let _ = apply_patch(users, &user, "u1", &request, limits);
        if let Ok(split) = split_group_patch(request, limits, AttributeLimits::default()) {
            let _ = apply_patch(groups, &Map::new(), "g1", &split.attributes, limits);
        }
    }
});
