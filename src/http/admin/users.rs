//! `/admin/v1/tenants/{tenant}/users`: what a tenant admin sees of the tenant's users.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::Admin;
use super::{Problem, timestamp};
use crate::clock::now_micros;
use crate::http::error::AdminError;
use crate::scim::ScimError;
use crate::state::AppState;
use crate::store::{UserCounts, UserId};
use crate::tenant::admin_status::{self, AdminStatusChange};
use crate::tenant::document::primary_email;
use crate::tenant::invitations::{self, UserRef};
use crate::tenant::roles::{PERMISSION_ACTIONS, PERMISSION_CATEGORIES, RoleSource};
use crate::tenant::stats;
use crate::tenant::user_detail::{self, UserDetail};
use crate::tenant::user_list::{self, DeletedUser, UserListQuery, UserRow};

/// The stat cards of a users table.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatsView {
    /// Every user not deleted; each holds a seat.
    pub total: i64,
    /// Provisioned, never signed in.
    pub invited: i64,
    /// Signed in at least once, not suspended.
    pub active: i64,
    /// `active: false` from the identity provider (or an admin): no sign-in.
    pub suspended: i64,
    pub seats_used: i64,
    /// None: unlimited.
    pub seat_limit: Option<i64>,
}

impl From<UserCounts> for StatsView {
    fn from(c: UserCounts) -> Self {
        StatsView {
            total: c.total,
            invited: c.invited,
            active: c.active,
            suspended: c.suspended,
            seats_used: c.total,
            seat_limit: c.seat_limit,
        }
    }
}

/// The tenant's users in all and per status, and seats used of the limit. Needs `users:view`.
#[utoipa::path(
    get,
    path = "/tenants/{tenant}/users/stats",
    tag = "users",
    params(("tenant" = String, Path, description = "The tenant's slug")),
    security(("operator" = []), ("session" = [])),
    responses(
        (status = 200, description = "The stat cards", body = StatsView),
        (status = 401, description = "No valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Another tenant, or no `users:view`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn user_stats(
    State(state): State<AppState>,
    Admin(actor): Admin,
    Path(slug): Path<String>,
) -> Result<Json<StatsView>, AdminError> {
    Ok(Json(
        stats::user_stats(&state.store, &actor, &slug).await?.into(),
    ))
}

/// A group the user belongs to.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupRefView {
    pub id: String,
    pub display_name: String,
}

/// Why a user holds a role.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoleSourceView {
    /// `scim` (a value of the user's SCIM `roles`), `group` (a group the tenant maps to the
    /// role), `userType` (the tenant maps the user's type to the role), `template` (the user's
    /// `roleTemplate` names it) or `admin` (an admin assigned it).
    pub kind: String,
    /// The group, when `kind` is `group`.
    pub group: Option<String>,
    /// The user type, when `kind` is `userType` (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_type: Option<String>,
}

/// A role the user holds, and every reason they hold it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoleView {
    pub name: String,
    pub sources: Vec<RoleSourceView>,
}

/// What the user may do in one category: "what this user can see".
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PermissionRowView {
    pub category: String,
    pub view: bool,
    pub create: bool,
    pub edit: bool,
    pub delete: bool,
    pub manage: bool,
}

/// A user as an admin audits them.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserDetailView {
    pub id: String,
    pub user_name: String,
    pub display_name: Option<String>,
    /// The primary email (else the first).
    pub email: Option<String>,
    pub external_id: Option<String>,
    pub user_type: Option<String>,
    /// `invited`, `active` or `suspended`.
    pub status: String,
    pub last_login: Option<String>,
    pub created_at: String,
    pub modified_at: String,
    /// The directory connection that created the user (none: the CLI or a sign-in).
    pub created_by: Option<String>,
    pub modified_by: Option<String>,
    pub groups: Vec<GroupRefView>,
    pub roles: Vec<RoleView>,
    /// Every category of the role model, with the actions the user's roles allow in it.
    pub permissions: Vec<PermissionRowView>,
    /// SCIM `roles` values that name no role of the tenant's catalog: they grant nothing.
    pub unknown_role_values: Vec<String>,
    /// A `roleTemplate` that names no role template of the catalog: it grants nothing.
    pub unknown_role_template: Option<String>,
}

