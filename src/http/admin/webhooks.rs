//! `/admin/v1/tenants/{tenant}/webhooks`: where the tenant's events are delivered — endpoints
//! created with their signing secret (shown once), listed, changed, deleted, pinged, and their
//! delivery log; `/admin/v1/webhooks`: the same for operator-wide endpoints, which receive every
//! tenant's events (operator tokens only). Each operation is one function of an
//! `EndpointScope`, with a handler per route.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Admin;
use super::{Problem, body_of, time_param, timestamp};
use crate::clock::now_micros;
use crate::http::error::AdminError;
use crate::state::AppState;
use crate::store::{AttemptRecord, WebhookEndpointRecord};
use crate::tenant::operators::{self, AdminActor, AdminPermission};
use crate::webhooks::endpoints::{self, DeliveryChange, EndpointScope, NewEndpoint};

/// A webhook endpoint (never its secret).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EndpointView {
    pub id: String,
    pub url: String,
    /// Event types delivered (`*`: all).
    pub event_types: Vec<String>,
    pub description: Option<String>,
    /// Set when deliveries stopped, with why.
    pub disabled_at: Option<String>,
    pub disabled_reason: Option<String>,
    pub created_at: String,
    /// Failed attempts at the next event to deliver (0 when deliveries succeed).
    pub failed_attempts: i64,
    /// When the next attempt is due, while retrying.
    pub next_attempt_at: Option<String>,
}

impl From<WebhookEndpointRecord> for EndpointView {
    fn from(e: WebhookEndpointRecord) -> Self {
        EndpointView {
            id: e.id,
            url: e.url,
            event_types: e.event_types,
            description: e.description,
            disabled_at: e.disabled_at.map(timestamp),
            disabled_reason: e.disabled_reason,
            created_at: timestamp(e.created_at),
            failed_attempts: e.delivery.failed_attempts,
            next_attempt_at: (e.delivery.failed_attempts > 0)
                .then(|| timestamp(e.delivery.next_attempt_at)),
        }
    }
}

/// A new endpoint.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewEndpointBody {
    /// `https://` to a public host (plain http and local addresses only when the gateway runs
    /// with `--allow-insecure-webhooks`).
    pub url: String,
    /// Event types to deliver; absent, empty or `["*"]`: all.
    #[serde(default)]
    pub event_types: Vec<String>,
    pub description: Option<String>,
}

/// A new endpoint and its signing secret, shown in this answer only.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedEndpointView {
    /// `whsec_…`: what a Standard Webhooks library verifies deliveries with.
    pub secret: String,
    #[serde(flatten)]
    pub endpoint: EndpointView,
}

/// What a test ping came to.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PingView {
    /// Whether the endpoint answered 2xx.
    pub delivered: bool,
    /// Its HTTP status; absent when no answer came.
    pub status: Option<u16>,
    pub latency_ms: u64,
    /// The start of its answer, or why there was none.
    pub excerpt: String,
}

