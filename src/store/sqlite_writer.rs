//! SQLite writes on the calling thread, committed in groups: one read-write rusqlite connection
//! that a write request holds while its statements run inline, each request inside a savepoint
//! of a transaction that commits the requests waiting at that moment together.
//!
//! Why not sqlx's pool (as before, issue #21): sqlx-sqlite runs its connection on a thread of its
//! own, so every statement of a transaction was a hand-off to that thread and back. A create is
//! a dozen statements (the seat, the user, its emails, the audit event, the outbox events, the
//! invitation), all while holding SQLite's single write lock, so creates queued behind those
//! hand-offs: perf of `POST /Users` showed 45 % of the gateway's samples in thread switches and
//! wake-ups, a few percent in SQLite. Writes are short, so running them on an async worker
//! thread is sound; waiting for the write lock, the one wait that can be long (another process
//! holds it), is polled asynchronously instead of blocking the thread.
//!
//! Why groups: with the hand-offs gone, a create's largest cost was its commit writing every page
//! it touched to the WAL (the tenant's row, index leaves, the tails of the audit and event
//! tables), pages the next create touches again. A request releases its savepoint instead of
//! committing; whoever holds the connection when nobody else waits for it (or when the group is
//! full) commits the group. Every request's answer waits for the commit that holds its writes, so
//! nothing is acknowledged before it is durable; a request that fails rolls back to its own
//! savepoint and takes nothing of the others with it; a commit that fails fails every request
//! of its group.
//!
//! Why some requests have no savepoint: a create's savepoint cost 6 % of the gateway's CPU
//! (SQLite copies every page the request changes into the savepoint's journal first). A request
//! whose every refusal comes before its first write (`begin_refusing_first`: creates, PUT,
//! PATCH and DELETE of a user check the seat, the version and the locked attributes by reading,
//! and a taken userName fails the one statement that would write it, which SQLite undoes alone)
//! has nothing of its own to roll back when it is refused. If one fails after writing anyway
//! (a bug, or the disk), its writes cannot be told from the group's: the whole group is rolled
//! back and each of its requests answers that it was not applied (none was answered yet).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rusqlite::{Connection, ErrorCode, OpenFlags};
use tokio::sync::{Mutex, OwnedMutexGuard, watch};

use super::error::constraint_named;
use super::read::{bind_statement, rows_of};
use super::row::AnyRow;
use super::sqlite_checkpointer::LogCounters;
use super::sqlite_reader::ReadError;
use super::{LogState, SqlParam, StoreError, WriterLoad};

/// Prepared statements kept on the connection (writes have a few dozen shapes).
const STATEMENT_CACHE: usize = 256;
/// The write connection's page cache, in KiB (a negative `cache_size` is KiB).
const WRITER_CACHE_KIB: i64 = -32 * 1024;
/// How long to wait between two tries for a write lock another process holds.
const BUSY_RETRY: Duration = Duration::from_millis(2);
/// Most requests one commit holds, so that a steady stream of writes still commits.
const MAX_GROUP: usize = 64;
/// How long a request whose writes wait for their group's commit waits before it looks whether
/// the group was left without anyone to commit it (the next request gave up waiting).
const ORPHAN_CHECK: Duration = Duration::from_millis(20);

/// How a group's commit ended: `None` while it is open.
type Outcome = Option<Result<(), String>>;

/// The connection and the group of requests its open transaction holds.
pub(super) struct WriteState {
    conn: Connection,
    group: Option<Group>,
    load: Arc<LoadCounters>,
    /// When a request (or the checkpointer) last let go of the connection: a request that waited
    /// for it counts the time from then to its own start as the connection's hand-over.
    released: Option<Instant>,
}

struct Group {
    id: u64,
    members: usize,
    /// Members that kept their writes (the others were refused and took them back).
    kept: u64,
    done: watch::Sender<Outcome>,
}

/// The database's one write connection. Cheap to clone.
#[derive(Clone)]
pub(super) struct SqliteWriter {
    state: Arc<Mutex<WriteState>>,
    /// Requests waiting for the connection: while there are some, a group stays open for them.
    queued: Arc<AtomicUsize>,
    groups: Arc<AtomicU64>,
    acquire_timeout: Duration,
    log: Arc<LogCounters>,
    load: Arc<LoadCounters>,
}

