//! Compiles a SCIM filter AST (and `sortBy`) into parameterised SQL on `users u` or `groups g`.
//! Attributes clients look up by have their own indexed columns or side tables (`user_emails e`,
//! `group_members m`); every other attribute is read from the user's case-folded document with
//! each engine's JSON functions — filterable everywhere, indexed where it matters. Values are
//! always bound; the SQL text holds only fixed fragments and attribute names from our own schemas.
//! Here: the compiler and its comparisons. Where attributes live: `columns.rs`; the SQLite
//! email-index rewrite: `email_index.rs`; `sortBy`: `sort.rs`; engine differences: `Dialect`.

mod columns;
mod email_index;
mod sort;

use email_index::email_term;
pub use sort::order_by;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::users::fold;
use super::{Dialect, ListOrder, SqlFragment, SqlParam, UserStatus};
use crate::scim::filter::{AttrPath, CompValue, CompareOp, Filter};
use crate::scim::schema::{AttrType, Attribute, ResourceSchemas};
use crate::scim::{CORE_GROUP_URN, CORE_USER_URN, ScimError, TENANT_USER_URN};

/// How a value compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// Text compared exactly (`caseExact: true`).
    Exact,
    /// Text stored lower-cased; values are lower-cased too (`caseExact: false`).
    Folded,
    Boolean,
    Number,
    /// Microseconds since the epoch in a column; values are RFC 3339 strings.
    Micros,
}

/// Which resources a filter selects: `users u` or `groups g`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterSubject {
    Users,
    Groups,
}

/// Multi-valued attributes, one row (or JSON element) per value: "some value satisfies …".
#[derive(Debug, Clone, PartialEq, Eq)]
enum Side {
    Emails,
    Members,
    UserGroups,
    /// A multi-valued attribute inside the folded document, at this JSON path.
    Json(Vec<String>),
}

/// Where a path is evaluated: on the resource, or on one value of a multi-valued attribute.
#[derive(Debug, Clone, Copy)]
enum Scope<'s, 'a> {
    Resource,
    Side(&'s Side, Option<&'a Attribute>),
}

/// A resolved operand: an SQL expression, how it compares, and the side it lives on.
#[derive(Debug, Clone)]
struct Operand {
    expr: String,
    kind: Kind,
    side: Option<Side>,
}

impl Operand {
    fn column(expr: &str, kind: Kind) -> Self {
        Self {
            expr: expr.to_string(),
            kind,
            side: None,
        }
    }

    fn on(side: Side, expr: &str, kind: Kind) -> Self {
        Self {
            expr: expr.to_string(),
            kind,
            side: Some(side),
        }
    }
}

struct Compiler<'a> {
    subject: FilterSubject,
    schemas: ResourceSchemas<'a>,
    dialect: Dialect,
}

/// A filter compiled to SQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterSql {
    /// The condition on the resource (`u` or `g`).
    pub condition: String,
    /// Users on SQLite, when a top-level conjunct asks for an email of a given value (Entra's
    /// `emails[type eq "work"].value eq "…"`, sent before every create): that conjunct as a
    /// condition on one email row `e`, taken out of `condition`. The store then starts from the
    /// email index and joins the user. As `u.id IN (SELECT …)`, SQLite builds a temporary table
    /// and a Bloom filter for every lookup: a tenth of the request's instructions. PostgreSQL
    /// plans the `IN` as a semi-join and keeps it.
    pub email_rows: Option<String>,
}

/// A condition every resource satisfies.
const EVERY_RESOURCE: &str = "1 = 1";

impl FilterSql {
    /// No filter: every resource.
    pub fn everything() -> Self {
        Self {
            condition: EVERY_RESOURCE.into(),
            email_rows: None,
        }
    }
}

/// Compiles `filter` over `subject`, appending its parameters to `out`.
pub fn compile_filter(
    filter: &Filter,
    subject: FilterSubject,
    schemas: ResourceSchemas<'_>,
    dialect: Dialect,
    out: &mut SqlFragment,
) -> Result<FilterSql, ScimError> {
    let compiler = Compiler {
        subject,
        schemas,
        dialect,
    };
    let conjuncts = match filter {
        Filter::And(parts) => parts.as_slice(),
        single => std::slice::from_ref(single),
    };
    let from_emails =
        dialect.starts_email_lookups_from_the_index() && subject == FilterSubject::Users;
    if !from_emails || !conjuncts.iter().any(|part| email_term(part).is_some()) {
        return Ok(FilterSql {
            condition: compiler.compile(filter, Scope::Resource, out)?,
            email_rows: None,
        });
    }
    // Compiled in order, so that parameters keep their places whatever part is taken out.
    let mut email_rows = None;
    let mut rest = Vec::with_capacity(conjuncts.len());
    for part in conjuncts {
        match email_term(part).filter(|_| email_rows.is_none()) {
            Some(term) => email_rows = Some(compiler.email_row_condition(term, out)?),
            None => rest.push(compiler.compile(part, Scope::Resource, out)?),
        }
    }
    let condition = if rest.is_empty() {
        EVERY_RESOURCE.to_string()
    } else {
        format!("({})", rest.join(" AND "))
    };
    Ok(FilterSql {
        condition,
        email_rows,
    })
}

