//! `/ui/t/{tenant}`: the tenant's stat cards, each connection's health, and what was refused
//! lately.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;

use super::page::{Chrome, PageError, RejectionRow, render, when_or_never};
use super::session::Viewer;
use crate::clock::now_micros;
use crate::state::AppState;
use crate::store::{SyncCounts, UserCounts};
use crate::tenant::{TenantError, stats, sync};

/// Rejections shown on the dashboard.
const SHOWN_REJECTIONS: usize = 10;

struct ConnectionRow {
    name: String,
    kind: String,
    verdict: &'static str,
    verdict_reason: String,
    last_request: String,
    day: SyncCounts,
}

#[derive(Template)]
#[template(path = "ui/dashboard.html")]
struct DashboardPage {
    chrome: Chrome,
    slug: String,
    counts: UserCounts,
    connections: Vec<ConnectionRow>,
    rejections: Vec<RejectionRow>,
    connections_hidden: bool,
}

pub async fn dashboard(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(slug): Path<String>,
) -> Result<Response, PageError> {
    let tenant = viewer.tenant(&state, &slug).await?;
    let chrome = viewer.tenant_chrome(&tenant, tenant.display_name.clone(), "dashboard");
    let refused = |e| PageError::rule(chrome.clone(), e);
    let counts = stats::user_stats(&state.store, &viewer.actor, &slug)
        .await
        .map_err(refused)?;
    let now = now_micros();
    let (mut connections, mut rejections, mut connections_hidden) = (Vec::new(), Vec::new(), false);
    match sync::sync_states_of(&state.store, &viewer.actor, &slug, now).await {
        Ok(states) => {
            for state in states {
                let name = state.connection.connection.name.clone();
                rejections.extend(
                    state
                        .last_rejections
                        .iter()
                        .map(|r| (r.at, RejectionRow::of(r, &name))),
                );
                connections.push(ConnectionRow {
                    kind: state.connection.connection.kind.clone(),
                    verdict: state.verdict.as_str(),
                    verdict_reason: state.verdict_reason.clone(),
                    last_request: when_or_never(state.connection.last_used_at, "never"),
                    day: state.windows.last_day,
                    name,
                });
            }
        }
        Err(TenantError::Forbidden(_)) => connections_hidden = true,
        Err(other) => return Err(refused(other)),
    }
    rejections.sort_by_key(|r| std::cmp::Reverse(r.0));
    let rejections = rejections
        .into_iter()
        .take(SHOWN_REJECTIONS)
        .map(|(_, row)| row)
        .collect();
    Ok(render(&DashboardPage {
        chrome,
        slug,
        counts,
        connections,
        rejections,
        connections_hidden,
    }))
}
