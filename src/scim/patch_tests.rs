//! Unit tests of the PATCH engine on JSON documents: every operation form, the IdP quirks, and
//! the property that one request equals the same operations sent one by one.

use proptest::prelude::*;
use serde_json::{Map, Value, json};

use super::*;
use crate::scim::schema::Registry;
use crate::scim::{ENTERPRISE_USER_URN, TENANT_USER_URN};

fn base_user() -> Value {
    json!({
        "userName": "bjensen", "active": true, "displayName": "Babs",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "emails": [{"value": "b@work.example", "type": "work", "primary": true},
                   {"value": "b@home.example", "type": "home"}],
    })
}

fn run(doc: Value, body: Value) -> Result<(Value, Vec<&'static str>), ScimError> {
    let registry = Registry::load().expect("schemas");
    let schemas = registry.user().expect("user");
    let request = parse_patch_request(&body, 1000)?;
    let doc = doc.as_object().cloned().expect("object");
    let parsed = apply_patch(schemas, &doc, "the-id", &request, FilterLimits::default())?;
    Ok((
        Value::Object(parsed.doc),
        parsed.tolerances.iter().map(|t| t.as_str()).collect(),
    ))
}

fn ops(list: Value) -> Value {
    json!({"schemas": [PATCH_OP_URN], "Operations": list})
}

fn patched(doc: Value, list: Value) -> Value {
    run(doc, ops(list)).expect("applies").0
}

fn rejected(doc: Value, list: Value) -> ScimError {
    run(doc, ops(list)).expect_err("rejected")
}

#[test]
fn entra_default_dialect_deactivates_with_capitalised_ops_and_string_booleans() {
    let (doc, tolerances) = run(
        base_user(),
        ops(json!([{"op": "Replace", "path": "active", "value": "False"}])),
    )
    .unwrap();
    assert_eq!(doc["active"], false);
    assert!(
        tolerances.contains(&"capitalised_operation") && tolerances.contains(&"string_boolean")
    );
}

#[test]
fn entra_work_email_is_upserted_and_other_emails_kept() {
    let doc = patched(
        base_user(),
        json!([
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "new@work.example"}
        ]),
    );
    assert_eq!(doc["emails"][0]["value"], "new@work.example");
    assert_eq!(doc["emails"][1]["value"], "b@home.example");

    let (doc, tolerances) = run(
        json!({"userName": "x"}),
        ops(json!([
            {"op": "Add", "path": "emails[type eq \"work\"].value", "value": "first@work.example"},
            {"op": "Add", "path": "emails[type eq \"work\"].primary", "value": "true"}
        ])),
    )
    .unwrap();
    assert_eq!(
        doc["emails"],
        json!([{"type": "work", "value": "first@work.example", "primary": true}])
    );
    assert!(tolerances.contains(&"value_filter_upsert"));
}

#[test]
fn a_value_filter_that_is_not_a_plain_eq_and_matches_nothing_is_no_target() {
    let err = rejected(
        base_user(),
        json!([{"op": "replace", "path": "emails[value co \"nobody\"].value", "value": "x"}]),
    );
    assert_eq!(err.scim_type, Some(ScimType::NoTarget));
}

#[test]
fn pathless_values_with_dotted_urn_and_plain_keys_land_in_place() {
    let doc = patched(
        base_user(),
        json!([{"op": "replace", "value": {
            "name.givenName": "Babs",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "42",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager": "m-1",
            "active": false, "id": "the-id",
            ENTERPRISE_USER_URN: {"department": "Sales"}
        }}]),
    );
    assert_eq!(
        doc["name"],
        json!({"givenName": "Babs", "familyName": "Jensen"})
    );
    assert_eq!(
        doc[ENTERPRISE_USER_URN],
        json!({"employeeNumber": "42", "manager": {"value": "m-1"}, "department": "Sales"})
    );
    assert_eq!(doc["active"], false);
    assert!(doc.get("givenName").is_none());
}

