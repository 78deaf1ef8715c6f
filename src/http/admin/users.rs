//! `/admin/v1/tenants/{tenant}/users`: what a tenant admin sees of the tenant's users.

use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;
use utoipa::ToSchema;

use super::Problem;
use super::auth::Admin;
use crate::http::error::AdminError;
use crate::state::AppState;
use crate::store::UserCounts;
use crate::tenant::stats;

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
