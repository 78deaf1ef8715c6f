//! The PATCH engine of RFC 7644 §3.5.2 on resource documents (no HTTP, no SQL): `add`, `replace`
//! and `remove` with every path form, applied in order on a working copy so that a failing
//! operation leaves the original untouched, and the tolerances real clients need (IDP-QUIRKS §1).

use serde_json::{Map, Value};

use super::filter::eval::matches_value;
use super::filter::{CompValue, CompareOp, Filter, FilterLimits};
use super::path::{PathTarget, Target, parse_path};
use super::resource::{Parsed, Tolerance, parse_resource, read_attribute, read_value};
use super::schema::{AttrType, Attribute, Mutability, ResourceSchemas, Schema};
use super::{ScimError, ScimType};

pub const PATCH_OP_URN: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    Add,
    Remove,
    Replace,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    pub kind: OpKind,
    pub path: Option<String>,
    pub value: Option<Value>,
}

/// A parsed PatchOp request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PatchRequest {
    pub operations: Vec<Operation>,
    pub tolerances: Vec<Tolerance>,
}

fn field<'v>(object: &'v Map<String, Value>, name: &str) -> Option<&'v Value> {
    object
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// Reads a PatchOp body. The envelope is read leniently (keys in any case, `schemas` optional,
/// unknown members ignored: IDP-QUIRKS Q25, Q26); `op` and `path` strictly, but `op` without regard
/// to case (Q1).
pub fn parse_patch_request(body: &Value, max_operations: usize) -> Result<PatchRequest, ScimError> {
    let Some(object) = body.as_object() else {
        return Err(ScimError::invalid_syntax(
            "a PatchOp request must be a JSON object",
        ));
    };
    let mut tolerances = Vec::new();
    let schemas_ok = field(object, "schemas")
        .and_then(Value::as_array)
        .is_some_and(|s| {
            s.iter().any(|u| {
                u.as_str()
                    .is_some_and(|u| u.eq_ignore_ascii_case(PATCH_OP_URN))
            })
        });
    let Some(ops) = field(object, "Operations") else {
        return Err(ScimError::invalid_syntax(
            "a PatchOp request needs an 'Operations' array",
        ));
    };
    if !schemas_ok || !object.contains_key("Operations") {
        tolerances.push(Tolerance::LenientPatchEnvelope);
    }
    let Some(ops) = ops.as_array() else {
        return Err(ScimError::invalid_syntax("'Operations' must be an array"));
    };
    if ops.is_empty() {
        return Err(ScimError::invalid_syntax("'Operations' is empty"));
    }
    if ops.len() > max_operations {
        return Err(ScimError::invalid_syntax(format!(
            "'Operations' has {} operations; the limit is {max_operations}",
            ops.len()
        )));
    }
    let mut operations = Vec::with_capacity(ops.len());
    for (i, op) in ops.iter().enumerate() {
        let n = i + 1;
        let Some(op) = op.as_object() else {
            return Err(ScimError::invalid_syntax(format!(
                "operation {n} must be a JSON object"
            )));
        };
        let kind_text = field(op, "op").and_then(Value::as_str).unwrap_or_default();
        let kind = match kind_text.to_ascii_lowercase().as_str() {
            "add" => OpKind::Add,
            "remove" => OpKind::Remove,
            "replace" => OpKind::Replace,
            _ => {
                return Err(ScimError::invalid_syntax(format!(
                    "operation {n} has op '{kind_text}'; expected add, remove or replace"
                )));
            }
        };
        if kind_text.chars().any(|c| c.is_ascii_uppercase())
            && !tolerances.contains(&Tolerance::CapitalisedOperation)
        {
            tolerances.push(Tolerance::CapitalisedOperation);
        }
        let path = match field(op, "path") {
            None | Some(Value::Null) => None,
            Some(Value::String(p)) if p.trim().is_empty() => None,
            Some(Value::String(p)) => Some(p.clone()),
            Some(_) => {
                return Err(ScimError::bad_request(
                    ScimType::InvalidPath,
                    format!("operation {n}: 'path' must be a string"),
                ));
            }
        };
        let value = field(op, "value").cloned();
        if kind == OpKind::Remove && path.is_none() {
            return Err(ScimError::bad_request(
                ScimType::NoTarget,
                format!("operation {n}: remove needs a 'path'"),
            ));
        }
        if kind != OpKind::Remove && path.is_none() && !value.as_ref().is_some_and(Value::is_object)
        {
            return Err(ScimError::invalid_value(format!(
                "operation {n}: {kind_text} without a 'path' needs an object 'value'"
            )));
        }
        operations.push(Operation { kind, path, value });
    }
    Ok(PatchRequest {
        operations,
        tolerances,
    })
}

