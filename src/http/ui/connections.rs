//! `/ui/t/{tenant}/connections`: each identity provider's connection with its health, and one
//! connection's sync state: counts over the last hour and day, the requests it had refused
//! with their summaries, the client quirks it needed, and its tokens with their last use.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;

use super::page::{Chrome, PageError, render, when, when_or_never};
use super::session::Viewer;
use crate::clock::now_micros;
use crate::state::AppState;
use crate::store::{SyncCounts, ToleranceCount};
use crate::tenant::tokens::token_state;
use crate::tenant::{admin_settings, sync};

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
    let summaries = sync::connections_of(&state.store, &viewer.actor, &slug, now)
        .await
        .map_err(refused)?;
    let mut rows = Vec::with_capacity(summaries.len());
    for summary in summaries {
        let name = summary.connection.name.clone();
        let sync = sync::sync_state_of(&state.store, &viewer.actor, &slug, &name, now)
            .await
            .map_err(refused)?;
        rows.push(ConnectionRow {
            kind: summary.connection.kind,
            verdict: sync.verdict.as_str(),
            verdict_reason: sync.verdict_reason,
            last_request: when_or_never(summary.last_used_at, "never"),
            live_tokens: summary.live_tokens,
            name,
        });
    }
    Ok(render(&ConnectionsPage { chrome, slug, rows }))
}

struct RejectionRow {
    at: String,
    request: String,
    target: String,
    status: i64,
    scim_type: Option<String>,
    detail: String,
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
}

pub async fn connection(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((slug, name)): Path<(String, String)>,
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
        .map(|r| RejectionRow {
            at: when(r.at),
            request: r.request.clone().unwrap_or_else(|| r.action.clone()),
            target: r.target_name.clone().unwrap_or_default(),
            status: r.status,
            scim_type: r.scim_type.clone(),
            detail: r.detail.clone().unwrap_or_default(),
        })
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
        name,
    }))
}
