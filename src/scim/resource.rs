//! Resource documents: reading a client's JSON into the canonical stored form (schema-driven, with
//! the tolerances real IdPs need) and rendering a stored document back with `schemas`, `id` and
//! `meta`.
//!
//! The stored form has the core attributes at the top level under their canonical names and each
//! extension under its schema URN. It never holds `id`, `meta`, `schemas`, read-only or write-only
//! values (a `password` is accepted and discarded), nulls or empty strings.

use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::limits::AttributeLimits;
use super::schema::{AttrType, Attribute, Mutability, ResourceSchemas, Schema};
use super::{ScimError, ScimType};

/// A tolerance applied while reading input, recorded in the audit trail so admins can see which
/// IdP relies on what (IDP-QUIRKS.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tolerance {
    StringBoolean,
    StringInteger,
    DottedKey,
    UrnQualifiedKey,
    UnqualifiedExtensionAttribute,
    ScalarForComplex,
    ArrayForSingleValue,
    SingleValueForMultiValued,
    UnknownAttributeIgnored,
    ReadOnlyInputIgnored,
    SeveralPrimaryValues,
    CapitalisedOperation,
    LenientPatchEnvelope,
    ValueFilterUpsert,
    RemoveListedValues,
    UnknownSchemaPathIgnored,
    NullMeansRemove,
}

impl Tolerance {
    pub fn as_str(self) -> &'static str {
        match self {
            Tolerance::StringBoolean => "string_boolean",
            Tolerance::StringInteger => "string_integer",
            Tolerance::DottedKey => "dotted_key",
            Tolerance::UrnQualifiedKey => "urn_qualified_key",
            Tolerance::UnqualifiedExtensionAttribute => "unqualified_extension_attribute",
            Tolerance::ScalarForComplex => "scalar_for_complex",
            Tolerance::ArrayForSingleValue => "array_for_single_value",
            Tolerance::SingleValueForMultiValued => "single_value_for_multi_valued",
            Tolerance::UnknownAttributeIgnored => "unknown_attribute_ignored",
            Tolerance::ReadOnlyInputIgnored => "read_only_input_ignored",
            Tolerance::SeveralPrimaryValues => "several_primary_values",
            Tolerance::CapitalisedOperation => "capitalised_operation",
            Tolerance::LenientPatchEnvelope => "lenient_patch_envelope",
            Tolerance::ValueFilterUpsert => "value_filter_upsert",
            Tolerance::RemoveListedValues => "remove_listed_values",
            Tolerance::UnknownSchemaPathIgnored => "unknown_schema_path_ignored",
            Tolerance::NullMeansRemove => "null_means_remove",
        }
    }
}

/// The outcome of reading a client document.
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    pub doc: Map<String, Value>,
    pub tolerances: Vec<Tolerance>,
    /// The sizes the values read may have.
    pub limits: AttributeLimits,
}

impl Parsed {
    /// Nothing read yet; values are read within `limits`.
    pub fn within(limits: AttributeLimits) -> Self {
        Self {
            limits,
            ..Self::default()
        }
    }

    pub fn note(&mut self, tolerance: Tolerance) {
        if !self.tolerances.contains(&tolerance) {
            self.tolerances.push(tolerance);
        }
    }
}

/// The one multi-valued attribute whose values are not counted against `max_values`.
const GROUP_MEMBERS: &str = "members";

/// Reads a POST or PUT body into the stored form. Attribute names are matched without regard to
/// case; unknown attributes and schema URIs are ignored; wrong types are `400 invalidValue`;
/// values beyond the schemas' `limits` are `400 invalidValue` naming the limit.
pub fn parse_resource(schemas: ResourceSchemas<'_>, body: &Value) -> Result<Parsed, ScimError> {
    let Some(object) = body.as_object() else {
        return Err(ScimError::invalid_syntax(
            "the request body must be a JSON object",
        ));
    };
    let mut parsed = Parsed::within(schemas.limits);
    for (key, value) in object {
        place_top_level(schemas, key, value, &mut parsed)?;
    }
    for attr in schemas
        .core
        .attributes
        .iter()
        .filter(|a| a.required && a.is_writable())
    {
        if !parsed.doc.contains_key(&attr.name) {
            return Err(ScimError::invalid_value(format!(
                "'{}' is required",
                attr.name
            )));
        }
    }
    Ok(parsed)
}