impl From<UserDetail> for UserDetailView {
    fn from(d: UserDetail) -> Self {
        let granted = |category: &str, action: &str| {
            d.permissions
                .iter()
                .any(|p| p.split_once(':') == Some((category, action)))
        };
        let permissions = PERMISSION_CATEGORIES
            .iter()
            .map(|category| {
                let [view, create, edit, delete, manage] =
                    PERMISSION_ACTIONS.map(|action| granted(category, action));
                PermissionRowView {
                    category: category.to_string(),
                    view,
                    create,
                    edit,
                    delete,
                    manage,
                }
            })
            .collect();
        let roles = d
            .roles
            .into_iter()
            .map(|(name, sources)| RoleView {
                name,
                sources: sources
                    .into_iter()
                    .map(|source| {
                        let (kind, group, user_type) = match source {
                            RoleSource::ScimValue => ("scim", None, None),
                            RoleSource::Group(group) => ("group", Some(group), None),
                            RoleSource::UserType(user_type) => ("userType", None, Some(user_type)),
                            RoleSource::Template => ("template", None, None),
                            RoleSource::Admin => ("admin", None, None),
                        };
                        RoleSourceView {
                            kind: kind.into(),
                            group,
                            user_type,
                        }
                    })
                    .collect(),
            })
            .collect();
        let user = d.user;
        UserDetailView {
            id: user.id.to_string(),
            email: primary_email(&user.doc),
            user_name: user.user_name,
            display_name: user.display_name,
            external_id: user.external_id,
            user_type: user.user_type,
            status: user.status.as_str().to_string(),
            last_login: user.last_login_at.map(timestamp),
            created_at: timestamp(user.created_at),
            modified_at: timestamp(user.modified_at),
            created_by: d.created_by,
            modified_by: d.modified_by,
            groups: d
                .groups
                .into_iter()
                .map(|g| GroupRefView {
                    id: g.group_id.to_string(),
                    display_name: g.group_display_name,
                })
                .collect(),
            roles,
            permissions,
            unknown_role_values: d.unknown_role_values,
            unknown_role_template: d.unknown_role_template,
        }
    }
}

