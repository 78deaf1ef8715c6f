//! Locked attributes (SPEC §4): once set, a value in the tenant's list cannot change. Sending the
//! same value again is fine; leaving a locked attribute out of a PUT keeps it.

use serde_json::{Map, Value};

use crate::scim::CORE_USER_URN;
use crate::scim::resource::fold_value;
use crate::scim::schema::{Attribute, ResourceSchemas};
use crate::scim::text::strip_prefix_ignore_case;
use crate::store::Store;

use super::{DEFAULT_IMMUTABLE_ATTRIBUTES, TenantError};

/// Where a locked path points in a stored document.
struct Located<'a> {
    container: Option<String>,
    attr: &'a Attribute,
    sub: Option<&'a Attribute>,
}

fn locate<'a>(schemas: ResourceSchemas<'a>, path: &str) -> Option<Located<'a>> {
    let (schema, rest, container) = match schemas.split_urn(path) {
        Some((schema, rest)) if schema.id != schemas.core.id => {
            (schema, rest, Some(schema.id.clone()))
        }
        Some((schema, rest)) => (schema, rest, None),
        None => (schemas.core, path, None),
    };
    let (head, sub) = match rest.split_once('.') {
        Some((h, s)) => (h, Some(s)),
        None => (rest, None),
    };
    let attr = schema.attribute(head)?;
    let sub = match sub {
        Some(s) => Some(attr.sub_attribute(s)?),
        None => None,
    };
    Some(Located {
        container,
        attr,
        sub,
    })
}

fn get<'d>(doc: &'d Map<String, Value>, at: &Located<'_>) -> Option<&'d Value> {
    let scope = match &at.container {
        Some(urn) => doc.get(urn)?.as_object()?,
        None => doc,
    };
    let value = scope.get(&at.attr.name)?;
    match at.sub {
        Some(sub) => value.get(&sub.name),
        None => Some(value),
    }
}

fn set(doc: &mut Map<String, Value>, at: &Located<'_>, value: Value) {
    let scope = match &at.container {
        Some(urn) => match doc
            .entry(urn.clone())
            .or_insert_with(|| Value::Object(Map::new()))
            .as_object_mut()
        {
            Some(obj) => obj,
            None => return,
        },
        None => doc,
    };
    match at.sub {
        None => {
            scope.insert(at.attr.name.clone(), value);
        }
        Some(sub) => {
            let parent = scope
                .entry(at.attr.name.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Some(obj) = parent.as_object_mut() {
                obj.insert(sub.name.clone(), value);
            }
        }
    }
}

/// A value in a form where equal values compare equal: strings of `caseExact: false` attributes
/// folded, multi-valued attributes ordered.
fn comparable(attr: &Attribute, value: &Value) -> Value {
    match fold_value(attr, value) {
        Value::Array(mut items) => {
            items.sort_by_key(|v| v.to_string());
            Value::Array(items)
        }
        other => other,
    }
}

/// What a locked value missing from the new document means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Omitted {
    /// A PUT that leaves it out keeps it.
    Keep,
    /// A PATCH that removed it tried to change it.
    IsChange,
}

/// Checks `new` against `old` for each locked path; returns the first locked attribute whose set
/// value would change.
pub fn enforce(
    schemas: ResourceSchemas<'_>,
    locked: &[String],
    old: &Map<String, Value>,
    new: &mut Map<String, Value>,
    omitted: Omitted,
) -> Result<(), String> {
    for path in locked {
        let Some(at) = locate(schemas, path) else {
            continue;
        };
        let Some(old_value) = get(old, &at) else {
            continue;
        };
        let attr = at.sub.unwrap_or(at.attr);
        match get(new, &at) {
            None if omitted == Omitted::IsChange => return Err(path.clone()),
            None => {
                let kept = old_value.clone();
                set(new, &at, kept);
            }
            Some(new_value) if comparable(attr, new_value) == comparable(attr, old_value) => {
                // Same value, perhaps in another case: the stored spelling stays.
                let kept = old_value.clone();
                set(new, &at, kept);
            }
            Some(_) => return Err(path.clone()),
        }
    }
    Ok(())
}

/// The locked attributes discovery shows at a tenant's URL: the tenant's own, and the defaults
/// at a URL that names no tenant, so that discovery tells nobody which tenants exist.
pub async fn locked_attributes_shown(
    store: &Store,
    slug: &str,
) -> Result<Vec<String>, TenantError> {
    Ok(match store.tenant_by_slug(slug).await? {
        Some(tenant) => tenant.immutable_attributes,
        None => DEFAULT_IMMUTABLE_ATTRIBUTES
            .iter()
            .map(|s| s.to_string())
            .collect(),
    })
}

