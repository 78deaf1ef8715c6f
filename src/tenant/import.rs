//! Importing users from an onboarding CSV (SPEC §6): every row goes through the rules a SCIM
//! write meets (uniqueness, locked attributes, tenant-extension ranges, seat limit, statuses,
//! audit and outbox events), idempotent by userName. Rows are written a few hundred to a
//! transaction (`import_rows`), so that a bad row fails alone and the good ones land; each
//! row's outcome is reported once its transaction is durable.

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Read;
use std::sync::Arc;

use serde::Serialize;
use tokio::task::JoinHandle;

use super::import_csv::{CsvRow, CsvRows, FileError};
use super::import_rows::{PreparedBatch, RowContext, SeenNames, import_batch, prepare_batch};
use super::invitations::InvitationPolicy;
use super::tenants::tenant_in;
use super::{Caller, TenantError};
use crate::scim::schema::Registry;
use crate::store::{
    ConnectionId, ConnectionRecord, ImportCounts, ImportJobRow, Micros, Store, fold,
};

/// Rows written per transaction: large enough that a commit's cost is shared, small enough that
/// SCIM writes of other tenants wait at most a few tens of milliseconds for SQLite's writer.
pub const ROWS_PER_TRANSACTION: usize = 500;

/// The connection an import is recorded under when none is named.
pub const DEFAULT_IMPORT_CONNECTION: &str = "csv-import";

/// What became of one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RowOutcome {
    Created,
    Updated,
    Unchanged,
    Rejected,
}

impl RowOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            RowOutcome::Created => "created",
            RowOutcome::Updated => "updated",
            RowOutcome::Unchanged => "unchanged",
            RowOutcome::Rejected => "rejected",
        }
    }
}

/// The per-row report's columns, as its CSV header names them.
pub const REPORT_COLUMNS: [&str; 4] = ["line", "userName", "outcome", "reason"];

/// One line of the per-row report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportRow {
    pub line: u64,
    #[serde(rename = "userName")]
    pub user_name: String,
    pub outcome: RowOutcome,
    pub reason: Option<String>,
}

/// How many rows ended which way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    pub rows: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub rejected: u64,
}

impl ImportSummary {
    fn count(&mut self, outcome: RowOutcome) {
        self.rows += 1;
        match outcome {
            RowOutcome::Created => self.created += 1,
            RowOutcome::Updated => self.updated += 1,
            RowOutcome::Unchanged => self.unchanged += 1,
            RowOutcome::Rejected => self.rejected += 1,
        }
    }

    fn add(&mut self, other: &ImportSummary) {
        self.rows += other.rows;
        self.created += other.created;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
        self.rejected += other.rejected;
    }
}

/// Why an import stopped before its end.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error(transparent)]
    Tenant(#[from] TenantError),
    #[error("the User schema is missing")]
    NoUserSchema,
    /// The runtime is shutting down.
    #[error("the import was stopped")]
    Stopped,
}

impl From<crate::store::StoreError> for ImportError {
    fn from(err: crate::store::StoreError) -> Self {
        ImportError::Tenant(TenantError::Store(err))
    }
}

/// What to import into, as whom.
#[derive(Debug, Clone)]
pub struct ImportRequest<'a> {
    pub tenant_slug: &'a str,
    /// The directory connection the import's writes are recorded under (created if missing).
    pub connection_name: &'a str,
    /// How audit events name who ran it (`cli`, or the admin API's actor).
    pub actor: &'static str,
    /// Report what would happen and write nothing.
    pub dry_run: bool,
    /// How the invitations of the users it creates are issued.
    pub invitations: InvitationPolicy,
    /// The admin API's job this import runs as: each batch's report rows and counts are
    /// recorded with it.
    pub job: Option<String>,
}

/// What reading a whole file found: its number of rows (for progress), and the userNames more
/// than one row names (by `name_hash`; a repeated row is refused naming the first).
#[derive(Debug, Clone, Default)]
pub struct FileCheck {
    pub rows: u64,
    pub(super) repeated: HashSet<u64>,
}

/// Reads the whole file once without writing: a file that is not UTF-8 or not CSV is refused
/// before any row lands. The names are held as 8-byte hashes while the file is read, and only
/// the repeated ones are kept.
pub fn check_file(source: impl Read) -> Result<FileCheck, FileError> {
    let mut rows = CsvRows::open(source)?;
    let mut count = 0;
    let mut hashes = Vec::new();
    while let Some(row) = rows.next_row()? {
        count += 1;
        if let Some(name) = row.user_name() {
            hashes.push(name_hash(name));
        }
    }
    hashes.sort_unstable();
    let repeated = hashes
        .windows(2)
        .filter_map(|pair| match pair {
            [a, b] if a == b => Some(*a),
            _ => None,
        })
        .collect();
    Ok(FileCheck {
        rows: count,
        repeated,
    })
}

/// A userName's 64-bit hash, the same in any case.
pub(super) fn name_hash(user_name: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    fold(user_name).hash(&mut hasher);
    hasher.finish()
}

