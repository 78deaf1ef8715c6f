//! The users table of a tenant admin: search and filters read into a SCIM filter, so the list
//! runs on the same compiled, indexed query engine as SCIM lists, cursor-paged; and the deleted
//! users (tombstones), listed apart.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::TenantError;
use super::operators::{AdminActor, AdminPermission, tenant_for};
use super::query::{Listing, list_query};
use super::roles::effective_of_users;
use super::users::{self, User};
use crate::scim::TENANT_USER_URN;
use crate::scim::filter::{AttrPath, CompValue, CompareOp, Filter};
use crate::scim::list::{ListLimits, ListRequest};
use crate::scim::schema::ResourceSchemas;
use crate::store::{
    ConnectionId, ConnectionSummary, Micros, Narrowing, RoleHolders, Store, TenantId, Tombstone,
    TombstoneCursor, UserId, UserStatus,
};

/// What the users table asks for.
#[derive(Debug, Clone, Default)]
pub struct UserListQuery {
    /// Matches the start of the userName, or with an `@` in it the start of an email address,
    /// without regard to case. One indexed prefix each: a search costs the same at any tenant
    /// size (names in the document or an OR of several columns would make it a scan).
    pub search: Option<String>,
    pub status: Option<String>,
    pub user_type: Option<String>,
    /// A catalog role's name: the users who hold it, whether by a SCIM `roles` value, a mapped
    /// group or an admin's assignment.
    pub role: Option<String>,
    /// A connection's name: the users it created.
    pub connection: Option<String>,
    /// `userName` (default), `displayName`, `created` or `lastModified`.
    pub sort_by: Option<String>,
    pub descending: bool,
    pub cursor: Option<String>,
    /// Where a sorted page starts (1-based).
    pub start_index: Option<i64>,
    pub count: Option<i64>,
}

fn compare(path: AttrPath, op: CompareOp, value: &str) -> Filter {
    Filter::Compare {
        path,
        op,
        value: CompValue::Str(value.to_string()),
    }
}

fn sub(attr: &str, sub_attr: &str) -> AttrPath {
    AttrPath {
        urn: None,
        attr: attr.into(),
        sub_attr: Some(sub_attr.into()),
    }
}

/// The SCIM filter of a users-table query; none when it filters nothing.
pub fn filter_of(query: &UserListQuery) -> Result<Option<Filter>, TenantError> {
    let mut terms = Vec::new();
    if let Some(search) = query
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let path = if search.contains('@') {
            sub("emails", "value")
        } else {
            AttrPath::new("userName")
        };
        terms.push(compare(path, CompareOp::Sw, search));
    }
    if let Some(status) = query.status.as_deref() {
        let status = UserStatus::parse(status).ok_or_else(|| {
            TenantError::InvalidArgument(format!(
                "status '{status}' is none of invited, active, suspended"
            ))
        })?;
        let path = AttrPath {
            urn: Some(TENANT_USER_URN.into()),
            attr: "status".into(),
            sub_attr: None,
        };
        terms.push(compare(path, CompareOp::Eq, status.as_str()));
    }
    if let Some(user_type) = query.user_type.as_deref() {
        terms.push(compare(AttrPath::new("userType"), CompareOp::Eq, user_type));
    }
    Ok(match terms.len() {
        0 => None,
        1 => terms.pop(),
        _ => Some(Filter::And(terms)),
    })
}

/// The SCIM attribute a users-table sort names.
fn sort_attribute(sort_by: Option<&str>) -> Result<&'static str, TenantError> {
    match sort_by.unwrap_or("userName") {
        "userName" => Ok("userName"),
        "displayName" => Ok("displayName"),
        "created" => Ok("meta.created"),
        "lastModified" => Ok("meta.lastModified"),
        other => Err(TenantError::InvalidArgument(format!(
            "sortBy '{other}' is none of userName, displayName, created, lastModified"
        ))),
    }
}

/// A page of the tenant's users as the table asks. Needs `users:view`.
///
/// Sorted pages are index pages (`start_index`); unsorted, the table walks by id with a cursor
/// (SCIM cursor paging walks resources by id).
pub async fn user_list(
    store: &Store,
    schemas: ResourceSchemas<'_>,
    actor: &AdminActor,
    slug: &str,
    query: &UserListQuery,
    limits: ListLimits,
    now: Micros,
) -> Result<Listing<UserRow>, TenantError> {
    let tenant = tenant_for(store, actor, slug, AdminPermission::UsersView).await?;
    // Read once: the connection filter names one, and every row shows its connection's name.
    let connections = store.connections(&tenant.id, now).await?;
    let narrowing = narrowing_of(store, &tenant.id, &connections, query).await?;
    let filter = filter_of(query)?.map(|f| f.to_string());
    let sorted = query.sort_by.is_some() || query.descending;
    let request = ListRequest {
        filter,
        count: query.count,
        sort_by: sorted
            .then(|| sort_attribute(query.sort_by.as_deref()))
            .transpose()?
            .map(str::to_string),
        sort_order: sorted.then(|| {
            if query.descending {
                "descending"
            } else {
                "ascending"
            }
            .into()
        }),
        start_index: query.start_index.filter(|_| sorted),
        cursor: (!sorted).then(|| query.cursor.clone().unwrap_or_default()),
        ..ListRequest::default()
    };
    let mut list = list_query(schemas, &tenant.id, &request, limits, now)?;
    list.narrowing = narrowing;
    let (listing, memberships) =
        users::run_user_list(store, schemas, &tenant.id, &list, true, now).await?;
    // A page's roles: two small reads for the whole page.
    let mut effective =
        effective_of_users(store, &tenant.id, &listing.items, &memberships, &[]).await?;
    let connection_name = |id: &Option<ConnectionId>| {
        id.as_ref().and_then(|id| {
            connections
                .iter()
                .find(|c| &c.connection.id == id)
                .map(|c| c.connection.name.clone())
        })
    };
    Ok(Listing {
        total: listing.total,
        page: listing.page,
        next_cursor: listing.next_cursor,
        items: listing
            .items
            .into_iter()
            .map(|user| UserRow {
                roles: effective.remove(&user.id).unwrap_or_default().roles,
                connection: connection_name(&user.created_by_connection),
                user,
            })
            .collect(),
    })
}