#[test]
fn manager_as_string_array_or_empty_and_unqualified() {
    let doc = patched(
        base_user(),
        json!([{"op": "Add", "path": "manager", "value": "m-1"}]),
    );
    assert_eq!(doc[ENTERPRISE_USER_URN]["manager"], json!({"value": "m-1"}));
    let doc = patched(
        doc,
        json!([{"op": "Replace",
        "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
        "value": [{"$ref": null, "value": "m-2"}]}]),
    );
    assert_eq!(doc[ENTERPRISE_USER_URN]["manager"], json!({"value": "m-2"}));
    let doc = patched(
        doc,
        json!([{"op": "Replace", "path": "manager", "value": ""}]),
    );
    assert!(
        doc.get(ENTERPRISE_USER_URN).is_none(),
        "\"\" clears the manager: {doc}"
    );
    let doc = patched(
        doc,
        json!([{"op": "replace", "path": "department", "value": "Ops"}]),
    );
    assert_eq!(doc[ENTERPRISE_USER_URN]["department"], "Ops");
}

#[test]
fn add_appends_without_duplicates_and_moves_primary() {
    let doc = patched(
        base_user(),
        json!([{"op": "add", "path": "emails", "value": [
            {"value": "b@home.example", "type": "home"},
            {"value": "new@x.example", "type": "other", "primary": true}
        ]}]),
    );
    let emails = doc["emails"].as_array().unwrap();
    assert_eq!(emails.len(), 3);
    assert_eq!(emails[0]["primary"], false);
    assert_eq!(emails[2]["primary"], true);
}

#[test]
fn add_on_a_single_valued_attribute_replaces_it_and_replace_of_a_missing_one_adds_it() {
    let doc = patched(
        base_user(),
        json!([
            {"op": "add", "path": "displayName", "value": "New"},
            {"op": "replace", "path": "nickName", "value": "Babsy"},
            {"op": "replace", "path": "name", "value": {"middleName": "J"}}
        ]),
    );
    assert_eq!(
        (doc["displayName"].clone(), doc["nickName"].clone()),
        (json!("New"), json!("Babsy"))
    );
    assert_eq!(
        doc["name"],
        json!({"givenName": "Barbara", "familyName": "Jensen", "middleName": "J"})
    );
}

#[test]
fn replace_without_filter_replaces_every_value_of_a_multi_valued_attribute() {
    let doc = patched(
        base_user(),
        json!([{"op": "replace", "path": "emails", "value": [{"value": "only@x", "type": "work"}]}]),
    );
    assert_eq!(doc["emails"], json!([{"value": "only@x", "type": "work"}]));
}

#[test]
fn remove_forms() {
    let doc = patched(
        base_user(),
        json!([{"op": "remove", "path": "emails[type eq \"work\"]"}]),
    );
    assert_eq!(
        doc["emails"],
        json!([{"value": "b@home.example", "type": "home"}])
    );
    let doc = patched(
        base_user(),
        json!([{"op": "Remove", "path": "emails", "value": [{"value": "B@HOME.example"}]}]),
    );
    assert_eq!(
        doc["emails"].as_array().unwrap().len(),
        1,
        "only the listed value goes"
    );
    let doc = patched(base_user(), json!([{"op": "remove", "path": "emails"}]));
    assert!(doc.get("emails").is_none());
    let doc = patched(
        base_user(),
        json!([{"op": "remove", "path": "name.givenName"}, {"op": "remove", "path": "emails[type eq \"home\"].type"}]),
    );
    assert_eq!(doc["name"], json!({"familyName": "Jensen"}));
    assert_eq!(doc["emails"][1], json!({"value": "b@home.example"}));
    // Removing what is absent succeeds (IDP-QUIRKS Q36).
    let doc = patched(
        base_user(),
        json!([{"op": "remove", "path": "title"}, {"op": "remove", "path": "emails[type eq \"fax\"]"}]),
    );
    assert_eq!(doc, base_user());
}

#[test]
fn null_and_empty_string_clear() {
    let doc = patched(
        base_user(),
        json!([
            {"op": "replace", "path": "displayName", "value": null},
            {"op": "Replace", "path": "name.familyName", "value": ""}
        ]),
    );
    assert!(doc.get("displayName").is_none());
    assert_eq!(doc["name"], json!({"givenName": "Barbara"}));
}

