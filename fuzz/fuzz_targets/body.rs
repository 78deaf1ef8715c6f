//! Resource, Bulk and search bodies from arbitrary bytes, read against the schemas.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scim_gateway::scim::bulk::parse_bulk_request;
use scim_gateway::scim::list::ListRequest;
use scim_gateway::scim::resource::parse_resource;
use serde_json::Value;

#[path = "schemas.rs"]
mod schemas;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let Some((users, groups)) = schemas::users_and_groups() else {
        return;
    };
    let _ = parse_resource(users, &body);
    let _ = parse_resource(groups, &body);
    let _ = parse_bulk_request(&body, 1000);
    let _ = ListRequest::from_search_body(&body);
});