fn place_top_level(
    schemas: ResourceSchemas<'_>,
    key: &str,
    value: &Value,
    parsed: &mut Parsed,
) -> Result<(), ScimError> {
    if ["schemas", "id", "meta"]
        .iter()
        .any(|k| k.eq_ignore_ascii_case(key))
    {
        return Ok(());
    }
    if key.eq_ignore_ascii_case("externalId") {
        if let Some(v) = read_scalar("externalId", AttrType::String, value, parsed)? {
            parsed.doc.insert("externalId".into(), v);
        }
        return Ok(());
    }
    if let Some(ext) = schemas.extension(key) {
        match value {
            Value::Null => {}
            Value::Object(fields) => {
                for (name, v) in fields {
                    place_in_schema(ext, Some(ext), name, v, parsed)?;
                }
            }
            _ => {
                return Err(ScimError::invalid_value(format!(
                    "the extension '{}' must be a JSON object",
                    ext.id
                )));
            }
        }
        return Ok(());
    }
    if let Some((schema, rest)) = schemas.split_urn(key) {
        parsed.note(Tolerance::UrnQualifiedKey);
        let container = (schema.id != schemas.core.id).then_some(schema);
        return place_in_schema(schema, container, rest, value, parsed);
    }
    let head = key.split('.').next().unwrap_or(key);
    if schemas.core.attribute(head).is_some() {
        return place_in_schema(schemas.core, None, key, value, parsed);
    }
    // Enterprise attributes sent at the top level (`department`, IDP-QUIRKS Q10).
    if let Some(ext) = schemas
        .extensions
        .iter()
        .find(|s| s.attribute(head).is_some())
    {
        parsed.note(Tolerance::UnqualifiedExtensionAttribute);
        return place_in_schema(ext, Some(ext), key, value, parsed);
    }
    parsed.note(Tolerance::UnknownAttributeIgnored);
    Ok(())
}

/// Places `name` (possibly `attr.sub`) of `schema` into the document, under the extension's URN
/// when `container` is given.
fn place_in_schema(
    schema: &Schema,
    container: Option<&Schema>,
    name: &str,
    value: &Value,
    parsed: &mut Parsed,
) -> Result<(), ScimError> {
    let (head, sub) = match name.split_once('.') {
        Some((h, s)) => {
            parsed.note(Tolerance::DottedKey);
            (h, Some(s))
        }
        None => (name, None),
    };
    let Some(attr) = schema.attribute(head) else {
        parsed.note(Tolerance::UnknownAttributeIgnored);
        return Ok(());
    };
    let normalized = match sub {
        None => read_attribute(attr, &attr.name, value, parsed)?,
        Some(sub_name) => {
            let Some(sub_attr) = attr.sub_attribute(sub_name).filter(|_| !attr.multi_valued) else {
                parsed.note(Tolerance::UnknownAttributeIgnored);
                return Ok(());
            };
            let label = format!("{}.{}", attr.name, sub_attr.name);
            read_attribute(sub_attr, &label, value, parsed)?.map(|v| {
                let mut object = Map::new();
                object.insert(sub_attr.name.clone(), v);
                Value::Object(object)
            })
        }
    };
    let target = match container {
        Some(ext) => {
            let entry = parsed
                .doc
                .entry(ext.id.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            match entry.as_object_mut() {
                Some(obj) => obj,
                None => return Ok(()),
            }
        }
        None => &mut parsed.doc,
    };
    if let Some(v) = normalized {
        merge_into(target, &attr.name, v);
    }
    if let Some(ext) = container
        && parsed
            .doc
            .get(&ext.id)
            .and_then(Value::as_object)
            .is_some_and(Map::is_empty)
    {
        parsed.doc.remove(&ext.id);
    }
    Ok(())
}

/// `name: {givenName}` and `name.familyName` in one body both land in `name`.
fn merge_into(target: &mut Map<String, Value>, key: &str, value: Value) {
    match (target.get_mut(key), value) {
        (Some(Value::Object(existing)), Value::Object(new)) => existing.extend(new),
        (_, value) => {
            target.insert(key.to_string(), value);
        }
    }
}

/// Reads one attribute's value. `Ok(None)` means unassigned: null, "", [], or read-only or
/// write-only input, which is ignored rather than rejected.
pub fn read_attribute(
    attr: &Attribute,
    label: &str,
    value: &Value,
    parsed: &mut Parsed,
) -> Result<Option<Value>, ScimError> {
    match attr.mutability {
        Mutability::ReadOnly => {
            if !value.is_null() {
                parsed.note(Tolerance::ReadOnlyInputIgnored);
            }
            return Ok(None);
        }
        // Write-only values (passwords) are accepted and discarded: sign-in is the IdP's job.
        Mutability::WriteOnly => return Ok(None),
        Mutability::ReadWrite | Mutability::Immutable => {}
    }
    if !attr.multi_valued {
        let single = match value {
            Value::Array(items) if attr.kind == AttrType::Complex => {
                parsed.note(Tolerance::ArrayForSingleValue);
                items.first().unwrap_or(&Value::Null)
            }
            other => other,
        };
        return read_value(attr, label, single, parsed);
    }
    let items: Vec<&Value> = match value {
        Value::Null => return Ok(None),
        Value::Array(items) => items.iter().collect(),
        single => {
            parsed.note(Tolerance::SingleValueForMultiValued);
            vec![single]
        }
    };
    // A group's members live in their own table and are bounded per PATCH operation instead.
    if label != GROUP_MEMBERS {
        parsed.limits.check_values(label, items.len())?;
    }
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        if let Some(v) = read_value(attr, label, item, parsed)? {
            out.push(v);
        }
    }
    if attr.kind == AttrType::Complex {
        keep_one_primary(&mut out, parsed);
    }
    Ok((!out.is_empty()).then_some(Value::Array(out)))
}