#[test]
fn read_only_required_and_unknown_targets_are_refused() {
    assert_eq!(
        rejected(
            base_user(),
            json!([{"op": "replace", "path": "groups", "value": []}])
        )
        .scim_type,
        Some(ScimType::Mutability)
    );
    assert_eq!(rejected(base_user(), json!([{"op": "replace", "path": format!("{TENANT_USER_URN}:status"), "value": "active"}])).scim_type, Some(ScimType::Mutability));
    assert_eq!(
        rejected(base_user(), json!([{"op": "remove", "path": "userName"}])).scim_type,
        Some(ScimType::Mutability)
    );
    assert_eq!(
        rejected(
            base_user(),
            json!([{"op": "replace", "value": {"id": "another"}}])
        )
        .scim_type,
        Some(ScimType::Mutability)
    );
    assert_eq!(
        rejected(
            base_user(),
            json!([{"op": "replace", "path": "nope", "value": 1}])
        )
        .scim_type,
        Some(ScimType::InvalidPath)
    );
    assert_eq!(
        rejected(
            base_user(),
            json!([{"op": "replace", "path": "active", "value": "maybe"}])
        )
        .scim_type,
        Some(ScimType::InvalidValue)
    );
}

#[test]
fn tolerated_inputs_change_nothing_they_should_not() {
    let doc = patched(
        base_user(),
        json!([
            {"op": "replace", "value": {"id": "the-id", "meta": {"x": 1}, "schemas": ["x"], "password": "secret", "unknownThing": 1}},
            {"op": "add", "path": "urn:ietf:params:scim:schemas:extension:Custom:2.0:User:costCode", "value": "x"},
            {"op": "add", "path": "password", "value": "secret"}
        ]),
    );
    assert_eq!(doc, base_user());
}

#[test]
fn roles_sent_as_a_json_string_are_kept_verbatim() {
    let doc = patched(
        base_user(),
        json!([{"op": "add", "path": "roles", "value": [{"value": "{\"id\":\"r1\",\"value\":\"Admin\"}", "primary": "True"}]}]),
    );
    assert_eq!(
        doc["roles"],
        json!([{"value": "{\"id\":\"r1\",\"value\":\"Admin\"}", "primary": true}])
    );
    let doc = patched(
        doc,
        json!([{"op": "replace", "path": "roles[primary eq \"True\"].value", "value": "Agent"}]),
    );
    assert_eq!(doc["roles"][0]["value"], "Agent");
}

#[test]
fn envelope_is_read_leniently_and_ops_strictly() {
    let (doc, tolerances) = run(
        base_user(),
        json!({"operations": [{"op": "replace", "path": "title", "value": "Boss"}]}),
    )
    .unwrap();
    assert_eq!(doc["title"], "Boss");
    assert!(tolerances.contains(&"lenient_patch_envelope"));
    for (body, kind) in [
        (
            json!({"Operations": [{"op": "delete", "path": "title"}]}),
            ScimType::InvalidSyntax,
        ),
        (
            json!({"Operations": [{"op": "remove"}]}),
            ScimType::NoTarget,
        ),
        (json!({"Operations": []}), ScimType::InvalidSyntax),
        (json!({"schemas": [PATCH_OP_URN]}), ScimType::InvalidSyntax),
        (
            json!({"Operations": [{"op": "add", "value": "not an object"}]}),
            ScimType::InvalidValue,
        ),
        (
            json!({"Operations": [{"op": "add", "path": 7, "value": 1}]}),
            ScimType::InvalidPath,
        ),
    ] {
        assert_eq!(
            run(base_user(), body.clone())
                .expect_err("rejected")
                .scim_type,
            Some(kind),
            "{body}"
        );
    }
}

#[test]
fn a_failing_operation_fails_the_request_and_names_its_position() {
    let err = rejected(
        base_user(),
        json!([
            {"op": "replace", "path": "displayName", "value": "Changed"},
            {"op": "replace", "path": "nope", "value": 1}
        ]),
    );
    assert!(err.detail.starts_with("operation 2:"), "{}", err.detail);
}

