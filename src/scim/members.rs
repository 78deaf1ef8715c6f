//! Group membership in PATCH and PUT requests, turned into changes that cost what they change:
//! the engine never sees `members` (a group's members live in their own table), every form real
//! clients send becomes an add, a remove, a remove-all or a replace of member ids.

use serde_json::{Map, Value};

use super::filter::{CompValue, CompareOp, Filter, FilterLimits, parse_filter};
use super::limits::AttributeLimits;
use super::patch::{OpKind, Operation, PatchRequest};
use super::resource::Tolerance;
use super::text::strip_prefix_ignore_case;
use super::{CORE_GROUP_URN, ScimError, ScimType};

/// One change to a group's member list, in request order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberChange {
    Add(Vec<String>),
    Remove(Vec<String>),
    RemoveAll,
    Replace(Vec<String>),
}

impl MemberChange {
    /// How many members the change names.
    fn members(&self) -> usize {
        match self {
            MemberChange::Add(ids) | MemberChange::Remove(ids) | MemberChange::Replace(ids) => {
                ids.len()
            }
            MemberChange::RemoveAll => 0,
        }
    }
}

/// A group PATCH split in two: operations on the group's own attributes, and membership changes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupPatch {
    pub attributes: PatchRequest,
    pub members: Vec<MemberChange>,
    /// Member references that are not user ids (nested groups are not supported).
    pub ignored: Vec<String>,
}

fn is_members_path(path: &str) -> Option<&str> {
    let rest = match strip_prefix_ignore_case(path, CORE_GROUP_URN) {
        Some(qualified) => qualified.strip_prefix(':')?,
        None => path,
    };
    strip_prefix_ignore_case(rest, "members")
}

/// Member ids from a value: `[{"value": id, …}]`, `[id]`, a single object or a bare string
/// (IDP-QUIRKS Q6, Q25). `$ref`, `display` and `displayName` are ignored; `type` other than `User`
/// (nested groups) lands in `ignored`.
pub fn member_ids(value: &Value, ignored: &mut Vec<String>) -> Result<Vec<String>, ScimError> {
    let items: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        single => vec![single],
    };
    let mut ids = Vec::with_capacity(items.len());
    for item in items {
        let (id, kind) = match item {
            Value::String(id) => (id.as_str(), None),
            Value::Object(fields) => {
                let get = |name: &str| {
                    fields
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(name))
                        .map(|(_, v)| v)
                };
                let Some(Value::String(id)) = get("value") else {
                    return Err(ScimError::invalid_value(
                        "each member needs a string 'value'",
                    ));
                };
                (id.as_str(), get("type").and_then(Value::as_str))
            }
            _ => {
                return Err(ScimError::invalid_value(
                    "'members' must list objects with a 'value'",
                ));
            }
        };
        if id.is_empty() {
            continue;
        }
        match kind {
            Some(k) if !k.eq_ignore_ascii_case("User") => ignored.push(id.to_string()),
            _ if ids.iter().any(|known| known == id) => {}
            _ => ids.push(id.to_string()),
        }
    }
    Ok(ids)
}

/// The member ids a `members[…]` filter names: `value eq "id"`, possibly joined by `or`.
fn filtered_ids(filter: &Filter) -> Option<Vec<String>> {
    match filter {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: CompValue::Str(id),
        } if path.urn.is_none()
            && path.sub_attr.is_none()
            && path.attr.eq_ignore_ascii_case("value") =>
        {
            Some(vec![id.clone()])
        }
        Filter::Or(parts) => {
            let mut ids = Vec::new();
            for part in parts {
                ids.extend(filtered_ids(part)?);
            }
            Some(ids)
        }
        _ => None,
    }
}

/// Splits a group PATCH into attribute operations and membership changes; an operation naming
/// more members than `attribute_limits` allows is `tooMany`.
pub fn split_group_patch(
    request: PatchRequest,
    limits: FilterLimits,
    attribute_limits: AttributeLimits,
) -> Result<GroupPatch, ScimError> {
    let mut out = GroupPatch::default();
    out.attributes.tolerances = request.tolerances;
    for (i, op) in request.operations.into_iter().enumerate() {
        let at = |e: ScimError| ScimError {
            detail: format!("operation {}: {}", i + 1, e.detail),
            ..e
        };
        match (&op.path, op.kind) {
            (Some(path), kind) if let Some(rest) = is_members_path(path) => {
                let change =
                    member_change(kind, rest, op.value.as_ref(), limits, &mut out).map_err(at)?;
                if let Some(change) = &change {
                    attribute_limits
                        .check_members(change.members())
                        .map_err(at)?;
                }
                out.members.extend(change);
            }
            (None, OpKind::Add | OpKind::Replace) => {
                let Some(Value::Object(fields)) = &op.value else {
                    out.attributes.operations.push(op);
                    continue;
                };
                let mut rest = Map::new();
                for (key, value) in fields {
                    if key.eq_ignore_ascii_case("members") {
                        let ids = member_ids(value, &mut out.ignored).map_err(at)?;
                        attribute_limits.check_members(ids.len()).map_err(at)?;
                        out.members.push(match op.kind {
                            OpKind::Replace => MemberChange::Replace(ids),
                            _ => MemberChange::Add(ids),
                        });
                    } else {
                        rest.insert(key.clone(), value.clone());
                    }
                }
                if !rest.is_empty() {
                    out.attributes.operations.push(Operation {
                        kind: op.kind,
                        path: None,
                        value: Some(Value::Object(rest)),
                    });
                }
            }
            _ => out.attributes.operations.push(op),
        }
    }
    Ok(out)
}