/// What `WriterLoad` reports, counted as requests let go of the connection and groups commit.
#[derive(Debug, Default)]
struct LoadCounters {
    busy_micros: AtomicU64,
    handoff_micros: AtomicU64,
    commits: AtomicU64,
    committed_requests: AtomicU64,
}

/// The connection as one request holds it: the time it was held counts towards `busy` when the
/// request lets go of it.
struct Held {
    state: OwnedMutexGuard<WriteState>,
    since: Instant,
}

impl std::ops::Deref for Held {
    type Target = WriteState;
    fn deref(&self) -> &WriteState {
        &self.state
    }
}

impl std::ops::DerefMut for Held {
    fn deref_mut(&mut self) -> &mut WriteState {
        &mut self.state
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let now = Instant::now();
        self.state
            .load
            .busy_micros
            .fetch_add(whole_micros(now - self.since), Ordering::Relaxed);
        self.state.released = Some(now);
    }
}

/// One write request's part of a group: the connection, held until the request commits (its
/// savepoint released) or rolls back (to its savepoint; also when dropped before).
pub(super) struct SqliteTx {
    state: Option<Held>,
    writer: SqliteWriter,
    /// The request's savepoint is open.
    open: bool,
    /// A request without a savepoint ran a statement that writes: giving it up now takes its
    /// group with it.
    wrote: bool,
}

/// Whether a write request gets a savepoint of its own (see the module's note).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refusals {
    /// The request may be refused after writing: its savepoint takes back only its own writes.
    Anytime,
    /// Every refusal comes before the request's first write: no savepoint.
    BeforeWriting,
}

/// Counts a request among those waiting for the connection while it waits (also if it gives up).
struct Queued<'a>(&'a AtomicUsize);