/// RFC 7643 §2.4: `primary: true` at most once. The first one wins; later ones become false.
fn keep_one_primary(values: &mut [Value], parsed: &mut Parsed) {
    let mut seen = false;
    for value in values.iter_mut() {
        if let Some(primary) = value.get_mut("primary")
            && *primary == Value::Bool(true)
        {
            if seen {
                *primary = Value::Bool(false);
                parsed.note(Tolerance::SeveralPrimaryValues);
            }
            seen = true;
        }
    }
}

/// Reads one value of an attribute (an element, for a multi-valued one).
pub fn read_value(
    attr: &Attribute,
    label: &str,
    value: &Value,
    parsed: &mut Parsed,
) -> Result<Option<Value>, ScimError> {
    if attr.kind != AttrType::Complex {
        return read_scalar(label, attr.kind, value, parsed);
    }
    let fields = match value {
        Value::Null => return Ok(None),
        Value::Object(fields) => fields.clone(),
        // `manager: "id"` and similar: a bare value for a complex attribute means its `value`.
        Value::String(_) | Value::Number(_) | Value::Bool(_)
            if attr.sub_attribute("value").is_some() =>
        {
            parsed.note(Tolerance::ScalarForComplex);
            let mut m = Map::new();
            m.insert("value".into(), value.clone());
            m
        }
        _ => {
            return Err(ScimError::invalid_value(format!(
                "'{label}' must be a JSON object"
            )));
        }
    };
    let mut out = Map::new();
    for (key, v) in &fields {
        let Some(sub) = attr.sub_attribute(key) else {
            continue;
        };
        let sub_label = format!("{label}.{}", sub.name);
        if let Some(v) = read_attribute(sub, &sub_label, v, parsed)? {
            out.insert(sub.name.clone(), v);
        }
    }
    Ok((!out.is_empty()).then_some(Value::Object(out)))
}

fn read_scalar(
    label: &str,
    kind: AttrType,
    value: &Value,
    parsed: &mut Parsed,
) -> Result<Option<Value>, ScimError> {
    let wrong = |expected: &str| {
        Err(ScimError::new(
            400,
            Some(ScimType::InvalidValue),
            format!("'{label}' must be {expected}"),
        ))
    };
    match (kind, value) {
        (_, Value::Null) => Ok(None),
        (
            AttrType::String | AttrType::Reference | AttrType::Binary | AttrType::DateTime,
            Value::String(s),
        ) if s.is_empty() => Ok(None),
        (AttrType::String | AttrType::Reference, Value::String(s)) => {
            parsed.limits.check_string(label, s)?;
            Ok(Some(value.clone()))
        }
        (AttrType::Binary, Value::String(_)) => Ok(Some(value.clone())),
        (AttrType::String | AttrType::Reference | AttrType::Binary, _) => wrong("a string"),
        (AttrType::DateTime, Value::String(s)) => match OffsetDateTime::parse(s, &Rfc3339) {
            Ok(_) => Ok(Some(value.clone())),
            Err(_) => wrong("a dateTime such as 2024-01-31T12:00:00Z"),
        },
        (AttrType::DateTime, _) => wrong("a dateTime string"),
        (AttrType::Boolean, Value::Bool(_)) => Ok(Some(value.clone())),
        // Entra sends "True"/"False" (IDP-QUIRKS Q2).
        (AttrType::Boolean, Value::String(s))
            if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false") =>
        {
            parsed.note(Tolerance::StringBoolean);
            Ok(Some(Value::Bool(s.eq_ignore_ascii_case("true"))))
        }
        (AttrType::Boolean, _) => wrong("a boolean"),
        (AttrType::Integer, Value::Number(n)) if n.is_i64() => Ok(Some(value.clone())),
        // Clients that send every value as a string, and the schema's string canonicalValues.
        (AttrType::Integer, Value::String(s)) if s.trim().parse::<i64>().is_ok() => {
            parsed.note(Tolerance::StringInteger);
            Ok(s.trim().parse::<i64>().ok().map(Value::from))
        }
        (AttrType::Integer, _) => wrong("an integer"),
        (AttrType::Decimal, Value::Number(_)) => Ok(Some(value.clone())),
        (AttrType::Decimal, _) => wrong("a number"),
        (AttrType::Complex, _) => wrong("a JSON object"),
    }
}

