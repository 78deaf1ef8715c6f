//! A list request in the store's terms: `ListQuery` (the filter AST, sort and paging, no SQL) is
//! compiled for the engine into a `ListPlan` that `Store::list_users` and `list_groups` run.

use super::filter_sql::{FilterSql, compile_filter, order_by};
use super::{ConnectionId, Dialect, ListOrder, PageSpec, RoleId, SqlFragment, SqlParam, Store};
use crate::scim::ScimError;
use crate::scim::filter::Filter;
use crate::scim::list::Paging;
use crate::scim::schema::ResourceSchemas;

pub use super::filter_sql::FilterSubject;

/// What a list asks for, in the protocol's terms.
#[derive(Debug, Clone)]
pub struct ListQuery {
    pub filter: Option<Filter>,
    pub sort_by: Option<String>,
    pub descending: bool,
    pub paging: Paging,
    pub narrowing: Narrowing,
}

/// What the admin users table narrows a list of users to beyond a SCIM filter: SCIM has no
/// words for a role held through a group or an admin's assignment, nor for a connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Narrowing {
    pub holds_role: Option<RoleHolders>,
    /// Users this connection created.
    pub provisioned_by: Option<ConnectionId>,
}

impl Narrowing {
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

/// A catalog role, to find who holds it: by a SCIM `roles` value naming it (folded), through a
/// group or a user type mapped to it, by a `roleTemplate` naming it (a template), or by an
/// admin's assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleHolders {
    pub role_id: RoleId,
    pub name_key: String,
    /// Whether values and assignments give the role (a role that is not assignable comes only
    /// from mappings and templates).
    pub assignable: bool,
    /// Whether it is a role template: users whose `roleTemplate` names it hold it.
    pub is_template: bool,
}

/// `narrowing` as conditions on `u`, their parameters appended to `out`. Each is an indexed
/// set of user ids.
fn narrowing_conditions(narrowing: &Narrowing, out: &mut SqlFragment) -> Vec<String> {
    let mut terms = Vec::new();
    if let Some(role) = &narrowing.holds_role {
        let id = out.bind(SqlParam::from(&role.role_id));
        let name = out.bind(SqlParam::Text(role.name_key.clone()));
        let by_hand = if role.assignable {
            format!(
                "SELECT v.user_id FROM user_role_values v WHERE v.tenant_id = $1 AND v.value_key = {name} \
                 UNION SELECT a.user_id FROM user_role_assignments a WHERE a.role_id = {id} UNION "
            )
        } else {
            String::new()
        };
        let by_template = if role.is_template {
            format!(
                " UNION SELECT t.id FROM users t WHERE t.tenant_id = $1 AND t.role_template_key = {name} \
                 AND t.deleted_at IS NULL"
            )
        } else {
            String::new()
        };
        terms.push(format!(
            "u.id IN ({by_hand}SELECT m.member_id FROM group_role_mappings gm \
             JOIN groups g ON g.tenant_id = gm.tenant_id AND g.display_name_key = gm.group_name_key \
             JOIN group_members m ON m.group_id = g.id \
             WHERE gm.tenant_id = $1 AND gm.role_id = {id} \
             UNION SELECT t.id FROM user_type_role_mappings tm \
             JOIN users t ON t.tenant_id = tm.tenant_id AND t.user_type_key = tm.user_type_key \
             AND t.deleted_at IS NULL WHERE tm.tenant_id = $1 AND tm.role_id = {id}{by_template})"
        ));
    }
    if let Some(connection) = &narrowing.provisioned_by {
        let id = out.bind(SqlParam::from(connection));
        terms.push(format!("u.created_by_connection = {id}"));
    }
    terms
}

/// A `ListQuery` compiled to SQL for one engine. Its parts are the store's own.
pub struct ListPlan {
    /// The filter, numbered after `$1` (the tenant, bound by the store).
    pub(super) condition: SqlFragment,
    /// Users on SQLite: the part of the filter that one email row must satisfy, when the query
    /// starts from the email index (`filter_sql::FilterSql`). Its parameters are in `condition`.
    pub(super) email_rows: Option<String>,
    order: ListOrder,
    paging: Paging,
}

/// Compiles `query` over `subject` for `dialect`: a filter, attribute or sort the schemas cannot
/// serve is the client's error.
pub fn plan_list(
    dialect: Dialect,
    subject: FilterSubject,
    schemas: ResourceSchemas<'_>,
    query: &ListQuery,
) -> Result<ListPlan, ScimError> {
    let mut condition = SqlFragment::numbered_after(1);
    let filter = match &query.filter {
        Some(ast) => compile_filter(ast, subject, schemas, dialect, &mut condition)?,
        None => FilterSql::everything(),
    };
    let narrowed = match subject {
        FilterSubject::Users => narrowing_conditions(&query.narrowing, &mut condition),
        FilterSubject::Groups => Vec::new(),
    };
    condition.sql = if narrowed.is_empty() {
        filter.condition
    } else {
        format!("({}) AND {}", filter.condition, narrowed.join(" AND "))
    };
    let order = order_by(
        query.sort_by.as_deref(),
        query.descending,
        subject,
        schemas,
        dialect,
    )?;
    Ok(ListPlan {
        condition,
        email_rows: filter.email_rows,
        order,
        paging: query.paging.clone(),
    })
}

impl Store {
    /// `plan_list` for this store's engine.
    pub fn plan_list(
        &self,
        subject: FilterSubject,
        schemas: ResourceSchemas<'_>,
        query: &ListQuery,
    ) -> Result<ListPlan, ScimError> {
        plan_list(self.dialect(), subject, schemas, query)
    }
}

impl ListPlan {
    /// The rows to fetch for this plan's paging (a cursor page one row long, to know whether
    /// another page follows).
    pub(super) fn page_spec(&self, count_is_seats: bool) -> PageSpec {
        match &self.paging {
            Paging::Index(page) => PageSpec {
                order: self.order.clone(),
                offset: page.offset(),
                limit: page.count,
                after_id: None,
                count_is_seats,
            },
            Paging::Cursor {
                after_id, count, ..
            } => PageSpec {
                order: self.order.clone(),
                offset: 0,
                limit: count + 1,
                after_id: after_id.clone(),
                count_is_seats,
            },
        }
    }
}
