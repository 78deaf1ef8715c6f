//! Compiles a SCIM filter AST into a parameterised SQL condition on `users u` (with `user_emails e`)
//! or `groups g` (with `group_members m`). Values are always bound; the SQL text holds only fixed
//! fragments.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::users::fold;
use super::{Dialect, SqlFragment, SqlParam};
use crate::scim::filter::{AttrPath, CompValue, CompareOp, Filter};
use crate::scim::{CORE_GROUP_URN, CORE_USER_URN, ScimError};

#[derive(Debug, Clone, Copy)]
enum ColumnKind {
    /// Text compared exactly (`caseExact: true`).
    Exact,
    /// Text stored lower-cased; values are lower-cased too (`caseExact: false`).
    Folded,
    Boolean,
    /// Microseconds since the epoch; values are RFC 3339 strings.
    DateTime,
}

#[derive(Debug, Clone, Copy)]
struct Column {
    expr: &'static str,
    kind: ColumnKind,
    /// The side table the value lives in, if not the resource's own row.
    side: Option<Side>,
}

const fn col(expr: &'static str, kind: ColumnKind) -> Column {
    Column {
        expr,
        kind,
        side: None,
    }
}

const fn side_col(side: Side, expr: &'static str, kind: ColumnKind) -> Column {
    Column {
        expr,
        kind,
        side: Some(side),
    }
}

/// Which resources a filter selects: `users u` or `groups g`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterSubject {
    Users,
    Groups,
}

/// Multi-valued attributes kept in side tables, one row per value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Emails,
    Members,
}

impl Side {
    /// "Some value satisfies `condition`".
    fn exists(self, condition: &str) -> String {
        match self {
            Side::Emails => format!(
                "EXISTS (SELECT 1 FROM user_emails e WHERE e.user_id = u.id AND {condition})"
            ),
            Side::Members => format!(
                "EXISTS (SELECT 1 FROM group_members m WHERE m.group_id = g.id AND {condition})"
            ),
        }
    }
}

/// Where a path is evaluated: on the resource, or inside `attr[...]` on one of its side tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Resource(FilterSubject),
    Side(Side),
}

/// Appends the SQL condition for `filter` over `subject` to `out`'s parameters and returns its text.
pub fn compile_filter(
    filter: &Filter,
    subject: FilterSubject,
    dialect: Dialect,
    out: &mut SqlFragment,
) -> Result<String, ScimError> {
    compile(filter, Scope::Resource(subject), dialect, out)
}

fn compile(
    filter: &Filter,
    scope: Scope,
    dialect: Dialect,
    out: &mut SqlFragment,
) -> Result<String, ScimError> {
    match filter {
        Filter::And(parts) | Filter::Or(parts) => {
            let sep = if matches!(filter, Filter::And(_)) {
                " AND "
            } else {
                " OR "
            };
            let compiled = parts
                .iter()
                .map(|p| compile(p, scope, dialect, out))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(format!("({})", compiled.join(sep)))
        }
        Filter::Not(inner) => Ok(format!("(NOT {})", compile(inner, scope, dialect, out)?)),
        Filter::Present(path) => {
            let column = resolve(path, scope)?;
            Ok(wrap_side(
                column,
                scope,
                format!("{} IS NOT NULL", column.expr),
            ))
        }
        Filter::Compare { path, op, value } => {
            let column = resolve(path, scope)?;
            let condition = comparison(column, path, *op, value, dialect, out)?;
            Ok(wrap_side(column, scope, condition))
        }
        Filter::ValuePath { path, filter } => {
            let side = match scope {
                Scope::Resource(FilterSubject::Users)
                    if is_core_attr(path, CORE_USER_URN, "emails") =>
                {
                    Side::Emails
                }
                Scope::Resource(FilterSubject::Groups)
                    if is_core_attr(path, CORE_GROUP_URN, "members") =>
                {
                    Side::Members
                }
                _ => return Err(unsupported(path, scope)),
            };
            let inner = compile(filter, Scope::Side(side), dialect, out)?;
            Ok(side.exists(&inner))
        }
    }
}

/// A condition on a side-table column outside `attr[...]` asks whether any value satisfies it.
fn wrap_side(column: Column, scope: Scope, condition: String) -> String {
    match (column.side, scope) {
        (Some(side), Scope::Resource(_)) => side.exists(&condition),
        _ => condition,
    }
}

fn is_core_attr(path: &AttrPath, core_urn: &str, name: &str) -> bool {
    path.attr.eq_ignore_ascii_case(name)
        && path
            .urn
            .as_deref()
            .is_none_or(|u| u.eq_ignore_ascii_case(core_urn))
}