/// Imports the rows of `source` (`check` is what `check_file` found in it), calling `report` with each
/// row's outcome once it is durable (or, in a dry run, decided). A storage failure stops the
/// import: the rows reported so far are written, the rest are not.
///
/// Two threads share the work: while one batch is written, the next one's new users are made
/// ready on a blocking thread (`prepare_batch`); on SQLite's single writer that takes about a
/// third off the import's time.
pub async fn import_users(
    store: &Store,
    registry: Arc<Registry>,
    request: &ImportRequest<'_>,
    check: FileCheck,
    source: impl Read,
    clock: impl Fn() -> Micros,
    mut report: impl FnMut(&ReportRow),
) -> Result<ImportSummary, ImportError> {
    let schemas = registry.user().ok_or(ImportError::NoUserSchema)?;
    let mut rows = CsvRows::open(source)?;
    let caller = import_caller(store, request, clock()).await?;
    let preparer = Preparer {
        store: store.clone(),
        registry: Arc::clone(&registry),
        caller: caller.clone(),
        invitations: request.invitations.clone(),
    };
    let mut seen = SeenNames::new(check);
    let mut summary = ImportSummary::default();
    let mut creating = true;
    let mut next = preparer.start(read_batch(&mut rows)?, clock(), creating);
    loop {
        let batch = match next.await {
            Ok(batch) => batch,
            Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
            Err(_) => return Err(ImportError::Stopped),
        };
        if batch.is_empty() {
            return Ok(summary);
        }
        // Where the last batch created nobody (a re-run), making new users ready would only
        // cost time.
        next = preparer.start(read_batch(&mut rows)?, clock(), creating);
        let mut tx = store.begin().await?;
        if request.dry_run && summary.created > 0 {
            let held = i64::try_from(summary.created).unwrap_or(i64::MAX);
            tx.hold_invited_seats(&caller.tenant.id, held).await?;
        }
        let ctx = RowContext {
            store,
            schemas,
            caller: &caller,
            now: clock(),
            invitations: &request.invitations,
        };
        let outcomes = import_batch(&mut tx, &ctx, batch, &mut seen).await?;
        if request.dry_run {
            tx.rollback().await?;
        } else {
            tx.commit().await?;
        }
        let mut counted = ImportSummary::default();
        for outcome in &outcomes {
            counted.count(outcome.outcome);
        }
        if let Some(job) = &request.job {
            record_batch(store, job, &outcomes, &counted, clock()).await?;
        }
        summary.add(&counted);
        creating = counted.created > 0;
        outcomes.iter().for_each(&mut report);
    }
}

/// The next rows of the file, up to a transaction's worth.
fn read_batch(rows: &mut CsvRows<impl Read>) -> Result<Vec<CsvRow>, FileError> {
    let mut batch = Vec::with_capacity(ROWS_PER_TRANSACTION);
    while batch.len() < ROWS_PER_TRANSACTION {
        match rows.next_row()? {
            Some(row) => batch.push(row),
            None => break,
        }
    }
    Ok(batch)
}

/// What `prepare_batch` needs, owned, so that it can run on a thread of its own.
struct Preparer {
    store: Store,
    registry: Arc<Registry>,
    caller: Caller,
    invitations: InvitationPolicy,
}

impl Preparer {
    /// Starts making `rows` ready to be written, as of `now`, on a blocking thread; with
    /// `new_users` false, only hands them over (the batch makes each new user as it writes it).
    fn start(&self, rows: Vec<CsvRow>, now: Micros, new_users: bool) -> JoinHandle<PreparedBatch> {
        let Preparer {
            store,
            registry,
            caller,
            invitations,
        } = self;
        let (store, registry, caller, invitations) = (
            store.clone(),
            Arc::clone(registry),
            caller.clone(),
            invitations.clone(),
        );
        tokio::task::spawn_blocking(move || match registry.user() {
            Some(schemas) if new_users => {
                prepare_batch(&store, schemas, &caller, &invitations, now, rows)
            }
            _ => PreparedBatch::unprepared(rows),
        })
    }
}

/// Adds a batch's outcomes to the report and counts of an admin API job, once the batch is
/// decided.
async fn record_batch(
    store: &Store,
    job: &str,
    outcomes: &[ReportRow],
    counted: &ImportSummary,
    now: Micros,
) -> Result<(), TenantError> {
    let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let counts = ImportCounts {
        created: count(counted.created),
        updated: count(counted.updated),
        unchanged: count(counted.unchanged),
        rejected: count(counted.rejected),
    };
    let rows: Vec<ImportJobRow> = outcomes
        .iter()
        .map(|row| ImportJobRow {
            line: count(row.line),
            user_name: row.user_name.clone(),
            outcome: row.outcome.as_str().to_string(),
            reason: row.reason.clone(),
        })
        .collect();
    let mut tx = store.begin().await?;
    tx.record_import_batch(job, &rows, counts, now).await?;
    tx.commit().await?;
    Ok(())
}

/// The caller every row is written as: the tenant, and the import's connection.
async fn import_caller(
    store: &Store,
    request: &ImportRequest<'_>,
    now: Micros,
) -> Result<Caller, TenantError> {
    if request.connection_name.trim().is_empty() {
        return Err(TenantError::InvalidArgument(
            "the connection name cannot be empty".into(),
        ));
    }
    let mut tx = store.begin().await?;
    let tenant = tenant_in(&mut tx, request.tenant_slug).await?;
    let connection_id = match tx
        .connection_by_name(&tenant.id, request.connection_name)
        .await?
    {
        Some(connection) => Some(connection.id),
        None if request.dry_run => None,
        None => {
            let connection = ConnectionRecord {
                id: ConnectionId::generate(),
                tenant_id: tenant.id.clone(),
                name: request.connection_name.to_string(),
                kind: "csv".into(),
                created_at: now,
            };
            tx.insert_connection(&connection).await?;
            Some(connection.id)
        }
    };
    tx.commit().await?;
    Ok(Caller {
        tenant: Arc::new(tenant),
        connection_id,
        actor: request.actor,
        request_summary: None,
        token_id: None,
    })
}
