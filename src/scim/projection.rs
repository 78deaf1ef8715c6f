//! `attributes` and `excludedAttributes` (RFC 7644 §3.4.2.5, §3.9), honouring each attribute's
//! `returned` characteristic (RFC 7643 §7).

use serde_json::{Map, Value};

use super::schema::{Attribute, ResourceSchemas, Returned, Schema};
use super::{ScimError, ScimType};

/// One entry of an attribute list, resolved to a schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selected {
    /// The URN of the schema; `None` for the core schema and the common attributes.
    schema: Option<String>,
    /// Canonical attribute name, or `None` to select a whole extension.
    attr: Option<String>,
    sub_attr: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub enum Projection {
    #[default]
    Default,
    Include(Vec<Selected>),
    Exclude(Vec<Selected>),
}

const COMMON: [&str; 4] = ["id", "externalId", "meta", "schemas"];

impl Projection {
    /// Builds a projection from the two query parameters (comma-separated lists). Names that
    /// match no attribute select nothing.
    pub fn parse(
        schemas: ResourceSchemas<'_>,
        attributes: Option<&str>,
        excluded: Option<&str>,
    ) -> Result<Self, ScimError> {
        let list = |text: &str| -> Vec<Selected> {
            text.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .filter_map(|p| resolve(schemas, p))
                .collect()
        };
        match (
            attributes.filter(|s| !s.trim().is_empty()),
            excluded.filter(|s| !s.trim().is_empty()),
        ) {
            (Some(_), Some(_)) => Err(ScimError::bad_request(
                ScimType::InvalidSyntax,
                "'attributes' and 'excludedAttributes' cannot be used together",
            )),
            (Some(a), None) => Ok(Projection::Include(list(a))),
            (None, Some(e)) => Ok(Projection::Exclude(list(e))),
            (None, None) => Ok(Projection::Default),
        }
    }

    /// Applies the projection to a rendered resource, moving what it keeps (an answer is
    /// rendered once and projected once, so nothing needs copying).
    pub fn apply(&self, schemas: ResourceSchemas<'_>, resource: Value) -> Value {
        let Value::Object(object) = resource else {
            return resource;
        };
        let mut out = Map::new();
        for (key, value) in object {
            if COMMON.contains(&key.as_str()) {
                if self.keeps_common(&key) {
                    out.insert(key, value);
                }
            } else if let Some(ext) = schemas.extension(&key) {
                if let Some(v) = self.filter_object(ext, Some(&ext.id), value) {
                    out.insert(key, v);
                }
            } else if let Some(attr) = schemas.core.attribute(&key)
                && let Some(v) = self.filter_attribute(None, attr, value)
            {
                out.insert(key, v);
            }
        }
        // `schemas` names the extensions that are actually present in the answer.
        match out.remove("schemas") {
            Some(Value::Array(mut urns)) => {
                urns.retain(|u| {
                    u.as_str()
                        .is_some_and(|u| schemas.extension(u).is_none() || out.contains_key(u))
                });
                out.insert("schemas".into(), Value::Array(urns));
            }
            Some(other) => {
                out.insert("schemas".into(), other);
            }
            None => {}
        }
        Value::Object(out)
    }

    /// Whether the answer will hold the core attribute `name` (so that a derived or separately
    /// stored attribute, such as a group's members, is read only when it will be shown).
    pub fn includes(&self, schemas: ResourceSchemas<'_>, name: &str) -> bool {
        let Some(attr) = schemas.core.attribute(name) else {
            return false;
        };
        let named = |list: &[Selected]| {
            list.iter().any(|s| {
                s.schema.is_none()
                    && s.attr.as_deref() == Some(attr.name.as_str())
                    && s.sub_attr.is_none()
            })
        };
        let partly = |list: &[Selected]| {
            list.iter()
                .any(|s| s.schema.is_none() && s.attr.as_deref() == Some(attr.name.as_str()))
        };
        match (attr.returned, self) {
            (Returned::Never, _) => false,
            (Returned::Always, _) => true,
            (Returned::Default, Projection::Default) => true,
            (Returned::Request, Projection::Default) => false,
            (_, Projection::Include(list)) => partly(list),
            (Returned::Request, Projection::Exclude(_)) => false,
            (_, Projection::Exclude(list)) => !named(list),
        }
    }

