//! The SQLite side: connection options (WAL, foreign keys, busy timeout) and its migrations.

use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::StoreError;
use super::sqlite_reader::SqliteReader;

pub(super) async fn connect(
    url: &str,
) -> Result<(SqlitePool, SqliteReader, SqlitePool), StoreError> {
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|_| StoreError::UnsupportedUrl(url.to_string()))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .foreign_keys(true)
        // NORMAL in WAL mode keeps every commit across a process kill; only an OS crash or power
        // loss can drop the last transactions.
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(10));
    let writer = SqlitePoolOptions::new()
        .max_connections(1)
        .test_before_acquire(false)
        .acquire_timeout(Duration::from_secs(30))
        .connect_with(options.clone())
        .await?;
    let fast_reader = SqliteReader::open(options.get_filename())?;
    // No ping before each use: for SQLite it is one more round trip to the connection's worker
    // thread on every query (a tenth of an indexed lookup), and a local file does not drop
    // connections. sqlx still pings a connection when it goes back to the pool.
    let reader = SqlitePoolOptions::new()
        .max_connections(4)
        .test_before_acquire(false)
        .connect_with(options)
        .await?;
    Ok((writer, fast_reader, reader))
}

pub(super) fn migrator() -> Migrator {
    super::migrator_of(&[
        (
            1,
            "foundation",
            include_str!("../../migrations/sqlite/0001_foundation.sql"),
        ),
        (
            2,
            "groups",
            include_str!("../../migrations/sqlite/0002_groups.sql"),
        ),
        (
            3,
            "roles",
            include_str!("../../migrations/sqlite/0003_roles.sql"),
        ),
        (
            4,
            "folded_documents",
            include_str!("../../migrations/sqlite/0004_folded_documents.sql"),
        ),
        (
            5,
            "sso",
            include_str!("../../migrations/sqlite/0005_sso.sql"),
        ),
    ])
}