fn unsupported(path: &AttrPath, scope: Scope) -> ScimError {
    let filterable = match scope {
        Scope::Resource(FilterSubject::Users) | Scope::Side(Side::Emails) => {
            "id, externalId, userName, displayName, active, meta.created, meta.lastModified, emails (value, type, primary)"
        }
        Scope::Resource(FilterSubject::Groups) | Scope::Side(Side::Members) => {
            "id, externalId, displayName, meta.created, meta.lastModified, members (value, type)"
        }
    };
    ScimError::invalid_filter(format!(
        "filtering on '{path}' is not supported; filterable: {filterable}"
    ))
}

fn resolve(path: &AttrPath, scope: Scope) -> Result<Column, ScimError> {
    let core_urn = match scope {
        Scope::Resource(FilterSubject::Users) | Scope::Side(Side::Emails) => CORE_USER_URN,
        Scope::Resource(FilterSubject::Groups) | Scope::Side(Side::Members) => CORE_GROUP_URN,
    };
    if path
        .urn
        .as_deref()
        .is_some_and(|u| !u.eq_ignore_ascii_case(core_urn))
    {
        return Err(unsupported(path, scope));
    }
    let attr = path.attr.to_ascii_lowercase();
    let sub = path.sub_attr.as_deref().map(str::to_ascii_lowercase);
    use ColumnKind::{Boolean, DateTime, Exact, Folded};
    use FilterSubject::{Groups, Users};
    let column = match (scope, attr.as_str(), sub.as_deref()) {
        (Scope::Side(Side::Emails), "value", None) => side_col(Side::Emails, "e.value_key", Folded),
        (Scope::Side(Side::Emails), "type", None) => side_col(Side::Emails, "e.type_key", Folded),
        (Scope::Side(Side::Emails), "primary", None) => {
            side_col(Side::Emails, "e.is_primary", Boolean)
        }
        (Scope::Side(Side::Members), "value", None) => {
            side_col(Side::Members, "m.member_id", Exact)
        }
        (Scope::Side(Side::Members), "type", None) => {
            side_col(Side::Members, "m.member_type", Exact)
        }
        (Scope::Side(_), _, _) => return Err(unsupported(path, scope)),
        (Scope::Resource(Users), "id", None) => col("u.id", Exact),
        (Scope::Resource(Users), "externalid", None) => col("u.external_id", Exact),
        (Scope::Resource(Users), "username", None) => col("u.user_name_key", Folded),
        (Scope::Resource(Users), "displayname", None) => col("u.display_name_key", Folded),
        (Scope::Resource(Users), "active", None) => col("(u.status <> 'suspended')", Boolean),
        (Scope::Resource(Users), "meta", Some("created")) => col("u.created_at", DateTime),
        (Scope::Resource(Users), "meta", Some("lastmodified")) => col("u.modified_at", DateTime),
        (Scope::Resource(Users), "emails", None | Some("value")) => {
            side_col(Side::Emails, "e.value_key", Folded)
        }
        (Scope::Resource(Users), "emails", Some("type")) => {
            side_col(Side::Emails, "e.type_key", Folded)
        }
        (Scope::Resource(Users), "emails", Some("primary")) => {
            side_col(Side::Emails, "e.is_primary", Boolean)
        }
        (Scope::Resource(Groups), "id", None) => col("g.id", Exact),
        (Scope::Resource(Groups), "externalid", None) => col("g.external_id", Exact),
        (Scope::Resource(Groups), "displayname", None) => col("g.display_name_key", Folded),
        (Scope::Resource(Groups), "meta", Some("created")) => col("g.created_at", DateTime),
        (Scope::Resource(Groups), "meta", Some("lastmodified")) => col("g.modified_at", DateTime),
        (Scope::Resource(Groups), "members", None | Some("value")) => {
            side_col(Side::Members, "m.member_id", Exact)
        }
        (Scope::Resource(Groups), "members", Some("type")) => {
            side_col(Side::Members, "m.member_type", Exact)
        }
        _ => return Err(unsupported(path, scope)),
    };
    Ok(column)
}

