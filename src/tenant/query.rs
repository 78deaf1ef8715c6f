//! A list request turned into what the store runs: the filter compiled to SQL, the order, and the
//! paging — index paging by default, cursor paging (RFC 9865, keyset on `id`) when asked for.

use super::TenantError;
use crate::scim::filter::parse_filter;
use crate::scim::list::{Cursor, ListLimits, ListRequest, Page, Paging};
use crate::scim::schema::ResourceSchemas;
use crate::scim::{ScimError, ScimType};
use crate::store::filter_sql::{FilterSql, FilterSubject, compile_filter, order_by};
use crate::store::{Dialect, ListOrder, Micros, PageSpec, SqlFragment};

pub struct CompiledQuery {
    /// The filter, numbered after `$1` (the tenant, bound by the store).
    pub condition: SqlFragment,
    /// Users on SQLite: the part of the filter that one email row must satisfy, when the query
    /// starts from the email index (`filter_sql::FilterSql`). Its parameters are in `condition`.
    pub email_rows: Option<String>,
    pub order: ListOrder,
    pub paging: Paging,
}

pub fn compile_query(
    subject: FilterSubject,
    schemas: ResourceSchemas<'_>,
    dialect: Dialect,
    tenant_id: &str,
    request: &ListRequest,
    limits: ListLimits,
    now: Micros,
) -> Result<CompiledQuery, TenantError> {
    let mut condition = SqlFragment::numbered_after(1);
    let filter = match request
        .filter
        .as_deref()
        .map(str::trim)
        .filter(|f| !f.is_empty())
    {
        Some(text) => {
            let ast = parse_filter(text, limits.filter)?;
            compile_filter(&ast, subject, schemas, dialect, &mut condition)?
        }
        None => FilterSql::everything(),
    };
    condition.sql = filter.condition;
    let descending = request.descending()?;
    let paging = match &request.cursor {
        None => Paging::Index(Page::new(
            request.start_index,
            request.count,
            limits.default_page_size,
            limits.max_page_size,
        )),
        Some(cursor) => {
            if request
                .sort_by
                .as_deref()
                .is_some_and(|s| !s.trim().is_empty())
                || descending
            {
                return Err(ScimError::invalid_value("cursor paging walks resources by id; sortBy and sortOrder cannot be combined with it").into());
            }
            let count = match request.count {
                Some(n) if n < 0 => {
                    return Err(ScimError::bad_request(
                        ScimType::InvalidCount,
                        "count cannot be negative",
                    )
                    .into());
                }
                Some(n) => n.min(limits.max_page_size),
                None => limits.default_page_size,
            };
            // Computed for cursor paging only: it costs a hash.
            let fingerprint =
                request.fingerprint(&format!("{tenant_id}/{}", schemas.resource_type.id));
            let after_id = match cursor.trim() {
                "" => None,
                text => Some(
                    Cursor::decode(
                        text,
                        &fingerprint,
                        now,
                        limits.cursor_timeout_secs * 1_000_000,
                    )?
                    .after_id,
                ),
            };
            Paging::Cursor {
                after_id,
                count,
                fingerprint,
            }
        }
    };
    let order = order_by(
        request.sort_by.as_deref(),
        descending,
        subject,
        schemas,
        dialect,
    )?;
    Ok(CompiledQuery {
        condition,
        email_rows: filter.email_rows,
        order,
        paging,
    })
}

/// A page of resources and what the answer says about it.
pub struct Listing<T> {
    pub total: i64,
    pub items: Vec<T>,
    /// Index paging: the page served.
    pub page: Option<Page>,
    /// Cursor paging: the cursor of the next page, on every page but the last.
    pub next_cursor: Option<String>,
}

impl CompiledQuery {
    /// The rows the store fetches for this query's paging (a cursor page one row long, to know
    /// whether another page follows).
    pub fn page_spec(&self, count_is_seats: bool) -> PageSpec {
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

    /// The answer's page from what the store returned for `page_spec`.
    pub fn listing<T>(
        &self,
        total: i64,
        mut items: Vec<T>,
        id_of: impl Fn(&T) -> &str,
        now: Micros,
    ) -> Listing<T> {
        match &self.paging {
            Paging::Index(page) => Listing {
                total,
                items,
                page: Some(*page),
                next_cursor: None,
            },
            Paging::Cursor {
                count, fingerprint, ..
            } => {
                let count = usize::try_from(*count).unwrap_or(0);
                let next_cursor = if items.len() > count {
                    items.truncate(count);
                    items.last().map(|last| {
                        Cursor {
                            after_id: id_of(last).to_string(),
                            issued_at: now,
                            fingerprint: fingerprint.clone(),
                        }
                        .encode()
                    })
                } else {
                    None
                };
                Listing {
                    total,
                    items,
                    page: None,
                    next_cursor,
                }
            }
        }
    }
}
