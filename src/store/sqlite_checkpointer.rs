//! WAL checkpoints beside the writer: a thread of its own copies committed pages from the
//! write-ahead log into the database file, every 5 ms while writes arrive and every 100 ms
//! otherwise, so that the writer's commits find nothing left to checkpoint.
//!
//! Why: SQLite's writer checkpoints inline, in the commit that takes the log past
//! `wal_autocheckpoint` pages, and that commit (with the group whose answers wait for it) pays
//! for copying and syncing them. With SQLite's default of 1,000 pages and a 100 ms round here,
//! a stream of creates (a few thousand a second, ten pages each) passed 1,000 pages between two
//! rounds: perf showed 10 % of the gateway's samples in checkpoints run by the writer while
//! every other write waited for it (issue #21). So the writer's backstop is raised
//! (`WRITER_AUTOCHECKPOINT_PAGES`) and this thread keeps pace with the writes. A PASSIVE
//! checkpoint takes no lock a writer or reader waits for; it copies what no reader still needs
//! and leaves the rest for the next round. Once it has copied the whole log, the writer's next
//! transaction starts the log again from its beginning, which keeps the log's file small.
//!
//! While writes keep coming, a round never copies the whole log (new frames arrive while it
//! copies), so the log grew to the writer's backstop, whose checkpoint ran inside a commit with
//! every write waiting (below). So once the log passes `START_OVER_PAGES` and a round has copied
//! nearly all of it, the thread copies the rest between two writes (`between_writes`): the
//! writes wait for a few pages and two syncs, and the next one starts the log over.
//!
//! Why the thread syncs the files itself first: SQLite syncs the database file only in a round
//! that copies the whole log, so the round between writes used to flush every page the rounds
//! before it had written since the last start, a whole log's worth, while the writes waited.
//! That made the wait grow with the log (2–6 ms at 2,000 pages, instrumented, issue #21) and
//! forced a small log, so the wait came often. Flushed beforehand, with the writes going on,
//! the round between writes syncs only what came in the last moments, whatever the log's size.
//! It syncs through SQLite's own file handles (`sync_files` says why no other way is safe).

use std::ffi::c_int;
use std::path::Path;
use std::ptr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, ffi};
use tokio::sync::Mutex;

use super::sqlite_writer::{WriteState, between_writes, whole_micros};
use super::{LogState, StoreError};

/// How soon the next round runs after one that found new pages in the log.
const WHILE_WRITING: Duration = Duration::from_millis(5);
/// How soon the next round runs after one that found the log as it was.
const WHILE_IDLE: Duration = Duration::from_millis(100);
/// The writer's own automatic checkpoint, a backstop should this thread fall behind: 384 MB.
///
/// While writes keep coming this thread's rounds rarely catch up with the log's end, so before
/// `START_OVER_PAGES` the log was seldom started again and grew until this backstop checkpointed
/// it inline: the commit that passes it copies what is left and syncs the database and the log,
/// and the next one syncs the log's new header, while every write waits (15–33 ms with 4 clients,
/// instrumented, issue #21).
pub(super) const WRITER_AUTOCHECKPOINT_PAGES: i64 = 3 * START_OVER_PAGES;
/// The log's size (128 MB) from which the thread makes it start over. Each start over makes the
/// writes wait 3–4 ms (two syncs under load); a larger log is fewer waits. Before the thread
/// synced the files first the wait grew with the log and 2,000 pages was best (README,
/// Performance); with the sync, 8,000 pages made the waits a quarter as frequent at the same
/// length, and wrk measured the p99 of a PATCH at 2.9–3.3 ms against 7.3–7.6 ms with 4
/// clients, and 7.1–7.3 against 10.6–11.3 with 32; 16,000 pages measured alike then. Once the
/// rest of a write had become cheaper, 32,000 pages (a quarter of the waits again, each about
/// as long) cut the p99 of a PATCH to 1.8–2.1 ms from 2.7 with 4 clients, and to 5.7–6.2 from
/// 7.2–7.7 with 32 (session 21); 64,000 measured alike. Without any wait at all the p99 of a
/// PATCH with 4 clients was 1.6–1.7 ms: the waits left are a small part of the tail.
const START_OVER_PAGES: i64 = 32_000;
/// The most pages a round may leave behind for the thread to copy the rest between writes.
const LEFT_BEHIND_PAGES: i64 = 256;