impl Side {
    /// "Some value satisfies `condition`". Side tables are searched as `id IN (…)` scoped to the
    /// tenant (`$1`), so that the planner starts from the side table's index instead of testing
    /// every resource of the tenant.
    fn exists(&self, dialect: Dialect, condition: &str) -> String {
        match self {
            Side::Emails => {
                format!(
                    "u.id IN (SELECT e.user_id FROM user_emails e WHERE e.tenant_id = $1 AND {condition})"
                )
            }
            Side::Members => {
                format!(
                    "g.id IN (SELECT m.group_id FROM group_members m WHERE m.tenant_id = $1 AND {condition})"
                )
            }
            Side::UserGroups => format!(
                "u.id IN (SELECT gm.member_id FROM group_members gm JOIN groups gg ON gg.id = gm.group_id \
                 WHERE gm.tenant_id = $1 AND {condition})"
            ),
            Side::Json(path) => dialect.some_element(path, condition),
        }
    }

    /// The expression of sub-attribute `sub` (or of the value itself) of the current element.
    fn element(&self, dialect: Dialect, sub: Option<&Attribute>, kind: Kind) -> String {
        let element = "j.value";
        match sub {
            // An unassigned `primary` is false (RFC 7643 §2.4), as the email side table stores it.
            Some(sub) if sub.name == "primary" => format!(
                "COALESCE({}, {})",
                dialect.json_value(element, std::slice::from_ref(&sub.name), kind),
                dialect.false_literal()
            ),
            Some(sub) => dialect.json_value(element, std::slice::from_ref(&sub.name), kind),
            None => dialect.json_value(element, &[], kind),
        }
    }
}

fn unknown(path: &AttrPath) -> ScimError {
    ScimError::invalid_filter(format!(
        "'{path}' is not a filterable attribute of this resource"
    ))
}