fn member_change(
    kind: OpKind,
    rest: &str,
    value: Option<&Value>,
    limits: FilterLimits,
    out: &mut GroupPatch,
) -> Result<Option<MemberChange>, ScimError> {
    let invalid_path =
        |detail: &str| ScimError::bad_request(ScimType::InvalidPath, detail.to_string());
    if rest.is_empty() {
        let listed = value.filter(|v| !matches!(v, Value::Null));
        return Ok(Some(match (kind, listed) {
            (OpKind::Add, Some(v)) => MemberChange::Add(member_ids(v, &mut out.ignored)?),
            (OpKind::Replace, Some(v)) => MemberChange::Replace(member_ids(v, &mut out.ignored)?),
            (OpKind::Add | OpKind::Replace, None) => {
                return Err(ScimError::invalid_value("'members' needs a value"));
            }
            (OpKind::Remove, None) => MemberChange::RemoveAll,
            // Entra's removal: `path: "members"` with the members to remove (IDP-QUIRKS Q5).
            (OpKind::Remove, Some(v)) => {
                out.attributes
                    .tolerances
                    .push(Tolerance::RemoveListedValues);
                MemberChange::Remove(member_ids(v, &mut out.ignored)?)
            }
        }));
    }
    let Some(inner) = rest.strip_prefix('[').and_then(|r| r.strip_suffix(']')) else {
        return Err(invalid_path(
            "member paths are 'members' or 'members[value eq \"id\"]'",
        ));
    };
    if kind != OpKind::Remove {
        return Err(invalid_path(
            "a filter on 'members' selects members to remove; add and replace take 'members'",
        ));
    }
    let filter = parse_filter(inner, limits).map_err(|e| invalid_path(&e.detail))?;
    let ids = filtered_ids(&filter)
        .ok_or_else(|| invalid_path("member filters compare 'value' with eq (joined by or)"))?;
    Ok(Some(MemberChange::Remove(ids)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::patch::parse_patch_request;
    use serde_json::json;

    fn split(ops: Value) -> Result<GroupPatch, ScimError> {
        let request = parse_patch_request(&json!({"Operations": ops}), 1000)?;
        split_group_patch(request, FilterLimits::default(), AttributeLimits::default())
    }

    #[test]
    fn every_membership_form_becomes_a_change() {
        let patch = split(json!([
            {"op": "Add", "path": "members", "value": [{"value": "u1", "display": "x", "$ref": null}, {"value": "u2"}]},
            {"op": "Remove", "path": "members", "value": [{"value": "u1"}]},
            {"op": "remove", "path": "members[value eq \"u2\" or value eq \"u3\"]"},
            {"op": "replace", "path": "members", "value": []},
            {"op": "remove", "path": "members"},
            {"op": "add", "path": "members", "value": "u4"},
            {"op": "replace", "value": {"id": "g", "displayName": "Sales", "members": [{"value": "u5"}]}},
        ]))
        .expect("valid");
        assert_eq!(
            patch.members,
            [
                MemberChange::Add(vec!["u1".into(), "u2".into()]),
                MemberChange::Remove(vec!["u1".into()]),
                MemberChange::Remove(vec!["u2".into(), "u3".into()]),
                MemberChange::Replace(vec![]),
                MemberChange::RemoveAll,
                MemberChange::Add(vec!["u4".into()]),
                MemberChange::Replace(vec!["u5".into()]),
            ]
        );
        assert_eq!(
            patch.attributes.operations.len(),
            1,
            "displayName and id go to the engine"
        );
        assert_eq!(
            patch.attributes.operations[0].value,
            Some(json!({"id": "g", "displayName": "Sales"}))
        );
    }

    #[test]
    fn nested_groups_are_set_aside_and_bad_member_paths_refused() {
        let patch = split(json!([{"op": "add", "path": "members", "value": [{"value": "g1", "type": "Group"}, {"value": "u1", "type": "User"}]}]))
            .expect("valid");
        assert_eq!(
            (patch.members, patch.ignored),
            (
                vec![MemberChange::Add(vec!["u1".into()])],
                vec!["g1".to_string()]
            )
        );
        for bad in [
            json!([{"op": "add", "path": "members[value eq \"x\"]", "value": [{"value": "y"}]}]),
            json!([{"op": "remove", "path": "members[display eq \"x\"]"}]),
            json!([{"op": "remove", "path": "members.value"}]),
        ] {
            assert_eq!(
                split(bad).expect_err("refused").scim_type,
                Some(ScimType::InvalidPath)
            );
        }
        assert_eq!(
            split(json!([{"op": "add", "path": "members", "value": [{"display": "no value"}]}]))
                .expect_err("refused")
                .scim_type,
            Some(ScimType::InvalidValue)
        );
    }
}
