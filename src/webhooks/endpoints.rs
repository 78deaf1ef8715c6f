//! Webhook endpoints as admins manage them: a tenant's (its admins' or an operator's) and
//! operator-wide ones that receive every tenant's events (operators only). Create (the signing
//! secret shown in that answer only, stored sealed), list, change delivery, read the delivery
//! log, delete, and a signed test ping. Each checks the admin's permission and is audited with
//! the admin as actor.

use serde_json::json;

use super::sender::{Attempt, Sender};
use super::signature::SigningSecret;
use super::target::endpoint_url;
use crate::scim::ScimError;
use crate::sso::secret_key::SecretKey;
use crate::store::{
    AttemptRecord, AuditRecord, DeliveryState, FeedScope, Micros, Store, TenantId, TenantRecord,
    WebhookEndpointRecord,
};
use crate::tenant::TenantError;
use crate::tenant::events::EVENT_TYPES;
use crate::tenant::operators::{AdminActor, AdminPermission, require_operator, tenant_for};

/// Whose events an endpoint receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointScope<'a> {
    /// The tenant with this slug.
    Tenant(&'a str),
    /// Every tenant: managed by operators only.
    AllTenants,
}

/// The tenant `scope` names once `actor` may act on it with `permission`; none for an
/// operator-wide scope, which only an operator reaches.
async fn tenant_of_scope(
    store: &Store,
    actor: &AdminActor,
    scope: EndpointScope<'_>,
    permission: AdminPermission,
) -> Result<Option<TenantRecord>, TenantError> {
    match scope {
        EndpointScope::Tenant(slug) => Ok(Some(tenant_for(store, actor, slug, permission).await?)),
        EndpointScope::AllTenants => {
            require_operator(actor, "operator-wide webhook endpoints")?;
            Ok(None)
        }
    }
}

/// "Every event type", in an endpoint's filter.
pub const ALL_EVENTS: &str = "*";

/// What an admin asks for in a new endpoint.
#[derive(Debug, Clone, Default)]
pub struct NewEndpoint {
    pub url: String,
    /// Event types to deliver; empty: all.
    pub event_types: Vec<String>,
    pub description: Option<String>,
}

/// The context an endpoint's secret is sealed under: bound to the endpoint.
fn secret_context(id: &str) -> String {
    format!("webhook signing secret of endpoint {id}")
}

/// An endpoint's signing secret, unsealed; none when it does not open with `key` (the key was
/// changed since the endpoint was created).
pub fn open_secret(key: &SecretKey, endpoint: &WebhookEndpointRecord) -> Option<SigningSecret> {
    key.open(&endpoint.secret_sealed, &secret_context(&endpoint.id))
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| SigningSecret::parse(&text))
}

fn key_of(key: Option<&SecretKey>) -> Result<&SecretKey, TenantError> {
    key.ok_or_else(|| {
        TenantError::InvalidArgument(
            "webhook signing secrets are sealed with the gateway's secret key: start the gateway with SCIM_GATEWAY_SECRET_KEY set".into(),
        )
    })
}

fn internal(what: &str) -> TenantError {
    TenantError::Scim(ScimError::new(500, None, what.to_string()))
}

fn endpoint_event(
    actor: &AdminActor,
    action: &str,
    endpoint: &WebhookEndpointRecord,
    now: Micros,
) -> AuditRecord {
    AuditRecord {
        tenant_id: endpoint.tenant_id.clone(),
        at: now,
        actor: actor.label(),
        action: action.into(),
        target_type: Some("WebhookEndpoint".into()),
        target_id: Some(endpoint.id.clone()),
        target_name: Some(endpoint.url.clone()),
        outcome: "success".into(),
        http_status: 200,
        ..AuditRecord::default()
    }
}

