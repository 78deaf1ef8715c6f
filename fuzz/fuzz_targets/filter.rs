//! Filters, attribute paths, projections and list parameters from arbitrary text: each parses or
//! is refused, and a filter that parses compiles to SQL for both engines and evaluates.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scim_gateway::scim::filter::{FilterLimits, matches_resource, parse_filter};
use scim_gateway::scim::list::{ListLimits, ListRequest};
use scim_gateway::scim::path::parse_path;
use scim_gateway::scim::projection::Projection;
use scim_gateway::store::{Dialect, FilterSubject, TenantId, plan_list};
use scim_gateway::tenant::query::list_query;

#[path = "schemas.rs"]
mod schemas;

fuzz_target!(|text: &str| {
    let Some((users, groups)) = schemas::users_and_groups() else {
        return;
    };
    let limits = FilterLimits::default();
    if let Ok(filter) = parse_filter(text, limits) {
        let user =
            serde_json::json!({"userName": "É", "emails": [{"value": "e@x", "type": "work"}]});
        matches_resource(&filter, users, &user);
    }
    for schemas in [users, groups] {
        let _ = parse_path(schemas, text, limits);
        let _ = Projection::parse(schemas, Some(text), Some(text));
    }
    let list_limits = ListLimits {
        filter: limits,
        default_page_size: 100,
        max_page_size: 1000,
        cursor_timeout_secs: 3600,
    };
    // Filter, sort and cursor each on their own: a cursor refuses any sortBy before it is
    // compiled, and a bad cursor would stop the filter from being compiled.
    let requests = [
        ListRequest {
            filter: Some(text.to_string()),
            ..ListRequest::default()
        },
        ListRequest {
            sort_by: Some(text.to_string()),
            ..ListRequest::default()
        },
        ListRequest {
            cursor: Some(text.to_string()),
            ..ListRequest::default()
        },
    ];
    for dialect in [Dialect::Sqlite, Dialect::Postgres] {
        for request in &requests {
            if let Ok(query) = list_query(users, &TenantId::new("t"), request, list_limits, 0) {
                let _ = plan_list(dialect, FilterSubject::Users, users, &query);
            }
        }
    }
});
