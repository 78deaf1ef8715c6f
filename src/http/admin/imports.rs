//! `/admin/v1/tenants/{tenant}/imports`: upload a CSV of users, follow the job, read its per-row
//! report (JSON pages, or the whole report as CSV).

use std::sync::Arc;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::Admin;
use super::{Problem, query_of, timestamp};
use crate::clock::now_micros;
use crate::http::error::AdminError;
use crate::scim::ScimError;
use crate::state::AppState;
use crate::store::{ImportJobRecord, ImportJobRow};
use crate::tenant::TenantError;
use crate::tenant::import::{DEFAULT_IMPORT_CONNECTION, REPORT_COLUMNS};
use crate::tenant::import_jobs::{self, JobRequest, job_state};
use crate::tenant::operators::AdminActor;

/// How to run the import.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    /// The directory connection the import is recorded under (created if missing; default
    /// `csv-import`).
    pub connection: Option<String>,
    /// Report what would happen and write nothing.
    pub dry_run: Option<bool>,
}

/// An import job: its progress, its counts, and where its report is.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportJobView {
    pub id: String,
    /// `running`, `finished`, `failed`, or `interrupted` (the process running it stopped: the
    /// rows reported are written, the rest are not; run the same file again).
    pub state: String,
    pub dry_run: bool,
    pub connection: String,
    /// Who started it: `operator:<prefix>` or `user:<userName>`.
    pub actor: String,
    pub total_rows: i64,
    pub rows_done: i64,
    pub created: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub rejected: i64,
    /// Why a failed job stopped.
    pub error: Option<String>,
    pub started_at: String,
    pub finished_at: Option<String>,
    /// The per-row report (add `?format=csv` for all of it as CSV).
    pub report: String,
}

fn view_of(job: ImportJobRecord, slug: &str, now: i64) -> ImportJobView {
    ImportJobView {
        state: job_state(&job, now).to_string(),
        report: format!("/admin/v1/tenants/{slug}/imports/{}/report", job.id),
        id: job.id,
        dry_run: job.dry_run,
        connection: job.connection_name,
        actor: job.actor,
        total_rows: job.total_rows,
        rows_done: job.rows_done,
        created: job.created,
        updated: job.updated,
        unchanged: job.unchanged,
        rejected: job.rejected,
        error: job.error,
        started_at: timestamp(job.started_at),
        finished_at: job.finished_at.map(timestamp),
    }
}

/// Media types a CSV upload may come as (browsers send Excel's for `.csv` files on Windows).
const CSV_TYPES: [&str; 5] = [
    "text/csv",
    "application/csv",
    "text/plain",
    "application/octet-stream",
    "application/vnd.ms-excel",
];

fn check_media_type(headers: &HeaderMap) -> Result<(), AdminError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let essence = value
        .to_str()
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if CSV_TYPES.contains(&essence.as_str()) {
        Ok(())
    } else {
        Err(AdminError(TenantError::Scim(ScimError::new(
            415,
            None,
            "the body must be a CSV file (text/csv)",
        ))))
    }
}

