//! The SQL a filter compiles to selects exactly the users the reference semantics
//! (`scim::filter::matches_resource`) selects: random filters from the grammar over users that
//! exercise case folding beyond ASCII, multi-valued attributes, extensions, numbers and booleans.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};

use scim_gateway::scim::filter::{FilterLimits, matches_resource, parse_filter};
use scim_gateway::scim::schema::Registry;

use crate::helpers::{TestApp, spawn_app};

const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const TEN: &str = "urn:ietf:params:scim:schemas:extension:gateway:2.0:User";

const NAMES: [&str; 8] = [
    "alice",
    "Bob",
    "ÉMILE",
    "émilie",
    "ÖLAF",
    "Zoë",
    "carol.smith",
    "DAN",
];
const WORDS: [&str; 8] = [
    "Sales",
    "SALES",
    "engineering",
    "Ärzte",
    "ops",
    "Émile Zola",
    "zoë",
    "b",
];

/// A deterministic, varied population: every attribute sometimes missing, cases mixed.
fn population() -> Vec<Value> {
    (0..32)
        .map(|i: usize| {
            let pick = |list: &[&str], k: usize| list[(i * 7 + k) % list.len()].to_string();
            let mut u = json!({
                "userName": format!("{}{i}", NAMES[i % NAMES.len()]),
                "externalId": format!("Ext-{}", i % 5),
                "active": i % 4 != 0,
            });
            if i % 3 != 0 {
                u["displayName"] = json!(pick(&WORDS, 1));
                u["name"] = json!({"givenName": pick(&NAMES, 2), "familyName": pick(&WORDS, 3)});
            }
            if i % 2 == 0 {
                u["title"] = json!(pick(&WORDS, 4));
            }
            if i % 5 != 1 {
                u["userType"] = json!(["agent", "Supervisor", "ANALYST"][i % 3]);
            }
            let mut emails: Vec<Value> = (0..(i % 3))
                .map(|k| {
                    let mut e = json!({"value": format!("{}@{}.Example", pick(&NAMES, k), pick(&WORDS, k + 5))});
                    if (i + k) % 4 != 3 {
                        e["type"] = json!(["work", "home", "Other"][(i + k) % 3]);
                    }
                    if k == 0 && i % 2 == 1 {
                        e["primary"] = json!(true);
                    }
                    e
                })
                .collect();
            // Some IdPs send the same email twice; a lookup by it must still find the user once.
            if i % 8 == 5 && !emails.is_empty() {
                let mut twice = emails[0].clone();
                twice.as_object_mut().map(|e| e.remove("primary"));
                emails.push(twice);
            }
            if !emails.is_empty() {
                u["emails"] = json!(emails);
            }
            if i % 4 == 1 {
                u["phoneNumbers"] = json!([{"value": format!("+1 555 01{i:02}"), "type": "mobile"}, {"value": "+44 20 7946", "type": "work"}]);
            }
            if i % 3 == 1 {
                u[ENT] = json!({"department": pick(&WORDS, 6), "manager": {"value": pick(&NAMES, 7)}});
            }
            if i % 2 == 1 {
                let skills: Vec<&str> = ["Billing", "french", "Ärger"].iter().take(i % 4).copied().collect();
                let mut ext = json!({"maxChats": i % 11});
                if !skills.is_empty() {
                    ext["skills"] = json!(skills);
                }
                if i % 3 == 0 {
                    ext["crmAccess"] = json!(i % 6 == 3);
                }
                u[TEN] = ext;
            }
            u
        })
        .collect()
}

fn string_attr() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("userName"),
        Just("displayName"),
        Just("name.givenName"),
        Just("name.familyName"),
        Just("title"),
        Just("userType"),
        Just("externalId"),
        Just("emails.value"),
        Just("emails.type"),
        Just("emails"),
        Just("phoneNumbers.value"),
        Just("phoneNumbers.type"),
        Just("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"),
        Just("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"),
        Just("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"),
        Just("urn:ietf:params:scim:schemas:extension:gateway:2.0:User:skills"),
        Just("USERNAME"),
        Just("Name.FamilyName"),
    ]
}

