//! Where each attribute lives: its own indexed column, a side table (emails, members, a user's
//! groups), or the case-folded document; and how its values compare (`Kind`).

use super::*;

fn kind_of(attr: &Attribute) -> Kind {
    match attr.kind {
        AttrType::Boolean => Kind::Boolean,
        AttrType::Integer | AttrType::Decimal => Kind::Number,
        _ if attr.case_exact => Kind::Exact,
        _ => Kind::Folded,
    }
}

/// The JSON path of an attribute in a stored document: under its extension's URN if it has one.
fn json_path(urn: Option<&str>, attr: &Attribute, sub: Option<&Attribute>) -> Vec<String> {
    let mut segments = Vec::with_capacity(3);
    if let Some(urn) = urn {
        segments.push(urn.to_string());
    }
    segments.push(attr.name.clone());
    if let Some(sub) = sub {
        segments.push(sub.name.clone());
    }
    segments
}

/// SCIM `active` as SQL over the status column, from the one definition (`UserStatus`).
fn scim_active_sql() -> String {
    format!("(u.status <> '{}')", UserStatus::SCIM_INACTIVE.as_str())
}

impl<'a> Compiler<'a> {
    /// The side of a multi-valued attribute named in `attr[...]`, with its definition.
    pub(super) fn multi_valued(
        &self,
        path: &AttrPath,
    ) -> Result<(Side, Option<&'a Attribute>), ScimError> {
        let (urn, attr) = self.attribute(path)?;
        if !attr.multi_valued || path.sub_attr.is_some() {
            return Err(ScimError::invalid_filter(format!(
                "'{path}' is not multi-valued: a value filter does not apply"
            )));
        }
        let side = match (self.subject, urn.is_none(), attr.name.as_str()) {
            (FilterSubject::Users, true, "emails") => Side::Emails,
            (FilterSubject::Users, true, "groups") => Side::UserGroups,
            (FilterSubject::Groups, true, "members") => Side::Members,
            (FilterSubject::Users, _, _) => Side::Json(json_path(urn, attr, None)),
            (FilterSubject::Groups, _, _) => return Err(unknown(path)),
        };
        Ok((side, Some(attr)))
    }

    /// The schema attribute a path names: its extension URN (if any) and definition.
    fn attribute(&self, path: &AttrPath) -> Result<(Option<&'a str>, &'a Attribute), ScimError> {
        let schemas = self.schemas;
        let (schema, is_core) = match path.urn.as_deref() {
            None => (schemas.core, true),
            Some(urn) if urn.eq_ignore_ascii_case(self.core_urn()) => (schemas.core, true),
            Some(urn) => (schemas.extension(urn).ok_or_else(|| unknown(path))?, false),
        };
        let attr = schema.attribute(&path.attr).ok_or_else(|| unknown(path))?;
        Ok(((!is_core).then_some(schema.id.as_str()), attr))
    }

    pub(super) fn resolve(
        &self,
        path: &AttrPath,
        scope: Scope<'_, 'a>,
    ) -> Result<Operand, ScimError> {
        if let Scope::Side(side, parent) = scope {
            return self.resolve_in_side(path, side, parent);
        }
        let lower = |s: &str| s.to_ascii_lowercase();
        let attr = lower(&path.attr);
        let sub = path.sub_attr.as_deref().map(lower);
        let core = path
            .urn
            .as_deref()
            .is_none_or(|u| u.eq_ignore_ascii_case(self.core_urn()));
        let tenant_ext = path
            .urn
            .as_deref()
            .is_some_and(|u| u.eq_ignore_ascii_case(TENANT_USER_URN));
        use Kind::{Boolean, Exact, Folded, Micros};
        let column = match (self.subject, core, attr.as_str(), sub.as_deref()) {
            (FilterSubject::Users, true, "id", None) => Some(Operand::column("u.id", Exact)),
            (FilterSubject::Users, true, "externalid", None) => {
                Some(Operand::column("u.external_id", Exact))
            }
            (FilterSubject::Users, true, "username", None) => {
                Some(Operand::column("u.user_name_key", Folded))
            }
            (FilterSubject::Users, true, "displayname", None) => {
                Some(Operand::column("u.display_name_key", Folded))
            }
            (FilterSubject::Users, true, "active", None) => {
                Some(Operand::column(&scim_active_sql(), Boolean))
            }
            (FilterSubject::Users, true, "meta", Some("created")) => {
                Some(Operand::column("u.created_at", Micros))
            }
            (FilterSubject::Users, true, "meta", Some("lastmodified")) => {
                Some(Operand::column("u.modified_at", Micros))
            }
            (FilterSubject::Users, true, "meta", Some("resourcetype")) => {
                Some(Operand::column("'User'", Folded))
            }
            (FilterSubject::Users, true, "emails", None | Some("value")) => {
                Some(Operand::on(Side::Emails, "e.value_key", Folded))
            }
            (FilterSubject::Users, true, "emails", Some("type")) => {
                Some(Operand::on(Side::Emails, "e.type_key", Folded))
            }
            (FilterSubject::Users, true, "emails", Some("primary")) => {
                Some(Operand::on(Side::Emails, "e.is_primary", Boolean))
            }
            (FilterSubject::Users, true, "groups", None | Some("value")) => {
                Some(Operand::on(Side::UserGroups, "gm.group_id", Exact))
            }
            (FilterSubject::Users, true, "groups", Some("display")) => {
                Some(Operand::on(Side::UserGroups, "gg.display_name_key", Folded))
            }
            (FilterSubject::Users, false, "status", None) if tenant_ext => {
                Some(Operand::column("u.status", Folded))
            }
            (FilterSubject::Users, false, "lastlogin", None) if tenant_ext => {
                Some(Operand::column("u.last_login_at", Micros))
            }
            (FilterSubject::Groups, true, "id", None) => Some(Operand::column("g.id", Exact)),
            (FilterSubject::Groups, true, "externalid", None) => {
                Some(Operand::column("g.external_id", Exact))
            }
            (FilterSubject::Groups, true, "displayname", None) => {
                Some(Operand::column("g.display_name_key", Folded))
            }
            (FilterSubject::Groups, true, "meta", Some("created")) => {
                Some(Operand::column("g.created_at", Micros))
            }
            (FilterSubject::Groups, true, "meta", Some("lastmodified")) => {
                Some(Operand::column("g.modified_at", Micros))
            }
            (FilterSubject::Groups, true, "meta", Some("resourcetype")) => {
                Some(Operand::column("'Group'", Folded))
            }
            (FilterSubject::Groups, true, "members", None | Some("value")) => {
                Some(Operand::on(Side::Members, "m.member_id", Exact))
            }
            (FilterSubject::Groups, true, "members", Some("type")) => {
                Some(Operand::on(Side::Members, "m.member_type", Exact))
            }
            _ => None,
        };
        if let Some(column) = column {
            return Ok(column);
        }
        if self.subject == FilterSubject::Groups {
            return Err(unknown(path));
        }
        self.resolve_json(path)
    }

