//! The PATCH path grammar of RFC 7644 §3.5.2: `attrPath [ "[" valFilter "]" ] [ "." subAttr ]`,
//! URN-qualified for extensions, resolved against the resource's schemas.

use super::filter::{Filter, FilterLimits, parse_filter};
use super::schema::{AttrType, Attribute, ResourceSchemas, Schema};
use super::text::starts_with_ignore_case;
use super::{ScimError, ScimType};

/// What a PATCH path designates.
#[derive(Debug, Clone)]
pub enum PathTarget<'a> {
    /// An attribute, possibly narrowed to some of its values and to one sub-attribute.
    Attribute(Target<'a>),
    /// A whole extension (`urn:…:enterprise:2.0:User`): the value holds its attributes.
    Extension(&'a Schema),
    /// An attribute of a schema this server does not know; ignored, like unknown input elsewhere.
    UnknownSchema(String),
}

#[derive(Debug, Clone)]
pub struct Target<'a> {
    /// The extension whose object holds the attribute; `None` for the core schema.
    pub extension: Option<&'a Schema>,
    pub attr: &'a Attribute,
    pub filter: Option<Filter>,
    pub sub: Option<&'a Attribute>,
    /// Whether an unqualified extension attribute (`manager`, `department`) was resolved.
    pub unqualified_extension: bool,
}

impl Target<'_> {
    /// The path in canonical spelling, for messages and the audit trail.
    pub fn display(&self) -> String {
        let mut out = String::new();
        if let Some(ext) = self.extension {
            out.push_str(&ext.id);
            out.push(':');
        }
        out.push_str(&self.attr.name);
        if let Some(f) = &self.filter {
            out.push_str(&format!("[{f}]"));
        }
        if let Some(sub) = self.sub {
            out.push('.');
            out.push_str(&sub.name);
        }
        out
    }
}

fn invalid_path(detail: String) -> ScimError {
    ScimError::bad_request(ScimType::InvalidPath, detail)
}

/// Parses and resolves a PATCH path.
pub fn parse_path<'a>(
    schemas: ResourceSchemas<'a>,
    raw: &str,
    limits: FilterLimits,
) -> Result<PathTarget<'a>, ScimError> {
    let raw = raw.trim();
    if raw.len() > limits.max_length {
        return Err(invalid_path(format!(
            "the path is longer than the limit of {} characters",
            limits.max_length
        )));
    }
    if let Some(ext) = schemas.extension(raw) {
        return Ok(PathTarget::Extension(ext));
    }
    let (schema, rest, qualified) = match schemas.split_urn(raw) {
        Some((schema, rest)) => (schema, rest, true),
        None if starts_with_ignore_case(raw, "urn:") => {
            return Ok(PathTarget::UnknownSchema(raw.to_string()));
        }
        None => (schemas.core, raw, false),
    };
    // `find` answers the byte offset of an ASCII delimiter: a character boundary on both sides.
    let name_end = rest.find(['[', '.']).unwrap_or(rest.len());
    let (name, mut remainder) = rest.split_at_checked(name_end).unwrap_or((rest, ""));
    let mut filter = None;
    if let Some(bracketed) = remainder.strip_prefix('[') {
        let (text, after) = split_at_closing_bracket(bracketed)
            .ok_or_else(|| invalid_path(format!("'{raw}' has no closing ']'")))?;
        filter = Some(
            parse_filter(text, limits)
                .map_err(|e| invalid_path(format!("in '{raw}': {}", e.detail)))?,
        );
        remainder = after;
    }
    let sub_name = match remainder.strip_prefix('.') {
        None if remainder.is_empty() => None,
        Some(sub) if !sub.is_empty() && !sub.contains(['.', '[', ']']) => Some(sub),
        _ => {
            return Err(invalid_path(format!(
                "'{raw}' is not a valid attribute path"
            )));
        }
    };

    let is_core = schema.id == schemas.core.id;
    let common = if is_core {
        schemas.common_attribute(name)
    } else {
        None
    };
    let (extension, attr, unqualified_extension) = match schema.attribute(name).or(common) {
        Some(attr) => ((!is_core).then_some(schema), attr, false),
        None if !qualified => {
            // `manager`, `department`: unqualified enterprise attributes (IDP-QUIRKS Q9, Q10).
            let found = schemas
                .extensions
                .iter()
                .find_map(|ext| ext.attribute(name).map(|a| (ext, a)));
            match found {
                Some((ext, attr)) => (Some(ext), attr, true),
                None => {
                    return Err(invalid_path(format!(
                        "'{name}' is not an attribute of this resource"
                    )));
                }
            }
        }
        None => {
            return Err(invalid_path(format!(
                "'{name}' is not an attribute of {}",
                schema.id
            )));
        }
    };
    if filter.is_some() && !attr.multi_valued {
        return Err(invalid_path(format!(
            "'{}' is single-valued: a value filter does not apply",
            attr.name
        )));
    }
    let sub = match sub_name {
        None => None,
        Some(s) if attr.kind == AttrType::Complex => {
            Some(attr.sub_attribute(s).ok_or_else(|| {
                invalid_path(format!("'{}' has no sub-attribute '{s}'", attr.name))
            })?)
        }
        Some(s) => {
            return Err(invalid_path(format!(
                "'{}' has no sub-attribute '{s}'",
                attr.name
            )));
        }
    };
    Ok(PathTarget::Attribute(Target {
        extension,
        attr,
        filter,
        sub,
        unqualified_extension,
    }))
}

