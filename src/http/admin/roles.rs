//! `/admin/v1/tenants/{tenant}/roles`: the role catalog and templates, group-to-role and
//! user-type-to-role mappings, and admin assignments of roles to users.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Admin;
use super::{Problem, body_of};
use crate::clock::now_micros;
use crate::http::error::AdminError;
use crate::state::AppState;
use crate::store::{RoleRecord, UserId};
use crate::tenant::admin_roles;
use crate::tenant::operators::{self, AdminPermission};
use crate::tenant::roles::{RoleSpec, RoleUpdate};

/// A role of the catalog (or a role template).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoleView {
    pub name: String,
    pub description: Option<String>,
    /// `category:action`, sorted.
    pub permissions: Vec<String>,
    /// A role template: users whose tenant-extension `roleTemplate` names it hold it.
    pub template: bool,
    /// Whether SCIM `roles` values and admin assignments give it; otherwise only mappings and
    /// templates do.
    pub assignable: bool,
    /// Groups (by displayName) whose members hold the role.
    pub groups: Vec<String>,
    /// User types whose users hold the role.
    pub user_types: Vec<String>,
}

impl RoleView {
    /// A role as written, without its mappings (listed with the catalog).
    fn of(role: RoleRecord) -> Self {
        RoleView {
            name: role.name,
            description: role.description,
            permissions: role.permissions,
            template: role.is_template,
            assignable: role.assignable,
            groups: Vec::new(),
            user_types: Vec::new(),
        }
    }
}

/// The tenant's roles and templates, each with the groups and user types mapped to it. Needs
/// `settings:view`.
#[utoipa::path(
    get,
    path = "/tenants/{tenant}/roles",
    tag = "roles",
    params(("tenant" = String, Path, description = "The tenant's slug")),
    security(("operator" = []), ("session" = [])),
    responses(
        (status = 200, description = "The catalog, by name", body = Vec<RoleView>),
        (status = 401, description = "No valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Another tenant, or no `settings:view`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_roles(
    State(state): State<AppState>,
    Admin(actor): Admin,
    Path(slug): Path<String>,
) -> Result<Json<Vec<RoleView>>, AdminError> {
    let views = admin_roles::catalog(&state.store, &actor, &slug)
        .await?
        .into_iter()
        .map(|entry| RoleView {
            groups: entry.groups,
            user_types: entry.user_types,
            ..RoleView::of(entry.role)
        })
        .collect();
    Ok(Json(views))
}

/// A new role.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewRole {
    pub name: String,
    /// `category:action` or `category:*`; categories: conversations, settings, users,
    /// analytics, integrations, experiments; actions: view, create, edit, delete, manage.
    pub permissions: Vec<String>,
    pub description: Option<String>,
    #[serde(default)]
    pub template: bool,
    /// `false`: only mappings and templates give the role (default `true`).
    #[serde(default = "assignable_by_default")]
    pub assignable: bool,
}

fn assignable_by_default() -> bool {
    true
}