impl<'a> Queued<'a> {
    fn new(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Self(count)
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl SqliteWriter {
    /// The write connection of the database file at `path` (created and in WAL mode already).
    /// A request waits up to `acquire_timeout` for the connection and the write lock.
    pub(super) fn open(path: &Path, acquire_timeout: Duration) -> Result<Self, StoreError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        // Its log written in one call a commit (see `sqlite_log_writes`).
        let conn = match super::sqlite_log_writes::vfs() {
            Some(vfs) => Connection::open_with_flags_and_vfs(path, flags, vfs),
            None => Connection::open_with_flags(path, flags),
        }
        .map_err(StoreError::Sqlite)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(StoreError::Sqlite)?;
        // NORMAL in WAL mode keeps every commit across a process kill; only an OS crash or
        // power loss can drop the last transactions.
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(StoreError::Sqlite)?;
        // A request's savepoint keeps the pages it changes in a statement journal; in a file
        // (SQLite's default) that was most of a create's writes: two thirds of its write calls
        // went to a temporary file nobody reads after the savepoint ends.
        conn.pragma_update(None, "temp_store", "MEMORY")
            .map_err(StoreError::Sqlite)?;
        // The index leaves a create touches are spread over the tenant (userName, externalId,
        // displayName, email): with SQLite's default 2 MB cache each was read again from the
        // file while the writer held the lock. 32 MB, bounded, keeps a large tenant's inner
        // pages and recent leaves in memory.
        conn.pragma_update(None, "cache_size", WRITER_CACHE_KIB)
            .map_err(StoreError::Sqlite)?;
        conn.pragma_update(
            None,
            "wal_autocheckpoint",
            super::sqlite_checkpointer::WRITER_AUTOCHECKPOINT_PAGES,
        )
        .map_err(StoreError::Sqlite)?;
        // Never wait inside SQLite: `begin` polls for the write lock without holding a thread.
        conn.busy_timeout(Duration::ZERO)
            .map_err(StoreError::Sqlite)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        let load = Arc::new(LoadCounters::default());
        let state = Arc::new(Mutex::new(WriteState {
            conn,
            group: None,
            load: Arc::clone(&load),
            released: None,
        }));
        let log = Arc::new(LogCounters::default());
        super::sqlite_checkpointer::start(path, Arc::downgrade(&state), Arc::clone(&log))?;
        Ok(Self {
            state,
            queued: Arc::new(AtomicUsize::new(0)),
            groups: Arc::new(AtomicU64::new(0)),
            acquire_timeout,
            log,
            load,
        })
    }

    /// How much the connection was used so far.
    pub(super) fn load(&self) -> WriterLoad {
        WriterLoad {
            busy: Duration::from_micros(self.load.busy_micros.load(Ordering::Relaxed)),
            handoff: Duration::from_micros(self.load.handoff_micros.load(Ordering::Relaxed)),
            commits: self.load.commits.load(Ordering::Relaxed),
            committed_requests: self.load.committed_requests.load(Ordering::Relaxed),
        }
    }

    /// The write-ahead log as the checkpoint thread last saw it.
    pub(super) fn log_state(&self) -> LogState {
        self.log.state()
    }

    /// Whether the write connection is in use (0 or 1), and how many requests wait for it.
    pub(super) fn use_now(&self) -> (usize, usize) {
        let in_use = usize::from(self.state.try_lock().is_err());
        (in_use, self.queued.load(Ordering::Relaxed))
    }

    /// Starts a write request: waits for this process's write connection (in turn), joins the
    /// open group or starts one (then waits for the database's write lock, which another
    /// process may hold); `Busy` after the timeout.
    pub(super) async fn begin(&self, refusals: Refusals) -> Result<SqliteTx, StoreError> {
        let deadline = Instant::now() + self.acquire_timeout;
        let mut state = {
            let _queued = Queued::new(&self.queued);
            // Tried first to tell a request that found the connection free (no hand-over) from
            // one that waited for it.
            let (state, waited) = match self.state.clone().try_lock_owned() {
                Ok(state) => (state, false),
                Err(_) => (
                    tokio::time::timeout(self.acquire_timeout, self.state.clone().lock_owned())
                        .await
                        .map_err(|_| StoreError::Busy)?,
                    true,
                ),
            };
            if waited && let Some(released) = state.released {
                state
                    .load
                    .handoff_micros
                    .fetch_add(whole_micros(released.elapsed()), Ordering::Relaxed);
            }
            Held {
                state,
                since: Instant::now(),
            }
        };
        // A failure SQLite answers by rolling back the whole transaction (a full disk) ends the
        // group: its requests learn that their writes were not applied.
        if state.group.is_some() && state.conn.is_autocommit() {
            end_group(&mut state, Err("the transaction ended early".into()));
        }
        if state.group.is_none() {
            loop {
                match state.conn.execute_batch("BEGIN IMMEDIATE") {
                    Ok(()) => break,
                    Err(err) if is_busy(&err) && Instant::now() < deadline => {
                        tokio::time::sleep(BUSY_RETRY).await;
                    }
                    Err(err) => return Err(write_error(err)),
                }
            }
            state.group = Some(Group {
                id: self.groups.fetch_add(1, Ordering::SeqCst),
                members: 0,
                kept: 0,
                done: watch::channel(None).0,
            });
        }
        let open = refusals == Refusals::Anytime;
        if open && let Err(err) = state.conn.execute_batch("SAVEPOINT request") {
            finish_group(&mut state, &self.queued);
            return Err(write_error(err));
        }
        if let Some(group) = state.group.as_mut() {
            group.members += 1;
        }
        Ok(SqliteTx {
            state: Some(state),
            writer: self.clone(),
            open,
            wrote: false,
        })
    }
}

impl SqliteTx {
    /// The connection, and the request's `wrote` flag (borrowed beside it, for statements to set).
    fn conn(&mut self) -> Result<(&Connection, &mut bool), StoreError> {
        let conn = self
            .state
            .as_ref()
            .map(|state| &state.conn)
            .ok_or_else(|| StoreError::Corrupt("a finished write request was used".into()))?;
        Ok((conn, &mut self.wrote))
    }

    /// Runs a statement that returns no rows; how many rows it changed.
    pub(super) fn execute(&mut self, sql: &str, params: &[SqlParam]) -> Result<u64, StoreError> {
        let (conn, wrote) = self.conn()?;
        let mut statement = conn.prepare_cached(sql).map_err(write_error)?;
        bind_statement(&mut statement, params).map_err(write_error)?;
        // A statement that fails is undone alone (SQLite's ABORT): only one that ran writes.
        let changed = statement.raw_execute().map_err(write_error)?;
        *wrote |= !statement.readonly();
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
        let (conn, wrote) = self.conn()?;
        let mut statement = conn.prepare_cached(sql).map_err(write_error)?;
        // Counted before it runs: one that writes and returns rows may fail after writing some.
        *wrote |= !statement.readonly();
        rows_of(&mut statement, params, map, first_only).map_err(|err| match err {
            ReadError::Sqlite(err) => write_error(err),
            ReadError::Store(err) => err,
        })
    }