impl<'a> Compiler<'a> {
    fn core_urn(&self) -> &'static str {
        match self.subject {
            FilterSubject::Users => CORE_USER_URN,
            FilterSubject::Groups => CORE_GROUP_URN,
        }
    }

    fn compile(
        &self,
        filter: &Filter,
        scope: Scope<'_, 'a>,
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
                    .map(|p| self.compile(p, scope, out))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(format!("({})", compiled.join(sep)))
            }
            Filter::Not(inner) => Ok(format!("(NOT {})", self.compile(inner, scope, out)?)),
            Filter::Present(path) => {
                let operand = self.resolve(path, scope)?;
                let condition = match operand.kind {
                    Kind::Exact | Kind::Folded => {
                        format!("({0} IS NOT NULL AND {0} <> '')", operand.expr)
                    }
                    _ => format!("{} IS NOT NULL", operand.expr),
                };
                Ok(self.wrap(&operand, scope, condition))
            }
            Filter::Compare { path, op, value } => {
                let operand = self.resolve(path, scope)?;
                if let Some(constant) = self.constant(path, *op, value) {
                    return Ok(constant);
                }
                let condition = self.comparison(&operand, path, *op, value, out)?;
                Ok(self.wrap(&operand, scope, condition))
            }
            Filter::ValuePath { path, filter } => {
                if !matches!(scope, Scope::Resource) {
                    return Err(unknown(path));
                }
                let (side, parent) = self.multi_valued(path)?;
                let inner = self.compile(filter, Scope::Side(&side, parent), out)?;
                Ok(side.exists(self.dialect, &inner))
            }
        }
    }

    /// `meta.resourceType` is the same for every resource of the subject.
    fn constant(&self, path: &AttrPath, op: CompareOp, value: &CompValue) -> Option<String> {
        let is_resource_type = path.attr.eq_ignore_ascii_case("meta")
            && path
                .sub_attr
                .as_deref()
                .is_some_and(|s| s.eq_ignore_ascii_case("resourceType"));
        if !is_resource_type {
            return None;
        }
        let name = self.schemas.resource_type.name.to_lowercase();
        let CompValue::Str(v) = value else {
            return Some("1 = 0".into());
        };
        let v = v.to_lowercase();
        let holds = match op {
            CompareOp::Eq => name == v,
            CompareOp::Ne => name != v,
            CompareOp::Co => name.contains(&v),
            CompareOp::Sw => name.starts_with(&v),
            CompareOp::Ew => name.ends_with(&v),
            _ => false,
        };
        Some(if holds { "1 = 1" } else { "1 = 0" }.into())
    }

    /// A condition on a multi-valued operand outside `attr[...]` asks whether any value satisfies it.
    fn wrap(&self, operand: &Operand, scope: Scope<'_, 'a>, condition: String) -> String {
        match (&operand.side, scope) {
            (Some(side), Scope::Resource) => side.exists(self.dialect, &condition),
            _ => condition,
        }
    }

    fn comparison(
        &self,
        operand: &Operand,
        path: &AttrPath,
        op: CompareOp,
        value: &CompValue,
        out: &mut SqlFragment,
    ) -> Result<String, ScimError> {
        let c = &operand.expr;
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
        // Comparisons never yield NULL, so that `not (…)` and `ne` treat unassigned values as the
        // RFC does (an unassigned value is not equal to anything).
        let guarded = |sql_op: &str, p: &str| match op {
            CompareOp::Ne => format!("({c} IS NULL OR {c} {sql_op} {p})"),
            _ => format!("({c} IS NOT NULL AND {c} {sql_op} {p})"),
        };
        let ordering = |op: CompareOp| match op {
            CompareOp::Eq => Some("="),
            CompareOp::Ne => Some("<>"),
            CompareOp::Gt => Some(">"),
            CompareOp::Ge => Some(">="),
            CompareOp::Lt => Some("<"),
            CompareOp::Le => Some("<="),
            CompareOp::Co | CompareOp::Sw | CompareOp::Ew => None,
        };
        match operand.kind {
            Kind::Boolean => {
                let b = match value {
                    CompValue::Bool(b) => *b,
                    // Entra writes booleans as strings, also in filters (IDP-QUIRKS Q11).
                    CompValue::Str(s) if s.eq_ignore_ascii_case("true") => true,
                    CompValue::Str(s) if s.eq_ignore_ascii_case("false") => false,
                    _ => return invalid("the attribute is a boolean"),
                };
                let p = out.bind(SqlParam::Bool(b));
                match op {
                    CompareOp::Eq | CompareOp::Ne => Ok(guarded(ordering(op).unwrap_or("="), &p)),
                    _ => invalid("booleans can only be compared with eq or ne"),
                }
            }
            Kind::Number => {
                let n = match value {
                    CompValue::Num(n) => n.as_f64(),
                    CompValue::Str(s) => s.trim().parse::<f64>().ok(),
                    _ => None,
                };
                let Some(n) = n else {
                    return invalid("the attribute is a number");
                };
                let Some(sql_op) = ordering(op) else {
                    return invalid("co, sw and ew apply to strings");
                };
                let p = if n.fract() == 0.0 && n.abs() < 9.0e15 {
                    out.bind(SqlParam::Int(n as i64))
                } else {
                    out.bind(SqlParam::Float(n))
                };
                Ok(guarded(sql_op, &p))
            }
            Kind::Micros => {
                let CompValue::Str(s) = value else {
                    return invalid(
                        "the attribute is a dateTime; compare it with an RFC 3339 string",
                    );
                };
                let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) else {
                    return invalid("the value is not an RFC 3339 dateTime");
                };
                let Some(sql_op) = ordering(op) else {
                    return invalid("co, sw and ew apply to strings");
                };
                let micros = i64::try_from(t.unix_timestamp_nanos() / 1000).unwrap_or(i64::MAX);
                let p = out.bind(SqlParam::Int(micros));
                // SQLite's statistics cannot tell how many rows a time range selects; incremental
                // sync asks for "changed since", which is few, so say so and the planner takes the
                // time index instead of walking the whole tenant in id order.
                let since = matches!(op, CompareOp::Eq | CompareOp::Gt | CompareOp::Ge);
                if since && let Some(hinted) = self.dialect.few_rows(&format!("{c} {sql_op} {p}")) {
                    return Ok(format!("({c} IS NOT NULL AND {hinted})"));
                }
                Ok(guarded(sql_op, &p))
            }
            Kind::Exact | Kind::Folded => {
                let text = match value {
                    CompValue::Str(s) => s.clone(),
                    CompValue::Num(n) => n.to_string(),
                    CompValue::Bool(_) | CompValue::Null => {
                        return invalid("the attribute is a string");
                    }
                };
                let text = if operand.kind == Kind::Folded {
                    fold(&text)
                } else {
                    text
                };
                Ok(self.text_comparison(c, op, text, out))
            }
        }
    }

    fn text_comparison(
        &self,
        c: &str,
        op: CompareOp,
        text: String,
        out: &mut SqlFragment,
    ) -> String {
        if text.is_empty() && matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew) {
            return format!("{c} IS NOT NULL");
        }
        let collate = self.dialect.byte_order();
        let sw_text = if op == CompareOp::Sw {
            text.clone()
        } else {
            String::new()
        };
        let p = out.bind(SqlParam::Text(text));
        let dialect = self.dialect;
        let test = match op {
            CompareOp::Eq => format!("{c} = {p}"),
            CompareOp::Ne => return format!("({c} IS NULL OR {c} <> {p})"),
            CompareOp::Co => dialect.contains(c, &p),
            CompareOp::Sw => {
                // A range first, so that an indexed column is searched rather than scanned; the
                // prefix test keeps it exact whatever the collation (see `prefix_upper_bound`).
                let starts = format!("substr({c}, 1, length({p})) = {p}");
                match prefix_upper_bound(&sw_text) {
                    Some(upper) => {
                        let upper = out.bind(SqlParam::Text(upper));
                        format!("{c}{collate} >= {p} AND {c}{collate} < {upper} AND {starts}")
                    }
                    None => starts,
                }
            }
            CompareOp::Ew => dialect.ends_with(c, &p),
            CompareOp::Gt => format!("{c}{collate} > {p}"),
            CompareOp::Ge => format!("{c}{collate} >= {p}"),
            CompareOp::Lt => format!("{c}{collate} < {p}"),
            CompareOp::Le => format!("{c}{collate} <= {p}"),
        };
        format!("({c} IS NOT NULL AND {test})")
    }
}

