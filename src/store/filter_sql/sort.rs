//! `sortBy` and `sortOrder` as an `ORDER BY`.

use super::*;

/// `ORDER BY` for `sortBy`/`sortOrder`: unassigned values last whatever the order, then `id` so
/// that pages never overlap.
pub fn order_by(
    sort_by: Option<&str>,
    descending: bool,
    subject: FilterSubject,
    schemas: ResourceSchemas<'_>,
    dialect: Dialect,
) -> Result<ListOrder, ScimError> {
    let id = match subject {
        FilterSubject::Users => "u.id",
        FilterSubject::Groups => "g.id",
    };
    let direction = if descending { "DESC" } else { "ASC" };
    let Some(sort_by) = sort_by.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(ListOrder::Id { descending });
    };
    let path = crate::scim::filter::parse_attr_path(sort_by)
        .map_err(|e| ScimError::invalid_value(format!("sortBy: {e}")))?;
    let compiler = Compiler {
        subject,
        schemas,
        dialect,
    };
    let not_sortable =
        || ScimError::invalid_value(format!("sortBy '{sort_by}' is not a sortable attribute"));
    let operand = compiler
        .resolve(&path, Scope::Resource)
        .map_err(|_| not_sortable())?;
    let expr = match (&operand.side, subject) {
        (None, _) => operand.expr,
        // Multi-valued: the primary value, else the first (RFC 7644 §3.4.2.3).
        (Some(Side::Emails), FilterSubject::Users) => format!(
            "(SELECT {} FROM user_emails e WHERE e.user_id = u.id ORDER BY e.is_primary DESC, e.position LIMIT 1)",
            operand.expr
        ),
        _ => return Err(not_sortable()),
    };
    let collate = match operand.kind {
        Kind::Exact | Kind::Folded => dialect.byte_order(),
        _ => "",
    };
    Ok(ListOrder::Expression(format!(
        "CASE WHEN {expr} IS NULL THEN 1 ELSE 0 END, {expr}{collate} {direction}, {id} {direction}"
    )))
}