fn arb_op() -> impl Strategy<Value = Value> {
    let word = "[a-z]{1,6}";
    prop_oneof![
        word.prop_map(|w| json!({"op": "replace", "path": "displayName", "value": w})),
        (word, prop_oneof![Just("work"), Just("home"), Just("other")], any::<bool>())
            .prop_map(|(w, t, p)| json!({"op": "add", "path": "emails", "value": [{"value": format!("{w}@x.example"), "type": t, "primary": p}]})),
        prop_oneof![Just("work"), Just("home")].prop_map(|t| json!({"op": "remove", "path": format!("emails[type eq \"{t}\"]")})),
        word.prop_map(|w| json!({"op": "Replace", "path": "emails[type eq \"work\"].value", "value": format!("{w}@w.example")})),
        word.prop_map(|w| json!({"op": "add", "path": "nickName", "value": w})),
        Just(json!({"op": "remove", "path": "nickName"})),
        any::<bool>().prop_map(|b| json!({"op": "replace", "path": "active", "value": if b { "True" } else { "False" }})),
        word.prop_map(|w| json!({"op": "replace", "value": {"name.givenName": w}})),
        word.prop_map(|w| json!({"op": "add", "path": "manager", "value": w})),
        Just(json!({"op": "replace", "path": "manager", "value": ""})),
        word.prop_map(|w| json!({"op": "add", "path": "roles", "value": [{"value": w}]})),
        word.prop_map(|w| json!({"op": "Remove", "path": "roles", "value": [{"value": w}]})),
    ]
}

/// A random user document in stored form: a userName and any of a few attributes.
fn arb_doc() -> impl Strategy<Value = Value> {
    let word = "[a-z]{1,6}";
    let email = (word, prop_oneof![Just("work"), Just("home")], any::<bool>())
        .prop_map(|(w, t, p)| json!({"value": format!("{w}@d.example"), "type": t, "primary": p}));
    (
        word,
        proptest::option::of(word),
        proptest::option::of(word),
        proptest::collection::vec(email, 0..3),
        proptest::option::of(word),
        any::<bool>(),
    )
        .prop_map(|(user_name, nick, given, emails, manager, active)| {
            let mut doc = json!({"userName": user_name, "active": active});
            if let Some(n) = nick {
                doc["nickName"] = json!(n);
            }
            if let Some(g) = given {
                doc["name"] = json!({"givenName": g});
            }
            if !emails.is_empty() {
                doc["emails"] = json!(emails);
            }
            if let Some(m) = manager {
                doc[ENTERPRISE_USER_URN] = json!({"manager": {"value": m}});
            }
            // Stored documents are normalised (one primary email at most).
            run(
                doc,
                ops(json!([{"op": "add", "path": "title", "value": "t"}])),
            )
            .expect("valid")
            .0
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Applying operations one request at a time equals applying them in one request.
    #[test]
    fn one_request_equals_the_same_operations_one_by_one(doc in arb_doc(), list in proptest::collection::vec(arb_op(), 1..8)) {
        let together = patched(doc.clone(), Value::Array(list.clone()));
        let mut one_by_one = doc;
        for op in list {
            one_by_one = patched(one_by_one, json!([op]));
        }
        prop_assert_eq!(together, one_by_one);
    }

    /// A list with a failing operation anywhere is refused whole.
    #[test]
    fn a_failing_list_is_refused_whole(doc in arb_doc(), list in proptest::collection::vec(arb_op(), 0..6), at in 0usize..6) {
        let mut list = list;
        let at = at.min(list.len());
        list.insert(at, json!({"op": "replace", "path": "groups", "value": [{"value": "g"}]}));
        let original: Map<String, Value> = doc.as_object().cloned().unwrap();
        let err = rejected(Value::Object(original.clone()), Value::Array(list));
        prop_assert_eq!(err.scim_type, Some(ScimType::Mutability));
        let prefix = format!("operation {}:", at + 1);
        prop_assert!(err.detail.starts_with(&prefix), "{}", err.detail);
    }
}