    /// Whether the answer will hold the attribute `name` of the extension `urn`.
    pub fn includes_extension_attribute(
        &self,
        schemas: ResourceSchemas<'_>,
        urn: &str,
        name: &str,
    ) -> bool {
        let Some(ext) = schemas.extension(urn) else {
            return false;
        };
        let Some(attr) = ext.attribute(name) else {
            return false;
        };
        let names_it = |list: &[Selected]| {
            list.iter().any(|s| {
                s.schema.as_deref() == Some(ext.id.as_str())
                    && (s.attr.is_none() || s.attr.as_deref() == Some(attr.name.as_str()))
            })
        };
        match (attr.returned, self) {
            (Returned::Never, _) => false,
            (Returned::Always, _) => true,
            (Returned::Default, Projection::Default) => true,
            (Returned::Request, Projection::Default | Projection::Exclude(_)) => false,
            (_, Projection::Include(list)) => names_it(list),
            (Returned::Default, Projection::Exclude(list)) => !names_it(list),
        }
    }

    fn keeps_common(&self, key: &str) -> bool {
        let always = key == "id" || key == "schemas";
        let named = |list: &[Selected]| {
            list.iter()
                .any(|s| s.schema.is_none() && s.attr.as_deref() == Some(key))
        };
        match self {
            _ if always => true,
            Projection::Default => true,
            Projection::Include(list) => named(list),
            Projection::Exclude(list) => !named(list),
        }
    }

    fn filter_object(&self, schema: &Schema, urn: Option<&String>, value: Value) -> Option<Value> {
        let Value::Object(object) = value else {
            return None;
        };
        if let Projection::Include(list) = self
            && list
                .iter()
                .any(|s| s.schema.as_ref() == urn && s.attr.is_none())
        {
            return Some(self.strip_never(schema, object));
        }
        if let Projection::Exclude(list) = self
            && list
                .iter()
                .any(|s| s.schema.as_ref() == urn && s.attr.is_none())
        {
            return None;
        }
        let mut out = Map::new();
        for (key, v) in object {
            if let Some(attr) = schema.attribute(&key)
                && let Some(v) = self.filter_attribute(urn, attr, v)
            {
                out.insert(key, v);
            }
        }
        (!out.is_empty()).then_some(Value::Object(out))
    }

    fn strip_never(&self, schema: &Schema, object: Map<String, Value>) -> Value {
        let kept = object.into_iter().filter(|(k, _)| {
            schema
                .attribute(k)
                .is_none_or(|a| a.returned != Returned::Never)
        });
        Value::Object(kept.collect())
    }

    fn filter_attribute(
        &self,
        urn: Option<&String>,
        attr: &Attribute,
        value: Value,
    ) -> Option<Value> {
        let matches = |s: &&Selected| {
            s.schema.as_ref() == urn && s.attr.as_deref() == Some(attr.name.as_str())
        };
        match attr.returned {
            Returned::Never => return None,
            Returned::Always => return Some(value),
            Returned::Default | Returned::Request => {}
        }
        match self {
            Projection::Default => (attr.returned == Returned::Default).then_some(value),
            Projection::Include(list) => {
                let selected: Vec<&Selected> = list.iter().filter(matches).collect();
                if selected.is_empty() {
                    return None;
                }
                if selected.iter().any(|s| s.sub_attr.is_none()) {
                    return Some(value);
                }
                let subs: Vec<&str> = selected
                    .iter()
                    .filter_map(|s| s.sub_attr.as_deref())
                    .collect();
                keep_sub_attributes(value, |name| subs.contains(&name))
            }
            Projection::Exclude(list) => {
                if attr.returned == Returned::Request {
                    return None;
                }
                let selected: Vec<&Selected> = list.iter().filter(matches).collect();
                if selected.iter().any(|s| s.sub_attr.is_none()) {
                    return None;
                }
                let subs: Vec<&str> = selected
                    .iter()
                    .filter_map(|s| s.sub_attr.as_deref())
                    .collect();
                if subs.is_empty() {
                    return Some(value);
                }
                keep_sub_attributes(value, |name| !subs.contains(&name))
            }
        }
    }
}