fn text_value() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(NAMES.to_vec()).prop_map(str::to_string),
        proptest::sample::select(WORDS.to_vec()).prop_map(str::to_string),
        proptest::sample::select(vec![
            "a",
            "É",
            "é",
            "ö",
            "SMITH",
            "example",
            ".example",
            "Ext-3",
            "ext-3",
            "work",
            "WORK",
            "",
            "+1",
            "7946",
            "bob1",
            "alice0",
            "zoë5",
            "dan@ops.example",
            "DAN@ops.Example",
            "carol.smith@ärzte.example",
            "émilie@sales.example",
            "ÉMILIE@Sales.Example",
            "Other"
        ])
        .prop_map(str::to_string),
    ]
}

fn leaf() -> impl Strategy<Value = String> {
    let ops = proptest::sample::select(vec![
        "eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "EQ", "Co",
    ]);
    prop_oneof![
        4 => (string_attr(), ops, text_value()).prop_map(|(a, o, v)| format!("{a} {o} {}", json!(v))),
        1 => string_attr().prop_map(|a| format!("{a} pr")),
        1 => (prop_oneof![Just("active"), Just("emails.primary"), Just("urn:ietf:params:scim:schemas:extension:gateway:2.0:User:crmAccess")],
              prop_oneof![Just("eq"), Just("ne")], any::<bool>(), any::<bool>())
            .prop_map(|(a, o, b, quoted)| if quoted { format!("{a} {o} \"{}\"", if b { "True" } else { "False" }) } else { format!("{a} {o} {b}") }),
        1 => (proptest::sample::select(vec!["eq", "ne", "gt", "ge", "lt", "le"]), 0..12i64)
            .prop_map(|(o, n)| format!("urn:ietf:params:scim:schemas:extension:gateway:2.0:User:maxChats {o} {n}")),
        1 => (proptest::sample::select(vec!["gt", "lt"]), prop_oneof![Just("2000-01-01T00:00:00Z"), Just("2999-01-01T00:00:00Z")])
            .prop_map(|(o, d)| format!("meta.created {o} \"{d}\"")),
        1 => (text_value(), text_value()).prop_map(|(t, v)| format!("emails[type eq {} or value co {}]", json!(t), json!(v))),
        1 => text_value().prop_map(|v| format!("phoneNumbers[type eq \"mobile\" and not (value ew {})]", json!(v))),
        // Entra's lookup before every create (IDP-QUIRKS Q8), and Okta's.
        2 => (text_value(), text_value()).prop_map(|(t, v)| format!("emails[type eq {}].value eq {}", json!(t), json!(v))),
        1 => text_value().prop_map(|v| format!("emails[value eq {}]", json!(v))),
    ]
}

fn filter() -> impl Strategy<Value = String> {
    leaf().prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) and ({b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} or {b}")),
            inner.prop_map(|a| format!("not ({a})")),
        ]
    })
}

async fn ids_for(app: &TestApp, filter: &str) -> Vec<String> {
    let response = app
        .client
        .get(app.url("/Users"))
        .query(&[("filter", filter), ("count", "1000"), ("attributes", "id")])
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        reqwest::StatusCode::OK,
        "filter {filter}: {}",
        response.text().await.unwrap_or_default()
    );
    let list: Value = response.json().await.unwrap();
    let mut ids: Vec<String> = list["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

#[test]
fn sql_filters_select_what_the_reference_semantics_select() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (app, users) = runtime.block_on(async {
        let app = spawn_app().await;
        for user in population() {
            let response = app.post("/Users", &user).await;
            assert_eq!(response.status(), reqwest::StatusCode::CREATED, "{user}");
        }
        let list: Value = app.get("/Users?count=1000").await.json().await.unwrap();
        let users = list["Resources"].as_array().unwrap().clone();
        assert_eq!(users.len(), 32);
        (app, users)
    });
    let registry = Registry::load().unwrap();
    let schemas = registry.user().unwrap();
    let mut runner = TestRunner::new(Config {
        cases: 1000,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&filter(), |text| {
            let ast =
                parse_filter(&text, FilterLimits::default()).expect("generated filters parse");
            let mut expected: Vec<String> = users
                .iter()
                .filter(|u| matches_resource(&ast, schemas, u))
                .map(|u| u["id"].as_str().unwrap().to_string())
                .collect();
            expected.sort();
            let actual = runtime.block_on(ids_for(&app, &text));
            prop_assert_eq!(actual, expected, "filter: {}", text);
            Ok(())
        })
        .unwrap();
}
