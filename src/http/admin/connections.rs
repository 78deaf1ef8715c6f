//! `/admin/v1/tenants/{tenant}/connections`: the identity providers pushing into a tenant, and
//! each one's sync state — what an Entra or Okta admin opens when provisioning misbehaves.

use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::Admin;
use super::{Problem, timestamp};
use crate::clock::now_micros;
use crate::http::error::AdminError;
use crate::state::AppState;
use crate::store::{ConnectionSummary, SyncCounts};
use crate::tenant::sync::{self, Rejection, SyncState};

/// A directory connection: one identity provider pushing into the tenant.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionView {
    pub name: String,
    /// A hint of the identity provider behind it (`entra`, `okta`, `generic`).
    pub kind: String,
    pub created_at: String,
    /// Tokens neither revoked nor expired.
    pub live_tokens: i64,
    /// The last request made with any of its tokens, to the minute.
    pub last_request_at: Option<String>,
}

impl From<ConnectionSummary> for ConnectionView {
    fn from(c: ConnectionSummary) -> Self {
        ConnectionView {
            name: c.connection.name,
            kind: c.connection.kind,
            created_at: timestamp(c.connection.created_at),
            live_tokens: c.live_tokens,
            last_request_at: c.last_used_at.map(timestamp),
        }
    }
}

/// What a connection did over a window.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CountsView {
    pub creates: i64,
    /// Replacements and changes (PUT, PATCH), reactivations included.
    pub updates: i64,
    /// Users set `active: false`.
    pub deactivations: i64,
    pub deletes: i64,
    /// Requests refused by a tenant rule or the protocol (their audit events say why).
    pub rejections: i64,
}

impl From<SyncCounts> for CountsView {
    fn from(c: SyncCounts) -> Self {
        CountsView {
            creates: c.creates,
            updates: c.updates,
            deactivations: c.deactivations,
            deletes: c.deletes,
            rejections: c.rejections,
        }
    }
}

/// One refused request, as the audit trail recorded it: never a secret nor a whole body.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RejectionView {
    pub at: String,
    /// What was attempted, e.g. `user.create`.
    pub action: String,
    /// The HTTP status the client got.
    pub status: i64,
    /// Why it was refused, as the client was told.
    pub detail: Option<String>,
    /// Method and path, e.g. `POST /scim/v2/acme/Users`.
    pub request: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub target_name: Option<String>,
}

impl From<Rejection> for RejectionView {
    fn from(e: Rejection) -> Self {
        RejectionView {
            at: timestamp(e.at),
            action: e.action,
            status: e.status,
            detail: e.detail,
            request: e.request,
            target_type: e.target_type,
            target_id: e.target_id,
            target_name: e.target_name,
        }
    }
}

/// A connection's sync state and the verdict on it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncStateView {
    pub connection: ConnectionView,
    /// `healthy`, `degraded`, `failing`, `stale` or `idle` (rules in the README).
    pub verdict: String,
    /// Why, in a sentence.
    pub verdict_reason: String,
    /// The last minute a write or a rejection was counted in (within the day).
    pub last_write_at: Option<String>,
    pub last_hour: CountsView,
    pub last_day: CountsView,
    /// The newest refused requests, newest first.
    pub last_rejections: Vec<RejectionView>,
}

impl From<SyncState> for SyncStateView {
    fn from(s: SyncState) -> Self {
        SyncStateView {
            connection: s.connection.into(),
            verdict: s.verdict.as_str().to_string(),
            verdict_reason: s.verdict_reason,
            last_write_at: s.windows.last_write_minute.map(timestamp),
            last_hour: s.windows.last_hour.into(),
            last_day: s.windows.last_day.into(),
            last_rejections: s.last_rejections.into_iter().map(Into::into).collect(),
        }
    }
}

/// The tenant's connections. Needs `settings:view`.
#[utoipa::path(
    get,
    path = "/tenants/{tenant}/connections",
    tag = "connections",
    params(("tenant" = String, Path, description = "The tenant's slug")),
    security(("operator" = []), ("session" = [])),
    responses(
        (status = 200, description = "The connections, by name", body = Vec<ConnectionView>),
        (status = 401, description = "No valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Another tenant, or no `settings:view`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_connections(
    State(state): State<AppState>,
    Admin(actor): Admin,
    Path(slug): Path<String>,
) -> Result<Json<Vec<ConnectionView>>, AdminError> {
    let list = sync::connections_of(&state.store, &actor, &slug, now_micros()).await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

/// A connection's sync state: counts over the last hour and day, the last rejections and a
/// verdict. Needs `settings:view`.
#[utoipa::path(
    get,
    path = "/tenants/{tenant}/connections/{connection}/sync",
    tag = "connections",
    params(
        ("tenant" = String, Path, description = "The tenant's slug"),
        ("connection" = String, Path, description = "The connection's name"),
    ),
    security(("operator" = []), ("session" = [])),
    responses(
        (status = 200, description = "The sync state", body = SyncStateView),
        (status = 401, description = "No valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Another tenant, or no `settings:view`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant or connection", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn sync_state(
    State(state): State<AppState>,
    Admin(actor): Admin,
    Path((slug, connection)): Path<(String, String)>,
) -> Result<Json<SyncStateView>, AdminError> {
    let state = sync::sync_state_of(&state.store, &actor, &slug, &connection, now_micros()).await?;
    Ok(Json(state.into()))
}
