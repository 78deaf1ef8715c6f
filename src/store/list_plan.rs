//! A list request in the store's terms: `ListQuery` (the filter AST, sort and paging, no SQL) is
//! compiled for the engine into a `ListPlan` that `Store::list_users` and `list_groups` run.

use super::filter_sql::{FilterSql, compile_filter, order_by};
use super::{Dialect, ListOrder, PageSpec, SqlFragment, Store};
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
    condition.sql = filter.condition;
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
