//! `/ui/t/{tenant}/audit`: the audit trail with filters and cursor pages in the query string,
//! and export links (CSV, JSON lines) that download what the filters select.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;

use super::page::{Choice, Chrome, PageError, choices, link, render, when};
use super::session::Viewer;
use crate::clock::now_micros;
use crate::http::admin::audit::{ExportFormat, export_response};
use crate::http::admin::time_param;
use crate::state::AppState;
use crate::tenant::audit_log::{self, AuditQuery, AuditWalk};
use crate::tenant::{TenantError, sync};

/// Events per page.
const PAGE_SIZE: i64 = 50;

/// The page's query string; every field is text, so that whatever a link carries shows a page.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct AuditParams {
    action: String,
    outcome: String,
    connection: String,
    actor: String,
    target: String,
    /// A day (`YYYY-MM-DD`), from its start.
    since: String,
    /// A day, up to its end.
    until: String,
    cursor: String,
    format: String,
}

impl AuditParams {
    fn link(&self, path: &str, change: impl FnOnce(&mut AuditParams)) -> String {
        let mut next = self.clone();
        change(&mut next);
        link(
            path,
            &[
                ("action", &next.action),
                ("outcome", &next.outcome),
                ("connection", &next.connection),
                ("actor", &next.actor),
                ("target", &next.target),
                ("since", &next.since),
                ("until", &next.until),
                ("cursor", &next.cursor),
                ("format", &next.format),
            ],
        )
    }

    /// The trail's query these parameters ask for.
    fn query(&self) -> Result<AuditQuery, TenantError> {
        let given = |text: &str| {
            let text = text.trim();
            (!text.is_empty()).then(|| text.to_string())
        };
        let day = |name: &str, text: &str, time: &str| {
            given(text)
                .map(|day| {
                    time_param(name, Some(&format!("{day}T{time}Z")))?.ok_or_else(|| {
                        TenantError::InvalidArgument(format!("'{day}' is not a day"))
                    })
                })
                .transpose()
        };
        Ok(AuditQuery {
            target: given(&self.target),
            connection: given(&self.connection),
            actor: given(&self.actor),
            action: given(&self.action),
            outcome: given(&self.outcome),
            since: day("since", &self.since, "00:00:00")?,
            // The whole of the last day: up to the next day's start.
            until: day("until", &self.until, "23:59:59.999999")?,
            cursor: given(&self.cursor),
            count: Some(PAGE_SIZE),
        })
    }
}

struct EventRow {
    at: String,
    actor: String,
    action: String,
    target: String,
    target_link: Option<String>,
    refused: bool,
    status: i64,
    scim_type: Option<String>,
    detail: String,
    changed: String,
    request: Option<String>,
}

#[derive(Template)]
#[template(path = "ui/audit.html")]
struct AuditPage {
    chrome: Chrome,
    slug: String,
    action: String,
    actor: String,
    target: String,
    since: String,
    until: String,
    outcomes: Vec<Choice>,
    connections: Vec<Choice>,
    rows: Vec<EventRow>,
    next_link: Option<String>,
    export_csv: String,
    export_jsonl: String,
}

pub async fn audit(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(slug): Path<String>,
    Query(params): Query<AuditParams>,
) -> Result<Response, PageError> {
    let tenant = viewer.tenant(&state, &slug).await?;
    let chrome = viewer.tenant_chrome(&tenant, "Audit log", "audit");
    let refused = |e| PageError::rule(chrome.clone(), e);
    let now = now_micros();
    let query = params.query().map_err(refused)?;
    let page = audit_log::audit_page(&state.store, &viewer.actor, &slug, &query, now)
        .await
        .map_err(refused)?;
    let names = sync::connections_of(&state.store, &viewer.actor, &slug, now)
        .await
        .map_err(refused)?
        .into_iter()
        .map(|c| c.connection.name);
    let connections = choices(names, &params.connection);
    let rows = page
        .events
        .into_iter()
        .map(|entry| {
            let e = entry.event;
            let target_link = match (e.target_type.as_deref(), &e.target_id) {
                (Some("User"), Some(id)) if e.outcome == "success" => {
                    Some(format!("/ui/t/{slug}/users/{id}"))
                }
                _ => None,
            };
            EventRow {
                at: when(e.at),
                target: e.target_name.or(e.target_id).unwrap_or_default(),
                target_link,
                refused: e.outcome != "success",
                status: e.http_status,
                scim_type: e.scim_type,
                detail: e.reason.unwrap_or_default(),
                changed: e.changed_attributes.join(", "),
                request: e.request_summary,
                actor: e.actor,
                action: e.action,
            }
        })
        .collect();
    let here = format!("/ui/t/{slug}/audit");
    let export = format!("/ui/t/{slug}/audit/export");
    let next_link = page
        .next_cursor
        .map(|cursor| params.link(&here, |p| p.cursor = cursor));
    let export_link = |format: &str| {
        params.link(&export, |p| {
            p.cursor.clear();
            p.format = format.to_string();
        })
    };
    Ok(render(&AuditPage {
        outcomes: choices(["success".into(), "rejected".into()], &params.outcome),
        connections,
        rows,
        next_link,
        export_csv: export_link("csv"),
        export_jsonl: export_link("jsonl"),
        action: params.action,
        actor: params.actor,
        target: params.target,
        since: params.since,
        until: params.until,
        slug,
        chrome,
    }))
}

/// `GET /ui/t/{tenant}/audit/export?format=csv|jsonl&…`: the download the page links to.
pub async fn export(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(slug): Path<String>,
    Query(params): Query<AuditParams>,
) -> Result<Response, PageError> {
    let tenant = viewer.tenant(&state, &slug).await?;
    let query = params.query().map_err(|e| viewer.refused(e))?;
    let format = match params.format.as_str() {
        "csv" => ExportFormat::Csv,
        _ => ExportFormat::Jsonl,
    };
    let walk = AuditWalk::start(
        &state.store,
        &viewer.actor,
        &tenant.slug,
        &query,
        now_micros(),
    )
    .await
    .map_err(|e| viewer.refused(e))?;
    Ok(export_response(walk, format, &tenant.slug))
}