/// Marks the tenant's locked attributes `immutable` in a schema document served by discovery, so
/// clients know that a PUT must send them unchanged (RFC 7643 §7: set at creation or replacement,
/// never updated), which is exactly what a lock means.
pub fn mark_locked_in_schema(schema_doc: &mut Value, locked: &[String]) {
    let Some(schema_id) = schema_doc
        .get("id")
        .and_then(Value::as_str)
        .map(str::to_string)
    else {
        return;
    };
    for path in locked {
        let qualified =
            strip_prefix_ignore_case(path, &schema_id).and_then(|r| r.strip_prefix(':'));
        let rest = match qualified {
            Some(rest) => rest,
            None if schema_id == CORE_USER_URN && !path.starts_with("urn:") => path.as_str(),
            _ => continue,
        };
        let (head, sub) = rest
            .split_once('.')
            .map_or((rest, None), |(h, s)| (h, Some(s)));
        let Some(attr) = find_attribute(schema_doc.get_mut("attributes"), head) else {
            continue;
        };
        let target = match sub {
            Some(sub) => find_attribute(attr.get_mut("subAttributes"), sub),
            None => Some(attr),
        };
        if let Some(attr) = target
            && attr.get("mutability").and_then(Value::as_str) == Some("readWrite")
        {
            attr["mutability"] = Value::String("immutable".into());
        }
    }
}

fn find_attribute<'a>(list: Option<&'a mut Value>, name: &str) -> Option<&'a mut Value> {
    list?.as_array_mut()?.iter_mut().find(|a| {
        a.get("name")
            .and_then(Value::as_str)
            .is_some_and(|n| n.eq_ignore_ascii_case(name))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::schema::Registry;
    use serde_json::json;

    fn run(locked: &[&str], old: Value, new: Value) -> Result<Value, String> {
        let registry = Registry::load().expect("schemas");
        let schemas = registry.user().expect("user");
        let locked: Vec<String> = locked.iter().map(|s| s.to_string()).collect();
        let old = old.as_object().cloned().expect("object");
        let mut new = new.as_object().cloned().expect("object");
        enforce(schemas, &locked, &old, &mut new, Omitted::Keep).map(|()| Value::Object(new))
    }

    #[test]
    fn a_changed_locked_value_is_named() {
        let err = run(
            &["userName", "name.givenName"],
            json!({"userName": "a", "name": {"givenName": "A"}}),
            json!({"userName": "a", "name": {"givenName": "B"}}),
        );
        assert_eq!(err, Err("name.givenName".to_string()));
    }

    #[test]
    fn same_value_in_another_case_keeps_the_stored_spelling() {
        let out = run(
            &["userName"],
            json!({"userName": "Bob"}),
            json!({"userName": "BOB"}),
        )
        .expect("allowed");
        assert_eq!(out["userName"], "Bob");
    }

    #[test]
    fn omitted_locked_values_are_kept_and_unset_ones_may_be_set() {
        let out = run(
            &["userType", "emails"],
            json!({"userType": "agent"}),
            json!({"emails": [{"value": "a@x"}]}),
        )
        .expect("allowed");
        assert_eq!(out["userType"], "agent");
        assert_eq!(out["emails"][0]["value"], "a@x");
    }

    #[test]
    fn locked_attributes_are_immutable_in_the_tenants_schemas() {
        let mut core: Value =
            serde_json::from_str(include_str!("../../scim-schemas/User.json")).expect("json");
        let mut enterprise: Value =
            serde_json::from_str(include_str!("../../scim-schemas/EnterpriseUser.json"))
                .expect("json");
        let locked = [
            "userName",
            "name.givenName",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
        ]
        .map(String::from);
        mark_locked_in_schema(&mut core, &locked);
        mark_locked_in_schema(&mut enterprise, &locked);
        let mutability = |doc: &Value, name: &str| {
            doc["attributes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["name"] == name)
                .unwrap()["mutability"]
                .clone()
        };
        assert_eq!(mutability(&core, "userName"), "immutable");
        assert_eq!(mutability(&core, "displayName"), "readWrite");
        let name = core["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == "name")
            .unwrap();
        assert_eq!(name["mutability"], "readWrite");
        assert_eq!(name["subAttributes"][2]["name"], "givenName");
        assert_eq!(name["subAttributes"][2]["mutability"], "immutable");
        assert_eq!(mutability(&enterprise, "employeeNumber"), "immutable");
        assert_eq!(mutability(&enterprise, "department"), "readWrite");
    }

    #[test]
    fn a_patch_that_removes_a_locked_value_changes_it() {
        let registry = Registry::load().expect("schemas");
        let schemas = registry.user().expect("user");
        let old = json!({"userType": "agent"})
            .as_object()
            .cloned()
            .expect("object");
        let mut new = Map::new();
        let locked = ["userType".to_string()];
        assert_eq!(
            enforce(schemas, &locked, &old, &mut new, Omitted::IsChange),
            Err("userType".to_string())
        );
    }

    #[test]
    fn emails_compare_as_a_set() {
        let old = json!({"emails": [{"value": "a@x", "type": "work"}, {"value": "b@x"}]});
        assert!(
            run(
                &["emails"],
                old.clone(),
                json!({"emails": [{"value": "B@x"}, {"value": "a@x", "type": "work"}]})
            )
            .is_ok()
        );
        assert!(run(&["emails"], old, json!({"emails": [{"value": "c@x"}]})).is_err());
    }
}
