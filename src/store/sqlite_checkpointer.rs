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

use std::path::Path;
use std::sync::Weak;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::StoreError;

/// How soon the next round runs after one that found new pages in the log.
const WHILE_WRITING: Duration = Duration::from_millis(5);
/// How soon the next round runs after one that found the log as it was.
const WHILE_IDLE: Duration = Duration::from_millis(100);
/// The writer's own automatic checkpoint, a backstop should this thread fall behind: 48 MB.
///
/// While writes keep coming this thread's checkpoints rarely catch up with the log's end, so
/// the log is seldom started again and grows until the writer's backstop checkpoints it inline:
/// the commit that passes it copies what is left and syncs the database and the log, and the
/// next one syncs the log's new header, while every write waits (15–33 ms with 4 clients,
/// instrumented, issue #21). At 4,000 pages that was every ~130 ms; at 12,000 it is a third as
/// often, and wrk measured 10–14 % more PATCHes a second and half the p99 (README, Performance).
pub(super) const WRITER_AUTOCHECKPOINT_PAGES: i64 = 12_000;

/// Starts checkpointing the database file at `path` for as long as `alive` can be upgraded (the
/// store's writer lives).
pub(super) fn start<T: Send + Sync + 'static>(
    path: &Path,
    alive: Weak<T>,
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
            while alive.strong_count() > 0 {
                std::thread::sleep(pause);
                // The result row: busy, pages in the log, pages of it now in the database file.
                let round = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
                    row.get::<_, i64>(1)
                });
                pause = match round {
                    Ok(log_pages) if log_pages != last_log_pages => {
                        last_log_pages = log_pages;
                        WHILE_WRITING
                    }
                    Ok(_) => WHILE_IDLE,
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::super::temp_database::TempDatabase;
    use super::*;

    #[test]
    fn committed_pages_reach_the_database_file_without_the_writer_checkpointing() {
        let database = TempDatabase::new("checkpoint");
        let path = database.path();
        let writer = database.connect();
        // Only the checkpointer may copy the log into the file.
        writer.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
        writer.execute_batch("CREATE TABLE t (x TEXT)").unwrap();
        let alive = Arc::new(());
        start(path, Arc::downgrade(&alive)).unwrap();
        let file_size = || std::fs::metadata(path).unwrap().len();
        let before = file_size();
        for _ in 0..20 {
            writer
                .execute_batch(
                    "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 100) \
                     INSERT INTO t SELECT hex(randomblob(500)) FROM s",
                )
                .unwrap();
        }
        let mut grown = false;
        for _ in 0..50 {
            if file_size() > before + 1_000_000 {
                grown = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        drop(alive);
        assert!(grown, "the database file stayed at {before} bytes");
    }
}