/// A row of the users table: the user, the roles they hold (from any source) and the
/// connection that created them.
#[derive(Debug, Clone)]
pub struct UserRow {
    pub user: User,
    pub roles: Vec<String>,
    pub connection: Option<String>,
}

/// The role and connection a users-table query names, found in the tenant; a name the tenant
/// does not have is the caller's error.
async fn narrowing_of(
    store: &Store,
    tenant_id: &TenantId,
    connections: &[ConnectionSummary],
    query: &UserListQuery,
) -> Result<Narrowing, TenantError> {
    let mut narrowing = Narrowing::default();
    if let Some(name) = query.role.as_deref() {
        let key = name.to_lowercase();
        let role = store
            .roles(tenant_id)
            .await?
            .into_iter()
            .find(|r| r.name.to_lowercase() == key)
            .ok_or_else(|| {
                TenantError::InvalidArgument(format!("the tenant has no role named '{name}'"))
            })?;
        narrowing.holds_role = Some(RoleHolders {
            role_id: role.id,
            name_key: key,
            assignable: role.assignable,
            is_template: role.is_template,
        });
    }
    if let Some(name) = query.connection.as_deref() {
        let connection = connections
            .iter()
            .find(|c| c.connection.name == name)
            .ok_or_else(|| {
                TenantError::InvalidArgument(format!("the tenant has no connection named '{name}'"))
            })?;
        narrowing.provisioned_by = Some(connection.connection.id.clone());
    }
    Ok(narrowing)
}

/// A deleted user as the table of tombstones shows them.
#[derive(Debug, Clone)]
pub struct DeletedUser {
    pub tombstone: Tombstone,
    /// The name of the connection that deleted them (none: the CLI, or a deleted connection).
    pub deleted_by: Option<String>,
}

const TOMBSTONE_MARK: &str = "deleted:";

fn encode_tombstone_cursor(last: &Tombstone) -> String {
    URL_SAFE_NO_PAD.encode(format!("{TOMBSTONE_MARK}{}:{}", last.deleted_at, last.id))
}

fn decode_tombstone_cursor(cursor: &str) -> Result<TombstoneCursor, TenantError> {
    let refused = || {
        TenantError::InvalidArgument(
            "the cursor is not one this API gave out; start again without it".into(),
        )
    };
    let text = URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(refused)?;
    let (at, id) = text
        .strip_prefix(TOMBSTONE_MARK)
        .and_then(|rest| rest.split_once(':'))
        .ok_or_else(refused)?;
    Ok(TombstoneCursor {
        deleted_at: at.parse().map_err(|_| refused())?,
        id: UserId::new(id),
    })
}

/// The tenant's deleted users, most recently deleted first, a page at a time. Needs
/// `users:view`.
pub async fn deleted_users(
    store: &Store,
    actor: &AdminActor,
    slug: &str,
    cursor: Option<&str>,
    count: Option<i64>,
    now: Micros,
) -> Result<(Vec<DeletedUser>, Option<String>), TenantError> {
    let tenant = tenant_for(store, actor, slug, AdminPermission::UsersView).await?;
    let limit = match count {
        Some(n) if !(1..=MAX_TOMBSTONE_PAGE).contains(&n) => {
            return Err(TenantError::InvalidArgument(format!(
                "count must be between 1 and {MAX_TOMBSTONE_PAGE}"
            )));
        }
        Some(n) => n,
        None => DEFAULT_TOMBSTONE_PAGE,
    };
    let after = cursor.map(decode_tombstone_cursor).transpose()?;
    let mut page = store
        .tombstones(&tenant.id, after.as_ref(), limit + 1)
        .await?;
    let more = page.len() as i64 > limit;
    page.truncate(usize::try_from(limit).unwrap_or(0));
    let next = more
        .then(|| page.last().map(encode_tombstone_cursor))
        .flatten();
    let connections = store.connections(&tenant.id, now).await?;
    let deleted = page
        .into_iter()
        .map(|tombstone| DeletedUser {
            deleted_by: tombstone.deleted_by_connection.as_ref().and_then(|id| {
                connections
                    .iter()
                    .find(|c| &c.connection.id == id)
                    .map(|c| c.connection.name.clone())
            }),
            tombstone,
        })
        .collect();
    Ok((deleted, next))
}

/// Tombstones on a page unless asked for fewer, and at most.
const DEFAULT_TOMBSTONE_PAGE: i64 = 50;
const MAX_TOMBSTONE_PAGE: i64 = 500;