/// Applies the operations to `doc` (a stored document, with `active` where the resource has it)
/// and returns the new document, validated as a whole. `resource_id` lets a client resend the
/// resource's own `id` (Okta, IDP-QUIRKS Q17).
pub fn apply_patch(
    schemas: ResourceSchemas<'_>,
    doc: &Map<String, Value>,
    resource_id: &str,
    request: &PatchRequest,
    limits: FilterLimits,
) -> Result<Parsed, ScimError> {
    let mut engine = Engine {
        schemas,
        work: doc.clone(),
        notes: Parsed::within(schemas.limits),
        resource_id,
        limits,
        scratch: Map::new(),
    };
    for tolerance in &request.tolerances {
        engine.notes.note(*tolerance);
    }
    for (i, op) in request.operations.iter().enumerate() {
        engine.apply(op).map_err(|mut e| {
            e.detail = format!("operation {}: {}", i + 1, e.detail);
            e
        })?;
    }
    let mut parsed = parse_resource(schemas, &Value::Object(engine.work))?;
    for tolerance in engine.notes.tolerances {
        parsed.note(tolerance);
    }
    Ok(parsed)
}

struct Engine<'a, 's> {
    schemas: ResourceSchemas<'a>,
    work: Map<String, Value>,
    notes: Parsed,
    resource_id: &'s str,
    limits: FilterLimits,
    scratch: Map<String, Value>,
}

