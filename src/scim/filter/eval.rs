//! In-memory evaluation of filters. PATCH uses `matches_value` to pick the values an operation
//! targets inside one resource. `matches_resource` is the reference semantics of a whole filter on
//! a rendered resource: queries never use it (they are compiled to SQL), the property tests check
//! the SQL against it.

use std::cmp::Ordering;

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{AttrPath, CompValue, CompareOp, Filter};
use crate::scim::schema::{AttrType, Attribute, ResourceSchemas};

/// Whether `element` (a value of the multi-valued `parent`) satisfies `filter`. Paths in the filter
/// name sub-attributes of `parent`; for a multi-valued attribute of simple values, `value` names
/// the value itself. An unknown sub-attribute is an error naming it.
pub fn matches_value(filter: &Filter, parent: &Attribute, element: &Value) -> Result<bool, String> {
    Ok(match filter {
        Filter::And(parts) => {
            for part in parts {
                if !matches_value(part, parent, element)? {
                    return Ok(false);
                }
            }
            true
        }
        Filter::Or(parts) => {
            for part in parts {
                if matches_value(part, parent, element)? {
                    return Ok(true);
                }
            }
            false
        }
        Filter::Not(inner) => !matches_value(inner, parent, element)?,
        Filter::Present(path) => {
            let (_, actual) = sub_value(parent, path, element)?;
            actual.is_some_and(|v| !v.is_null() && v != &Value::String(String::new()))
        }
        Filter::Compare { path, op, value } => {
            let (kind, actual) = sub_value(parent, path, element)?;
            compare(kind, actual, *op, value)
        }
        Filter::ValuePath { path, .. } => {
            return Err(format!("'{path}' cannot be nested in a value filter"));
        }
    })
}

/// Whether a rendered resource (as a GET answers it) satisfies `filter` (RFC 7644 §3.4.2.2): names
/// without regard to case, `caseExact` honoured, values compared as their type, a multi-valued
/// attribute matching when any of its values does, an unassigned value equal to nothing.
pub fn matches_resource(filter: &Filter, schemas: ResourceSchemas<'_>, resource: &Value) -> bool {
    match filter {
        Filter::And(parts) => parts.iter().all(|p| matches_resource(p, schemas, resource)),
        Filter::Or(parts) => parts.iter().any(|p| matches_resource(p, schemas, resource)),
        Filter::Not(inner) => !matches_resource(inner, schemas, resource),
        Filter::ValuePath { path, filter } => match locate(schemas, resource, path) {
            Some((attr, Some(Value::Array(items)))) if attr.multi_valued => items
                .iter()
                .any(|item| matches_value(filter, attr, item).unwrap_or(false)),
            _ => false,
        },
        Filter::Present(path) => {
            values_of(schemas, resource, path).is_some_and(|(_, values, _)| {
                values
                    .iter()
                    .flatten()
                    .any(|v| !v.is_null() && *v != &Value::String(String::new()))
            })
        }
        Filter::Compare { path, op, value } => match values_of(schemas, resource, path) {
            Some((leaf, values, true)) => values.iter().any(|v| compare(leaf, *v, *op, value)),
            Some((leaf, values, false)) => {
                compare(leaf, values.first().copied().flatten(), *op, value)
            }
            None => false,
        },
    }
}

/// The attribute a path names and its value in the resource (`meta` sub-attributes included).
fn locate<'a, 'v>(
    schemas: ResourceSchemas<'a>,
    resource: &'v Value,
    path: &AttrPath,
) -> Option<(&'a Attribute, Option<&'v Value>)> {
    let core = path
        .urn
        .as_deref()
        .is_none_or(|u| u.eq_ignore_ascii_case(&schemas.core.id));
    let (schema, container) = if core {
        (schemas.core, Some(resource))
    } else {
        let ext = schemas.extension(path.urn.as_deref()?)?;
        // A resource without the extension has none of its attributes.
        (ext, resource.get(&ext.id))
    };
    let attr = schema.attribute(&path.attr).or_else(|| {
        if core {
            schemas.common_attribute(&path.attr)
        } else {
            None
        }
    })?;
    Some((attr, container.and_then(|c| c.get(&attr.name))))
}