/// The tenant's webhook endpoints. Needs `settings:view`.
#[utoipa::path(
    get,
    path = "/tenants/{tenant}/webhooks",
    tag = "events",
    params(("tenant" = String, Path, description = "The tenant's slug")),
    security(("operator" = []), ("session" = [])),
    responses(
        (status = 200, description = "The endpoints, oldest first", body = Vec<EndpointView>),
        (status = 401, description = "No valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Another tenant, or no `settings:view`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_endpoints(
    State(state): State<AppState>,
    Admin(actor): Admin,
    Path(slug): Path<String>,
) -> Result<Json<Vec<EndpointView>>, AdminError> {
    list(&state, &actor, EndpointScope::Tenant(&slug)).await
}

async fn list(
    state: &AppState,
    actor: &AdminActor,
    scope: EndpointScope<'_>,
) -> Result<Json<Vec<EndpointView>>, AdminError> {
    let found = endpoints::list_endpoints(&state.store, actor, scope).await?;
    Ok(Json(found.into_iter().map(Into::into).collect()))
}

/// Adds an endpoint; its signing secret is in this answer only. Needs `settings:manage`.
#[utoipa::path(
    post,
    path = "/tenants/{tenant}/webhooks",
    tag = "events",
    params(("tenant" = String, Path, description = "The tenant's slug")),
    request_body = NewEndpointBody,
    security(("operator" = []), ("session" = [])),
    responses(
        (status = 201, description = "The endpoint, with its secret", body = CreatedEndpointView),
        (status = 400, description = "A URL that is not https to a public host, an unknown event type, or no secret key to seal secrets with", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Another tenant, or no `settings:manage`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_endpoint(
    State(state): State<AppState>,
    Admin(actor): Admin,
    Path(slug): Path<String>,
    body: Result<Json<NewEndpointBody>, JsonRejection>,
) -> Result<(StatusCode, Json<CreatedEndpointView>), AdminError> {
    operators::tenant_for(&state.store, &actor, &slug, AdminPermission::SettingsManage).await?;
    create(&state, &actor, EndpointScope::Tenant(&slug), body).await
}

async fn create(
    state: &AppState,
    actor: &AdminActor,
    scope: EndpointScope<'_>,
    body: Result<Json<NewEndpointBody>, JsonRejection>,
) -> Result<(StatusCode, Json<CreatedEndpointView>), AdminError> {
    let new = body_of(body)?;
    let (endpoint, secret) = endpoints::create_endpoint(
        &state.store,
        state.settings.sso.secret_key.as_ref(),
        actor,
        scope,
        NewEndpoint {
            url: new.url,
            event_types: new.event_types,
            description: new.description,
        },
        state.settings.allow_insecure_webhooks,
        now_micros(),
    )
    .await?;
    let view = CreatedEndpointView {
        secret: secret.to_text(),
        endpoint: endpoint.into(),
    };
    Ok((StatusCode::CREATED, Json(view)))
}

/// A change of an endpoint's delivery; what is absent stays.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EndpointPatch {
    /// `true` turns deliveries back on (forgetting past failures), `false` stops them.
    pub enabled: Option<bool>,
    /// RFC 3339: deliver again every event from this time on, already delivered ones included.
    pub replay_from: Option<String>,
}

/// Turns an endpoint's deliveries on or off, or replays them from a point in time. Needs
/// `settings:manage`.
#[utoipa::path(
    patch,
    path = "/tenants/{tenant}/webhooks/{endpoint}",
    tag = "events",
    params(
        ("tenant" = String, Path, description = "The tenant's slug"),
        ("endpoint" = String, Path, description = "The endpoint's id"),
    ),
    request_body = EndpointPatch,
    security(("operator" = []), ("session" = [])),
    responses(
        (status = 200, description = "The endpoint as changed", body = EndpointView),
        (status = 400, description = "A body or time that does not parse, or a replay from the future", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Another tenant, or no `settings:manage`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant or endpoint", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update_endpoint(
    State(state): State<AppState>,
    Admin(actor): Admin,
    Path((slug, id)): Path<(String, String)>,
    body: Result<Json<EndpointPatch>, JsonRejection>,
) -> Result<Json<EndpointView>, AdminError> {
    operators::tenant_for(&state.store, &actor, &slug, AdminPermission::SettingsManage).await?;
    update(&state, &actor, EndpointScope::Tenant(&slug), &id, body).await
}

async fn update(
    state: &AppState,
    actor: &AdminActor,
    scope: EndpointScope<'_>,
    id: &str,
    body: Result<Json<EndpointPatch>, JsonRejection>,
) -> Result<Json<EndpointView>, AdminError> {
    let patch = body_of(body)?;
    let change = DeliveryChange {
        enabled: patch.enabled,
        replay_from: time_param("replayFrom", patch.replay_from.as_deref())?,
    };
    let endpoint =
        endpoints::change_delivery(&state.store, actor, scope, id, change, now_micros()).await?;
    Ok(Json(endpoint.into()))
}

/// Removes an endpoint. Needs `settings:manage`.
#[utoipa::path(
    delete,
    path = "/tenants/{tenant}/webhooks/{endpoint}",
    tag = "events",
    params(
        ("tenant" = String, Path, description = "The tenant's slug"),
        ("endpoint" = String, Path, description = "The endpoint's id"),
    ),
    security(("operator" = []), ("session" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "No valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Another tenant, or no `settings:manage`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant or endpoint", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete_endpoint(
    State(state): State<AppState>,
    Admin(actor): Admin,
    Path((slug, id)): Path<(String, String)>,
) -> Result<StatusCode, AdminError> {
    endpoints::delete_endpoint(
        &state.store,
        &actor,
        EndpointScope::Tenant(&slug),
        &id,
        now_micros(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sends a signed `webhook.ping` to the endpoint now, and says what came back. Needs
/// `settings:manage`.
#[utoipa::path(
    post,
    path = "/tenants/{tenant}/webhooks/{endpoint}/test",
    tag = "events",
    params(
        ("tenant" = String, Path, description = "The tenant's slug"),
        ("endpoint" = String, Path, description = "The endpoint's id"),
    ),
    security(("operator" = []), ("session" = [])),
    responses(
        (status = 200, description = "What the endpoint answered (a failed delivery is still a 200 here)", body = PingView),
        (status = 401, description = "No valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Another tenant, or no `settings:manage`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant or endpoint", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn ping_endpoint(
    State(state): State<AppState>,
    Admin(actor): Admin,
    Path((slug, id)): Path<(String, String)>,
) -> Result<Json<PingView>, AdminError> {
    ping(&state, &actor, EndpointScope::Tenant(&slug), &id).await
}

async fn ping(
    state: &AppState,
    actor: &AdminActor,
    scope: EndpointScope<'_>,
    id: &str,
) -> Result<Json<PingView>, AdminError> {
    let attempt = endpoints::ping_endpoint(
        &state.store,
        state.settings.sso.secret_key.as_ref(),
        &state.webhook_sender,
        actor,
        scope,
        id,
        now_micros(),
    )
    .await?;
    Ok(Json(PingView {
        delivered: attempt.delivered(),
        status: attempt.status,
        latency_ms: attempt.latency_ms,
        excerpt: attempt.excerpt,
    }))
}

/// One delivery attempt.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttemptView {
    /// The event's id (the `webhook-id` header), the same on every attempt.
    pub event_id: String,
    pub event_type: String,
    pub at: String,
    /// The endpoint's HTTP status; absent when no answer came.
    pub status: Option<i64>,
    pub latency_ms: i64,
    /// The start of the endpoint's answer, or why there was none.
    pub excerpt: String,
    pub delivered: bool,
}

impl From<AttemptRecord> for AttemptView {
    fn from(a: AttemptRecord) -> Self {
        AttemptView {
            event_id: a.event_id,
            event_type: a.event_type,
            at: timestamp(a.at),
            status: a.status,
            latency_ms: a.latency_ms,
            excerpt: a.excerpt,
            delivered: a.delivered,
        }
    }
}

/// The endpoint's delivery log: its newest attempts, newest first. Needs `settings:view`.
#[utoipa::path(
    get,
    path = "/tenants/{tenant}/webhooks/{endpoint}/attempts",
    tag = "events",
    params(
        ("tenant" = String, Path, description = "The tenant's slug"),
        ("endpoint" = String, Path, description = "The endpoint's id"),
    ),
    security(("operator" = []), ("session" = [])),
    responses(
        (status = 200, description = "The newest 100 attempts", body = Vec<AttemptView>),
        (status = 401, description = "No valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Another tenant, or no `settings:view`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant or endpoint", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delivery_log(
    State(state): State<AppState>,
    Admin(actor): Admin,
    Path((slug, id)): Path<(String, String)>,
) -> Result<Json<Vec<AttemptView>>, AdminError> {
    log(&state, &actor, EndpointScope::Tenant(&slug), &id).await
}

async fn log(
    state: &AppState,
    actor: &AdminActor,
    scope: EndpointScope<'_>,
    id: &str,
) -> Result<Json<Vec<AttemptView>>, AdminError> {
    let attempts = endpoints::delivery_log(&state.store, actor, scope, id).await?;
    Ok(Json(attempts.into_iter().map(Into::into).collect()))
}

const ALL_TENANTS: EndpointScope<'static> = EndpointScope::AllTenants;

/// The operator-wide webhook endpoints: each receives every tenant's events (each delivery
/// names its tenant). Operator tokens only.
#[utoipa::path(
    get,
    path = "/webhooks",
    tag = "events",
    security(("operator" = [])),
    responses(
        (status = 200, description = "The endpoints, oldest first", body = Vec<EndpointView>),
        (status = 401, description = "No valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an operator token", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_operator_endpoints(
    State(state): State<AppState>,
    Admin(actor): Admin,
) -> Result<Json<Vec<EndpointView>>, AdminError> {
    list(&state, &actor, ALL_TENANTS).await
}

/// Adds an operator-wide endpoint, delivered every tenant's events from now on; its signing
/// secret is in this answer only. Operator tokens only.
#[utoipa::path(
    post,
    path = "/webhooks",
    tag = "events",
    request_body = NewEndpointBody,
    security(("operator" = [])),
    responses(
        (status = 201, description = "The endpoint, with its secret", body = CreatedEndpointView),
        (status = 400, description = "A URL that is not https to a public host, an unknown event type, or no secret key to seal secrets with", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an operator token", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_operator_endpoint(
    State(state): State<AppState>,
    Admin(actor): Admin,
    body: Result<Json<NewEndpointBody>, JsonRejection>,
) -> Result<(StatusCode, Json<CreatedEndpointView>), AdminError> {
    operators::require_operator(&actor, "operator-wide webhook endpoints")?;
    create(&state, &actor, ALL_TENANTS, body).await
}

/// Turns an operator-wide endpoint's deliveries on or off, or replays them from a point in time.
/// Operator tokens only.
#[utoipa::path(
    patch,
    path = "/webhooks/{endpoint}",
    tag = "events",
    params(("endpoint" = String, Path, description = "The endpoint's id")),
    request_body = EndpointPatch,
    security(("operator" = [])),
    responses(
        (status = 200, description = "The endpoint as changed", body = EndpointView),
        (status = 400, description = "A body or time that does not parse, or a replay from the future", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an operator token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such operator-wide endpoint", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update_operator_endpoint(
    State(state): State<AppState>,
    Admin(actor): Admin,
    Path(id): Path<String>,
    body: Result<Json<EndpointPatch>, JsonRejection>,
) -> Result<Json<EndpointView>, AdminError> {
    operators::require_operator(&actor, "operator-wide webhook endpoints")?;
    update(&state, &actor, ALL_TENANTS, &id, body).await
}

/// Removes an operator-wide endpoint. Operator tokens only.
#[utoipa::path(
    delete,
    path = "/webhooks/{endpoint}",
    tag = "events",
    params(("endpoint" = String, Path, description = "The endpoint's id")),
    security(("operator" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "No valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an operator token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such operator-wide endpoint", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete_operator_endpoint(
    State(state): State<AppState>,
    Admin(actor): Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, AdminError> {
    endpoints::delete_endpoint(&state.store, &actor, ALL_TENANTS, &id, now_micros()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sends a signed `webhook.ping` to an operator-wide endpoint now. Operator tokens only.
#[utoipa::path(
    post,
    path = "/webhooks/{endpoint}/test",
    tag = "events",
    params(("endpoint" = String, Path, description = "The endpoint's id")),
    security(("operator" = [])),
    responses(
        (status = 200, description = "What the endpoint answered (a failed delivery is still a 200 here)", body = PingView),
        (status = 401, description = "No valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an operator token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such operator-wide endpoint", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn ping_operator_endpoint(
    State(state): State<AppState>,
    Admin(actor): Admin,
    Path(id): Path<String>,
) -> Result<Json<PingView>, AdminError> {
    ping(&state, &actor, ALL_TENANTS, &id).await
}

/// An operator-wide endpoint's delivery log, newest first. Operator tokens only.
#[utoipa::path(
    get,
    path = "/webhooks/{endpoint}/attempts",
    tag = "events",
    params(("endpoint" = String, Path, description = "The endpoint's id")),
    security(("operator" = [])),
    responses(
        (status = 200, description = "The newest 100 attempts", body = Vec<AttemptView>),
        (status = 401, description = "No valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an operator token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such operator-wide endpoint", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn operator_delivery_log(
    State(state): State<AppState>,
    Admin(actor): Admin,
    Path(id): Path<String>,
) -> Result<Json<Vec<AttemptView>>, AdminError> {
    log(&state, &actor, ALL_TENANTS, &id).await
}