/// Index of the `]` closing the `[` at 0, skipping brackets inside quoted strings.
/// `text` (what follows an opening `[`) split around the `]` that closes it, outside strings:
/// the filter inside, and what follows the bracket.
fn split_at_closing_bracket(text: &str) -> Option<(&str, &str)> {
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_string => escaped = true,
            '"' => in_string = !in_string,
            ']' if !in_string => return Some((text.get(..i)?, text.get(i + 1..)?)),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::ENTERPRISE_USER_URN;
    use crate::scim::schema::Registry;

    fn resolve(raw: &str) -> Result<String, ScimError> {
        let registry = Registry::load().expect("schemas");
        let user = registry.user().expect("user");
        Ok(match parse_path(user, raw, FilterLimits::default())? {
            PathTarget::Attribute(t) => t.display(),
            PathTarget::Extension(s) => format!("extension {}", s.id),
            PathTarget::UnknownSchema(s) => format!("unknown {s}"),
        })
    }

    #[test]
    fn every_path_form_resolves_to_canonical_names() {
        assert_eq!(resolve("Name.GivenName").unwrap(), "name.givenName");
        assert_eq!(
            resolve(r#"emails[type eq "work"].value"#).unwrap(),
            r#"emails[type eq "work"].value"#
        );
        assert_eq!(
            resolve(r#"emails[value eq "a]b"]"#).unwrap(),
            r#"emails[value eq "a]b"]"#
        );
        assert_eq!(
            resolve(r#"roles[primary eq "True"].value"#).unwrap(),
            r#"roles[primary eq "True"].value"#
        );
        assert_eq!(
            resolve(&format!("{ENTERPRISE_USER_URN}:manager.value")).unwrap(),
            format!("{ENTERPRISE_USER_URN}:manager.value")
        );
        assert_eq!(
            resolve("manager").unwrap(),
            format!("{ENTERPRISE_USER_URN}:manager")
        );
        assert_eq!(
            resolve(ENTERPRISE_USER_URN).unwrap(),
            format!("extension {ENTERPRISE_USER_URN}")
        );
        assert!(
            resolve("urn:ietf:params:scim:schemas:extension:Custom:2.0:User:x")
                .unwrap()
                .starts_with("unknown")
        );
    }

    #[test]
    fn bad_paths_are_invalid_path() {
        for bad in [
            "nope",
            "name.nope",
            "userName[value eq \"x\"]",
            "emails[type eq",
            "emails[type zz \"w\"]",
            "name.givenName.x",
            "emails]",
        ] {
            let err = resolve(bad).expect_err(bad);
            assert_eq!(
                err.scim_type,
                Some(ScimType::InvalidPath),
                "{bad}: {}",
                err.detail
            );
        }
    }
}