fn comparison(
    column: Column,
    path: &AttrPath,
    op: CompareOp,
    value: &CompValue,
    dialect: Dialect,
    out: &mut SqlFragment,
) -> Result<String, ScimError> {
    let c = column.expr;
    let invalid = |why: &str| {
        Err(ScimError::invalid_filter(format!(
            "'{path} {} {value}': {why}",
            op.keyword()
        )))
    };
    if *value == CompValue::Null {
        return match op {
            CompareOp::Eq => Ok(format!("{c} IS NULL")),
            CompareOp::Ne => Ok(format!("{c} IS NOT NULL")),
            _ => invalid("null can only be compared with eq or ne"),
        };
    }
    match column.kind {
        ColumnKind::Boolean => {
            let b = match value {
                CompValue::Bool(b) => *b,
                // Entra writes booleans as strings, also in filters (IDP-QUIRKS Q11).
                CompValue::Str(s) if s.eq_ignore_ascii_case("true") => true,
                CompValue::Str(s) if s.eq_ignore_ascii_case("false") => false,
                _ => return invalid("the attribute is a boolean"),
            };
            let p = out.bind(SqlParam::Bool(b));
            match op {
                CompareOp::Eq => Ok(format!("{c} = {p}")),
                CompareOp::Ne => Ok(format!("{c} <> {p}")),
                _ => invalid("booleans can only be compared with eq or ne"),
            }
        }
        ColumnKind::DateTime => {
            let CompValue::Str(s) = value else {
                return invalid("the attribute is a dateTime; compare it with an RFC 3339 string");
            };
            let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) else {
                return invalid("the value is not an RFC 3339 dateTime");
            };
            let micros = i64::try_from(t.unix_timestamp_nanos() / 1000).unwrap_or(i64::MAX);
            let p = out.bind(SqlParam::Int(micros));
            let sql_op = match op {
                CompareOp::Eq => "=",
                CompareOp::Ne => "<>",
                CompareOp::Gt => ">",
                CompareOp::Ge => ">=",
                CompareOp::Lt => "<",
                CompareOp::Le => "<=",
                CompareOp::Co | CompareOp::Sw | CompareOp::Ew => {
                    return invalid("co, sw and ew apply to strings");
                }
            };
            Ok(format!("{c} {sql_op} {p}"))
        }
        ColumnKind::Exact | ColumnKind::Folded => {
            let text = match value {
                CompValue::Str(s) => s.clone(),
                CompValue::Num(n) => n.to_string(),
                CompValue::Bool(_) | CompValue::Null => {
                    return invalid("the attribute is a string");
                }
            };
            let text = if matches!(column.kind, ColumnKind::Folded) {
                fold(&text)
            } else {
                text
            };
            text_comparison(c, op, text, dialect, out)
        }
    }
}

fn text_comparison(
    c: &str,
    op: CompareOp,
    text: String,
    dialect: Dialect,
    out: &mut SqlFragment,
) -> Result<String, ScimError> {
    if text.is_empty() && matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew) {
        return Ok(format!("{c} IS NOT NULL"));
    }
    // Byte order on both engines, whatever PostgreSQL's default collation is.
    let collate = match dialect {
        Dialect::Sqlite => "",
        Dialect::Postgres => " COLLATE \"C\"",
    };
    let p = out.bind(SqlParam::Text(text));
    Ok(match op {
        CompareOp::Eq => format!("{c} = {p}"),
        CompareOp::Ne => format!("({c} IS NULL OR {c} <> {p})"),
        CompareOp::Co => match dialect {
            Dialect::Sqlite => format!("instr({c}, {p}) > 0"),
            Dialect::Postgres => format!("strpos({c}, {p}) > 0"),
        },
        CompareOp::Sw => format!("substr({c}, 1, length({p})) = {p}"),
        CompareOp::Ew => match dialect {
            Dialect::Sqlite => format!("substr({c}, -length({p})) = {p}"),
            Dialect::Postgres => format!("right({c}, length({p})) = {p}"),
        },
        CompareOp::Gt => format!("{c}{collate} > {p}"),
        CompareOp::Ge => format!("{c}{collate} >= {p}"),
        CompareOp::Lt => format!("{c}{collate} < {p}"),
        CompareOp::Le => format!("{c}{collate} <= {p}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::filter::{FilterLimits, parse_filter};

    fn sql(filter: &str) -> Result<SqlFragment, ScimError> {
        let f = parse_filter(filter, FilterLimits::default())?;
        let mut out = SqlFragment::default();
        out.sql = compile_filter(&f, FilterSubject::Users, Dialect::Sqlite, &mut out)?;
        Ok(out)
    }

    #[test]
    fn user_name_is_folded_and_bound() {
        let out = sql(r#"UserName eq "BJensen""#).expect("compiles");
        assert_eq!(out.sql, "u.user_name_key = $1");
        assert_eq!(out.params, [SqlParam::Text("bjensen".into())]);
    }

    #[test]
    fn entra_email_lookup_is_one_exists() {
        let out = sql(r#"emails[type eq "work"].value eq "A@x.com""#).expect("compiles");
        assert_eq!(
            out.sql,
            "EXISTS (SELECT 1 FROM user_emails e WHERE e.user_id = u.id AND (e.type_key = $1 AND e.value_key = $2))"
        );
    }

    #[test]
    fn hostile_values_never_reach_the_sql_text() {
        let out = sql(r#"externalId eq "x' OR 1=1 --""#).expect("compiles");
        assert!(!out.sql.contains("OR 1=1"));
    }

    #[test]
    fn type_errors_are_invalid_filter() {
        for bad in [
            r#"active gt true"#,
            r#"meta.created eq "yesterday""#,
            r#"userName eq true"#,
            "title eq \"x\"",
        ] {
            let err = sql(bad).expect_err("rejected");
            assert_eq!(
                err.scim_type,
                Some(crate::scim::ScimType::InvalidFilter),
                "{bad}"
            );
        }
    }
}