/// What a comparison looks at: the leaf's type and case-exactness, its values, and whether the
/// attribute is multi-valued.
type Candidates<'v> = ((AttrType, bool), Vec<Option<&'v Value>>, bool);

/// The values a comparison looks at: `(type and case-exactness, values, several?)`. For a
/// multi-valued attribute there is one entry per value, `None` where that value lacks the
/// sub-attribute; `primary` defaults to false (RFC 7643 §2.4).
fn values_of<'v>(
    schemas: ResourceSchemas<'_>,
    resource: &'v Value,
    path: &AttrPath,
) -> Option<Candidates<'v>> {
    if path.urn.is_none() && path.attr.eq_ignore_ascii_case("meta") {
        let sub = path.sub_attr.as_deref()?;
        let (name, kind) = match sub.to_ascii_lowercase().as_str() {
            "created" => ("created", AttrType::DateTime),
            "lastmodified" => ("lastModified", AttrType::DateTime),
            "resourcetype" => ("resourceType", AttrType::String),
            _ => return None,
        };
        let v = resource.get("meta")?.get(name)?;
        return Some(((kind, false), vec![Some(v)], false));
    }
    let (attr, value) = locate(schemas, resource, path)?;
    let sub = match (&path.sub_attr, attr.kind) {
        (Some(s), AttrType::Complex) => Some(attr.sub_attribute(s)?),
        (Some(_), _) => return None,
        // A complex attribute without a sub-attribute is read as its `value` (IDP-QUIRKS Q32).
        (None, AttrType::Complex) => Some(attr.sub_attribute("value")?),
        (None, _) => None,
    };
    let leaf = sub.unwrap_or(attr);
    const FALSE: Value = Value::Bool(false);
    let pick = |v: &'v Value| -> Option<&'v Value> {
        match sub {
            Some(s) if s.name == "primary" => Some(v.get(&s.name).unwrap_or(&FALSE)),
            Some(s) => v.get(&s.name),
            None => Some(v),
        }
    };
    let values: Vec<Option<&Value>> = match value {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().map(pick).collect(),
        Some(v) => vec![pick(v)],
    };
    Some(((leaf.kind, leaf.case_exact), values, attr.multi_valued))
}

/// The sub-attribute's definition (type and case-exactness) and its value in `element`.
fn sub_value<'v>(
    parent: &Attribute,
    path: &AttrPath,
    element: &'v Value,
) -> Result<((AttrType, bool), Option<&'v Value>), String> {
    if path.urn.is_some() || path.sub_attr.is_some() {
        return Err(format!(
            "'{path}' is not a sub-attribute of '{}'",
            parent.name
        ));
    }
    if parent.kind != AttrType::Complex {
        return if path.attr.eq_ignore_ascii_case("value") {
            Ok(((parent.kind, parent.case_exact), Some(element)))
        } else {
            Err(format!(
                "'{}' has no sub-attribute '{}'",
                parent.name, path.attr
            ))
        };
    }
    let sub = parent
        .sub_attribute(&path.attr)
        .ok_or_else(|| format!("'{}' has no sub-attribute '{}'", parent.name, path.attr))?;
    Ok(((sub.kind, sub.case_exact), element.get(&sub.name)))
}

