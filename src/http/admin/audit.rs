//! `/admin/v1/tenants/{tenant}/audit`: the tenant's audit trail, filtered and cursor-paged, and
//! exported as CSV or JSON lines, streamed a batch at a time.

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::Admin;
use super::{Problem, query_of, time_param, timestamp};
use crate::clock::now_micros;
use crate::http::error::AdminError;
use crate::state::AppState;
use crate::store::AuditEntry;
use crate::tenant::TenantError;
use crate::tenant::audit_log::{self, AuditQuery, AuditWalk};

/// Filters of the audit trail; each narrows it.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Events about this user (or group) id.
    pub target: Option<String>,
    /// Events of requests made through this directory connection (its name).
    pub connection: Option<String>,
    /// Who acted: `scim`, `sso`, `cli`, `admin`.
    pub actor: Option<String>,
    /// e.g. `user.create`, `user.suspend`, `sso.login`.
    pub action: Option<String>,
    /// `success` or `rejected`.
    pub outcome: Option<String>,
    /// RFC 3339; events at or after it.
    pub since: Option<String>,
    /// RFC 3339; events before it.
    pub until: Option<String>,
    /// Where the previous page ended (`nextCursor`).
    pub cursor: Option<String>,
    /// Events per page, 1 to 500 (default 50).
    pub count: Option<i64>,
}

/// How an export is written.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// One JSON object per line.
    #[default]
    Jsonl,
    /// A header row, then one row per event.
    Csv,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// `jsonl` (default) or `csv`.
    #[param(inline)]
    pub format: Option<ExportFormat>,
}

/// One event of the trail.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventView {
    pub at: String,
    pub actor: String,
    pub action: String,
    /// `success` or `rejected`.
    pub outcome: String,
    /// The HTTP status the request was answered with.
    pub status: i64,
    /// The SCIM error type of a rejection, e.g. `uniqueness`.
    pub scim_type: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub target_name: Option<String>,
    /// Why it was refused, or what it noted.
    pub reason: Option<String>,
    pub changed_attributes: Vec<String>,
    /// Client quirks the gateway tolerated in the request.
    pub tolerances: Vec<String>,
    /// Method and path.
    pub request: Option<String>,
}

impl From<AuditEntry> for EventView {
    fn from(entry: AuditEntry) -> Self {
        let e = entry.event;
        EventView {
            at: timestamp(e.at),
            actor: e.actor,
            action: e.action,
            outcome: e.outcome,
            status: e.http_status,
            scim_type: e.scim_type,
            target_type: e.target_type,
            target_id: e.target_id,
            target_name: e.target_name,
            reason: e.reason,
            changed_attributes: e.changed_attributes,
            tolerances: e.tolerances,
            request: e.request_summary,
        }
    }
}

/// A page of the trail.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditPageView {
    /// Newest first.
    pub events: Vec<EventView>,
    /// Pass it as `cursor` for the next page; absent on the last one.
    pub next_cursor: Option<String>,
}

fn audit_query(params: AuditParams) -> Result<AuditQuery, TenantError> {
    Ok(AuditQuery {
        since: time_param("since", params.since.as_deref())?,
        until: time_param("until", params.until.as_deref())?,
        target: params.target,
        connection: params.connection,
        actor: params.actor,
        action: params.action,
        outcome: params.outcome,
        cursor: params.cursor,
        count: params.count,
    })
}

