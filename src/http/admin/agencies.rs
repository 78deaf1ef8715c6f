//! Agencies through the admin API: the environments an agency's user reaches and with which
//! roles, an environment's users from the agencies above it, and an environment's override of
//! what one of them inherits.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::Admin;
use super::{Problem, body_of, query_of};
use crate::clock::now_micros;
use crate::http::error::AdminError;
use crate::state::AppState;
use crate::store::UserId;
use crate::tenant::agencies::{self, InheritedAccess};

/// What an agency user holds in an environment.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InheritedAccessView {
    /// Role names, sorted.
    pub roles: Vec<String>,
    /// `category:action`, sorted.
    pub permissions: Vec<String>,
    /// Whether an override (in the environment or one between it and the agency) decides them;
    /// an override with no role means no access there.
    pub overridden: bool,
}

impl From<InheritedAccess> for InheritedAccessView {
    fn from(access: InheritedAccess) -> Self {
        InheritedAccessView {
            roles: access.roles,
            permissions: access.permissions,
            overridden: access.overridden,
        }
    }
}

/// An environment a user reaches.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentView {
    /// The environment's slug.
    pub tenant: String,
    /// Levels below the user's tenant (1: one of its own environments).
    pub level: i64,
    #[serde(flatten)]
    pub access: InheritedAccessView,
}

/// The environments below the tenant that its user reaches, with the roles they hold in each.
/// Needs `users:view`.
#[utoipa::path(
    get,
    path = "/tenants/{tenant}/users/{id}/environments",
    tag = "agencies",
    params(
        ("tenant" = String, Path, description = "The user's tenant (the agency)"),
        ("id" = String, Path, description = "The user's SCIM id"),
    ),
    security(("operator" = []), ("session" = [])),
    responses(
        (status = 200, description = "Each environment below the agency, nearest first", body = Vec<EnvironmentView>),
        (status = 401, description = "No valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Another tenant, or no `users:view`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant or user", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn user_environments(
    State(state): State<AppState>,
    Admin(actor): Admin,
    Path((slug, id)): Path<(String, String)>,
) -> Result<Json<Vec<EnvironmentView>>, AdminError> {
    let reached =
        agencies::environments_of_user(&state.store, &actor, &slug, &UserId::new(id)).await?;
    Ok(Json(
        reached
            .into_iter()
            .map(|e| EnvironmentView {
                tenant: e.slug,
                level: e.level,
                access: e.access.into(),
            })
            .collect(),
    ))
}

/// A page of an environment's agency users.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct AgencyUserParams {
    /// The previous page's `nextAfter`.
    pub after: Option<String>,
    /// 1–100, default 50.
    pub limit: Option<i64>,
}

/// A user of an agency above the environment.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgencyUserView {
    pub id: String,
    pub user_name: String,
    pub display_name: Option<String>,
    /// The agency the user belongs to (an inherited user, not one of the environment's own).
    pub agency: String,
    #[serde(flatten)]
    pub access: InheritedAccessView,
}

/// A page of agency users, and the cursor of the next (none: the last page).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgencyUserPage {
    pub users: Vec<AgencyUserView>,
    pub next_after: Option<String>,
}

/// The users of the agencies above the environment (the nearest agency's first), marked as
/// inherited, with what each holds in it. Needs `users:view`.
#[utoipa::path(
    get,
    path = "/tenants/{tenant}/agency-users",
    tag = "agencies",
    params(("tenant" = String, Path, description = "The environment's slug"), AgencyUserParams),
    security(("operator" = []), ("session" = [])),
    responses(
        (status = 200, description = "A page of agency users", body = AgencyUserPage),
        (status = 400, description = "A cursor that is not this list's", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Another tenant, or no `users:view`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn agency_users(
    State(state): State<AppState>,
    Admin(actor): Admin,
    Path(slug): Path<String>,
    params: Result<Query<AgencyUserParams>, QueryRejection>,
) -> Result<Json<AgencyUserPage>, AdminError> {
    let params = query_of(params)?;
    let (page, next_after) = agencies::agency_users(
        &state.store,
        &actor,
        &slug,
        params.after.as_deref(),
        params.limit.unwrap_or(50),
    )
    .await?;
    let users = page
        .into_iter()
        .map(|u| AgencyUserView {
            id: u.user.id.to_string(),
            user_name: u.user.user_name,
            display_name: u.user.display_name,
            agency: u.agency,
            access: u.access.into(),
        })
        .collect();
    Ok(Json(AgencyUserPage { users, next_after }))
}

/// The roles of the environment's catalog an agency user holds there instead of what they
/// inherit; none: no access there.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OverrideBody {
    pub roles: Vec<String>,
}

/// Overrides what an agency user inherits in the environment (and below it). Needs
/// `users:manage`.
#[utoipa::path(
    put,
    path = "/tenants/{tenant}/agency-users/{id}/roles",
    tag = "agencies",
    params(
        ("tenant" = String, Path, description = "The environment's slug"),
        ("id" = String, Path, description = "The agency user's SCIM id"),
    ),
    request_body = OverrideBody,
    security(("operator" = []), ("session" = [])),
    responses(
        (status = 204, description = "Overridden"),
        (status = 400, description = "The user is not of an agency above the environment", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Another tenant, or no `users:manage`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant, user or role", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn override_roles(
    State(state): State<AppState>,
    Admin(actor): Admin,
    Path((slug, id)): Path<(String, String)>,
    body: Result<Json<OverrideBody>, JsonRejection>,
) -> Result<StatusCode, AdminError> {
    let body = body_of(body)?;
    let roles = Some(body.roles.as_slice());
    let user = UserId::new(id);
    agencies::override_for(&state.store, &actor, &slug, &user, roles, now_micros()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lets an agency user inherit again in the environment. Needs `users:manage`.
#[utoipa::path(
    delete,
    path = "/tenants/{tenant}/agency-users/{id}/roles",
    tag = "agencies",
    params(
        ("tenant" = String, Path, description = "The environment's slug"),
        ("id" = String, Path, description = "The agency user's SCIM id"),
    ),
    security(("operator" = []), ("session" = [])),
    responses(
        (status = 204, description = "Inheriting again"),
        (status = 401, description = "No valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Another tenant, or no `users:manage`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant, or no override for the user", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn clear_override(
    State(state): State<AppState>,
    Admin(actor): Admin,
    Path((slug, id)): Path<(String, String)>,
) -> Result<StatusCode, AdminError> {
    let user = UserId::new(id);
    agencies::override_for(&state.store, &actor, &slug, &user, None, now_micros()).await?;
    Ok(StatusCode::NO_CONTENT)
}