    /// An attribute without a column of its own, read from the folded document.
    fn resolve_json(&self, path: &AttrPath) -> Result<Operand, ScimError> {
        let (urn, attr) = self.attribute(path)?;
        let writable_or_stored = attr.mutability != crate::scim::schema::Mutability::ReadOnly
            && attr.mutability != crate::scim::schema::Mutability::WriteOnly;
        if !writable_or_stored {
            return Err(ScimError::invalid_filter(format!(
                "'{path}' is computed or never stored: it cannot be filtered"
            )));
        }
        // A complex attribute without a sub-attribute is read as its `value` (IDP-QUIRKS Q32).
        let sub = match (&path.sub_attr, attr.kind) {
            (Some(s), AttrType::Complex) => {
                Some(attr.sub_attribute(s).ok_or_else(|| unknown(path))?)
            }
            (Some(_), _) => return Err(unknown(path)),
            (None, AttrType::Complex) => {
                Some(attr.sub_attribute("value").ok_or_else(|| unknown(path))?)
            }
            (None, _) => None,
        };
        let leaf = sub.unwrap_or(attr);
        let kind = kind_of(leaf);
        if attr.multi_valued {
            let side = Side::Json(json_path(urn, attr, None));
            let expr = side.element(self.dialect, sub, kind);
            return Ok(Operand {
                expr,
                kind,
                side: Some(side),
            });
        }
        let source = self.dialect.folded_document();
        let expr = self
            .dialect
            .json_value(source, &json_path(urn, attr, sub), kind);
        Ok(Operand {
            expr,
            kind,
            side: None,
        })
    }

    /// A path inside `attr[...]`: a sub-attribute of the multi-valued attribute.
    fn resolve_in_side(
        &self,
        path: &AttrPath,
        side: &Side,
        parent: Option<&'a Attribute>,
    ) -> Result<Operand, ScimError> {
        if path.urn.is_some() || path.sub_attr.is_some() {
            return Err(unknown(path));
        }
        let name = path.attr.to_ascii_lowercase();
        use Kind::{Boolean, Exact, Folded};
        let operand = match (side, name.as_str()) {
            (Side::Emails, "value") => Operand::column("e.value_key", Folded),
            (Side::Emails, "type") => Operand::column("e.type_key", Folded),
            (Side::Emails, "primary") => Operand::column("e.is_primary", Boolean),
            (Side::Members, "value") => Operand::column("m.member_id", Exact),
            (Side::Members, "type") => Operand::column("m.member_type", Exact),
            (Side::UserGroups, "value") => Operand::column("gm.group_id", Exact),
            (Side::UserGroups, "display") => Operand::column("gg.display_name_key", Folded),
            (Side::Json(_), _) => {
                let parent = parent.ok_or_else(|| unknown(path))?;
                let sub = match parent.kind {
                    AttrType::Complex => Some(
                        parent
                            .sub_attribute(&path.attr)
                            .ok_or_else(|| unknown(path))?,
                    ),
                    _ if name == "value" => None,
                    _ => return Err(unknown(path)),
                };
                let kind = kind_of(sub.unwrap_or(parent));
                Operand::column(&side.element(self.dialect, sub, kind), kind)
            }
            _ => return Err(unknown(path)),
        };
        Ok(operand)
    }
}