    /// Runs statements without parameters (savepoints within the request's).
    pub(super) fn execute_batch(&mut self, sql: &str) -> Result<(), StoreError> {
        let (conn, wrote) = self.conn()?;
        *wrote = true;
        conn.execute_batch(sql).map_err(write_error)
    }

    /// Keeps the request's writes and returns once the commit that holds them is durable.
    pub(super) async fn commit(mut self) -> Result<(), StoreError> {
        let had_savepoint = std::mem::replace(&mut self.open, false);
        self.wrote = false;
        let Some(mut state) = self.state.take() else {
            return Err(StoreError::Corrupt(
                "a finished write request was used".into(),
            ));
        };
        if had_savepoint && let Err(err) = state.conn.execute_batch("RELEASE request") {
            rollback_request(&mut state);
            finish_group(&mut state, &self.writer.queued);
            return Err(write_error(err));
        }
        let Some(group) = state.group.as_mut() else {
            return Err(StoreError::GroupCommit(
                "the transaction ended early".into(),
            ));
        };
        group.kept += 1;
        let (group_id, mut done) = (group.id, group.done.subscribe());
        finish_group(&mut state, &self.writer.queued);
        drop(state);
        loop {
            if let Some(outcome) = done.borrow_and_update().clone() {
                return outcome.map_err(StoreError::GroupCommit);
            }
            match tokio::time::timeout(ORPHAN_CHECK, done.changed()).await {
                Ok(Ok(())) => {}
                // The group ended without a word (cannot happen while its sender lives).
                Ok(Err(_)) => {
                    return Err(StoreError::GroupCommit("the group was dropped".into()));
                }
                // Nobody came to commit the group (the request queued behind this one gave up
                // waiting): commit it here once the connection is free.
                Err(_) => {
                    if let Ok(mut state) = self.writer.state.clone().try_lock_owned()
                        && state.group.as_ref().is_some_and(|g| g.id == group_id)
                    {
                        finish_group(&mut state, &self.writer.queued);
                    }
                }
            }
        }
    }

    /// Undoes the request's writes (the group's others stay).
    pub(super) fn rollback(mut self) -> Result<(), StoreError> {
        self.give_up();
        Ok(())
    }

