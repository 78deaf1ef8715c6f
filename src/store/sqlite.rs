//! The SQLite side: the writer's connection options (WAL, foreign keys, busy timeout), the
//! readers, and the migrations.

use std::str::FromStr;

use sqlx::SqlitePool;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::sqlite_reader::SqliteReader;
use super::sqlite_writer::SqliteWriter;
use super::{PoolOptions, StoreError};

pub(super) async fn connect(
    url: &str,
    pool: PoolOptions,
) -> Result<(SqlitePool, SqliteWriter, SqliteReader), StoreError> {
    // Before SQLite's first connection of the process, which fixes its page cache.
    super::sqlite_page_cache::install();
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|_| StoreError::UnsupportedUrl(url.to_string()))?;
    // Readers open the file by name; an in-memory database would be a new one for each.
    if options.get_filename() == std::path::Path::new(":memory:") {
        return Err(StoreError::UnsupportedUrl(url.to_string()));
    }
    let options = options
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .foreign_keys(true)
        // NORMAL in WAL mode keeps every commit across a process kill; only an OS crash or power
        // loss can drop the last transactions.
        .synchronous(SqliteSynchronous::Normal)
        // Another process's write lock is waited for as long as this process's writer is.
        .busy_timeout(pool.acquire_timeout);
    // Migrations run on this pool; it creates the file and switches it to WAL.
    let migrations = SqlitePoolOptions::new()
        .max_connections(1)
        .test_before_acquire(false)
        .acquire_timeout(pool.acquire_timeout)
        .connect_with(options.clone())
        .await?;
    let writer = SqliteWriter::open(options.get_filename(), pool.acquire_timeout)?;
    let reader = SqliteReader::open(options.get_filename())?;
    Ok((migrations, writer, reader))
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
        (
            6,
            "read_indexes",
            include_str!("../../migrations/sqlite/0006_read_indexes.sql"),
        ),
        (
            7,
            "admin",
            include_str!("../../migrations/sqlite/0007_admin.sql"),
        ),
        (
            8,
            "admin_reads",
            include_str!("../../migrations/sqlite/0008_admin_reads.sql"),
        ),
        (
            9,
            "admin_suspension",
            include_str!("../../migrations/sqlite/0009_admin_suspension.sql"),
        ),
        (
            10,
            "tombstone_index",
            include_str!("../../migrations/sqlite/0010_tombstone_index.sql"),
        ),
        (
            11,
            "audit_scim_type",
            include_str!("../../migrations/sqlite/0011_audit_scim_type.sql"),
        ),
        (
            12,
            "sync_counter_trigger",
            include_str!("../../migrations/sqlite/0012_sync_counter_trigger.sql"),
        ),
        (
            13,
            "admin_user_filters",
            include_str!("../../migrations/sqlite/0013_admin_user_filters.sql"),
        ),
        (
            14,
            "tolerance_counters",
            include_str!("../../migrations/sqlite/0014_tolerance_counters.sql"),
        ),
        (
            15,
            "audit_rowid",
            include_str!("../../migrations/sqlite/0015_audit_rowid.sql"),
        ),
        (
            16,
            "events",
            include_str!("../../migrations/sqlite/0016_events.sql"),
        ),
        (
            17,
            "byte_order_keys",
            include_str!("../../migrations/sqlite/0017_byte_order_keys.sql"),
        ),
        (
            18,
            "webhook_endpoints",
            include_str!("../../migrations/sqlite/0018_webhook_endpoints.sql"),
        ),
        (
            19,
            "webhook_delivery",
            include_str!("../../migrations/sqlite/0019_webhook_delivery.sql"),
        ),
        (
            20,
            "events_global_order",
            include_str!("../../migrations/sqlite/0020_events_global_order.sql"),
        ),
        (
            21,
            "page_sessions",
            include_str!("../../migrations/sqlite/0021_page_sessions.sql"),
        ),
        (
            22,
            "invitations",
            include_str!("../../migrations/sqlite/0022_invitations.sql"),
        ),
        (
            23,
            "import_jobs",
            include_str!("../../migrations/sqlite/0023_import_jobs.sql"),
        ),
        (
            24,
            "fixed_planner_statistics",
            include_str!("../../migrations/sqlite/0024_fixed_planner_statistics.sql"),
        ),
        (
            25,
            "rate_limits",
            include_str!("../../migrations/sqlite/0025_rate_limits.sql"),
        ),
        (
            26,
            "role_assignable",
            include_str!("../../migrations/sqlite/0026_role_assignable.sql"),
        ),
        (
            27,
            "user_type_and_template_roles",
            include_str!("../../migrations/sqlite/0027_user_type_and_template_roles.sql"),
        ),
        (
            28,
            "tenant_user_counts",
            include_str!("../../migrations/sqlite/0028_tenant_user_counts.sql"),
        ),
        (
            29,
            "agencies",
            include_str!("../../migrations/sqlite/0029_agencies.sql"),
        ),
        (
            30,
            "seat_quotas",
            include_str!("../../migrations/sqlite/0030_seat_quotas.sql"),
        ),
        (
            31,
            "fewer_indexes_per_create",
            include_str!("../../migrations/sqlite/0031_fewer_indexes_per_create.sql"),
        ),
        (
            32,
            "sync_counts_by_the_store",
            include_str!("../../migrations/sqlite/0032_sync_counts_by_the_store.sql"),
        ),
    ])
}