/// Keeps the chosen sub-attributes of a complex value (or of each value of a multi-valued one).
fn keep_sub_attributes(value: Value, keep: impl Fn(&str) -> bool) -> Option<Value> {
    let filter_one = |v: Value| -> Option<Value> {
        let Value::Object(object) = v else {
            return None;
        };
        let kept: Map<String, Value> = object.into_iter().filter(|(k, _)| keep(k)).collect();
        (!kept.is_empty()).then_some(Value::Object(kept))
    };
    match value {
        Value::Array(items) => {
            let kept: Vec<Value> = items.into_iter().filter_map(filter_one).collect();
            (!kept.is_empty()).then_some(Value::Array(kept))
        }
        other => filter_one(other),
    }
}

fn resolve(schemas: ResourceSchemas<'_>, path: &str) -> Option<Selected> {
    if let Some(ext) = schemas.extension(path) {
        return Some(Selected {
            schema: Some(ext.id.clone()),
            attr: None,
            sub_attr: None,
        });
    }
    let (schema, rest) = match schemas.split_urn(path) {
        Some((schema, rest)) => (schema, rest),
        None => (schemas.core, path),
    };
    let (head, sub) = match rest.split_once('.') {
        Some((h, s)) => (h, Some(s)),
        None => (rest, None),
    };
    let is_core = std::ptr::eq(schema, schemas.core);
    if is_core && let Some(common) = COMMON.iter().find(|c| c.eq_ignore_ascii_case(head)) {
        return Some(Selected {
            schema: None,
            attr: Some((*common).to_string()),
            sub_attr: None,
        });
    }
    let attr = schema.attribute(head)?;
    let sub_attr = match sub {
        Some(s) => Some(attr.sub_attribute(s)?.name.clone()),
        None => None,
    };
    Some(Selected {
        schema: (!is_core).then(|| schema.id.clone()),
        attr: Some(attr.name.clone()),
        sub_attr,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::ENTERPRISE_USER_URN;
    use crate::scim::schema::Registry;
    use serde_json::json;

    fn user() -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "1",
            "userName": "b", "name": {"givenName": "B", "familyName": "J"},
            "emails": [{"value": "b@x", "type": "work"}], "meta": {"resourceType": "User"},
            ENTERPRISE_USER_URN: {"department": "Sales", "employeeNumber": "7"}
        })
    }

    fn project(attributes: Option<&str>, excluded: Option<&str>) -> Value {
        let registry = Registry::load().expect("schemas");
        let schemas = registry.user().expect("user");
        Projection::parse(schemas, attributes, excluded)
            .expect("valid")
            .apply(schemas, user())
    }

    #[test]
    fn attributes_keep_id_schemas_and_what_was_named() {
        assert_eq!(
            project(Some("userName,name.givenName,EMAILS.value"), None),
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "1", "userName": "b",
                   "name": {"givenName": "B"}, "emails": [{"value": "b@x"}]})
        );
    }

    #[test]
    fn excluded_attributes_drop_what_was_named_but_never_id() {
        let out = project(
            None,
            Some(&format!("id,name,meta,{ENTERPRISE_USER_URN}:department")),
        );
        assert_eq!(out["id"], "1");
        assert!(out.get("name").is_none() && out.get("meta").is_none());
        assert_eq!(out[ENTERPRISE_USER_URN], json!({"employeeNumber": "7"}));
    }

    #[test]
    fn a_whole_extension_can_be_selected() {
        let out = project(Some(ENTERPRISE_USER_URN), None);
        assert_eq!(out[ENTERPRISE_USER_URN]["department"], "Sales");
        assert!(out.get("userName").is_none());
    }
}