/// What the checkpoint thread has seen, for `/metrics`: the log's size at its last round, and how
/// often and how long it held the writes to copy the log's last pages (so that it starts over).
#[derive(Debug, Default)]
pub(super) struct LogCounters {
    pages: AtomicU64,
    pauses: AtomicU64,
    paused_micros: AtomicU64,
}

impl LogCounters {
    pub(super) fn state(&self) -> LogState {
        LogState {
            pages: self.pages.load(Ordering::Relaxed),
            pauses: self.pauses.load(Ordering::Relaxed),
            writes_paused: Duration::from_micros(self.paused_micros.load(Ordering::Relaxed)),
        }
    }

    fn round(&self, log_pages: i64) {
        self.pages
            .store(u64::try_from(log_pages).unwrap_or(0), Ordering::Relaxed);
    }

    fn paused(&self, held: Duration) {
        self.pauses.fetch_add(1, Ordering::Relaxed);
        let micros = whole_micros(held);
        self.paused_micros.fetch_add(micros, Ordering::Relaxed);
    }
}

/// Starts checkpointing the database file at `path` for as long as the store's writer (`writer`)
/// lives, telling `counters` what it sees.
pub(super) fn start(
    path: &Path,
    writer: Weak<Mutex<WriteState>>,
    counters: Arc<LogCounters>,
) -> Result<(), StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(StoreError::Sqlite)?;
    std::thread::Builder::new()
        .name("sqlite-checkpoint".into())
        .spawn(move || {
            let mut last_log_pages = 0;
            let mut pause = WHILE_IDLE;
            while writer.strong_count() > 0 {
                std::thread::sleep(pause);
                let mut round = checkpoint(&conn);
                if let Ok((log_pages, copied)) = round
                    && log_pages >= START_OVER_PAGES
                    && log_pages - copied <= LEFT_BEHIND_PAGES
                    && let Some(writer) = writer.upgrade()
                {
                    sync_files(&conn);
                    let (copied_between_writes, held) =
                        between_writes(&writer, || checkpoint(&conn));
                    counters.paused(held);
                    round = copied_between_writes;
                }
                pause = match round.map(|(log_pages, _)| log_pages) {
                    Ok(log_pages) => {
                        counters.round(log_pages);
                        if log_pages == last_log_pages {
                            WHILE_IDLE
                        } else {
                            last_log_pages = log_pages;
                            WHILE_WRITING
                        }
                    }
                    Err(err) => {
                        tracing::debug!(error = %err, "a WAL checkpoint did not run");
                        WHILE_IDLE
                    }
                };
            }
        })
        .map_err(|err| StoreError::Corrupt(format!("could not start the checkpointer: {err}")))?;
    Ok(())
}

/// Flushes the pages written to the database file and the log to the disk, through `conn`'s own
/// file handles (a failure is left for SQLite's own sync to report).
///
/// Never through a file this process opens and closes itself: closing any descriptor of the
/// database file drops every POSIX lock the process holds on it, SQLite's included. Another
/// program that closed the database afterwards (a `sqlite3` shell or script run beside `serve`)
/// then found itself alone, checkpointed and deleted the log the server was writing to: its
/// commits since went to a deleted file (found in session 19, issue #21; SQLite's "How To
/// Corrupt An SQLite Database File", §2.2).
fn sync_files(conn: &Connection) {
    for (file, which) in [
        (ffi::SQLITE_FCNTL_FILE_POINTER, "database"),
        (ffi::SQLITE_FCNTL_JOURNAL_POINTER, "log"),
    ] {
        let rc = sqlite_file_sync(conn, file);
        if rc != ffi::SQLITE_OK {
            tracing::debug!(code = rc, file = which, "could not sync");
        }
    }
}