/// Adds an endpoint; returns it and its signing secret (`whsec_…`), which no later answer
/// shows. Needs `settings:manage`.
pub async fn create_endpoint(
    store: &Store,
    key: Option<&SecretKey>,
    actor: &AdminActor,
    scope: EndpointScope<'_>,
    new: NewEndpoint,
    allow_insecure: bool,
    now: Micros,
) -> Result<(WebhookEndpointRecord, SigningSecret), TenantError> {
    let tenant = tenant_of_scope(store, actor, scope, AdminPermission::SettingsManage).await?;
    let key = key_of(key)?;
    let url = endpoint_url(&new.url, allow_insecure).map_err(TenantError::InvalidArgument)?;
    let mut event_types = Vec::new();
    for wanted in new.event_types.iter().map(|t| t.trim()) {
        if wanted != ALL_EVENTS && !EVENT_TYPES.contains(&wanted) {
            return Err(TenantError::InvalidArgument(format!(
                "'{wanted}' is no event type; known: {}",
                EVENT_TYPES.join(", ")
            )));
        }
        if !event_types.iter().any(|t| t == wanted) {
            event_types.push(wanted.to_string());
        }
    }
    if event_types.is_empty() || event_types.iter().any(|t| t == ALL_EVENTS) {
        event_types = vec![ALL_EVENTS.to_string()];
    }
    let id = format!("whe_{}", uuid::Uuid::now_v7().simple());
    let secret = SigningSecret::generate().map_err(|_| internal("no randomness for a secret"))?;
    let secret_sealed = key
        .seal(secret.to_text().as_bytes(), &secret_context(&id))
        .map_err(|_| internal("the signing secret could not be sealed"))?;
    let endpoint = WebhookEndpointRecord {
        id,
        tenant_id: tenant.as_ref().map(|t| t.id.clone()),
        url: url.to_string(),
        secret_sealed,
        event_types,
        description: new.description.filter(|d| !d.trim().is_empty()),
        disabled_at: None,
        disabled_reason: None,
        created_at: now,
        updated_at: now,
        // From now on: what happened before the endpoint existed is in the pull feed.
        delivery: DeliveryState {
            cursor: store.feed_position(feed_scope(&tenant), None).await?,
            ..DeliveryState::default()
        },
    };
    let mut tx = store.begin().await?;
    tx.insert_webhook_endpoint(&endpoint).await?;
    let mut event = endpoint_event(actor, "webhook.create", &endpoint, now);
    event.http_status = 201;
    tx.insert_audit(&event).await?;
    tx.commit().await?;
    Ok((endpoint, secret))
}

/// The feed an endpoint of `tenant` (none: operator-wide) reads.
fn feed_scope(tenant: &Option<TenantRecord>) -> FeedScope<'_> {
    match tenant {
        Some(tenant) => FeedScope::Tenant(&tenant.id),
        None => FeedScope::AllTenants,
    }
}

/// The scope's endpoints. Needs `settings:view`.
pub async fn list_endpoints(
    store: &Store,
    actor: &AdminActor,
    scope: EndpointScope<'_>,
) -> Result<Vec<WebhookEndpointRecord>, TenantError> {
    let tenant = tenant_of_scope(store, actor, scope, AdminPermission::SettingsView).await?;
    Ok(store.webhook_endpoints(tenant_id(&tenant)).await?)
}

fn tenant_id(tenant: &Option<TenantRecord>) -> Option<&TenantId> {
    tenant.as_ref().map(|t| &t.id)
}

async fn endpoint_of(
    store: &Store,
    tenant: &Option<TenantRecord>,
    id: &str,
) -> Result<WebhookEndpointRecord, TenantError> {
    store
        .webhook_endpoints(tenant_id(tenant))
        .await?
        .into_iter()
        .find(|e| e.id == id)
        .ok_or_else(|| TenantError::NotFound(format!("webhook endpoint '{id}'")))
}

/// What an admin changes in an endpoint's delivery.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryChange {
    /// Turn deliveries on (forgetting past failures) or off.
    pub enabled: Option<bool>,
    /// Deliver again every event from this time on (those already delivered included).
    pub replay_from: Option<Micros>,
}