/// A value of `attr` with the strings of `caseExact: false` (sub-)attributes lower-cased.
pub fn fold_value(attr: &Attribute, value: &Value) -> Value {
    match value {
        Value::String(s) if !attr.case_exact && attr.kind != AttrType::Complex => {
            Value::String(s.to_lowercase())
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| fold_value(attr, v)).collect()),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| match attr.sub_attribute(k) {
                    Some(sub) => (k.clone(), fold_value(sub, v)),
                    None => (k.clone(), v.clone()),
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The document with the string values of every `caseExact: false` attribute lower-cased, for
/// comparisons without regard to case that behave the same on every storage engine.
pub fn fold_case(schemas: ResourceSchemas<'_>, doc: &Map<String, Value>) -> Map<String, Value> {
    fn fold_object(schema: &Schema, object: &Map<String, Value>) -> Map<String, Value> {
        object
            .iter()
            .map(|(k, v)| match schema.attribute(k) {
                Some(attr) => (k.clone(), fold_value(attr, v)),
                None => (k.clone(), v.clone()),
            })
            .collect()
    }
    doc.iter()
        .map(|(k, v)| match (schemas.extension(k), v) {
            (Some(ext), Value::Object(inner)) => {
                (k.clone(), Value::Object(fold_object(ext, inner)))
            }
            _ => match schemas.core.attribute(k) {
                Some(attr) => (k.clone(), fold_value(attr, v)),
                None => (k.clone(), v.clone()),
            },
        })
        .collect()
}

/// Server-maintained metadata of a stored resource (RFC 7643 §3.1).
#[derive(Debug, Clone)]
pub struct Meta {
    pub resource_type: String,
    pub created: OffsetDateTime,
    pub last_modified: OffsetDateTime,
    pub location: String,
    pub version: i64,
}

impl Meta {
    /// The weak entity tag of this version, as `meta.version` and the `ETag` header carry it.
    pub fn etag(&self) -> String {
        etag_of(self.version)
    }
}

pub fn etag_of(version: i64) -> String {
    format!("W/\"{version}\"")
}

pub fn format_datetime(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// Renders a stored document as a SCIM resource: `schemas` lists the core schema and each
/// extension present, then `id` and `meta` are added.
pub fn render(
    schemas: ResourceSchemas<'_>,
    id: &str,
    mut out: Map<String, Value>,
    meta: &Meta,
) -> Value {
    let mut schema_list = vec![Value::String(schemas.core.id.clone())];
    for ext in schemas.extensions {
        if out
            .get(&ext.id)
            .is_some_and(|v| v.as_object().is_some_and(|o| !o.is_empty()))
        {
            schema_list.push(Value::String(ext.id.clone()));
        }
    }
    out.insert("schemas".into(), Value::Array(schema_list));
    out.insert("id".into(), Value::String(id.to_string()));
    out.insert(
        "meta".into(),
        serde_json::json!({
            "resourceType": meta.resource_type,
            "created": format_datetime(meta.created),
            "lastModified": format_datetime(meta.last_modified),
            "location": meta.location,
            "version": meta.etag(),
        }),
    );
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::schema::Registry;
    use crate::scim::{ENTERPRISE_USER_URN, TENANT_USER_URN};
    use serde_json::json;

    fn parse(body: Value) -> Result<Parsed, ScimError> {
        let registry = Registry::load().expect("schemas");
        let user = registry.user().expect("user");
        parse_resource(user, &body)
    }

    #[test]
    fn names_are_canonicalised_and_read_only_input_ignored() {
        let p = parse(json!({
            "UserName": "Bjensen", "NAME": {"GivenName": "B", "formatted": ""},
            "id": "client-id", "meta": {"created": "x"}, "groups": [{"value": "g"}],
            "password": "secret", "schemas": ["urn:scim:schemas:core:1.0"]
        }))
        .expect("valid");
        assert_eq!(
            Value::Object(p.doc),
            json!({"userName": "Bjensen", "name": {"givenName": "B"}})
        );
    }

    #[test]
    fn string_booleans_are_coerced_and_recorded() {
        let p = parse(json!({"userName": "a", "active": "False", "emails": [{"value": "a@x", "primary": "true"}]}))
            .expect("valid");
        assert_eq!(p.doc["active"], json!(false));
        assert_eq!(p.doc["emails"][0]["primary"], json!(true));
        assert_eq!(p.tolerances, [Tolerance::StringBoolean]);
    }

    #[test]
    fn extension_attributes_land_under_their_urn_in_every_spelling() {
        let p = parse(json!({
            "userName": "a",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "42",
            "Department": "Sales",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user": {"manager": "m-1"},
            "name.familyName": "Jensen"
        }))
        .expect("valid");
        assert_eq!(
            p.doc[ENTERPRISE_USER_URN],
            json!({"employeeNumber": "42", "department": "Sales", "manager": {"value": "m-1"}})
        );
        assert_eq!(p.doc["name"], json!({"familyName": "Jensen"}));
    }

    #[test]
    fn wrong_types_are_invalid_value_naming_the_attribute() {
        for (body, attr) in [
            (json!({"userName": 5}), "'userName'"),
            (json!({"userName": "a", "active": "yes"}), "'active'"),
            (
                json!({"userName": "a", "emails": [{"value": ["x"]}]}),
                "'emails.value'",
            ),
            (
                json!({"userName": "a", TENANT_USER_URN: {"maxChats": "three"}}),
                "'maxChats'",
            ),
            (
                json!({"userName": "a", TENANT_USER_URN: {"maxChats": 2.5}}),
                "'maxChats'",
            ),
        ] {
            let err = parse(body).expect_err("rejected");
            assert_eq!(err.scim_type, Some(ScimType::InvalidValue));
            assert!(err.detail.contains(attr), "{}", err.detail);
        }
    }

    #[test]
    fn integers_sent_as_strings_are_read_as_integers() {
        let p = parse(json!({"userName": "a", TENANT_USER_URN: {"maxChats": "3"}})).expect("valid");
        assert_eq!(p.doc[TENANT_USER_URN]["maxChats"], json!(3));
        assert_eq!(p.tolerances, [Tolerance::StringInteger]);
    }

    #[test]
    fn missing_user_name_is_rejected_and_nulls_mean_unassigned() {
        assert!(
            parse(json!({"displayName": "x"}))
                .expect_err("required")
                .detail
                .contains("userName")
        );
        let p = parse(json!({"userName": "a", "addresses": null, "roles": [], "nickName": ""}))
            .expect("valid");
        assert_eq!(Value::Object(p.doc), json!({"userName": "a"}));
    }

    #[test]
    fn folding_lowers_only_case_insensitive_values_beyond_ascii() {
        let registry = Registry::load().expect("schemas");
        let user = registry.user().expect("user");
        let doc = json!({"userName": "ÉMILE", "externalId": "KeepMe", "name": {"givenName": "Ölaf"},
                         "emails": [{"value": "A@X", "type": "Work"}], ENTERPRISE_USER_URN: {"department": "SALES"}});
        let folded = fold_case(user, doc.as_object().expect("object"));
        assert_eq!(
            Value::Object(folded),
            json!({"userName": "émile", "externalId": "KeepMe", "name": {"givenName": "ölaf"},
            "emails": [{"value": "a@x", "type": "work"}], ENTERPRISE_USER_URN: {"department": "sales"}})
        );
    }

    #[test]
    fn only_the_first_primary_value_stays_primary() {
        let p = parse(json!({"userName": "a", "emails": [
            {"value": "a@x", "primary": true}, {"value": "b@x", "primary": true}
        ]}))
        .expect("valid");
        assert_eq!(p.doc["emails"][1]["primary"], json!(false));
    }
}