    fn give_up(&mut self) {
        if let Some(mut state) = self.state.take() {
            if self.open {
                rollback_request(&mut state);
                self.open = false;
            } else if self.wrote {
                roll_back_group(&mut state);
                self.wrote = false;
            }
            finish_group(&mut state, &self.writer.queued);
        }
    }
}

impl Drop for SqliteTx {
    /// A request given up (an error, a rejected request, a cancelled future) leaves nothing.
    fn drop(&mut self) {
        self.give_up();
    }
}

/// Undoes what the request wrote since its savepoint, and ends the savepoint.
fn rollback_request(state: &mut WriteState) {
    if let Err(err) = state
        .conn
        .execute_batch("ROLLBACK TO request; RELEASE request")
    {
        tracing::warn!(error = %err, "could not roll back a write request");
    }
}

/// Undoes the whole group: a request without a savepoint was given up after writing.
fn roll_back_group(state: &mut WriteState) {
    tracing::error!(
        "a write request without a savepoint failed after writing: its commit group is rolled back"
    );
    if let Err(err) = state.conn.execute_batch("ROLLBACK") {
        tracing::warn!(error = %err, "could not roll back a commit group");
    }
    end_group(
        state,
        Err("another request of the same commit failed after writing".into()),
    );
}

/// Runs `work` while this process writes nothing: waits for the write connection (from a thread
/// outside the runtime), commits the group it holds, if any (every request of it is done
/// writing and waits for that commit), and keeps the connection until `work` is done. The
/// checkpointer finishes a checkpoint this way, so that no frame is added to the log while it
/// copies the last ones and the next write starts the log over.
/// Also says how long the writes waited for it (from when it had the connection).
pub(super) fn between_writes<R>(
    state: &Mutex<WriteState>,
    work: impl FnOnce() -> R,
) -> (R, Duration) {
    let mut state = state.blocking_lock();
    let held = Instant::now();
    finish_group(&mut state, &AtomicUsize::new(0));
    let done = work();
    state.released = Some(Instant::now());
    (done, held.elapsed())
}

/// Commits the group when nobody waits to join it or it is full.
fn finish_group(state: &mut WriteState, queued: &AtomicUsize) {
    let Some(group) = state.group.as_ref() else {
        return;
    };
    if queued.load(Ordering::SeqCst) > 0 && group.members < MAX_GROUP {
        return;
    }
    let outcome = if state.conn.is_autocommit() {
        Err("the transaction ended early".to_string())
    } else {
        state.conn.execute_batch("COMMIT").map_err(|err| {
            // Leave no transaction (nor the write lock) behind a commit that failed.
            state.conn.execute_batch("ROLLBACK").ok();
            err.to_string()
        })
    };
    // A group whose every request was refused commits nothing of theirs: not counted.
    if outcome.is_ok() && group.kept > 0 {
        state.load.commits.fetch_add(1, Ordering::Relaxed);
        state
            .load
            .committed_requests
            .fetch_add(group.kept, Ordering::Relaxed);
    }
    end_group(state, outcome);
}

/// Tells the group's requests how it ended; the connection takes no more of them.
fn end_group(state: &mut WriteState, outcome: Result<(), String>) {
    if let Some(group) = state.group.take() {
        group.done.send_replace(Some(outcome));
    }
}

/// `duration` in whole microseconds, for the counters (saturating).
pub(super) fn whole_micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
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

#[cfg(test)]
mod tests {
    use super::super::temp_database::TempDatabase;
    use super::*;

    /// A fresh database file with a table `t`.
    fn database() -> TempDatabase {
        let database = TempDatabase::new("writer");
        database
            .connect()
            .execute_batch("CREATE TABLE t (x INTEGER PRIMARY KEY)")
            .unwrap();
        database
    }

    /// The rows of `t`, as another connection sees them.
    fn rows(database: &TempDatabase) -> Vec<i64> {
        let conn = database.connect();
        let mut statement = conn.prepare("SELECT x FROM t ORDER BY x").unwrap();
        let rows = statement.query_map([], |row| row.get(0)).unwrap();
        rows.map(Result::unwrap).collect()
    }

    fn insert(tx: &mut SqliteTx, x: i64) -> Result<u64, StoreError> {
        tx.execute("INSERT INTO t (x) VALUES ($1)", &[SqlParam::Int(x)])
    }

    /// 200 concurrent requests with `refusals`: request `x` writes through `write(tx, x)`, which
    /// says whether it is kept (committed) or refused (dropped); the `x` that were committed, and
    /// how many transactions they took.
    async fn concurrent_requests(
        writer: &SqliteWriter,
        refusals: Refusals,
        write: fn(&mut SqliteTx, i64) -> bool,
    ) -> (Vec<i64>, u64) {
        let requests: Vec<_> = (0..200)
            .map(|x| {
                let writer = writer.clone();
                tokio::spawn(async move {
                    let mut tx = writer.begin(refusals).await.unwrap();
                    if !write(&mut tx, x) {
                        return false;
                    }
                    tx.commit().await.unwrap();
                    true
                })
            })
            .collect();
        let mut committed = Vec::new();
        for (x, request) in (0..).zip(requests) {
            if request.await.unwrap() {
                committed.push(x);
            }
        }
        (committed, writer.groups.load(Ordering::SeqCst))
    }