/// One user: groups, roles and where each comes from, permissions, last login, and which
/// connection created and changed them. Needs `users:view`.
#[utoipa::path(
    get,
    path = "/tenants/{tenant}/users/{id}",
    tag = "users",
    params(
        ("tenant" = String, Path, description = "The tenant's slug"),
        ("id" = String, Path, description = "The user's SCIM id"),
    ),
    security(("operator" = []), ("session" = [])),
    responses(
        (status = 200, description = "The user", body = UserDetailView),
        (status = 401, description = "No valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Another tenant, or no `users:view`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant or user", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn user_detail(
    State(state): State<AppState>,
    Admin(actor): Admin,
    Path((slug, id)): Path<(String, String)>,
) -> Result<Json<UserDetailView>, AdminError> {
    let detail =
        user_detail::user_detail(&state.store, &actor, &slug, &UserId::new(id), now_micros())
            .await?;
    Ok(Json(detail.into()))
}

async fn change_status(
    state: &AppState,
    actor: &crate::tenant::operators::AdminActor,
    slug: &str,
    id: String,
    change: AdminStatusChange,
) -> Result<Json<UserDetailView>, AdminError> {
    let schemas = state
        .registry
        .user()
        .ok_or_else(|| ScimError::new(500, None, "the User schema is missing"))?;
    let id = UserId::new(id);
    let now = now_micros();
    admin_status::change_status(&state.store, schemas, actor, slug, &id, change, now).await?;
    let detail = user_detail::user_detail(&state.store, actor, slug, &id, now).await?;
    Ok(Json(detail.into()))
}

/// Suspends a user: no sign-in, sessions end at once. The identity provider's `active: true`
/// does not lift an admin's suspension; only `reactivate` does. Needs `users:manage`.
#[utoipa::path(
    post,
    path = "/tenants/{tenant}/users/{id}/suspend",
    tag = "users",
    params(
        ("tenant" = String, Path, description = "The tenant's slug"),
        ("id" = String, Path, description = "The user's SCIM id"),
    ),
    security(("operator" = []), ("session" = [])),
    responses(
        (status = 200, description = "The user, suspended", body = UserDetailView),
        (status = 401, description = "No valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Another tenant, or no `users:manage`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant or user", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn suspend_user(
    State(state): State<AppState>,
    Admin(actor): Admin,
    Path((slug, id)): Path<(String, String)>,
) -> Result<Json<UserDetailView>, AdminError> {
    change_status(&state, &actor, &slug, id, AdminStatusChange::Suspend).await
}

/// Lifts an admin's suspension: the user returns to what the identity provider last said
/// (`invited` or `active`; still `suspended` if the provider sent `active: false`). A user the
/// provider suspended is reactivated there, not here (400). Needs `users:manage`.
#[utoipa::path(
    post,
    path = "/tenants/{tenant}/users/{id}/reactivate",
    tag = "users",
    params(
        ("tenant" = String, Path, description = "The tenant's slug"),
        ("id" = String, Path, description = "The user's SCIM id"),
    ),
    security(("operator" = []), ("session" = [])),
    responses(
        (status = 200, description = "The user, reactivated", body = UserDetailView),
        (status = 400, description = "The identity provider suspended the user", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Another tenant, or no `users:manage`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant or user", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn reactivate_user(
    State(state): State<AppState>,
    Admin(actor): Admin,
    Path((slug, id)): Path<(String, String)>,
) -> Result<Json<UserDetailView>, AdminError> {
    change_status(&state, &actor, &slug, id, AdminStatusChange::Reactivate).await
}

/// A new invitation link, to copy and send (the gateway sends no email; the host product gets
/// the same link in an `invitation.issued` event).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvitationView {
    /// The single-use sign-in link; the previous one no longer works.
    pub link: String,
    pub expires_at: String,
}

/// Issues an invited user a new invitation link and returns it; the previous link stops
/// working. Users who have signed in, or are suspended, have no invitation (409). Needs
/// `users:manage`.
#[utoipa::path(
    post,
    path = "/tenants/{tenant}/users/{id}/invitation",
    tag = "users",
    params(
        ("tenant" = String, Path, description = "The tenant's slug"),
        ("id" = String, Path, description = "The user's SCIM id"),
    ),
    security(("operator" = []), ("session" = [])),
    responses(
        (status = 201, description = "The new invitation", body = InvitationView),
        (status = 401, description = "No valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Another tenant, or no `users:manage`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant or user", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The user is not invited (signed in already, or suspended)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn resend_invitation(
    State(state): State<AppState>,
    Admin(actor): Admin,
    Path((slug, id)): Path<(String, String)>,
) -> Result<(StatusCode, Json<InvitationView>), AdminError> {
    let id = UserId::new(id);
    let issued = invitations::resend(
        &state.store,
        &actor,
        &slug,
        UserRef::Id(&id),
        &state.settings.invitations,
        now_micros(),
    )
    .await?;
    let view = InvitationView {
        link: issued.link,
        expires_at: timestamp(issued.expires_at),
    };
    Ok((StatusCode::CREATED, Json(view)))
}

/// The users table's search, filters, order and page.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct UserListParams {
    /// Matches the start of the userName, or with an `@` in it the start of an email address,
    /// without regard to case (each an indexed prefix search).
    pub search: Option<String>,
    /// `invited`, `active` or `suspended`.
    pub status: Option<String>,
    /// e.g. `agent`, `supervisor`, `tenant_admin`.
    pub user_type: Option<String>,
    /// A role of the tenant's catalog, by name: the users who hold it by a SCIM `roles` value,
    /// through a group mapped to it, or by an admin's assignment.
    pub role: Option<String>,
    /// A connection's name: the users it created.
    pub connection: Option<String>,
    /// `userName`, `displayName`, `created` or `lastModified`; sorted pages are paged with
    /// `startIndex`, the unsorted walk (by id) with `cursor`.
    pub sort_by: Option<String>,
    /// `ascending` (default) or `descending`.
    pub sort_order: Option<String>,
    /// The previous page's `nextCursor` (unsorted walk).
    pub cursor: Option<String>,
    /// 1-based index of a sorted page's first user.
    pub start_index: Option<i64>,
    /// Users per page.
    pub count: Option<i64>,
}

/// A row of the users table.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserRowView {
    pub id: String,
    pub user_name: String,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub status: String,
    pub user_type: Option<String>,
    /// Effective roles, from every source.
    pub roles: Vec<String>,
    /// The connection that created the user (none: the CLI or an admin).
    pub connection: Option<String>,
    pub last_login: Option<String>,
    pub created_at: String,
}

impl From<UserRow> for UserRowView {
    fn from(row: UserRow) -> Self {
        let user = row.user;
        UserRowView {
            roles: row.roles,
            connection: row.connection,
            id: user.id.to_string(),
            email: primary_email(&user.doc),
            user_name: user.user_name,
            display_name: user.display_name,
            status: user.status.as_str().to_string(),
            user_type: user.user_type,
            last_login: user.last_login_at.map(timestamp),
            created_at: timestamp(user.created_at),
        }
    }
}

/// A page of the users table.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserPageView {
    /// Users matching the search and filters, in all.
    pub total_results: i64,
    pub users: Vec<UserRowView>,
    /// The next page of the unsorted walk; absent on its last page and on sorted pages.
    pub next_cursor: Option<String>,
}

/// The tenant's users, searched, filtered, sorted and paged. Needs `users:view`.
#[utoipa::path(
    get,
    path = "/tenants/{tenant}/users",
    tag = "users",
    params(("tenant" = String, Path, description = "The tenant's slug"), UserListParams),
    security(("operator" = []), ("session" = [])),
    responses(
        (status = 200, description = "A page of users", body = UserPageView),
        (status = 400, description = "A filter, order, cursor or count that does not parse, or a role or connection the tenant does not have", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Another tenant, or no `users:view`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_users(
    State(state): State<AppState>,
    Admin(actor): Admin,
    Path(slug): Path<String>,
    params: Result<Query<UserListParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<UserPageView>, AdminError> {
    let params = super::query_of(params)?;
    let descending = match params.sort_order.as_deref() {
        None | Some("ascending") => false,
        Some("descending") => true,
        Some(other) => {
            return Err(crate::tenant::TenantError::InvalidArgument(format!(
                "sortOrder '{other}' is neither ascending nor descending"
            ))
            .into());
        }
    };
    let query = UserListQuery {
        search: params.search,
        status: params.status,
        user_type: params.user_type,
        role: params.role,
        connection: params.connection,
        sort_by: params.sort_by,
        descending,
        cursor: params.cursor,
        start_index: params.start_index,
        count: params.count,
    };
    let schemas = state
        .registry
        .user()
        .ok_or_else(|| ScimError::new(500, None, "the User schema is missing"))?;
    let listing = user_list::user_list(
        &state.store,
        schemas,
        &actor,
        &slug,
        &query,
        state.settings.limits.list_limits(),
        now_micros(),
    )
    .await?;
    Ok(Json(UserPageView {
        total_results: listing.total,
        users: listing.items.into_iter().map(Into::into).collect(),
        next_cursor: listing.next_cursor,
    }))
}

/// A page of deleted users.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeletedParams {
    /// The previous page's `nextCursor`.
    pub cursor: Option<String>,
    /// Users per page, 1 to 500 (default 50).
    pub count: Option<i64>,
}

/// A deleted user: what stays so that history and reports still resolve them.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeletedUserView {
    pub id: String,
    pub user_name: String,
    pub display_name: Option<String>,
    pub external_id: Option<String>,
    pub deleted_at: String,
    /// The connection that deleted the user (none: the CLI).
    pub deleted_by: Option<String>,
}

impl From<DeletedUser> for DeletedUserView {
    fn from(d: DeletedUser) -> Self {
        let t = d.tombstone;
        DeletedUserView {
            id: t.id.to_string(),
            user_name: t.user_name,
            display_name: t.display_name,
            external_id: t.external_id,
            deleted_at: timestamp(t.deleted_at),
            deleted_by: d.deleted_by,
        }
    }
}

/// A page of deleted users.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeletedPageView {
    /// Most recently deleted first.
    pub users: Vec<DeletedUserView>,
    pub next_cursor: Option<String>,
}

/// The tenant's deleted users (tombstones), listed apart from the live ones, most recently
/// deleted first. Needs `users:view`.
#[utoipa::path(
    get,
    path = "/tenants/{tenant}/users/deleted",
    tag = "users",
    params(("tenant" = String, Path, description = "The tenant's slug"), DeletedParams),
    security(("operator" = []), ("session" = [])),
    responses(
        (status = 200, description = "A page of deleted users", body = DeletedPageView),
        (status = 400, description = "A cursor or count that does not parse", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Another tenant, or no `users:view`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn deleted_users(
    State(state): State<AppState>,
    Admin(actor): Admin,
    Path(slug): Path<String>,
    params: Result<Query<DeletedParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<DeletedPageView>, AdminError> {
    let params = super::query_of(params)?;
    let (users, next_cursor) = user_list::deleted_users(
        &state.store,
        &actor,
        &slug,
        params.cursor.as_deref(),
        params.count,
        now_micros(),
    )
    .await?;
    Ok(Json(DeletedPageView {
        users: users.into_iter().map(Into::into).collect(),
        next_cursor,
    }))
}
