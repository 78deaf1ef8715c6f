//! Compiles a SCIM filter AST over Users into a parameterised SQL condition on `users u` (and
//! `user_emails e`). Values are always bound; the SQL text holds only fixed fragments.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::users::fold;
use super::{Dialect, SqlFragment, SqlParam};
use crate::scim::filter::{AttrPath, CompValue, CompareOp, Filter};
use crate::scim::{CORE_USER_URN, ScimError};

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
    /// Whether the value lives in `user_emails e`.
    email: bool,
}

const fn col(expr: &'static str, kind: ColumnKind) -> Column {
    Column {
        expr,
        kind,
        email: false,
    }
}

const fn email_col(expr: &'static str, kind: ColumnKind) -> Column {
    Column {
        expr,
        kind,
        email: true,
    }
}

/// Where a path is evaluated: on the user, or inside `emails[...]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    User,
    Email,
}

/// Appends the SQL condition for `filter` to `out`'s parameters and returns its text.
pub fn compile_user_filter(
    filter: &Filter,
    dialect: Dialect,
    out: &mut SqlFragment,
) -> Result<String, ScimError> {
    compile(filter, Scope::User, dialect, out)
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
            Ok(wrap_email(
                column,
                scope,
                format!("{} IS NOT NULL", column.expr),
            ))
        }
        Filter::Compare { path, op, value } => {
            let column = resolve(path, scope)?;
            let condition = comparison(column, path, *op, value, dialect, out)?;
            Ok(wrap_email(column, scope, condition))
        }
        Filter::ValuePath { path, filter } => {
            if scope == Scope::Email || !is_core_attr(path, "emails") {
                return Err(unsupported(path));
            }
            let inner = compile(filter, Scope::Email, dialect, out)?;
            Ok(format!(
                "EXISTS (SELECT 1 FROM user_emails e WHERE e.user_id = u.id AND {inner})"
            ))
        }
    }
}

/// A condition on an email column outside `emails[...]` asks whether any email satisfies it.
fn wrap_email(column: Column, scope: Scope, condition: String) -> String {
    if column.email && scope == Scope::User {
        format!("EXISTS (SELECT 1 FROM user_emails e WHERE e.user_id = u.id AND {condition})")
    } else {
        condition
    }
}

fn is_core_attr(path: &AttrPath, name: &str) -> bool {
    path.attr.eq_ignore_ascii_case(name)
        && path
            .urn
            .as_deref()
            .is_none_or(|u| u.eq_ignore_ascii_case(CORE_USER_URN))
}

fn unsupported(path: &AttrPath) -> ScimError {
    ScimError::invalid_filter(format!(
        "filtering on '{path}' is not supported; filterable: id, externalId, userName, displayName, active, \
         meta.created, meta.lastModified, emails (value, type, primary)"
    ))
}

fn resolve(path: &AttrPath, scope: Scope) -> Result<Column, ScimError> {
    if path
        .urn
        .as_deref()
        .is_some_and(|u| !u.eq_ignore_ascii_case(CORE_USER_URN))
    {
        return Err(unsupported(path));
    }
    let attr = path.attr.to_ascii_lowercase();
    let sub = path.sub_attr.as_deref().map(str::to_ascii_lowercase);
    let column = match (scope, attr.as_str(), sub.as_deref()) {
        (Scope::Email, "value", None) => email_col("e.value_key", ColumnKind::Folded),
        (Scope::Email, "type", None) => email_col("e.type_key", ColumnKind::Folded),
        (Scope::Email, "primary", None) => email_col("e.is_primary", ColumnKind::Boolean),
        (Scope::Email, _, _) => return Err(unsupported(path)),
        (Scope::User, "id", None) => col("u.id", ColumnKind::Exact),
        (Scope::User, "externalid", None) => col("u.external_id", ColumnKind::Exact),
        (Scope::User, "username", None) => col("u.user_name_key", ColumnKind::Folded),
        (Scope::User, "displayname", None) => col("u.display_name_key", ColumnKind::Folded),
        (Scope::User, "active", None) => col("(u.status <> 'suspended')", ColumnKind::Boolean),
        (Scope::User, "meta", Some("created")) => col("u.created_at", ColumnKind::DateTime),
        (Scope::User, "meta", Some("lastmodified")) => col("u.modified_at", ColumnKind::DateTime),
        (Scope::User, "emails", None | Some("value")) => {
            email_col("e.value_key", ColumnKind::Folded)
        }
        (Scope::User, "emails", Some("type")) => email_col("e.type_key", ColumnKind::Folded),
        (Scope::User, "emails", Some("primary")) => email_col("e.is_primary", ColumnKind::Boolean),
        _ => return Err(unsupported(path)),
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
        out.sql = compile_user_filter(&f, Dialect::Sqlite, &mut out)?;
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
