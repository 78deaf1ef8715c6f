//! WAL checkpoints beside the writer: a thread of its own copies committed pages from the
//! write-ahead log into the database file every 100 ms, so that the writer's commits find
//! little or nothing left to checkpoint.
//!
//! Why: SQLite's writer checkpoints inline, in the commit that takes the log past 1,000 pages,
//! and that commit (with the group whose answers wait for it) pays for copying and syncing
//! them: the p99 of creates and PATCHes in the benchmark was 6–11× their p50 (issue #21). A
//! PASSIVE checkpoint takes no lock a writer or reader waits for; it copies what no reader still
//! needs and leaves the rest for the next round. The writer's own automatic checkpoint stays as
//! the backstop should this thread fall behind.

use std::path::Path;
use std::sync::Weak;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::StoreError;

/// How often the log is copied into the database file.
const EVERY: Duration = Duration::from_millis(100);

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
            while alive.strong_count() > 0 {
                std::thread::sleep(EVERY);
                if let Err(err) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                    tracing::debug!(error = %err, "a WAL checkpoint did not run");
                }
            }
        })
        .map_err(|err| StoreError::Corrupt(format!("could not start the checkpointer: {err}")))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn committed_pages_reach_the_database_file_without_the_writer_checkpointing() {
        let path = std::env::temp_dir().join(format!("checkpoint-{}.db", uuid::Uuid::new_v4()));
        let writer = Connection::open(&path).unwrap();
        writer.pragma_update(None, "journal_mode", "wal").unwrap();
        // Only the checkpointer may copy the log into the file.
        writer.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
        writer.execute_batch("CREATE TABLE t (x TEXT)").unwrap();
        let alive = Arc::new(());
        start(&path, Arc::downgrade(&alive)).unwrap();
        let file_size = || std::fs::metadata(&path).unwrap().len();
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
        for suffix in ["", "-wal", "-shm"] {
            let mut file = path.clone().into_os_string();
            file.push(suffix);
            std::fs::remove_file(file).ok();
        }
        assert!(grown, "the database file stayed at {before} bytes");
    }
}
