//! CSV import jobs of the admin API (migration 0023): each job's progress and counts, and its
//! per-row report, one batch of rows at a time.

use super::audit::storable;
use super::row::AnyRow;
use super::{Micros, SqlFragment, SqlParam, Store, StoreError, TenantId, Tx, params};

/// A job as stored. `state` is `running`, `finished` or `failed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportJobRecord {
    pub id: String,
    pub tenant_id: TenantId,
    pub actor: String,
    pub connection_name: String,
    pub dry_run: bool,
    pub total_rows: i64,
    pub rows_done: i64,
    pub created: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub rejected: i64,
    pub state: String,
    pub error: Option<String>,
    pub started_at: Micros,
    /// Moved with every batch: a `running` job whose heartbeat stopped was cut off.
    pub heartbeat_at: Micros,
    pub finished_at: Option<Micros>,
}

/// One row of a job's report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportJobRow {
    pub line: i64,
    pub user_name: String,
    pub outcome: String,
    pub reason: Option<String>,
}

/// What one batch added to a job's counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportCounts {
    pub created: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub rejected: i64,
}

const JOB_COLUMNS: &str = "id, tenant_id, actor, connection_name, dry_run, total_rows, rows_done, \
     created, updated, unchanged, rejected, state, error, started_at, heartbeat_at, finished_at";

fn job_from_row(row: &AnyRow<'_>) -> Result<ImportJobRecord, StoreError> {
    Ok(ImportJobRecord {
        id: row.column("id")?,
        tenant_id: row.column("tenant_id")?,
        actor: row.column("actor")?,
        connection_name: row.column("connection_name")?,
        dry_run: row.column("dry_run")?,
        total_rows: row.column("total_rows")?,
        rows_done: row.column("rows_done")?,
        created: row.column("created")?,
        updated: row.column("updated")?,
        unchanged: row.column("unchanged")?,
        rejected: row.column("rejected")?,
        state: row.column("state")?,
        error: row.column("error")?,
        started_at: row.column("started_at")?,
        heartbeat_at: row.column("heartbeat_at")?,
        finished_at: row.column("finished_at")?,
    })
}

impl Store {
    /// The tenant's job with this id.
    pub async fn import_job(
        &self,
        tenant_id: &TenantId,
        id: &str,
    ) -> Result<Option<ImportJobRecord>, StoreError> {
        let query = SqlFragment::statement(
            format!("SELECT {JOB_COLUMNS} FROM import_jobs WHERE tenant_id = $1 AND id = $2"),
            vec![SqlParam::from(tenant_id), SqlParam::Text(id.to_string())],
        );
        self.fetch_optional(query, job_from_row).await
    }

    /// The tenant's newest jobs, newest first.
    pub async fn import_jobs(
        &self,
        tenant_id: &TenantId,
        limit: i64,
    ) -> Result<Vec<ImportJobRecord>, StoreError> {
        let query = SqlFragment::statement(
            format!(
                "SELECT {JOB_COLUMNS} FROM import_jobs WHERE tenant_id = $1 \
                 ORDER BY started_at DESC, id DESC LIMIT CAST($2 AS BIGINT)"
            ),
            vec![SqlParam::from(tenant_id), SqlParam::Int(limit)],
        );
        self.fetch_all(query, job_from_row).await
    }

    /// Up to `limit` rows of a job's report after line `after`, in line order.
    pub async fn import_job_rows(
        &self,
        job_id: &str,
        after: i64,
        limit: i64,
    ) -> Result<Vec<ImportJobRow>, StoreError> {
        let query = SqlFragment::statement(
            "SELECT line, user_name, outcome, reason FROM import_job_rows \
             WHERE job_id = $1 AND line > $2 ORDER BY line LIMIT CAST($3 AS BIGINT)",
            vec![
                SqlParam::Text(job_id.to_string()),
                SqlParam::Int(after),
                SqlParam::Int(limit),
            ],
        );
        self.fetch_all(query, |row| {
            Ok(ImportJobRow {
                line: row.column("line")?,
                user_name: row.column("user_name")?,
                outcome: row.column("outcome")?,
                reason: row.column("reason")?,
            })
        })
        .await
    }
}

impl Tx {
    pub async fn insert_import_job(&mut self, job: &ImportJobRecord) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO import_jobs (id, tenant_id, actor, connection_name, dry_run, total_rows, \
             state, started_at, heartbeat_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            params![
                &job.id,
                &job.tenant_id,
                &job.actor,
                &job.connection_name,
                job.dry_run,
                job.total_rows,
                &job.state,
                job.started_at,
                job.heartbeat_at,
            ],
        )
        .await?;
        Ok(())
    }

    /// Adds a batch's rows to a job's report and its counts, and moves its heartbeat.
    pub async fn record_import_batch(
        &mut self,
        job_id: &str,
        rows: &[ImportJobRow],
        counts: ImportCounts,
        now: Micros,
    ) -> Result<(), StoreError> {
        let mut params = Vec::with_capacity(rows.len() * 5);
        for row in rows {
            params.extend([
                SqlParam::Text(job_id.to_string()),
                SqlParam::Int(row.line),
                SqlParam::Text(storable(&row.user_name).into_owned()),
                SqlParam::Text(row.outcome.clone()),
                row.reason
                    .as_deref()
                    .map_or(SqlParam::Null, |r| SqlParam::Text(storable(r).into_owned())),
            ]);
        }
        self.insert_rows(
            "INSERT INTO import_job_rows (job_id, line, user_name, outcome, reason) VALUES ",
            5,
            &params,
        )
        .await?;
        let done = i64::try_from(rows.len()).unwrap_or(i64::MAX);
        self.execute(
            "UPDATE import_jobs SET rows_done = rows_done + $2, created = created + $3, \
             updated = updated + $4, unchanged = unchanged + $5, rejected = rejected + $6, \
             heartbeat_at = $7 WHERE id = $1",
            params![
                job_id,
                done,
                counts.created,
                counts.updated,
                counts.unchanged,
                counts.rejected,
                now,
            ],
        )
        .await?;
        Ok(())
    }

    /// Ends a job as `finished` or `failed` (with why).
    pub async fn finish_import_job(
        &mut self,
        job_id: &str,
        state: &str,
        error: Option<&str>,
        now: Micros,
    ) -> Result<(), StoreError> {
        self.execute(
            "UPDATE import_jobs SET state = $2, error = $3, finished_at = $4, heartbeat_at = $4 \
             WHERE id = $1",
            params![job_id, state, error, now],
        )
        .await?;
        Ok(())
    }
}
