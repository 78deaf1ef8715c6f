//! SQLite reads on the calling thread: read-only rusqlite connections that a lookup borrows for a
//! few microseconds, with a fallback to tokio's blocking pool for statements that run long.
//!
//! Why not sqlx's pool: sqlx-sqlite runs every connection on a thread of its own, so one indexed
//! lookup cost four thread hand-offs (the query, its rows, and the ping sqlx sends when a
//! connection goes back to its pool) plus a spawned task, several times the lookup itself. perf
//! showed futex wake-ups and scheduling as the largest cost of an indexed `GET` at 1M users.
//!
//! Running SQLite on an async worker thread is only sound while statements stay short, so each
//! inline statement gets a budget of virtual-machine steps (SQLite's progress handler). A statement
//! that exceeds it (a `co` search over a whole tenant, a deep page) is interrupted and run again,
//! from the start and without a budget, on the blocking pool. Reads have no side effects, so
//! running one twice is safe; a few hundred microseconds are lost once for such a statement.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use tokio::sync::Semaphore;

use super::StoreError;

/// Progress-handler calls an inline statement may take; each is `STEPS_PER_CALL` VM steps. An
/// indexed lookup with its groups takes well under one call, a 100-row page a few.
const INLINE_BUDGET_CALLS: i64 = 64;
const STEPS_PER_CALL: i32 = 1000;
/// Idle connections kept for reuse; more are opened when needed and closed after use.
const MAX_IDLE: usize = 4;
/// Long statements running at once on the blocking pool; others wait their turn, so a burst of
/// whole-tenant searches cannot take every core, open a connection each, or grow memory with
/// their number (each connection holds up to 2 MiB of SQLite's page cache).
const MAX_LONG_READS: usize = 2;
/// Prepared statements cached per connection (filters of the same shape share their text).
const STATEMENT_CACHE: usize = 128;

/// A read-only connection and the remaining budget its progress handler counts down.
struct ReadConnection {
    conn: Connection,
    remaining: Arc<AtomicI64>,
}

struct Shared {
    path: PathBuf,
    idle: Mutex<Vec<ReadConnection>>,
    long_reads: Semaphore,
    /// Reads running now (for `/metrics`).
    reading: AtomicUsize,
}

/// Read-only access to an SQLite database file. Cheap to clone.
#[derive(Clone)]
pub(super) struct SqliteReader {
    shared: Arc<Shared>,
}

/// A read failed: SQLite's error, or the mapping of its rows.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ReadError> for StoreError {
    fn from(err: ReadError) -> Self {
        match err {
            ReadError::Sqlite(e) => StoreError::Sqlite(e),
            ReadError::Store(e) => e,
        }
    }
}

fn interrupted(err: &ReadError) -> bool {
    matches!(err, ReadError::Sqlite(rusqlite::Error::SqliteFailure(e, _))
        if e.code == rusqlite::ErrorCode::OperationInterrupted)
}

impl SqliteReader {
    /// A reader of the database file at `path`; opens one connection now to fail early.
    pub(super) fn open(path: &Path) -> Result<Self, StoreError> {
        let reader = Self {
            shared: Arc::new(Shared {
                path: path.to_path_buf(),
                idle: Mutex::new(Vec::new()),
                long_reads: Semaphore::new(MAX_LONG_READS),
                reading: AtomicUsize::new(0),
            }),
        };
        let first = reader.connect().map_err(StoreError::Sqlite)?;
        reader.give_back(first);
        Ok(reader)
    }

