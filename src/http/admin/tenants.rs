//! `/admin/v1/tenants`: the tenants an operator runs, and one tenant's settings and seats.

use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::Admin;
use super::{Problem, timestamp};
use crate::http::error::AdminError;
use crate::state::AppState;
use crate::store::TenantRecord;
use crate::tenant::operators::{self, AdminPermission};

/// A tenant, its seats and its policies.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantView {
    /// The tenant's URL name (`/scim/v2/{slug}`).
    pub slug: String,
    pub display_name: String,
    /// Most users the tenant may hold; none means unlimited.
    pub seat_limit: Option<i64>,
    /// Users that hold a seat (every user not deleted).
    pub seats_used: i64,
    /// Attributes that cannot change once set.
    pub locked_attributes: Vec<String>,
    pub created_at: String,
}

impl From<TenantRecord> for TenantView {
    fn from(t: TenantRecord) -> Self {
        TenantView {
            slug: t.slug,
            display_name: t.display_name,
            seat_limit: t.seat_limit,
            seats_used: t.seats_used,
            locked_attributes: t.immutable_attributes,
            created_at: timestamp(t.created_at),
        }
    }
}

/// Every tenant (operators only).
#[utoipa::path(
    get,
    path = "/tenants",
    tag = "tenants",
    security(("operator" = [])),
    responses(
        (status = 200, description = "Every tenant, by slug", body = Vec<TenantView>),
        (status = 401, description = "No valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an operator", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_tenants(
    State(state): State<AppState>,
    Admin(actor): Admin,
) -> Result<Json<Vec<TenantView>>, AdminError> {
    let tenants = operators::list_tenants(&state.store, &actor).await?;
    Ok(Json(tenants.into_iter().map(TenantView::from).collect()))
}

/// One tenant. Needs `users:view` in it.
#[utoipa::path(
    get,
    path = "/tenants/{tenant}",
    tag = "tenants",
    params(("tenant" = String, Path, description = "The tenant's slug")),
    security(("operator" = []), ("session" = [])),
    responses(
        (status = 200, description = "The tenant", body = TenantView),
        (status = 401, description = "No valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Another tenant, or no `users:view`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn show_tenant(
    State(state): State<AppState>,
    Admin(actor): Admin,
    Path(slug): Path<String>,
) -> Result<Json<TenantView>, AdminError> {
    let tenant =
        operators::tenant_for(&state.store, &actor, &slug, AdminPermission::UsersView).await?;
    Ok(Json(tenant.into()))
}