/// Adds a role (or template) to the catalog. Needs `settings:manage`.
#[utoipa::path(
    post,
    path = "/tenants/{tenant}/roles",
    tag = "roles",
    params(("tenant" = String, Path, description = "The tenant's slug")),
    request_body = NewRole,
    security(("operator" = []), ("session" = [])),
    responses(
        (status = 201, description = "The role", body = RoleView),
        (status = 400, description = "A name or permission that is not valid, or a name taken", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Another tenant, or no `settings:manage`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_role(
    State(state): State<AppState>,
    Admin(actor): Admin,
    Path(slug): Path<String>,
    body: Result<Json<NewRole>, JsonRejection>,
) -> Result<(StatusCode, Json<RoleView>), AdminError> {
    // Who may ask comes before what was asked: a refusal tells nothing about the body.
    operators::tenant_for(&state.store, &actor, &slug, AdminPermission::SettingsManage).await?;
    let new = body_of(body)?;
    let spec = RoleSpec {
        name: &new.name,
        permissions: &new.permissions,
        description: new.description.as_deref(),
        is_template: new.template,
        assignable: new.assignable,
    };
    let role = admin_roles::create_role(&state.store, &actor, &slug, spec, now_micros()).await?;
    Ok((StatusCode::CREATED, Json(RoleView::of(role))))
}

/// A change of a role; what is absent stays.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RolePatch {
    pub permissions: Option<Vec<String>>,
    pub description: Option<String>,
    pub template: Option<bool>,
    /// Turning it off makes the role come only from mappings and templates; its holders by hand
    /// lose it (each gets a `user.roles_changed` event).
    pub assignable: Option<bool>,
}

/// Changes a role. Needs `settings:manage`.
#[utoipa::path(
    patch,
    path = "/tenants/{tenant}/roles/{role}",
    tag = "roles",
    params(
        ("tenant" = String, Path, description = "The tenant's slug"),
        ("role" = String, Path, description = "The role's name"),
    ),
    request_body = RolePatch,
    security(("operator" = []), ("session" = [])),
    responses(
        (status = 200, description = "The role as changed (its mappings are listed with the catalog)", body = RoleView),
        (status = 400, description = "A permission that is not valid", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Another tenant, or no `settings:manage`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant or role", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update_role(
    State(state): State<AppState>,
    Admin(actor): Admin,
    Path((slug, name)): Path<(String, String)>,
    body: Result<Json<RolePatch>, JsonRejection>,
) -> Result<Json<RoleView>, AdminError> {
    operators::tenant_for(&state.store, &actor, &slug, AdminPermission::SettingsManage).await?;
    let patch = body_of(body)?;
    let update = RoleUpdate {
        permissions: patch.permissions.as_deref(),
        description: patch.description.as_deref(),
        is_template: patch.template,
        assignable: patch.assignable,
    };
    let role =
        admin_roles::update_role(&state.store, &actor, &slug, &name, update, now_micros()).await?;
    Ok(Json(RoleView::of(role)))
}

/// Members of the group (by displayName) hold the role. Needs `settings:manage`.
#[utoipa::path(
    put,
    path = "/tenants/{tenant}/roles/{role}/groups/{group}",
    tag = "roles",
    params(
        ("tenant" = String, Path, description = "The tenant's slug"),
        ("role" = String, Path, description = "The role's name"),
        ("group" = String, Path, description = "The group's displayName"),
    ),
    security(("operator" = []), ("session" = [])),
    responses(
        (status = 204, description = "Mapped"),
        (status = 401, description = "No valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Another tenant, or no `settings:manage`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant or role", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn map_group(
    State(state): State<AppState>,
    Admin(actor): Admin,
    Path((slug, role, group)): Path<(String, String, String)>,
) -> Result<StatusCode, AdminError> {
    admin_roles::map_group(
        &state.store,
        &actor,
        &slug,
        &group,
        &role,
        false,
        now_micros(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The group's members no longer hold the role through it. Needs `settings:manage`.
#[utoipa::path(
    delete,
    path = "/tenants/{tenant}/roles/{role}/groups/{group}",
    tag = "roles",
    params(
        ("tenant" = String, Path, description = "The tenant's slug"),
        ("role" = String, Path, description = "The role's name"),
        ("group" = String, Path, description = "The group's displayName"),
    ),
    security(("operator" = []), ("session" = [])),
    responses(
        (status = 204, description = "Unmapped"),
        (status = 401, description = "No valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Another tenant, or no `settings:manage`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant, role or mapping", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn unmap_group(
    State(state): State<AppState>,
    Admin(actor): Admin,
    Path((slug, role, group)): Path<(String, String, String)>,
) -> Result<StatusCode, AdminError> {
    admin_roles::map_group(
        &state.store,
        &actor,
        &slug,
        &group,
        &role,
        true,
        now_micros(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Users of the user type (compared without regard to case) hold the role. Needs
/// `settings:manage`.
#[utoipa::path(
    put,
    path = "/tenants/{tenant}/roles/{role}/user-types/{userType}",
    tag = "roles",
    params(
        ("tenant" = String, Path, description = "The tenant's slug"),
        ("role" = String, Path, description = "The role's name"),
        ("userType" = String, Path, description = "The user type, e.g. supervisor"),
    ),
    security(("operator" = []), ("session" = [])),
    responses(
        (status = 204, description = "Mapped"),
        (status = 400, description = "An empty or over-long user type", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Another tenant, or no `settings:manage`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant or role", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn map_user_type(
    State(state): State<AppState>,
    Admin(actor): Admin,
    Path((slug, role, user_type)): Path<(String, String, String)>,
) -> Result<StatusCode, AdminError> {
    admin_roles::map_user_type(
        &state.store,
        &actor,
        &slug,
        &user_type,
        &role,
        false,
        now_micros(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Users of the user type no longer hold the role through it. Needs `settings:manage`.
#[utoipa::path(
    delete,
    path = "/tenants/{tenant}/roles/{role}/user-types/{userType}",
    tag = "roles",
    params(
        ("tenant" = String, Path, description = "The tenant's slug"),
        ("role" = String, Path, description = "The role's name"),
        ("userType" = String, Path, description = "The user type"),
    ),
    security(("operator" = []), ("session" = [])),
    responses(
        (status = 204, description = "Unmapped"),
        (status = 401, description = "No valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Another tenant, or no `settings:manage`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant, role or mapping", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn unmap_user_type(
    State(state): State<AppState>,
    Admin(actor): Admin,
    Path((slug, role, user_type)): Path<(String, String, String)>,
) -> Result<StatusCode, AdminError> {
    admin_roles::map_user_type(
        &state.store,
        &actor,
        &slug,
        &user_type,
        &role,
        true,
        now_micros(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An admin assigns the role to the user. Needs `users:manage`.
#[utoipa::path(
    put,
    path = "/tenants/{tenant}/users/{id}/roles/{role}",
    tag = "roles",
    params(
        ("tenant" = String, Path, description = "The tenant's slug"),
        ("id" = String, Path, description = "The user's SCIM id"),
        ("role" = String, Path, description = "The role's name"),
    ),
    security(("operator" = []), ("session" = [])),
    responses(
        (status = 204, description = "Assigned"),
        (status = 401, description = "No valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Another tenant, or no `users:manage`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant, user or role", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn assign_role(
    State(state): State<AppState>,
    Admin(actor): Admin,
    Path((slug, id, role)): Path<(String, String, String)>,
) -> Result<StatusCode, AdminError> {
    let id = UserId::new(id);
    admin_roles::assign(&state.store, &actor, &slug, &id, &role, false, now_micros()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The admin takes the role back (roles from SCIM values or groups stay). Needs `users:manage`.
#[utoipa::path(
    delete,
    path = "/tenants/{tenant}/users/{id}/roles/{role}",
    tag = "roles",
    params(
        ("tenant" = String, Path, description = "The tenant's slug"),
        ("id" = String, Path, description = "The user's SCIM id"),
        ("role" = String, Path, description = "The role's name"),
    ),
    security(("operator" = []), ("session" = [])),
    responses(
        (status = 204, description = "Taken back"),
        (status = 401, description = "No valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Another tenant, or no `users:manage`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant, user or role", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn unassign_role(
    State(state): State<AppState>,
    Admin(actor): Admin,
    Path((slug, id, role)): Path<(String, String, String)>,
) -> Result<StatusCode, AdminError> {
    let id = UserId::new(id);
    admin_roles::assign(&state.store, &actor, &slug, &id, &role, true, now_micros()).await?;
    Ok(StatusCode::NO_CONTENT)
}