    fn connect(&self) -> Result<ReadConnection, rusqlite::Error> {
        let conn = Connection::open_with_flags(
            &self.shared.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        // A reader in WAL mode waits only while another connection recovers the log.
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        let remaining = Arc::new(AtomicI64::new(i64::MAX));
        let budget = remaining.clone();
        conn.progress_handler(
            STEPS_PER_CALL,
            Some(move || budget.fetch_sub(1, Ordering::Relaxed) <= 0),
        )?;
        Ok(ReadConnection { conn, remaining })
    }

    fn take(&self) -> Result<ReadConnection, rusqlite::Error> {
        let idle = self
            .shared
            .idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop();
        match idle {
            Some(conn) => Ok(conn),
            None => self.connect(),
        }
    }

    fn give_back(&self, conn: ReadConnection) {
        let mut idle = self
            .shared
            .idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
    }

    /// Runs `read` on a connection: inline within the step budget, else again on the blocking pool.
    pub(super) async fn read<T, F>(&self, read: F) -> Result<T, StoreError>
    where
        F: Fn(&Connection) -> Result<T, ReadError> + Send + 'static,
        T: Send + 'static,
    {
        match self.read_inline(&read) {
            Err(err) if interrupted(&err) => {
                tracing::debug!(
                    "a read exceeded its inline budget; running it on the blocking pool"
                );
            }
            done => return Ok(done?),
        }
        // The semaphore is never closed, so a permit always comes.
        let _turn = self.shared.long_reads.acquire().await.ok();
        let reader = self.clone();
        let long = tokio::task::spawn_blocking(move || reader.run(i64::MAX, &read)).await;
        match long {
            Ok(result) => Ok(result?),
            // The same outcome as a panic of an inline read: the request's panic handler answers.
            Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
            Err(_) => Err(StoreError::ShuttingDown),
        }
    }

    /// Runs `read` on this thread, interrupted once it exceeds the step budget.
    fn read_inline<T>(
        &self,
        read: &impl Fn(&Connection) -> Result<T, ReadError>,
    ) -> Result<T, ReadError> {
        self.run(INLINE_BUDGET_CALLS, read)
    }

    /// Runs `read` on a borrowed connection allowed `budget` progress-handler calls.
    fn run<T>(
        &self,
        budget: i64,
        read: &impl Fn(&Connection) -> Result<T, ReadError>,
    ) -> Result<T, ReadError> {
        let conn = self.take()?;
        conn.remaining.store(budget, Ordering::Relaxed);
        self.shared.reading.fetch_add(1, Ordering::Relaxed);
        let result = read(&conn.conn);
        self.shared.reading.fetch_sub(1, Ordering::Relaxed);
        self.give_back(conn);
        result
    }

    /// Reads running now, and idle connections.
    pub(super) fn use_now(&self) -> (usize, usize) {
        let idle = self
            .shared
            .idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .len();
        (self.shared.reading.load(Ordering::Relaxed), idle)
    }

    /// Closes the idle connections (those in use close when their read ends).
    pub(super) fn close(&self) {
        self.shared
            .idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clear();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::super::temp_database::TempDatabase;
    use super::*;

    /// Counts to `n` with a recursive query: a few SQLite steps per row, no table needed.
    fn count_to(n: i64) -> impl Fn(&Connection) -> Result<i64, ReadError> + Send + 'static {
        move |conn| {
            Ok(conn.query_row(
                "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?1) \
                 SELECT count(*) FROM c",
                [n],
                |row| row.get(0),
            )?)
        }
    }

    #[tokio::test]
    async fn short_reads_finish_inline() {
        let database = TempDatabase::new("reader");
        let reader = SqliteReader::open(database.path()).unwrap();
        assert_eq!(reader.read_inline(&count_to(100)).unwrap(), 100);
        assert_eq!(reader.read(count_to(100)).await.unwrap(), 100);
    }

    #[tokio::test]
    async fn long_reads_are_interrupted_inline_and_finish_on_the_blocking_pool() {
        let database = TempDatabase::new("reader");
        let reader = SqliteReader::open(database.path()).unwrap();
        let inline = reader.read_inline(&count_to(1_000_000));
        assert!(
            inline.as_ref().is_err_and(interrupted),
            "expected an interruption, got {inline:?}"
        );
        assert_eq!(reader.read(count_to(1_000_000)).await.unwrap(), 1_000_000);
        // The connection that ran without a budget gets one again for the next inline read.
        assert!(
            reader
                .read_inline(&count_to(1_000_000))
                .is_err_and(|e| interrupted(&e))
        );
    }

    #[tokio::test]
    async fn readers_are_read_only() {
        let database = TempDatabase::new("reader");
        let reader = SqliteReader::open(database.path()).unwrap();
        let write = reader
            .read(|conn| Ok(conn.execute("CREATE TABLE t (x INTEGER)", [])?))
            .await;
        assert!(matches!(write, Err(StoreError::Sqlite(_))), "{write:?}");
    }
}
