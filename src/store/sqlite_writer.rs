//! SQLite writes on the calling thread: one read-write rusqlite connection that a write
//! transaction holds from `BEGIN IMMEDIATE` to `COMMIT`, each statement run inline.
//!
//! Why not sqlx's pool (as before, issue #21): sqlx-sqlite runs its connection on a thread of its
//! own, so every statement of a transaction was a hand-off to that thread and back. A create is
//! a dozen statements (the seat, the user, its emails, the audit event, the outbox events, the
//! invitation), all while holding SQLite's single write lock, so creates queued behind those
//! hand-offs: perf of `POST /Users` showed 45 % of the gateway's samples in thread switches and
//! wake-ups, a few percent in SQLite. Writes are short, so running them on an async worker
//! thread is sound; waiting for the write lock, the one wait that can be long (another process
//! holds it), is polled asynchronously instead of blocking the thread.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::{Connection, ErrorCode, OpenFlags};
use tokio::sync::{Mutex, OwnedMutexGuard};

use super::error::constraint_named;
use super::read::bind_statement;
use super::row::AnyRow;
use super::{SqlParam, StoreError};

/// Prepared statements kept on the connection (writes have a few dozen shapes).
const STATEMENT_CACHE: usize = 256;
/// How long to wait between two tries for a write lock another process holds.
const BUSY_RETRY: Duration = Duration::from_millis(2);

/// The database's one write connection. Cheap to clone.
#[derive(Clone)]
pub(super) struct SqliteWriter {
    conn: Arc<Mutex<Connection>>,
    acquire_timeout: Duration,
}

/// An open write transaction: the write connection, held until it commits or rolls back
/// (rolled back if dropped before).
pub(super) struct SqliteTx {
    conn: OwnedMutexGuard<Connection>,
    open: bool,
}

impl SqliteWriter {
    /// The write connection of the database file at `path` (created and in WAL mode already).
    /// A transaction waits up to `acquire_timeout` for the connection and the write lock.
    pub(super) fn open(path: &Path, acquire_timeout: Duration) -> Result<Self, StoreError> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(StoreError::Sqlite)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(StoreError::Sqlite)?;
        // NORMAL in WAL mode keeps every commit across a process kill; only an OS crash or
        // power loss can drop the last transactions.
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(StoreError::Sqlite)?;
        // Never wait inside SQLite: `begin` polls for the write lock without holding a thread.
        conn.busy_timeout(Duration::ZERO)
            .map_err(StoreError::Sqlite)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            acquire_timeout,
        })
    }

    /// Starts a write transaction: waits for this process's write connection (in turn), then
    /// for the database's write lock (another process may hold it); `Busy` after the timeout.
    pub(super) async fn begin(&self) -> Result<SqliteTx, StoreError> {
        let deadline = Instant::now() + self.acquire_timeout;
        let conn = tokio::time::timeout(self.acquire_timeout, self.conn.clone().lock_owned())
            .await
            .map_err(|_| StoreError::Busy)?;
        loop {
            match conn.execute_batch("BEGIN IMMEDIATE") {
                Ok(()) => return Ok(SqliteTx { conn, open: true }),
                Err(err) if is_busy(&err) && Instant::now() < deadline => {
                    tokio::time::sleep(BUSY_RETRY).await;
                }
                Err(err) => return Err(write_error(err)),
            }
        }
    }
}

impl SqliteTx {
    /// Runs a statement that returns no rows; how many rows it changed.
    pub(super) fn execute(&mut self, sql: &str, params: &[SqlParam]) -> Result<u64, StoreError> {
        let mut statement = self.conn.prepare_cached(sql).map_err(write_error)?;
        bind_statement(&mut statement, params).map_err(write_error)?;
        let changed = statement.raw_execute().map_err(write_error)?;
        Ok(u64::try_from(changed).unwrap_or(u64::MAX))
    }

    /// The rows of a statement (the first only when `first_only`), each mapped by `map`.
    pub(super) fn fetch<T>(
        &mut self,
        sql: &str,
        params: &[SqlParam],
        map: impl Fn(&AnyRow<'_>) -> Result<T, StoreError>,
        first_only: bool,
    ) -> Result<Vec<T>, StoreError> {
        let mut statement = self.conn.prepare_cached(sql).map_err(write_error)?;
        bind_statement(&mut statement, params).map_err(write_error)?;
        let names: Vec<String> = statement
            .column_names()
            .into_iter()
            .map(str::to_owned)
            .collect();
        let mut rows = statement.raw_query();
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(write_error)? {
            out.push(map(&AnyRow::SqliteRead(row, &names))?);
            if first_only {
                break;
            }
        }
        Ok(out)
    }

    /// Runs statements without parameters (savepoints).
    pub(super) fn execute_batch(&mut self, sql: &str) -> Result<(), StoreError> {
        self.conn.execute_batch(sql).map_err(write_error)
    }

    pub(super) fn commit(mut self) -> Result<(), StoreError> {
        self.conn.execute_batch("COMMIT").map_err(write_error)?;
        self.open = false;
        Ok(())
    }

    pub(super) fn rollback(mut self) -> Result<(), StoreError> {
        self.open = false;
        self.conn.execute_batch("ROLLBACK").map_err(write_error)
    }
}

impl Drop for SqliteTx {
    /// A transaction given up (an error, a rejected request, a cancelled future) leaves nothing.
    fn drop(&mut self) {
        if self.open
            && let Err(err) = self.conn.execute_batch("ROLLBACK")
        {
            tracing::warn!(error = %err, "could not roll back an abandoned SQLite transaction");
        }
    }
}

fn is_busy(err: &rusqlite::Error) -> bool {
    matches!(err, rusqlite::Error::SqliteFailure(e, _)
        if matches!(e.code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked))
}

/// What a failed write means to the rules: a unique constraint names what was taken; a lock
/// that stayed taken is `Busy`.
fn write_error(err: rusqlite::Error) -> StoreError {
    if is_busy(&err) {
        return StoreError::Busy;
    }
    if let rusqlite::Error::SqliteFailure(e, Some(message)) = &err
        && e.code == ErrorCode::ConstraintViolation
        && (e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
            || e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
    {
        return StoreError::Conflict(constraint_named(message));
    }
    StoreError::Sqlite(err)
}
