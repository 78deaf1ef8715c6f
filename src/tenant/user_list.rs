//! The users table of a tenant admin: search and filters read into a SCIM filter, so the list
//! runs on the same compiled, indexed query engine as SCIM lists, cursor-paged.

use super::TenantError;
use super::operators::{AdminActor, AdminPermission, tenant_for};
use super::query::Listing;
use super::users::{self, User};
use crate::scim::TENANT_USER_URN;
use crate::scim::filter::{AttrPath, CompValue, CompareOp, Filter};
use crate::scim::list::{ListLimits, ListRequest};
use crate::scim::schema::ResourceSchemas;
use crate::store::{Micros, Store, UserStatus};

/// What the users table asks for.
#[derive(Debug, Clone, Default)]
pub struct UserListQuery {
    /// Matches the start of the userName, displayName, given or family name, or an email
    /// address, without regard to case.
    pub search: Option<String>,
    pub status: Option<String>,
    pub user_type: Option<String>,
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
        terms.push(Filter::Or(vec![
            compare(AttrPath::new("userName"), CompareOp::Sw, search),
            compare(AttrPath::new("displayName"), CompareOp::Sw, search),
            compare(sub("name", "givenName"), CompareOp::Sw, search),
            compare(sub("name", "familyName"), CompareOp::Sw, search),
            compare(sub("emails", "value"), CompareOp::Sw, search),
        ]));
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
) -> Result<Listing<User>, TenantError> {
    let tenant = tenant_for(store, actor, slug, AdminPermission::UsersView).await?;
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
    let caller = actor.caller_in(tenant, "GET admin users".into());
    let (listing, _) =
        users::list_users(store, schemas, &caller, &request, limits, false, now).await?;
    Ok(listing)
}