/// The tenant's audit trail, newest first. Needs `settings:view`.
#[utoipa::path(
    get,
    path = "/tenants/{tenant}/audit",
    tag = "audit",
    params(("tenant" = String, Path, description = "The tenant's slug"), AuditParams),
    security(("operator" = []), ("session" = [])),
    responses(
        (status = 200, description = "A page of events", body = AuditPageView),
        (status = 400, description = "A filter, cursor or count that does not parse", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Another tenant, or no `settings:view`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant or connection", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn audit_page(
    State(state): State<AppState>,
    Admin(actor): Admin,
    Path(slug): Path<String>,
    params: Result<Query<AuditParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<AuditPageView>, AdminError> {
    let query = audit_query(query_of(params)?)?;
    let page = audit_log::audit_page(&state.store, &actor, &slug, &query, now_micros()).await?;
    Ok(Json(AuditPageView {
        events: page.events.into_iter().map(Into::into).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// The tenant's audit trail matching the filters, newest first, as CSV or JSON lines. Streamed:
/// the export of millions of events holds one batch in memory. Needs `settings:view`.
#[utoipa::path(
    get,
    path = "/tenants/{tenant}/audit/export",
    tag = "audit",
    params(("tenant" = String, Path, description = "The tenant's slug"), AuditParams, ExportParams),
    security(("operator" = []), ("session" = [])),
    responses(
        (status = 200, description = "Every matching event: one JSON object per line, or CSV with a header row", content(
            (String = "application/x-ndjson"),
            (String = "text/csv"),
        )),
        (status = 400, description = "A filter that does not parse", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Another tenant, or no `settings:view`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant or connection", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn audit_export(
    State(state): State<AppState>,
    Admin(actor): Admin,
    Path(slug): Path<String>,
    params: Result<Query<AuditParams>, axum::extract::rejection::QueryRejection>,
    format: Result<Query<ExportParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, AdminError> {
    let query = audit_query(query_of(params)?)?;
    let format = query_of(format)?.format.unwrap_or_default();
    let walk = AuditWalk::start(&state.store, &actor, &slug, &query, now_micros()).await?;
    Ok(export_response(walk, format, &slug))
}

/// A download of every event `walk` finds, streamed a batch at a time (memory stays flat
/// however long the trail): for the admin API and the pages' export links alike.
pub(crate) fn export_response(walk: AuditWalk, format: ExportFormat, slug: &str) -> Response {
    let (content_type, extension) = match format {
        ExportFormat::Jsonl => ("application/x-ndjson", "jsonl"),
        ExportFormat::Csv => ("text/csv; charset=utf-8", "csv"),
    };
    let header_row = matches!(format, ExportFormat::Csv).then(csv_header);
    let batches = futures_util::stream::unfold(
        (walk, header_row, false),
        move |(mut walk, header_row, finished)| async move {
            if finished {
                return None;
            }
            let mut chunk = header_row.unwrap_or_default();
            match walk.next_batch().await {
                Ok(batch) if batch.is_empty() && chunk.is_empty() => None,
                Ok(batch) => {
                    let last = batch.is_empty();
                    for entry in batch {
                        write_event(&mut chunk, format, EventView::from(entry));
                    }
                    Some((Ok(Bytes::from(chunk)), (walk, None, last)))
                }
                Err(err) => {
                    // The status line is gone: the body is cut off with an error, so the client
                    // sees an incomplete download rather than a short export that looks whole.
                    tracing::error!(error = %err, "the audit export stopped");
                    Some((
                        Err(std::io::Error::other("the audit export stopped")),
                        (walk, None, true),
                    ))
                }
            }
        },
    );
    let mut response = Body::from_stream(batches).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(disposition) = HeaderValue::from_str(&format!(
        "attachment; filename=\"audit-{slug}.{extension}\""
    )) {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    response
}

const CSV_COLUMNS: [&str; 13] = [
    "at",
    "actor",
    "action",
    "outcome",
    "status",
    "scimType",
    "targetType",
    "targetId",
    "targetName",
    "reason",
    "changedAttributes",
    "tolerances",
    "request",
];

fn csv_header() -> Vec<u8> {
    csv_row(CSV_COLUMNS.iter().map(|c| c.to_string()).collect())
}

/// A CSV row. A field a spreadsheet would run as a formula (client text such as a userName
/// starting with `=`) is prefixed with `'`, as OWASP advises against CSV injection.
fn csv_row(fields: Vec<String>) -> Vec<u8> {
    let fields = fields.into_iter().map(|field| {
        if field.starts_with(['=', '+', '-', '@', '\t', '\r']) {
            format!("'{field}")
        } else {
            field
        }
    });
    let mut writer = csv::Writer::from_writer(Vec::new());
    if writer.write_record(fields).is_err() {
        return Vec::new();
    }
    writer.into_inner().unwrap_or_default()
}

fn write_event(out: &mut Vec<u8>, format: ExportFormat, event: EventView) {
    match format {
        ExportFormat::Jsonl => {
            if let Ok(line) = serde_json::to_vec(&event) {
                out.extend(line);
                out.push(b'\n');
            }
        }
        ExportFormat::Csv => {
            let text = |v: Option<String>| v.unwrap_or_default();
            out.extend(csv_row(vec![
                event.at,
                event.actor,
                event.action,
                event.outcome,
                event.status.to_string(),
                text(event.scim_type),
                text(event.target_type),
                text(event.target_id),
                text(event.target_name),
                text(event.reason),
                event.changed_attributes.join(" "),
                event.tolerances.join(" "),
                text(event.request),
            ]));
        }
    }
}