    fn assert_conflict(outcome: Result<u64, StoreError>) {
        assert!(
            matches!(outcome, Err(StoreError::Conflict(_))),
            "{outcome:?}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn requests_commit_together_and_a_failed_one_takes_only_itself_back() {
        let database = database();
        let writer = SqliteWriter::open(database.path(), Duration::from_secs(5)).unwrap();
        let (committed, groups) = concurrent_requests(&writer, Refusals::Anytime, |tx, x| {
            insert(tx, x).unwrap();
            // Every third request fails after writing: a conflict on its second row.
            if x % 3 == 0 {
                assert_conflict(insert(tx, x));
                return false;
            }
            true
        })
        .await;
        assert_eq!(rows(&database), committed);
        assert!(
            groups < 200,
            "200 requests took {groups} transactions: none was shared"
        );
        let load = writer.load();
        assert!(
            (1..=groups).contains(&load.commits),
            "{load:?}, {groups} groups"
        );
        assert_eq!(load.committed_requests, committed.len() as u64);
        assert!(load.busy > Duration::ZERO);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn requests_without_savepoints_refused_before_writing_leave_their_group_alone() {
        let database = database();
        database
            .connect()
            .execute_batch("INSERT INTO t (x) VALUES (1000)")
            .unwrap();
        let writer = SqliteWriter::open(database.path(), Duration::from_secs(5)).unwrap();
        let (mut committed, groups) =
            concurrent_requests(&writer, Refusals::BeforeWriting, |tx, x| {
                // Every third request is refused by its first write (a taken key), which SQLite
                // undoes alone.
                if x % 3 == 0 {
                    assert_conflict(insert(tx, 1000));
                    return false;
                }
                insert(tx, x).unwrap();
                true
            })
            .await;
        committed.push(1000);
        assert_eq!(rows(&database), committed);
        assert!(groups < 200);
    }

    #[tokio::test]
    async fn a_hand_over_to_a_waiting_request_is_counted_and_a_free_connection_is_not() {
        let database = database();
        let writer = SqliteWriter::open(database.path(), Duration::from_secs(5)).unwrap();
        let alone = writer.begin(Refusals::Anytime).await.unwrap();
        alone.commit().await.unwrap();
        assert_eq!(writer.load().handoff, Duration::ZERO);
        let first = writer.begin(Refusals::Anytime).await.unwrap();
        let next = tokio::spawn({
            let writer = writer.clone();
            async move { writer.begin(Refusals::Anytime).await.map(drop) }
        });
        while writer.queued.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        let first_commit = tokio::spawn(first.commit());
        next.await.unwrap().unwrap();
        first_commit.await.unwrap().unwrap();
        assert!(writer.load().handoff > Duration::ZERO);
    }

    #[tokio::test]
    async fn a_request_without_savepoint_given_up_after_writing_undoes_its_group() {
        let database = database();
        let writer = SqliteWriter::open(database.path(), Duration::from_secs(5)).unwrap();
        let mut first = writer.begin(Refusals::Anytime).await.unwrap();
        insert(&mut first, 1).unwrap();
        let next = tokio::spawn({
            let writer = writer.clone();
            async move { writer.begin(Refusals::BeforeWriting).await }
        });
        // The first request's commit waits for the one queued behind it to join the group.
        while writer.queued.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        let first_commit = tokio::spawn(first.commit());
        let mut next = next.await.unwrap().unwrap();
        insert(&mut next, 2).unwrap();
        drop(next);
        let outcome = first_commit.await.unwrap();
        assert!(
            matches!(outcome, Err(StoreError::GroupCommit(_))),
            "{outcome:?}"
        );
        assert_eq!(rows(&database), Vec::<i64>::new());
        let mut after = writer.begin(Refusals::BeforeWriting).await.unwrap();
        insert(&mut after, 3).unwrap();
        after.commit().await.unwrap();
        assert_eq!(rows(&database), vec![3]);
    }

    #[tokio::test]
    async fn a_commit_returns_once_another_connection_sees_it() {
        let database = database();
        let writer = SqliteWriter::open(database.path(), Duration::from_secs(5)).unwrap();
        for x in 0..3 {
            let mut tx = writer.begin(Refusals::Anytime).await.unwrap();
            insert(&mut tx, x).unwrap();
            tx.commit().await.unwrap();
            assert_eq!(rows(&database).last(), Some(&x));
        }
    }

    #[tokio::test]
    async fn a_request_dropped_midway_leaves_nothing_and_the_next_one_writes() {
        let database = database();
        let writer = SqliteWriter::open(database.path(), Duration::from_secs(5)).unwrap();
        let mut abandoned = writer.begin(Refusals::Anytime).await.unwrap();
        insert(&mut abandoned, 1).unwrap();
        drop(abandoned);
        let mut next = writer.begin(Refusals::Anytime).await.unwrap();
        insert(&mut next, 2).unwrap();
        next.commit().await.unwrap();
        assert_eq!(rows(&database), vec![2]);
    }
}
