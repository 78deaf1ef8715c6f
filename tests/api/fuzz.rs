//! Every parser that reads client text, fed hostile text: arbitrary Unicode, and grammar pieces
//! mixed with multi-byte characters, control characters, escapes, case-folding oddities and
//! unbalanced brackets. The property is that each answers (`Ok` or a SCIM error) and never panics.
//!
//! CI runs a few thousand cases per target. A long run (README, "Fuzzing"):
//! `FUZZ_SECONDS=600 cargo test --release --test api fuzz:: -- --test-threads 1`
//! gives each target that many seconds. `SEEDS` is the kept corpus: inputs that broke (or were
//! written to break) a parser, run every time before the generated ones.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Map, Value, json};

use scim_gateway::clock::now_micros;
use scim_gateway::scim::bulk::parse_bulk_request;
use scim_gateway::scim::filter::{FilterLimits, matches_resource, parse_filter};
use scim_gateway::scim::limits::AttributeLimits;
use scim_gateway::scim::list::{ListLimits, ListRequest};
use scim_gateway::scim::members::split_group_patch;
use scim_gateway::scim::patch::{apply_patch, parse_patch_request};
use scim_gateway::scim::path::parse_path;
use scim_gateway::scim::projection::Projection;
use scim_gateway::scim::resource::parse_resource;
use scim_gateway::scim::schema::{Registry, ResourceSchemas};
use scim_gateway::store::{Dialect, FilterSubject, TenantId, plan_list};
use scim_gateway::tenant::query::list_query;

/// Hand-written hostile inputs, and any that a run finds: each is fed to every text target.
const SEEDS: &[&str] = &[
    "abcé pr",
    "éabc eq \"x\"",
    "urn:é",
    "urné:x",
    "urn:ietf:params:scim:schemas:core:2.0:Useré:name",
    "emails[type eq \"wörk\"].valué",
    "emails[value co \"😀\"",
    "members[value eq \"x\"]é",
    "name.givené",
    ".é",
    "membersé",
    "Membersé[value eq \"1\"]",
    "😀😀😀😀",
    "用户名 eq \"用户\"",
    "İ eq \"ı\"",
    "ﬁrstName pr",
    "userName eq \"\\ud800\"",
    "userName eq \"\\u0000\"",
    "userName eq \"a\u{0}\"",
    "((((((((((((((((((userName pr))))))))))))))))))",
    "not(not(not(not(userName pr))))",
    "emails[emails[type eq \"x\"] pr]",
    "userName eq",
    "eq eq eq",
    "\"",
    "[",
    "]",
    "userName gt 1e99999",
    "meta.lastModified gt \"2011-13-45T99:99:99Z\"",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq \"é\"",
    "urn:ietf:params:scim:schemas:extension:gateway:2.0:User:maxChats gt 5",
    "",
    " ",
    ",,,",
    "\u{feff}userName pr",
    "\u{202e}userName pr",
];

/// Grammar pieces and hostile characters, joined in random orders.
const PIECES: &[&str] = &[
    "userName",
    "emails",
    "members",
    "name",
    "givenName",
    "value",
    "type",
    "urn:ietf:params:scim:schemas:core:2.0:User",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    "urn:ietf:params:scim:schemas:extension:gateway:2.0:User",
    "urn:",
    "urn",
    ":",
    ".",
    "[",
    "]",
    "(",
    ")",
    "\"",
    "\\",
    "\\u0000",
    "\\ud800",
    "\\\"",
    " eq ",
    " co ",
    " sw ",
    " gt ",
    " pr",
    " and ",
    " or ",
    "not ",
    "true",
    "null",
    "1e999",
    "-0",
    "2011-05-13T04:42:34Z",
    "é",
    "😀",
    "用户",
    "İ",
    "ß",
    "ﬁ",
    "ａ",
    "\u{0}",
    "\u{1}",
    "\u{7f}",
    "\u{feff}",
    "\u{202e}",
    "\u{10ffff}",
    " ",
    ",",
    "$ref",
];

pub(crate) fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        prop::collection::vec(prop::sample::select(PIECES), 0..12).prop_map(|p| p.concat()),
        (
            prop::sample::select(SEEDS),
            prop::sample::select(PIECES),
            any::<String>()
        )
            .prop_map(|(seed, piece, tail)| format!("{seed}{piece}{tail}")),
    ]
}