/// Starts importing the users of a CSV file (the README's columns; header names in any case,
/// `,` or `;`, UTF-8 with or without a byte-order mark). The whole file is checked first: one
/// that is not UTF-8 or not CSV is refused (400, naming the line) and nothing is written. Then
/// the rows run in the background, each through the same rules as a SCIM write; follow the job
/// and read its report. Needs `users:manage`.
#[utoipa::path(
    post,
    path = "/tenants/{tenant}/imports",
    tag = "users",
    params(("tenant" = String, Path, description = "The tenant's slug"), ImportParams),
    request_body(content = String, content_type = "text/csv", description = "The CSV file"),
    security(("operator" = []), ("session" = [])),
    responses(
        (status = 202, description = "The job, started", body = ImportJobView),
        (status = 400, description = "The file cannot be read (the line is named)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Another tenant, or no `users:manage`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Larger than --max-import-bytes", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not a CSV media type", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn start_import(
    State(state): State<AppState>,
    Admin(actor): Admin,
    Path(slug): Path<String>,
    params: Result<Query<ImportParams>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AdminError> {
    let params = query_of(params)?;
    check_media_type(&headers)?;
    let limit = state.settings.limits.max_import_bytes;
    let csv: Bytes = axum::body::to_bytes(body, limit).await.map_err(|_| {
        AdminError(TenantError::Scim(ScimError::new(
            413,
            None,
            format!("the file is larger than {limit} bytes; import it with the command line"),
        )))
    })?;
    let connection = params
        .connection
        .unwrap_or_else(|| DEFAULT_IMPORT_CONNECTION.to_string());
    let request = JobRequest {
        slug: &slug,
        connection_name: &connection,
        dry_run: params.dry_run.unwrap_or(false),
        csv: &csv,
    };
    let now = now_micros();
    let started = import_jobs::start_job(&state.store, &actor, &request, now).await?;
    let view = view_of(started.job.clone(), &slug, now);
    let (task_state, task_slug) = (state.clone(), slug.clone());
    tokio::spawn(async move {
        let store = &task_state.store;
        let registry = Arc::clone(&task_state.registry);
        let policy = &task_state.settings.invitations;
        import_jobs::run_job(
            store, registry, &task_slug, &csv, started, policy, now_micros,
        )
        .await;
    });
    let location = format!("/admin/v1/tenants/{slug}/imports/{}", view.id);
    let mut response = (StatusCode::ACCEPTED, Json(view)).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

/// The tenant's newest import jobs (up to 100), newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportJobList {
    pub jobs: Vec<ImportJobView>,
}

/// The tenant's newest import jobs. Needs `users:view`.
#[utoipa::path(
    get,
    path = "/tenants/{tenant}/imports",
    tag = "users",
    params(("tenant" = String, Path, description = "The tenant's slug")),
    security(("operator" = []), ("session" = [])),
    responses(
        (status = 200, description = "The jobs", body = ImportJobList),
        (status = 401, description = "No valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Another tenant, or no `users:view`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_imports(
    State(state): State<AppState>,
    Admin(actor): Admin,
    Path(slug): Path<String>,
) -> Result<Json<ImportJobList>, AdminError> {
    let now = now_micros();
    let jobs = import_jobs::jobs(&state.store, &actor, &slug, 100).await?;
    Ok(Json(ImportJobList {
        jobs: jobs.into_iter().map(|j| view_of(j, &slug, now)).collect(),
    }))
}

/// One import job: its state and counts so far. Needs `users:view`.
#[utoipa::path(
    get,
    path = "/tenants/{tenant}/imports/{job}",
    tag = "users",
    params(
        ("tenant" = String, Path, description = "The tenant's slug"),
        ("job" = String, Path, description = "The job's id"),
    ),
    security(("operator" = []), ("session" = [])),
    responses(
        (status = 200, description = "The job", body = ImportJobView),
        (status = 401, description = "No valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Another tenant, or no `users:view`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant or job", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn show_import(
    State(state): State<AppState>,
    Admin(actor): Admin,
    Path((slug, id)): Path<(String, String)>,
) -> Result<Json<ImportJobView>, AdminError> {
    let job = import_jobs::job(&state.store, &actor, &slug, &id).await?;
    Ok(Json(view_of(job, &slug, now_micros())))
}

/// Which rows of a report, and as what.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportParams {
    /// Rows after this line (the previous page's `nextAfter`).
    pub after: Option<i64>,
    /// Rows per page, 1 to 5000 (default 1000).
    pub limit: Option<i64>,
    /// `json` (pages, the default) or `csv` (the whole report, streamed).
    pub format: Option<String>,
}

/// One row of a report.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReportRowView {
    /// The line of the file the row starts on.
    pub line: i64,
    pub user_name: String,
    /// `created`, `updated`, `unchanged` or `rejected`.
    pub outcome: String,
    /// Why a row was rejected.
    pub reason: Option<String>,
}

/// A page of a report, in line order.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReportPage {
    pub rows: Vec<ReportRowView>,
    /// `after` for the next page; none when this page is the last so far.
    pub next_after: Option<i64>,
}

fn row_view(row: ImportJobRow) -> ReportRowView {
    ReportRowView {
        line: row.line,
        user_name: row.user_name,
        outcome: row.outcome,
        reason: row.reason,
    }
}

/// A job's per-row report as far as it has run: line, userName, outcome, reason. JSON pages by
/// default; `format=csv` streams all of it. Needs `users:view`.
#[utoipa::path(
    get,
    path = "/tenants/{tenant}/imports/{job}/report",
    tag = "users",
    params(
        ("tenant" = String, Path, description = "The tenant's slug"),
        ("job" = String, Path, description = "The job's id"),
        ReportParams,
    ),
    security(("operator" = []), ("session" = [])),
    responses(
        (status = 200, description = "A page of the report, or all of it as text/csv", body = ReportPage),
        (status = 400, description = "A parameter is not valid", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Another tenant, or no `users:view`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant or job", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn import_report(
    State(state): State<AppState>,
    Admin(actor): Admin,
    Path((slug, id)): Path<(String, String)>,
    params: Result<Query<ReportParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, AdminError> {
    let params = query_of(params)?;
    let after = params.after.unwrap_or(0);
    match params.format.as_deref().unwrap_or("json") {
        "json" => {
            let limit = params.limit.unwrap_or(1000);
            let rows =
                import_jobs::report_page(&state.store, &actor, &slug, &id, after, limit).await?;
            let full = i64::try_from(rows.len()).unwrap_or(i64::MAX)
                >= limit.clamp(1, import_jobs::MAX_REPORT_PAGE);
            let next_after = rows.last().filter(|_| full).map(|r| r.line);
            let rows = rows.into_iter().map(row_view).collect();
            Ok(Json(ReportPage { rows, next_after }).into_response())
        }
        "csv" => {
            // Refused at once (404, 403) rather than in a stream that has already said 200.
            import_jobs::job(&state.store, &actor, &slug, &id).await?;
            Ok(csv_report(state, actor, slug, id))
        }
        other => Err(AdminError(TenantError::InvalidArgument(format!(
            "format must be json or csv, not '{other}'"
        )))),
    }
}

/// The whole report as CSV, read a page at a time as the client takes it.
fn csv_report(state: AppState, actor: AdminActor, slug: String, id: String) -> Response {
    const PAGE: i64 = 1000;
    let header_row = Some(format!("{}\n", REPORT_COLUMNS.join(",")).into_bytes());
    let filename = format!("attachment; filename=\"import-{id}.csv\"");
    let pages = futures_util::stream::unfold(
        (0_i64, header_row, false),
        move |(after, header_row, finished)| {
            let (state, actor, slug, id) = (state.clone(), actor.clone(), slug.clone(), id.clone());
            async move {
                if finished {
                    return None;
                }
                let page =
                    import_jobs::report_page(&state.store, &actor, &slug, &id, after, PAGE).await;
                match page {
                    Ok(rows) => {
                        let last = rows.len() < usize::try_from(PAGE).unwrap_or(usize::MAX);
                        let next = rows.last().map_or(after, |r| r.line);
                        let mut writer = csv::Writer::from_writer(header_row.unwrap_or_default());
                        for row in rows {
                            let line = row.line.to_string();
                            let reason = row.reason.unwrap_or_default();
                            if writer
                                .write_record([
                                    line.as_str(),
                                    &row.user_name,
                                    &row.outcome,
                                    &reason,
                                ])
                                .is_err()
                            {
                                break;
                            }
                        }
                        let chunk = writer.into_inner().unwrap_or_default();
                        Some((Ok(Bytes::from(chunk)), (next, None, last)))
                    }
                    Err(err) => {
                        tracing::error!(error = %err, "the import report download stopped");
                        Some((
                            Err(std::io::Error::other("the import report download stopped")),
                            (after, None, true),
                        ))
                    }
                }
            }
        },
    );
    let mut response = Body::from_stream(pages).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(disposition) = HeaderValue::from_str(&filename) {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    response
}