/// Turns an endpoint's deliveries on or off, or replays them from a point in time. Needs
/// `settings:manage`.
pub async fn change_delivery(
    store: &Store,
    actor: &AdminActor,
    scope: EndpointScope<'_>,
    id: &str,
    change: DeliveryChange,
    now: Micros,
) -> Result<WebhookEndpointRecord, TenantError> {
    let tenant = tenant_of_scope(store, actor, scope, AdminPermission::SettingsManage).await?;
    let endpoint = endpoint_of(store, &tenant, id).await?;
    let cursor = match change.replay_from {
        Some(at) if at > now => {
            return Err(TenantError::InvalidArgument(
                "a replay starts at a time in the past".into(),
            ));
        }
        Some(at) => Some(store.feed_position(feed_scope(&tenant), Some(at)).await?),
        None => None,
    };
    let reason = format!("disabled by {}", actor.label());
    let mut tx = store.begin().await?;
    if !tx
        .change_webhook_delivery(tenant_id(&tenant), id, change.enabled, &reason, cursor, now)
        .await?
    {
        return Err(TenantError::NotFound(format!("webhook endpoint '{id}'")));
    }
    let action = match (change.enabled, change.replay_from) {
        (_, Some(_)) => "webhook.replay",
        (Some(true), None) => "webhook.enable",
        (Some(false), None) => "webhook.disable",
        (None, None) => "webhook.update",
    };
    let mut event = endpoint_event(actor, action, &endpoint, now);
    if let Some(at) = change.replay_from {
        event.reason = Some(format!(
            "replay from {}",
            crate::scim::resource::format_datetime(crate::clock::datetime_of(at))
        ));
    }
    tx.insert_audit(&event).await?;
    tx.commit().await?;
    endpoint_of(store, &tenant, id).await
}

/// Attempts shown in an endpoint's delivery log.
pub const SHOWN_ATTEMPTS: i64 = 100;

/// An endpoint's newest delivery attempts. Needs `settings:view`.
pub async fn delivery_log(
    store: &Store,
    actor: &AdminActor,
    scope: EndpointScope<'_>,
    id: &str,
) -> Result<Vec<AttemptRecord>, TenantError> {
    let tenant = tenant_of_scope(store, actor, scope, AdminPermission::SettingsView).await?;
    let endpoint = endpoint_of(store, &tenant, id).await?;
    Ok(store.webhook_attempts(&endpoint.id, SHOWN_ATTEMPTS).await?)
}

/// Removes an endpoint: nothing more is delivered to it. Needs `settings:manage`.
pub async fn delete_endpoint(
    store: &Store,
    actor: &AdminActor,
    scope: EndpointScope<'_>,
    id: &str,
    now: Micros,
) -> Result<(), TenantError> {
    let tenant = tenant_of_scope(store, actor, scope, AdminPermission::SettingsManage).await?;
    let endpoint = endpoint_of(store, &tenant, id).await?;
    let mut tx = store.begin().await?;
    if !tx.delete_webhook_endpoint(tenant_id(&tenant), id).await? {
        return Err(TenantError::NotFound(format!("webhook endpoint '{id}'")));
    }
    let mut event = endpoint_event(actor, "webhook.delete", &endpoint, now);
    event.http_status = 204;
    tx.insert_audit(&event).await?;
    tx.commit().await?;
    Ok(())
}

/// Sends a signed `webhook.ping` to an endpoint now, and says what came back (the answer is
/// audited). Needs `settings:manage`.
pub async fn ping_endpoint(
    store: &Store,
    key: Option<&SecretKey>,
    sender: &Sender,
    actor: &AdminActor,
    scope: EndpointScope<'_>,
    id: &str,
    now: Micros,
) -> Result<Attempt, TenantError> {
    let tenant = tenant_of_scope(store, actor, scope, AdminPermission::SettingsManage).await?;
    let endpoint = endpoint_of(store, &tenant, id).await?;
    let secret = open_secret(key_of(key)?, &endpoint).ok_or_else(|| {
        internal("the endpoint's signing secret does not open with this secret key")
    })?;
    let message_id = format!("msg_{}", uuid::Uuid::now_v7().simple());
    let timestamp = now.div_euclid(1_000_000);
    let body = json!({
        "type": "webhook.ping",
        "timestamp": crate::scim::resource::format_datetime(crate::clock::datetime_of(now)),
        "data": {"tenant": tenant.as_ref().map(|t| &t.slug), "endpoint": endpoint.id},
    })
    .to_string();
    let attempt = sender
        .send(&endpoint.url, &secret, &message_id, timestamp, body)
        .await;
    let mut event = endpoint_event(actor, "webhook.test", &endpoint, now);
    event.reason = Some(match attempt.status {
        Some(status) => format!("answered {status} in {} ms", attempt.latency_ms),
        None => format!("no answer: {}", attempt.excerpt),
    });
    store.record_audit(&event).await?;
    Ok(attempt)
}
