//! `/ui/t/{tenant}/connections`: each identity provider's connection with its health, and one
//! connection's sync state: counts over the last hour and day, the requests it had refused
//! with their summaries, the client quirks it needed, and its tokens with their last use; and
//! issuing, rotating and revoking its tokens. A new token's secret is shown in the answer to
//! the form that made it (not after a redirect: it is shown once and kept nowhere).

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::page::{Chrome, PageError, RejectionRow, render, when, when_or_never};
use super::session::Viewer;
use crate::clock::now_micros;
use crate::state::AppState;
use crate::store::{Micros, SyncCounts, TokenPrefix, ToleranceCount};
use crate::tenant::TenantError;
use crate::tenant::operators::AdminPermission;
use crate::tenant::tokens::token_state;
use crate::tenant::{admin_settings, sync};

/// How long a rotated connection's earlier tokens keep working.
const ROTATION_GRACE: Micros = 24 * 3600 * 1_000_000;

struct ConnectionRow {
    name: String,
    kind: String,
    verdict: &'static str,
    verdict_reason: String,
    last_request: String,
    live_tokens: i64,
}

#[derive(Template)]
#[template(path = "ui/connections.html")]
struct ConnectionsPage {
    chrome: Chrome,
    slug: String,
    rows: Vec<ConnectionRow>,
}

pub async fn connections(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(slug): Path<String>,
) -> Result<Response, PageError> {
    let tenant = viewer.tenant(&state, &slug).await?;
    let chrome = viewer.tenant_chrome(&tenant, "Connections", "connections");
    let refused = |e| PageError::rule(chrome.clone(), e);
    let now = now_micros();
    let rows = sync::sync_states_of(&state.store, &viewer.actor, &slug, now)
        .await
        .map_err(refused)?
        .into_iter()
        .map(|sync| ConnectionRow {
            name: sync.connection.connection.name,
            kind: sync.connection.connection.kind,
            verdict: sync.verdict.as_str(),
            verdict_reason: sync.verdict_reason,
            last_request: when_or_never(sync.connection.last_used_at, "never"),
            live_tokens: sync.connection.live_tokens,
        })
        .collect();
    Ok(render(&ConnectionsPage { chrome, slug, rows }))
}

struct TokenRow {
    prefix: String,
    state: &'static str,
    state_class: &'static str,
    created: String,
    last_used: String,
    expires: String,
}

#[derive(Template)]
#[template(path = "ui/connection.html")]
struct ConnectionPage {
    chrome: Chrome,
    slug: String,
    name: String,
    kind: String,
    verdict: &'static str,
    verdict_reason: String,
    last_request: String,
    hour: SyncCounts,
    day: SyncCounts,
    rejections: Vec<RejectionRow>,
    tolerances: Vec<ToleranceCount>,
    tokens: Vec<TokenRow>,
    can_manage: bool,
    flash: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ConnectionParams {
    /// What the last action did, to say so once after the redirect.
    done: String,
}

pub async fn connection(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((slug, name)): Path<(String, String)>,
    Query(params): Query<ConnectionParams>,
) -> Result<Response, PageError> {
    let tenant = viewer.tenant(&state, &slug).await?;
    let mut chrome = viewer.tenant_chrome(&tenant, name.clone(), "connections");
    let refused = |e| PageError::rule(chrome.clone(), e);
    let now = now_micros();
    let sync = sync::sync_state_of(&state.store, &viewer.actor, &slug, &name, now)
        .await
        .map_err(refused)?;
    let tokens = admin_settings::list_tokens(&state.store, &viewer.actor, &slug)
        .await
        .map_err(refused)?
        .into_iter()
        .filter(|t| t.connection_id == sync.connection.connection.id)
        .map(|t| {
            let state = token_state(t.revoked_at, t.expires_at, now);
            TokenRow {
                prefix: t.prefix.to_string(),
                state,
                state_class: if state == "live" {
                    "active"
                } else {
                    "suspended"
                },
                created: when(t.created_at),
                last_used: when_or_never(t.last_used_at, "never"),
                expires: when_or_never(t.expires_at, "never"),
            }
        })
        .collect();
    let rejections = sync
        .last_rejections
        .iter()
        .map(|r| RejectionRow::of(r, &name))
        .collect();
    chrome.title = format!("Connection {name}");
    Ok(render(&ConnectionPage {
        chrome,
        slug,
        kind: sync.connection.connection.kind.clone(),
        verdict: sync.verdict.as_str(),
        verdict_reason: sync.verdict_reason,
        last_request: when_or_never(sync.connection.last_used_at, "never"),
        hour: sync.windows.last_hour,
        day: sync.windows.last_day,
        rejections,
        tolerances: sync.tolerances,
        tokens,
        can_manage: viewer.actor.may(&tenant, AdminPermission::SettingsManage),
        flash: (params.done == "revoked")
            .then(|| "Token revoked: it is refused from now on.".into()),
        name,
    }))
}

#[derive(Template)]
#[template(path = "ui/token.html")]
struct TokenPage {
    chrome: Chrome,
    slug: String,
    name: String,
    secret: String,
    prefix: String,
    rotated: bool,
    base_url: String,
}

#[derive(Debug, Deserialize)]
pub struct IssueForm {
    #[serde(default)]
    csrf: String,
    /// `new`, or `rotate` (the earlier tokens keep working for a day).
    #[serde(default)]
    action: String,
}

/// `POST …/connections/{connection}/tokens`: a new token, or a rotation; the answer shows the
/// secret this once.
pub async fn issue(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((slug, name)): Path<(String, String)>,
    Form(form): Form<IssueForm>,
) -> Result<Response, PageError> {
    viewer.check_form(&form.csrf)?;
    let tenant = viewer.tenant(&state, &slug).await?;
    let chrome = viewer.tenant_chrome(&tenant, format!("New token for {name}"), "connections");
    let rotated = form.action == "rotate";
    let (secret, record) = admin_settings::issue_token(
        &state.store,
        &viewer.actor,
        &slug,
        &name,
        rotated.then_some(ROTATION_GRACE),
        now_micros(),
    )
    .await
    .map_err(|e| PageError::rule(chrome.clone(), e))?;
    let page = TokenPage {
        base_url: format!("{}/scim/v2/{}", state.settings.public_url, tenant.slug),
        secret: secret.expose().to_string(),
        prefix: record.prefix.to_string(),
        rotated,
        slug,
        name,
        chrome,
    };
    Ok(render(&page))
}

#[derive(Debug, Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    prefix: String,
}

/// `POST …/connections/{connection}/tokens/revoke`: revokes the token with that prefix, then
/// back to the connection.
pub async fn revoke(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((slug, name)): Path<(String, String)>,
    Form(form): Form<RevokeForm>,
) -> Result<Response, PageError> {
    viewer.check_form(&form.csrf)?;
    let tenant = viewer.tenant(&state, &slug).await?;
    let prefix = form.prefix.trim();
    if prefix.is_empty() {
        return Err(viewer.refused(TenantError::InvalidArgument(
            "which token? a prefix is needed".into(),
        )));
    }
    admin_settings::revoke_token(
        &state.store,
        &viewer.actor,
        &tenant.slug,
        &TokenPrefix::new(prefix),
        now_micros(),
    )
    .await
    .map_err(|e| viewer.refused(e))?;
    let back: String = form_urlencoded::byte_serialize(name.as_bytes()).collect();
    Ok(Redirect::to(&format!("/ui/t/{slug}/connections/{back}?done=revoked")).into_response())
}
