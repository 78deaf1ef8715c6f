//! A list request read into the store's typed `ListQuery`: the parsed filter, the sort, and the
//! paging — index paging by default, cursor paging (RFC 9865, keyset on `id`) when asked for; and
//! the answer's page built from what the store found.

use super::TenantError;
use crate::scim::filter::parse_filter;
use crate::scim::list::{Cursor, ListLimits, ListRequest, Page, Paging};
use crate::scim::schema::ResourceSchemas;
use crate::scim::{ScimError, ScimType};
use crate::store::{ListQuery, Micros, Narrowing, TenantId};

/// Reads a list request of `tenant_id`'s resources of `schemas`' type.
pub fn list_query(
    schemas: ResourceSchemas<'_>,
    tenant_id: &TenantId,
    request: &ListRequest,
    limits: ListLimits,
    now: Micros,
) -> Result<ListQuery, TenantError> {
    let filter = request
        .filter
        .as_deref()
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(|text| parse_filter(text, limits.filter))
        .transpose()?;
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
    Ok(ListQuery {
        filter,
        sort_by: request.sort_by.clone(),
        descending,
        paging,
        narrowing: Narrowing::default(),
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

impl<T> Listing<T> {
    /// The answer's page from what the store returned for `paging` (a cursor page one row
    /// longer than asked, to know whether another page follows).
    pub fn of_page(
        paging: &Paging,
        total: i64,
        mut items: Vec<T>,
        id_of: impl Fn(&T) -> &str,
        now: Micros,
    ) -> Listing<T> {
        match paging {
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