fn compare(
    (kind, case_exact): (AttrType, bool),
    actual: Option<&Value>,
    op: CompareOp,
    expected: &CompValue,
) -> bool {
    let actual = actual.filter(|v| !v.is_null());
    let Some(actual) = actual else {
        // Unassigned: only `ne` (anything but null) and `eq null` hold.
        return match (op, expected) {
            (CompareOp::Eq, CompValue::Null) => true,
            (CompareOp::Ne, CompValue::Null) => false,
            (CompareOp::Ne, _) => true,
            _ => false,
        };
    };
    if *expected == CompValue::Null {
        return op == CompareOp::Ne;
    }
    let ordering = match kind {
        AttrType::Boolean => {
            let a = as_bool(actual);
            let e = match expected {
                CompValue::Bool(b) => Some(*b),
                CompValue::Str(s) => as_bool(&Value::String(s.clone())),
                _ => None,
            };
            return match (a, e, op) {
                (Some(a), Some(e), CompareOp::Eq) => a == e,
                (Some(a), Some(e), CompareOp::Ne) => a != e,
                _ => false,
            };
        }
        AttrType::Integer | AttrType::Decimal => {
            let a = actual.as_f64();
            let e = match expected {
                CompValue::Num(n) => n.as_f64(),
                CompValue::Str(s) => s.parse::<f64>().ok(),
                _ => None,
            };
            match (a, e) {
                (Some(a), Some(e)) => a.partial_cmp(&e),
                _ => None,
            }
        }
        AttrType::DateTime => {
            let parse = |s: &str| OffsetDateTime::parse(s, &Rfc3339).ok();
            match (
                actual.as_str().and_then(parse),
                expected_text(expected).as_deref().and_then(parse),
            ) {
                (Some(a), Some(e)) => Some(a.cmp(&e)),
                _ => None,
            }
        }
        AttrType::String | AttrType::Reference | AttrType::Binary | AttrType::Complex => {
            let (Some(a), Some(e)) = (actual.as_str(), expected_text(expected)) else {
                return false;
            };
            let (a, e) = if case_exact {
                (a.to_string(), e)
            } else {
                (a.to_lowercase(), e.to_lowercase())
            };
            match op {
                CompareOp::Co => return a.contains(&e),
                CompareOp::Sw => return a.starts_with(&e),
                CompareOp::Ew => return a.ends_with(&e),
                _ => Some(a.cmp(&e)),
            }
        }
    };
    let Some(ordering) = ordering else {
        return false;
    };
    match op {
        CompareOp::Eq => ordering == Ordering::Equal,
        CompareOp::Ne => ordering != Ordering::Equal,
        CompareOp::Gt => ordering == Ordering::Greater,
        CompareOp::Ge => ordering != Ordering::Less,
        CompareOp::Lt => ordering == Ordering::Less,
        CompareOp::Le => ordering != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

fn as_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        // Entra compares `primary` with "True" (IDP-QUIRKS Q11).
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

fn expected_text(expected: &CompValue) -> Option<String> {
    match expected {
        CompValue::Str(s) => Some(s.clone()),
        CompValue::Num(n) => Some(n.to_string()),
        CompValue::Bool(b) => Some(b.to_string()),
        CompValue::Null => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::filter::{FilterLimits, parse_filter};
    use crate::scim::schema::Registry;
    use serde_json::json;

    fn check(filter: &str, attr: &str, element: Value) -> Result<bool, String> {
        let registry = Registry::load().expect("schemas");
        let user = registry.user().expect("user");
        let parent = user.core.attribute(attr).expect("attribute");
        let f = parse_filter(filter, FilterLimits::default()).expect("parses");
        matches_value(&f, parent, &element)
    }

    #[test]
    fn sub_attributes_compare_by_their_type_and_case() {
        let email = json!({"type": "work", "value": "Ada@Example.com", "primary": true});
        assert_eq!(
            check(r#"type eq "WORK""#, "emails", email.clone()),
            Ok(true)
        );
        assert_eq!(
            check(
                r#"value co "ada@" and primary eq "True""#,
                "emails",
                email.clone()
            ),
            Ok(true)
        );
        assert_eq!(
            check(
                r#"type eq "home" or not (value pr)"#,
                "emails",
                email.clone()
            ),
            Ok(false)
        );
        assert_eq!(
            check(r#"display ne "x""#, "emails", email.clone()),
            Ok(true),
            "unassigned is ne"
        );
        assert!(check(r#"colour eq "red""#, "emails", email).is_err());
    }

    #[test]
    fn simple_multi_valued_attributes_compare_the_value_itself() {
        let registry = Registry::load().expect("schemas");
        let user = registry.user().expect("user");
        let skills = user.extensions[1].attribute("skills").expect("skills");
        let f = parse_filter(r#"value eq "Billing""#, FilterLimits::default()).expect("parses");
        assert_eq!(matches_value(&f, skills, &json!("billing")), Ok(true));
    }
}
