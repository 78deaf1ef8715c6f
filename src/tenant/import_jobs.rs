//! CSV imports through the admin API: a job per upload, checked whole before it starts, run in
//! the background of the process that took it, its progress and per-row report read back by id.

use std::sync::Arc;

use super::audit;
use super::import::{FileCheck, ImportRequest, check_file, import_users};
use super::invitations::InvitationPolicy;
use super::operators::{AdminActor, AdminPermission, tenant_for};
use super::{Caller, TenantError};
use crate::scim::schema::Registry;
use crate::store::{ImportJobRecord, ImportJobRow, Micros, Store};

/// A `running` job whose last batch is older than this was cut off (its process stopped): the
/// rows it reported are written, the rest are not; the same file can be run again.
pub const STALLED_AFTER: Micros = 120_000_000;

/// Most report rows one page holds.
pub const MAX_REPORT_PAGE: i64 = 5000;

/// A job's state as an admin reads it: `running`, `finished`, `failed`, or `interrupted` for a
/// running job whose process stopped.
pub fn job_state(job: &ImportJobRecord, now: Micros) -> &'static str {
    match job.state.as_str() {
        "finished" => "finished",
        "failed" => "failed",
        _ if now.saturating_sub(job.heartbeat_at) > STALLED_AFTER => "interrupted",
        _ => "running",
    }
}

/// What an admin asks to import.
#[derive(Debug, Clone)]
pub struct JobRequest<'a> {
    pub slug: &'a str,
    pub connection_name: &'a str,
    pub dry_run: bool,
    pub csv: &'a [u8],
}

/// Checks the whole file (not UTF-8, not CSV, no userName column: refused, nothing written) and
/// records a job for it, audited as `import.start`; `run_job` then runs it with what the check
/// found. Needs `users:manage`.
pub async fn start_job(
    store: &Store,
    actor: &AdminActor,
    request: &JobRequest<'_>,
    now: Micros,
) -> Result<StartedJob, TenantError> {
    let tenant = tenant_for(store, actor, request.slug, AdminPermission::UsersManage).await?;
    if request.connection_name.trim().is_empty() {
        return Err(TenantError::InvalidArgument(
            "the connection name cannot be empty".into(),
        ));
    }
    let check = check_file(request.csv).map_err(|e| TenantError::InvalidArgument(e.to_string()))?;
    let total_rows = check.rows;
    let job = ImportJobRecord {
        id: format!("imp_{}", uuid::Uuid::now_v7().simple()),
        tenant_id: tenant.id.clone(),
        actor: actor.label(),
        connection_name: request.connection_name.to_string(),
        dry_run: request.dry_run,
        total_rows: i64::try_from(total_rows).unwrap_or(i64::MAX),
        rows_done: 0,
        created: 0,
        updated: 0,
        unchanged: 0,
        rejected: 0,
        state: "running".into(),
        error: None,
        started_at: now,
        heartbeat_at: now,
        finished_at: None,
    };
    let caller: Caller = actor.caller_in(
        tenant,
        format!("POST /admin/v1/tenants/{}/imports", request.slug),
    );
    let mut event = audit::event(&caller, "import.start", now);
    event.actor = actor.label();
    event.target_type = Some("Import".into());
    event.target_id = Some(job.id.clone());
    event.target_name = Some(request.connection_name.to_string());
    event.reason = Some(format!(
        "{total_rows} rows{}",
        if request.dry_run { ", dry run" } else { "" }
    ));
    let mut tx = store.begin().await?;
    tx.insert_import_job(&job).await?;
    tx.insert_audit(&event).await?;
    tx.commit().await?;
    Ok(StartedJob { job, check })
}

/// A job `start_job` recorded, and what its check found in the file.
#[derive(Debug)]
pub struct StartedJob {
    pub job: ImportJobRecord,
    check: FileCheck,
}

/// Runs a started job of tenant `slug` on `csv` (the file `start_job` checked) to its end:
/// `finished`, or `failed` with why (the rows reported before are written).
pub async fn run_job(
    store: &Store,
    registry: Arc<Registry>,
    slug: &str,
    csv: &[u8],
    started: StartedJob,
    invitations: &InvitationPolicy,
    clock: impl Fn() -> Micros,
) {
    let StartedJob { job, check } = started;
    let import = ImportRequest {
        tenant_slug: slug,
        connection_name: &job.connection_name,
        actor: "admin",
        dry_run: job.dry_run,
        invitations: invitations.clone(),
        job: Some(job.id.clone()),
    };
    let outcome = import_users(store, registry, &import, check, csv, &clock, |_| {}).await;
    let error = outcome.err().map(|e| e.to_string());
    let state = if error.is_some() {
        "failed"
    } else {
        "finished"
    };
    let finished = async {
        let mut tx = store.begin().await?;
        tx.finish_import_job(&job.id, state, error.as_deref(), clock())
            .await?;
        tx.commit().await
    };
    if let Err(err) = finished.await {
        tracing::error!(job = %job.id, error = %err, "could not record the end of an import");
    }
}

/// The tenant's job `id`. Needs `users:view`.
pub async fn job(
    store: &Store,
    actor: &AdminActor,
    slug: &str,
    id: &str,
) -> Result<ImportJobRecord, TenantError> {
    let tenant = tenant_for(store, actor, slug, AdminPermission::UsersView).await?;
    store
        .import_job(&tenant.id, id)
        .await?
        .ok_or_else(|| TenantError::NotFound(format!("import {id}")))
}

/// The tenant's newest jobs, newest first. Needs `users:view`.
pub async fn jobs(
    store: &Store,
    actor: &AdminActor,
    slug: &str,
    limit: i64,
) -> Result<Vec<ImportJobRecord>, TenantError> {
    let tenant = tenant_for(store, actor, slug, AdminPermission::UsersView).await?;
    Ok(store.import_jobs(&tenant.id, limit.clamp(1, 100)).await?)
}

/// A page of job `id`'s report: rows after line `after`, in line order. Needs `users:view`.
pub async fn report_page(
    store: &Store,
    actor: &AdminActor,
    slug: &str,
    id: &str,
    after: i64,
    limit: i64,
) -> Result<Vec<ImportJobRow>, TenantError> {
    let job = job(store, actor, slug, id).await?;
    Ok(store
        .import_job_rows(&job.id, after, limit.clamp(1, MAX_REPORT_PAGE))
        .await?)
}