/// Syncs the file `file_pointer` (`SQLITE_FCNTL_FILE_POINTER` or `…_JOURNAL_POINTER`) names of
/// `conn`'s main database with SQLite's own `xSync`; SQLite's result code.
fn sqlite_file_sync(conn: &Connection, file_pointer: c_int) -> c_int {
    let mut file: *mut ffi::sqlite3_file = ptr::null_mut();
    // SAFETY: `conn` is open and used by this thread alone; the file control writes one pointer
    // into `file` (SQLite's `sqlite3_file` for the database or its log, owned by `conn`).
    let rc = unsafe {
        ffi::sqlite3_file_control(
            conn.handle(),
            c"main".as_ptr(),
            file_pointer,
            (&raw mut file).cast(),
        )
    };
    if rc != ffi::SQLITE_OK || file.is_null() {
        return rc;
    }
    // SAFETY: `file` points at a `sqlite3_file` that lives as long as `conn`; its methods are
    // null until the file is opened (the log before the first read), and no statement of `conn`
    // runs meanwhile, so nothing else uses the file while it syncs.
    unsafe {
        let methods = (*file).pMethods;
        match methods.as_ref().and_then(|methods| methods.xSync) {
            Some(sync) => sync(file, ffi::SQLITE_SYNC_NORMAL),
            None => ffi::SQLITE_OK,
        }
    }
}

/// A PASSIVE checkpoint: the pages in the log, and how many of them are now in the database file.
fn checkpoint(conn: &Connection) -> rusqlite::Result<(i64, i64)> {
    // The result row: busy, pages in the log, pages of it now in the database file.
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
        Ok((row.get::<_, i64>(1)?, row.get::<_, i64>(2)?))
    })
}

#[cfg(test)]
mod tests {
    use super::super::SqlParam;
    use super::super::sqlite_writer::{Refusals, SqliteWriter};
    use super::super::temp_database::TempDatabase;
    use super::*;
    use std::path::PathBuf;

    /// The write-ahead log of the database file at `path`.
    fn wal_path(path: &Path) -> PathBuf {
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        wal.into()
    }

    /// A database with a table `t` and its writer (which starts the checkpointer).
    fn writer_of(database: &TempDatabase) -> SqliteWriter {
        database
            .connect()
            .execute_batch("CREATE TABLE t (x INTEGER PRIMARY KEY, b BLOB)")
            .unwrap();
        SqliteWriter::open(database.path(), Duration::from_secs(5)).unwrap()
    }

    /// Commits `requests` write requests one after the other, each a row of `bytes`; each also
    /// counts to `busy` first, holding the write connection that long without writing.
    async fn write(writer: &SqliteWriter, requests: i64, bytes: i64, busy: i64) {
        for _ in 0..requests {
            let mut tx = writer.begin(Refusals::Anytime).await.unwrap();
            tx.execute(
                "INSERT INTO t (b) SELECT randomblob($1) FROM (WITH RECURSIVE c(n) AS \
                 (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < $2) SELECT max(n) FROM c)",
                &[SqlParam::Int(bytes), SqlParam::Int(busy)],
            )
            .unwrap();
            tx.commit().await.unwrap();
        }
    }

    #[tokio::test]
    async fn committed_pages_reach_the_database_file_without_the_writer_checkpointing() {
        let database = TempDatabase::new("checkpoint");
        let path = database.path();
        let writer = writer_of(&database);
        let file_size = || std::fs::metadata(path).unwrap().len();
        let before = file_size();
        // 2 MB: far below the writer's own checkpoint (`WRITER_AUTOCHECKPOINT_PAGES`).
        write(&writer, 2_000, 1_000, 1).await;
        let mut grown = false;
        for _ in 0..50 {
            if file_size() > before + 1_000_000 {
                grown = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(grown, "the database file stayed at {before} bytes");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_log_starts_over_while_writes_keep_coming() {
        let database = TempDatabase::new("start-over");
        let writer = writer_of(&database);
        // A page of its own per row: about three pages in the log per request, 1.25 times
        // `START_OVER_PAGES` in all and short of the writer's own checkpoint; each request keeps
        // the connection a while, so that the writes come without a pause for seconds (a pause
        // would let a round catch up with the log by itself).
        write(&writer, START_OVER_PAGES * 5 / 12, 3_500, 3_000).await;
        let told = writer.log_state();
        assert!(
            told.pauses > 0 && told.writes_paused > Duration::ZERO && told.pages > 0,
            "{told:?}"
        );
        let header = std::fs::read(wal_path(database.path())).unwrap();
        // The WAL header's checkpoint sequence number counts the times the log started over.
        let starts_over = header
            .get(12..16)
            .map(|n| u32::from_be_bytes([n[0], n[1], n[2], n[3]]))
            .unwrap();
        assert!(starts_over > 0, "the log never started over");
    }
}
