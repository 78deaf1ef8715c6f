//! `/admin/v1/tenants/{tenant}/connections`: the identity providers pushing into a tenant, and
//! each one's sync state — what an Entra or Okta admin opens when provisioning misbehaves.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Admin;
use super::{Problem, body_of, timestamp};
use crate::clock::now_micros;
use crate::http::error::AdminError;
use crate::state::AppState;
use crate::store::{
    ConnectionSummary, Micros, SyncCounts, TokenPrefix, TokenRecord, ToleranceCount,
};
use crate::tenant::admin_settings;
use crate::tenant::operators::{self, AdminPermission};
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
    /// The SCIM error type it got, e.g. `mutability` for a locked attribute.
    pub scim_type: Option<String>,
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
            scim_type: e.scim_type,
            detail: e.detail,
            request: e.request,
            target_type: e.target_type,
            target_id: e.target_id,
            target_name: e.target_name,
        }
    }
}

/// How often a client-quirk tolerance fired: requests the gateway accepted although they bent
/// the RFC the way this identity provider is known to (the README lists each).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ToleranceView {
    /// e.g. `capitalised_operation` (Entra's `"op": "Replace"`).
    pub tolerance: String,
    pub last_hour: i64,
    pub last_day: i64,
}

impl From<ToleranceCount> for ToleranceView {
    fn from(t: ToleranceCount) -> Self {
        ToleranceView {
            tolerance: t.tolerance,
            last_hour: t.last_hour,
            last_day: t.last_day,
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
    /// The client-quirk tolerances its requests needed over the day, most frequent first.
    pub tolerances: Vec<ToleranceView>,
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
            tolerances: s.tolerances.into_iter().map(Into::into).collect(),
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

/// A new directory connection.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewConnection {
    /// 1 to 64 characters, unique in the tenant.
    pub name: String,
    /// `entra`, `okta`, `onelogin`, `jumpcloud`, `google`, `ping` or `generic` (default).
    pub kind: Option<String>,
}

/// Creates a directory connection; issue it a token next. Needs `settings:manage`.
#[utoipa::path(
    post,
    path = "/tenants/{tenant}/connections",
    tag = "connections",
    params(("tenant" = String, Path, description = "The tenant's slug")),
    request_body = NewConnection,
    security(("operator" = []), ("session" = [])),
    responses(
        (status = 201, description = "The connection", body = ConnectionView),
        (status = 400, description = "A name or kind that is not valid", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Another tenant, or no `settings:manage`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The name is taken", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_connection(
    State(state): State<AppState>,
    Admin(actor): Admin,
    Path(slug): Path<String>,
    body: Result<Json<NewConnection>, JsonRejection>,
) -> Result<(StatusCode, Json<ConnectionView>), AdminError> {
    // Who may ask comes before what was asked: a refusal tells nothing about the body.
    operators::tenant_for(&state.store, &actor, &slug, AdminPermission::SettingsManage).await?;
    let new = body_of(body)?;
    let kind = new.kind.as_deref().unwrap_or("generic");
    let connection = admin_settings::create_connection(
        &state.store,
        &actor,
        &slug,
        &new.name,
        kind,
        now_micros(),
    )
    .await?;
    let view = ConnectionView {
        name: connection.name,
        kind: connection.kind,
        created_at: timestamp(connection.created_at),
        live_tokens: 0,
        last_request_at: None,
    };
    Ok((StatusCode::CREATED, Json(view)))
}

/// A SCIM token, as listings show it: never its secret.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenView {
    /// The visible start of the token, to tell it apart and to revoke it.
    pub prefix: String,
    pub connection: String,
    /// `live`, `expired` or `revoked`.
    pub state: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
}

fn token_view(t: TokenRecord, now: Micros) -> TokenView {
    let state = crate::tenant::tokens::token_state(t.revoked_at, t.expires_at, now);
    TokenView {
        prefix: t.prefix.to_string(),
        connection: t.connection_name,
        state: state.into(),
        created_at: timestamp(t.created_at),
        last_used_at: t.last_used_at.map(timestamp),
        expires_at: t.expires_at.map(timestamp),
        revoked_at: t.revoked_at.map(timestamp),
    }
}

/// The tenant's SCIM tokens. Needs `settings:view`.
#[utoipa::path(
    get,
    path = "/tenants/{tenant}/tokens",
    tag = "connections",
    params(("tenant" = String, Path, description = "The tenant's slug")),
    security(("operator" = []), ("session" = [])),
    responses(
        (status = 200, description = "The tokens, oldest first", body = Vec<TokenView>),
        (status = 401, description = "No valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Another tenant, or no `settings:view`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_tokens(
    State(state): State<AppState>,
    Admin(actor): Admin,
    Path(slug): Path<String>,
) -> Result<Json<Vec<TokenView>>, AdminError> {
    let now = now_micros();
    let tokens = admin_settings::list_tokens(&state.store, &actor, &slug).await?;
    Ok(Json(
        tokens.into_iter().map(|t| token_view(t, now)).collect(),
    ))
}

/// How to issue a token.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TokenIssue {
    /// Rotate: the connection's current tokens keep working this many hours, then expire.
    /// Absent: a token beside the current ones.
    pub rotate_grace_hours: Option<u32>,
}

/// A new SCIM token: the secret is in this answer only.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IssuedTokenView {
    /// The bearer token to paste into the identity provider. Shown once; only a hash is kept.
    pub token: String,
    #[serde(flatten)]
    pub details: TokenView,
}

/// Issues a SCIM token for the connection, or rotates its tokens. Needs `settings:manage`.
#[utoipa::path(
    post,
    path = "/tenants/{tenant}/connections/{connection}/tokens",
    tag = "connections",
    params(
        ("tenant" = String, Path, description = "The tenant's slug"),
        ("connection" = String, Path, description = "The connection's name"),
    ),
    request_body(content = TokenIssue, description = "Optional; `{}` issues a token beside the current ones"),
    security(("operator" = []), ("session" = [])),
    responses(
        (status = 201, description = "The token, with its secret", body = IssuedTokenView),
        (status = 401, description = "No valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Another tenant, or no `settings:manage`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant or connection", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn issue_token(
    State(state): State<AppState>,
    Admin(actor): Admin,
    Path((slug, connection)): Path<(String, String)>,
    body: Result<Option<Json<TokenIssue>>, JsonRejection>,
) -> Result<(StatusCode, Json<IssuedTokenView>), AdminError> {
    const MICROS_PER_HOUR: Micros = 3_600_000_000;
    operators::tenant_for(&state.store, &actor, &slug, AdminPermission::SettingsManage).await?;
    let issue = body_of(body.map(|b| Json(b.map(|Json(b)| b).unwrap_or_default())))?;
    let grace = issue
        .rotate_grace_hours
        .map(|h| i64::from(h) * MICROS_PER_HOUR);
    let now = now_micros();
    let (secret, record) =
        admin_settings::issue_token(&state.store, &actor, &slug, &connection, grace, now).await?;
    let view = IssuedTokenView {
        token: secret.expose().to_string(),
        details: token_view(record, now),
    };
    Ok((StatusCode::CREATED, Json(view)))
}

/// Revokes the tenant's tokens with this prefix: writes are refused from the next request on,
/// reads within a second. Needs `settings:manage`.
#[utoipa::path(
    delete,
    path = "/tenants/{tenant}/tokens/{prefix}",
    tag = "connections",
    params(
        ("tenant" = String, Path, description = "The tenant's slug"),
        ("prefix" = String, Path, description = "The token's visible prefix"),
    ),
    security(("operator" = []), ("session" = [])),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "No valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Another tenant, or no `settings:manage`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No live token with this prefix", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn revoke_token(
    State(state): State<AppState>,
    Admin(actor): Admin,
    Path((slug, prefix)): Path<(String, String)>,
) -> Result<StatusCode, AdminError> {
    admin_settings::revoke_token(
        &state.store,
        &actor,
        &slug,
        &TokenPrefix::new(prefix),
        now_micros(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