/// JSON whose strings and member names are hostile text, nested a few levels.
pub(crate) fn hostile_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        hostile_text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        let key = prop_oneof![
            hostile_text(),
            prop::sample::select(PIECES).prop_map(str::to_string)
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key, inner), 0..6)
                .prop_map(|fields| Value::Object(fields.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A PATCH request with hostile ops, paths and values.
pub(crate) fn hostile_patch() -> impl Strategy<Value = Value> {
    let op = prop_oneof![
        prop::sample::select(&["add", "Add", "replace", "Replace", "remove", "REMOVE"][..])
            .prop_map(str::to_string),
        hostile_text(),
    ];
    let operation = (
        op,
        prop::option::of(hostile_text()),
        prop::option::of(hostile_json()),
    )
        .prop_map(|(op, path, value)| {
            let mut o = Map::new();
            o.insert("op".into(), op.into());
            if let Some(path) = path {
                o.insert("path".into(), path.into());
            }
            if let Some(value) = value {
                o.insert("value".into(), value);
            }
            Value::Object(o)
        });
    prop::collection::vec(operation, 0..5).prop_map(|ops| {
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
    })
}

/// Runs `target` on every seed-derived input and on generated ones: a fixed number of cases, or
/// for `FUZZ_SECONDS` seconds.
fn fuzz<S: Strategy>(strategy: S, target: impl Fn(S::Value)) {
    let seconds: Option<u64> = std::env::var("FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok());
    let deadline = seconds.map(|s| Instant::now() + Duration::from_secs(s));
    let cases = if seconds.is_some() { 50_000 } else { 3_000 };
    loop {
        let mut runner = TestRunner::new(Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        });
        if let Err(failure) = runner.run(&strategy, |input| {
            target(input);
            Ok(())
        }) {
            panic!("{failure}");
        }
        if deadline.is_none_or(|d| Instant::now() >= d) {
            break;
        }
    }
}

fn registry() -> Registry {
    Registry::load().expect("schemas")
}

fn sample_user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "u1",
        "userName": "Émile",
        "name": {"givenName": "É", "familyName": "ß"},
        "emails": [{"value": "e@x", "type": "work", "primary": true}],
        "title": "t\u{1}",
        "urn:ietf:params:scim:schemas:extension:gateway:2.0:User": {"maxChats": 3, "skills": ["a"]},
    })
}

fn list_limits() -> ListLimits {
    ListLimits {
        filter: FilterLimits::default(),
        default_page_size: 100,
        max_page_size: 1000,
        cursor_timeout_secs: 3600,
    }
}

/// Reads and compiles a list request for `dialect`, as a list of users would; refusals are fine.
fn plan_for(schemas: ResourceSchemas<'_>, dialect: Dialect, request: &ListRequest) {
    if let Ok(query) = list_query(
        schemas,
        &TenantId::new("t"),
        request,
        list_limits(),
        now_micros(),
    ) {
        let _ = plan_list(dialect, FilterSubject::Users, schemas, &query);
    }
}

/// A filter parses or is refused; one that parses compiles for both engines and evaluates.
fn filter_target(schemas: ResourceSchemas<'_>, text: &str) {
    let limits = FilterLimits::default();
    if let Ok(filter) = parse_filter(text, limits) {
        matches_resource(&filter, schemas, &sample_user());
    }
    for dialect in [Dialect::Sqlite, Dialect::Postgres] {
        let request = ListRequest {
            filter: Some(text.to_string()),
            ..ListRequest::default()
        };
        plan_for(schemas, dialect, &request);
    }
}

#[test]
fn fuzz_filters() {
    let registry = registry();
    let users = registry.user().expect("user");
    for seed in SEEDS {
        filter_target(users, seed);
    }
    fuzz(hostile_text(), |text| filter_target(users, &text));
}

#[test]
fn fuzz_attribute_paths_projections_and_list_parameters() {
    let registry = registry();
    let users = registry.user().expect("user");
    let groups = registry.resource_schemas("Group").expect("group");
    let target = |text: &str| {
        for schemas in [users, groups] {
            let _ = parse_path(schemas, text, FilterLimits::default());
            let _ = Projection::parse(schemas, Some(text), None);
            let _ = Projection::parse(schemas, None, Some(text));
        }
        // Sorting and cursors separately: a cursor refuses any sortBy before it is compiled.
        let sorted = ListRequest {
            sort_by: Some(text.to_string()),
            sort_order: Some(text.to_string()),
            ..ListRequest::default()
        };
        let walked = ListRequest {
            cursor: Some(text.to_string()),
            ..ListRequest::default()
        };
        for dialect in [Dialect::Sqlite, Dialect::Postgres] {
            plan_for(users, dialect, &sorted);
            plan_for(users, dialect, &walked);
        }
    };
    for seed in SEEDS {
        target(seed);
    }
    fuzz(hostile_text(), |text| target(&text));
}

#[test]
fn fuzz_patch_documents() {
    let registry = registry();
    let users = registry.user().expect("user");
    let groups = registry.resource_schemas("Group").expect("group");
    let user_doc = sample_user().as_object().cloned().unwrap_or_default();
    let limits = FilterLimits::default();
    let seeded_paths = SEEDS.iter().map(|seed| {
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
               "Operations": [{"op": "replace", "path": seed, "value": seed}, {"op": "remove", "path": seed}]})
    });
    let target = |body: Value| {
        if let Ok(request) = parse_patch_request(&body, 1000) {
            let _ = apply_patch(users, &user_doc, "u1", &request, limits);
            if let Ok(split) = split_group_patch(request, limits, AttributeLimits::default()) {
                let _ = apply_patch(groups, &Map::new(), "g1", &split.attributes, limits);
            }
        }
    };
    seeded_paths.for_each(target);
    fuzz(hostile_patch(), target);
}

#[test]
fn fuzz_resource_and_bulk_bodies() {
    let registry = registry();
    let users = registry.user().expect("user");
    let groups = registry.resource_schemas("Group").expect("group");
    let target = |body: Value| {
        let _ = parse_resource(users, &body);
        let _ = parse_resource(groups, &body);
        let _ = parse_bulk_request(&body, 1000);
        let _ = ListRequest::from_search_body(&body);
        let mut user_like = sample_user();
        if let (Some(fields), Value::Object(extra)) = (user_like.as_object_mut(), body) {
            fields.extend(extra);
        }
        let _ = parse_resource(users, &user_like);
    };
    fuzz(hostile_json(), target);
}