/// The least string greater than every string that starts with `prefix`, in code point order
/// (SQLite's and PostgreSQL's `COLLATE "C"` order of UTF-8 text): the prefix with its last
/// character raised by one (surrogates skipped). None when no character can be raised.
fn prefix_upper_bound(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match u32::from(last) + 1 {
            0xD800 => Some('\u{E000}'),
            n => char::from_u32(n),
        };
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::filter::{FilterLimits, parse_filter};

    #[test]
    fn a_prefix_range_holds_exactly_the_strings_that_start_with_it() {
        assert_eq!(prefix_upper_bound("user0").as_deref(), Some("user1"));
        assert_eq!(
            prefix_upper_bound("a\u{D7FF}").as_deref(),
            Some("a\u{E000}")
        );
        assert_eq!(prefix_upper_bound("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_upper_bound("\u{10FFFF}"), None);
        for (prefix, text) in [
            ("ab", "ab"),
            ("ab", "abz\u{10FFFF}"),
            ("é", "été"),
            ("a\u{10FFFF}", "a\u{10FFFF}x"),
        ] {
            let upper = prefix_upper_bound(prefix).unwrap();
            assert!(
                text >= prefix && text < upper.as_str(),
                "{text} starts with {prefix}"
            );
        }
        for (prefix, text) in [("ab", "ac"), ("ab", "b"), ("ab", "aa\u{10FFFF}")] {
            let upper = prefix_upper_bound(prefix).unwrap();
            assert!(
                !(text >= prefix && text < upper.as_str()),
                "{text} does not start with {prefix}"
            );
        }
    }
    use crate::scim::schema::Registry;

    fn compiled(filter: &str, dialect: Dialect) -> Result<(FilterSql, SqlFragment), ScimError> {
        let registry = Registry::load().expect("schemas");
        let f = parse_filter(filter, FilterLimits::default())?;
        let mut out = SqlFragment::numbered_after(1);
        let compiled = compile_filter(
            &f,
            FilterSubject::Users,
            registry.user().expect("user"),
            dialect,
            &mut out,
        )?;
        Ok((compiled, out))
    }

    fn sql(filter: &str) -> Result<SqlFragment, ScimError> {
        let (compiled, mut out) = compiled(filter, Dialect::Sqlite)?;
        assert_eq!(compiled.email_rows, None, "{filter}");
        out.sql = compiled.condition;
        Ok(out)
    }

    #[test]
    fn user_name_is_folded_bound_and_uses_its_index() {
        let out = sql(r#"UserName eq "BJensen""#).expect("compiles");
        assert_eq!(
            out.sql,
            "(u.user_name_key IS NOT NULL AND u.user_name_key = $2)"
        );
        assert_eq!(out.params, [SqlParam::Text("bjensen".into())]);
    }

    #[test]
    fn entra_email_lookup_starts_from_the_email_index() {
        let (sqlite, out) = compiled(
            r#"emails[type eq "work"].value eq "A@x.com""#,
            Dialect::Sqlite,
        )
        .expect("compiles");
        assert_eq!(sqlite.condition, "1 = 1");
        assert_eq!(
            sqlite.email_rows.as_deref(),
            Some(
                "((e.type_key IS NOT NULL AND e.type_key = $2) AND (e.value_key IS NOT NULL AND \
                 e.value_key = $3))"
            )
        );
        assert_eq!(
            out.params,
            [
                SqlParam::Text("work".into()),
                SqlParam::Text("a@x.com".into())
            ]
        );
        let (postgres, _) = compiled(
            r#"emails[type eq "work"].value eq "A@x.com""#,
            Dialect::Postgres,
        )
        .expect("compiles");
        assert_eq!(postgres.email_rows, None);
        assert_eq!(
            postgres.condition,
            "u.id IN (SELECT e.user_id FROM user_emails e WHERE e.tenant_id = $1 AND ((e.type_key IS NOT NULL AND \
             e.type_key = $2) AND (e.value_key IS NOT NULL AND e.value_key = $3)))"
        );
    }

    #[test]
    fn only_an_email_term_that_pins_the_value_is_taken_out_and_parameters_keep_their_places() {
        let (mixed, out) = compiled(
            r#"active eq true and emails.value eq "A@x.com" and emails[type eq "home"]"#,
            Dialect::Sqlite,
        )
        .expect("compiles");
        assert_eq!(
            mixed.email_rows.as_deref(),
            Some("(e.value_key IS NOT NULL AND e.value_key = $3)")
        );
        assert!(mixed.condition.starts_with("(((u.status <> 'suspended') IS NOT NULL AND (u.status <> 'suspended') = $2) AND u.id IN (SELECT e.user_id"), "{}", mixed.condition);
        assert!(
            mixed.condition.contains("e.type_key = $4"),
            "{}",
            mixed.condition
        );
        assert_eq!(
            out.params,
            [
                SqlParam::Bool(true),
                SqlParam::Text("a@x.com".into()),
                SqlParam::Text("home".into())
            ]
        );
        for kept_whole in [
            r#"emails co "@x.com""#,
            r#"emails[type eq "work"]"#,
            r#"emails[value eq "a@x.com" or primary eq true]"#,
            r#"userName eq "a" or emails eq "a@x.com""#,
            r#"not (emails eq "a@x.com")"#,
        ] {
            let (filter, _) = compiled(kept_whole, Dialect::Sqlite).expect("compiles");
            assert_eq!(filter.email_rows, None, "{kept_whole}");
        }
    }

    #[test]
    fn attributes_without_columns_are_read_from_the_folded_document() {
        let out = sql(r#"name.familyName eq "MÜLLER""#).expect("compiles");
        assert!(
            out.sql
                .contains(r#"json_extract(u.doc_folded, '$."name"."familyName"')"#),
            "{}",
            out.sql
        );
        assert_eq!(out.params, [SqlParam::Text("müller".into())]);
        let out = sql(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "Sales""#,
        )
        .expect("compiles");
        assert!(out.sql.contains(
            r#""urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"."department""#
        ));
        let out = sql(r#"phoneNumbers[type eq "work" and value sw "+1"]"#).expect("compiles");
        assert!(
            out.sql
                .starts_with("EXISTS (SELECT 1 FROM json_each(u.doc_folded"),
            "{}",
            out.sql
        );
    }

    #[test]
    fn hostile_values_never_reach_the_sql_text() {
        let out = sql(r#"externalId eq "x' OR 1=1 --""#).expect("compiles");
        assert!(!out.sql.contains("OR 1=1"));
        let out = sql(r#"title eq "x'); DROP TABLE users; --""#).expect("compiles");
        assert!(!out.sql.contains("DROP"));
    }

    #[test]
    fn type_errors_and_unknown_attributes_are_invalid_filter() {
        for bad in [
            r#"active gt true"#,
            r#"meta.created eq "yesterday""#,
            r#"userName eq true"#,
            r#"nope eq "x""#,
            r#"password eq "x""#,
            r#"urn:ietf:params:scim:schemas:extension:gateway:2.0:User:effectiveRoles eq "x""#,
            r#"urn:ietf:params:scim:schemas:extension:gateway:2.0:User:maxChats co "1""#,
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