/// Whether a value means "unassigned" (RFC 7643 §2.5; Entra's "" for clear, IDP-QUIRKS Q14).
fn is_unassigned(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

fn no_target(detail: String) -> ScimError {
    ScimError::bad_request(ScimType::NoTarget, detail)
}

impl<'a> Engine<'a, '_> {
    fn apply(&mut self, op: &Operation) -> Result<(), ScimError> {
        let value = op.value.as_ref();
        let Some(raw_path) = &op.path else {
            // Path-less add or replace: the value's members are the targets.
            let Some(Value::Object(members)) = value else {
                return Err(ScimError::invalid_value(
                    "the operation needs an object 'value'",
                ));
            };
            return self.apply_members(op.kind, None, members);
        };
        match parse_path(self.schemas, raw_path, self.limits)? {
            PathTarget::UnknownSchema(_) => {
                self.notes.note(Tolerance::UnknownSchemaPathIgnored);
                Ok(())
            }
            PathTarget::Extension(ext) => match (op.kind, value) {
                (OpKind::Remove, _) => {
                    self.work.remove(&ext.id);
                    Ok(())
                }
                (_, Some(Value::Object(members))) => {
                    self.apply_members(op.kind, Some(ext), members)
                }
                (_, Some(v)) if is_unassigned(v) => {
                    self.work.remove(&ext.id);
                    Ok(())
                }
                _ => Err(ScimError::invalid_value(format!(
                    "the value for '{}' must be an object",
                    ext.id
                ))),
            },
            PathTarget::Attribute(target) => {
                if target.unqualified_extension {
                    self.notes.note(Tolerance::UnqualifiedExtensionAttribute);
                }
                self.apply_target(op.kind, &target, value, true)
            }
        }
    }

    /// Applies a path-less value's members (or a whole extension's) one by one.
    fn apply_members(
        &mut self,
        kind: OpKind,
        within: Option<&'a Schema>,
        members: &Map<String, Value>,
    ) -> Result<(), ScimError> {
        for (key, v) in members {
            if within.is_none() {
                if key.eq_ignore_ascii_case("schemas") || key.eq_ignore_ascii_case("meta") {
                    continue;
                }
                if key.eq_ignore_ascii_case("id") {
                    if v.as_str().is_some_and(|id| id != self.resource_id) {
                        return Err(ScimError::mutability(
                            "'id' is read-only and cannot be changed",
                        ));
                    }
                    continue;
                }
                if key.eq_ignore_ascii_case("externalId") {
                    self.set_external_id(v)?;
                    continue;
                }
                if let Some(ext) = self.schemas.extension(key) {
                    match v {
                        Value::Object(inner) => self.apply_members(kind, Some(ext), inner)?,
                        v if is_unassigned(v) => {
                            self.work.remove(&ext.id);
                        }
                        _ => {
                            return Err(ScimError::invalid_value(format!(
                                "'{}' must be an object",
                                ext.id
                            )));
                        }
                    }
                    continue;
                }
            }
            let target = match within {
                Some(ext) => self.resolve_in(ext, key),
                None => self.resolve_member(key),
            };
            if let Some(target) = target {
                self.apply_target(kind, &target, Some(v), false)?;
            }
        }
        Ok(())
    }

    /// A member key of a path-less value: a core attribute, `urn:…:attr`, `name.givenName` or an
    /// unqualified extension attribute; unknown keys are ignored (IDP-QUIRKS Q3, Q4, Q10).
    fn resolve_member(&mut self, key: &str) -> Option<Target<'a>> {
        let schemas = self.schemas;
        if let Some((schema, rest)) = schemas.split_urn(key) {
            self.notes.note(Tolerance::UrnQualifiedKey);
            return self.resolve_in(schema, rest);
        }
        let head = key.split('.').next().unwrap_or(key);
        if schemas.core.attribute(head).is_some() {
            return self.resolve_in(schemas.core, key);
        }
        if let Some(ext) = schemas
            .extensions
            .iter()
            .find(|s| s.attribute(head).is_some())
        {
            self.notes.note(Tolerance::UnqualifiedExtensionAttribute);
            return self.resolve_in(ext, key);
        }
        self.notes.note(Tolerance::UnknownAttributeIgnored);
        None
    }

    fn resolve_in(&mut self, schema: &'a Schema, key: &str) -> Option<Target<'a>> {
        let (head, sub) = match key.split_once('.') {
            Some((h, s)) => {
                self.notes.note(Tolerance::DottedKey);
                (h, Some(s))
            }
            None => (key, None),
        };
        let found = schema.attribute(head).and_then(|attr| match sub {
            None => Some((attr, None)),
            Some(s) if !attr.multi_valued => attr.sub_attribute(s).map(|sub| (attr, Some(sub))),
            Some(_) => None,
        });
        let Some((attr, sub)) = found else {
            self.notes.note(Tolerance::UnknownAttributeIgnored);
            return None;
        };
        let extension = (schema.id != self.schemas.core.id).then_some(schema);
        Some(Target {
            extension,
            attr,
            filter: None,
            sub,
            unqualified_extension: false,
        })
    }

    fn set_external_id(&mut self, value: &Value) -> Result<(), ScimError> {
        match value {
            v if is_unassigned(v) => {
                self.work.remove("externalId");
            }
            Value::String(s) => {
                self.work
                    .insert("externalId".into(), Value::String(s.clone()));
            }
            _ => return Err(ScimError::invalid_value("'externalId' must be a string")),
        }
        Ok(())
    }

    /// The object an attribute lives in: the document, or its extension's object (created on
    /// demand; an empty one is dropped by the final validation).
    fn scope(&mut self, extension: Option<&Schema>) -> &mut Map<String, Value> {
        match extension {
            None => &mut self.work,
            Some(ext) => {
                let entry = self
                    .work
                    .entry(ext.id.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                if !entry.is_object() {
                    *entry = Value::Object(Map::new());
                }
                match entry {
                    Value::Object(map) => map,
                    // Never taken: the entry was made an object just above.
                    _ => &mut self.scratch,
                }
            }
        }
    }

    fn apply_target(
        &mut self,
        kind: OpKind,
        target: &Target<'a>,
        value: Option<&Value>,
        explicit_path: bool,
    ) -> Result<(), ScimError> {
        let attr = target.attr;
        let leaf = target.sub.unwrap_or(attr);
        if attr.mutability == Mutability::ReadOnly || leaf.mutability == Mutability::ReadOnly {
            if explicit_path {
                return Err(ScimError::mutability(format!(
                    "'{}' is read-only",
                    target.display()
                )));
            }
            self.notes.note(Tolerance::ReadOnlyInputIgnored);
            return Ok(());
        }
        if attr.mutability == Mutability::WriteOnly {
            // A password: accepted and discarded, sign-in is the IdP's job.
            return Ok(());
        }
        let value = match (kind, value) {
            (OpKind::Remove, v) => return self.remove(target, v.filter(|v| !is_unassigned(v))),
            (OpKind::Add, Some(Value::Array(items))) if items.is_empty() => return Ok(()),
            (_, Some(v)) if is_unassigned(v) => {
                self.notes.note(Tolerance::NullMeansRemove);
                return self.remove(target, None);
            }
            (_, Some(v)) => v,
            (_, None) => {
                return Err(ScimError::invalid_value(format!(
                    "'{}' needs a value",
                    target.display()
                )));
            }
        };
        match (&target.filter, target.sub) {
            (None, None) => self.set_attribute(kind, target, value),
            (None, Some(sub)) if !attr.multi_valued => self.set_sub_attribute(target, sub, value),
            (None, Some(_)) => Err(ScimError::bad_request(
                ScimType::InvalidPath,
                format!(
                    "'{}' is multi-valued: select values with a filter, e.g. {}[type eq \"work\"]",
                    attr.name, attr.name
                ),
            )),
            (Some(filter), sub) => self.set_filtered(kind, target, filter, sub, value),
        }
    }

    fn read_one(
        &mut self,
        attr: &Attribute,
        label: &str,
        value: &Value,
    ) -> Result<Option<Value>, ScimError> {
        read_value(attr, label, value, &mut self.notes)
    }

    fn set_attribute(
        &mut self,
        kind: OpKind,
        target: &Target<'a>,
        value: &Value,
    ) -> Result<(), ScimError> {
        let attr = target.attr;
        let label = target.display();
        if attr.multi_valued {
            let raw: Vec<&Value> = match value {
                Value::Array(items) => items.iter().collect(),
                single => vec![single],
            };
            let mut items = Vec::with_capacity(raw.len());
            for item in raw {
                if let Some(v) = self.read_one(attr, &label, item)? {
                    items.push(v);
                }
            }
            let scope = self.scope(target.extension);
            let mut list = match (kind, scope.remove(&attr.name)) {
                (OpKind::Add, Some(Value::Array(existing))) => existing,
                _ => Vec::new(),
            };
            for item in items {
                if list.contains(&item) {
                    continue;
                }
                list.push(item);
                let last = list.len() - 1;
                if is_primary(list.last()) {
                    make_only_primary(&mut list, last);
                }
            }
            if !list.is_empty() {
                scope.insert(attr.name.clone(), Value::Array(list));
            }
            return Ok(());
        }
        let normalized = read_attribute(attr, &label, value, &mut self.notes)?;
        let scope = self.scope(target.extension);
        match (normalized, scope.get_mut(&attr.name)) {
            // A complex value's sub-attributes replace or add to the existing ones (RFC 7644 §3.5.2.3).
            (Some(Value::Object(new)), Some(Value::Object(existing)))
                if attr.kind == AttrType::Complex =>
            {
                existing.extend(new);
            }
            (Some(v), _) => {
                scope.insert(attr.name.clone(), v);
            }
            (None, _) => {
                scope.remove(&attr.name);
            }
        }
        Ok(())
    }

    fn set_sub_attribute(
        &mut self,
        target: &Target<'a>,
        sub: &Attribute,
        value: &Value,
    ) -> Result<(), ScimError> {
        let normalized = read_attribute(sub, &target.display(), value, &mut self.notes)?;
        let scope = self.scope(target.extension);
        let entry = scope
            .entry(target.attr.name.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(object) = entry {
            match normalized {
                Some(v) => object.insert(sub.name.clone(), v),
                None => object.remove(&sub.name),
            };
            if object.is_empty() {
                scope.remove(&target.attr.name);
            }
        }
        Ok(())
    }

    /// `attr[filter]` and `attr[filter].sub` for add and replace.
    fn set_filtered(
        &mut self,
        kind: OpKind,
        target: &Target<'a>,
        filter: &Filter,
        sub: Option<&Attribute>,
        value: &Value,
    ) -> Result<(), ScimError> {
        let attr = target.attr;
        let label = target.display();
        let new_value = match sub {
            Some(sub) => read_attribute(sub, &label, value, &mut self.notes)?,
            None => self.read_one(attr, &label, value)?,
        };
        let matched = self.matching_indices(target, filter)?;
        if matched.is_empty() {
            // Entra's `emails[type eq "work"].value` on a user without a work email: create it
            // rather than answer noTarget (IDP-QUIRKS Q7).
            let Some(pairs) = upsert_pairs(filter, attr) else {
                return Err(no_target(format!(
                    "no value of '{}' matches [{filter}]",
                    attr.name
                )));
            };
            self.notes.note(Tolerance::ValueFilterUpsert);
            let mut element: Map<String, Value> = pairs.into_iter().collect();
            match (sub, new_value) {
                (Some(sub), Some(v)) => {
                    element.insert(sub.name.clone(), v);
                }
                (None, Some(Value::Object(fields))) => element.extend(fields),
                _ => {}
            }
            let scope = self.scope(target.extension);
            let entry = scope
                .entry(attr.name.clone())
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(list) = entry {
                list.push(Value::Object(element));
                let last = list.len() - 1;
                if is_primary(list.last()) {
                    make_only_primary(list, last);
                }
            }
            return Ok(());
        }
        let scope = self.scope(target.extension);
        let Some(Value::Array(list)) = scope.get_mut(&attr.name) else {
            return Ok(());
        };
        for &i in &matched {
            match (sub, &new_value) {
                (Some(sub), Some(v)) => {
                    if let Some(Value::Object(element)) = list.get_mut(i) {
                        element.insert(sub.name.clone(), v.clone());
                    }
                }
                (Some(sub), None) => {
                    if let Some(Value::Object(element)) = list.get_mut(i) {
                        element.remove(&sub.name);
                    }
                }
                (None, Some(Value::Object(fields))) if kind == OpKind::Add => {
                    if let Some(Value::Object(element)) = list.get_mut(i) {
                        element.extend(fields.clone());
                    }
                }
                (None, Some(v)) => {
                    if let Some(slot) = list.get_mut(i) {
                        *slot = v.clone();
                    }
                }
                (None, None) => {}
            }
        }
        if let Some(&first) = matched.iter().find(|&&i| is_primary(list.get(i))) {
            make_only_primary(list, first);
        }
        Ok(())
    }

    fn matching_indices(
        &mut self,
        target: &Target<'a>,
        filter: &Filter,
    ) -> Result<Vec<usize>, ScimError> {
        let attr = target.attr;
        let scope = self.scope(target.extension);
        let Some(Value::Array(list)) = scope.get(&attr.name) else {
            return Ok(Vec::new());
        };
        let mut matched = Vec::new();
        for (i, element) in list.iter().enumerate() {
            if matches_value(filter, attr, element)
                .map_err(|e| ScimError::bad_request(ScimType::InvalidPath, e))?
            {
                matched.push(i);
            }
        }
        Ok(matched)
    }

    fn remove(&mut self, target: &Target<'a>, listed: Option<&Value>) -> Result<(), ScimError> {
        let attr = target.attr;
        if target.filter.is_none() && target.sub.is_none() && listed.is_none() && attr.required {
            return Err(ScimError::mutability(format!(
                "'{}' is required and cannot be removed",
                attr.name
            )));
        }
        let matched = match &target.filter {
            Some(filter) => Some(self.matching_indices(target, filter)?),
            None => None,
        };
        let listed_values = match listed {
            Some(v) if attr.multi_valued && target.filter.is_none() && target.sub.is_none() => {
                // Entra's member removal: `path: "members"` with the values to remove (Q5).
                self.notes.note(Tolerance::RemoveListedValues);
                let raw: Vec<&Value> = match v {
                    Value::Array(items) => items.iter().collect(),
                    single => vec![single],
                };
                let mut out = Vec::new();
                for item in raw {
                    if let Some(n) = self.read_one(attr, &attr.name, item)? {
                        out.push(n);
                    }
                }
                Some(out)
            }
            _ => None,
        };
        let scope = self.scope(target.extension);
        match (matched, target.sub, listed_values) {
            (None, None, None) => {
                scope.remove(&attr.name);
            }
            (None, None, Some(listed)) => {
                if let Some(Value::Array(list)) = scope.get_mut(&attr.name) {
                    list.retain(|element| !listed.iter().any(|l| same_value(attr, element, l)));
                }
            }
            (None, Some(sub), _) => match scope.get_mut(&attr.name) {
                Some(Value::Array(list)) => {
                    for element in list.iter_mut() {
                        if let Value::Object(o) = element {
                            o.remove(&sub.name);
                        }
                    }
                }
                Some(Value::Object(object)) => {
                    object.remove(&sub.name);
                    if object.is_empty() {
                        scope.remove(&attr.name);
                    }
                }
                _ => {}
            },
            (Some(matched), sub, _) => {
                if let Some(Value::Array(list)) = scope.get_mut(&attr.name) {
                    let mut index = 0;
                    list.retain_mut(|element| {
                        let hit = matched.contains(&index);
                        index += 1;
                        match (hit, sub, element) {
                            (false, _, _) => true,
                            (true, None, _) => false,
                            (true, Some(sub), Value::Object(o)) => {
                                o.remove(&sub.name);
                                !o.is_empty()
                            }
                            (true, Some(_), _) => true,
                        }
                    });
                }
            }
        }
        if matches!(scope.get(&attr.name), Some(Value::Array(list)) if list.is_empty()) {
            scope.remove(&attr.name);
        }
        Ok(())
    }
}

fn is_primary(value: Option<&Value>) -> bool {
    value.and_then(|v| v.get("primary")) == Some(&Value::Bool(true))
}

/// RFC 7643 §2.4: setting `primary` on one value clears it on the others.
fn make_only_primary(list: &mut [Value], keep: usize) {
    for (i, element) in list.iter_mut().enumerate() {
        if i != keep
            && let Some(primary) = element.get_mut("primary")
            && *primary == Value::Bool(true)
        {
            *primary = Value::Bool(false);
        }
    }
}

/// Whether a stored value and a listed one designate the same value: by their `value`
/// sub-attribute when both have one (compared as its `caseExact` says), else as a whole.
fn same_value(attr: &Attribute, stored: &Value, listed: &Value) -> bool {
    match (stored.get("value"), listed.get("value")) {
        (Some(Value::String(a)), Some(Value::String(b))) => {
            let exact = attr.sub_attribute("value").is_some_and(|s| s.case_exact);
            if exact {
                a == b
            } else {
                a.eq_ignore_ascii_case(b) || a.to_lowercase() == b.to_lowercase()
            }
        }
        _ => stored == listed,
    }
}

/// The sub-attribute values a filter of `eq` comparisons pins down, to create the value it
/// describes when none matches (IDP-QUIRKS Q7). `None` for any other filter.
fn upsert_pairs(filter: &Filter, attr: &Attribute) -> Option<Vec<(String, Value)>> {
    match filter {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value,
        } if path.urn.is_none() && path.sub_attr.is_none() => {
            let sub = attr.sub_attribute(&path.attr)?;
            let v = match (value, sub.kind) {
                (CompValue::Str(s), AttrType::Boolean) if s.eq_ignore_ascii_case("true") => {
                    Value::Bool(true)
                }
                (CompValue::Str(s), AttrType::Boolean) if s.eq_ignore_ascii_case("false") => {
                    Value::Bool(false)
                }
                (CompValue::Str(s), _) => Value::String(s.clone()),
                (CompValue::Bool(b), _) => Value::Bool(*b),
                (CompValue::Num(n), _) => Value::Number(n.clone()),
                (CompValue::Null, _) => return None,
            };
            Some(vec![(sub.name.clone(), v)])
        }
        Filter::And(parts) => {
            let mut out = Vec::new();
            for part in parts {
                out.extend(upsert_pairs(part, attr)?);
            }
            Some(out)
        }
        _ => None,
    }
}

#[cfg(test)]
#[path = "patch_tests.rs"]
mod tests;
