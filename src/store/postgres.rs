//! The PostgreSQL side: pool options and its migrations.

use std::str::FromStr;

use sqlx::PgPool;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::{PoolOptions, StoreError};

pub(super) async fn connect(url: &str, options: PoolOptions) -> Result<PgPool, StoreError> {
    let connect = PgConnectOptions::from_str(url)
        .map_err(|_| StoreError::UnsupportedUrl(url.to_string()))?
        // sqlx prepares each statement once per connection, and after five executions PostgreSQL
        // may keep one generic plan for it. Made while a tenant's tables were empty (an IdP's
        // first sync looks users up before creating them), such a plan walked the whole tenant in
        // some index's order for `userName eq` and `GET /Users/{id}` until the connection ended
        // (issue #21: 534 instead of 6,022 lookups/s). Planned with its values every time, each
        // statement takes the index its values call for.
        .options([("plan_cache_mode", "force_custom_plan")]);
    Ok(PgPoolOptions::new()
        .max_connections(options.max_connections.max(1))
        .acquire_timeout(options.acquire_timeout)
        .connect_with(connect)
        .await?)
}

pub(super) fn migrator() -> Migrator {
    super::migrator_of(&[
        (
            1,
            "foundation",
            include_str!("../../migrations/postgres/0001_foundation.sql"),
        ),
        (
            2,
            "groups",
            include_str!("../../migrations/postgres/0002_groups.sql"),
        ),
        (
            3,
            "roles",
            include_str!("../../migrations/postgres/0003_roles.sql"),
        ),
        (
            4,
            "folded_documents",
            include_str!("../../migrations/postgres/0004_folded_documents.sql"),
        ),
        (
            5,
            "sso",
            include_str!("../../migrations/postgres/0005_sso.sql"),
        ),
        (
            6,
            "read_indexes",
            include_str!("../../migrations/postgres/0006_read_indexes.sql"),
        ),
        (
            7,
            "admin",
            include_str!("../../migrations/postgres/0007_admin.sql"),
        ),
        (
            8,
            "admin_reads",
            include_str!("../../migrations/postgres/0008_admin_reads.sql"),
        ),
        (
            9,
            "admin_suspension",
            include_str!("../../migrations/postgres/0009_admin_suspension.sql"),
        ),
        (
            10,
            "tombstone_index",
            include_str!("../../migrations/postgres/0010_tombstone_index.sql"),
        ),
        (
            11,
            "audit_scim_type",
            include_str!("../../migrations/postgres/0011_audit_scim_type.sql"),
        ),
        (
            12,
            "sync_counter_trigger",
            include_str!("../../migrations/postgres/0012_sync_counter_trigger.sql"),
        ),
        (
            13,
            "admin_user_filters",
            include_str!("../../migrations/postgres/0013_admin_user_filters.sql"),
        ),
        (
            14,
            "tolerance_counters",
            include_str!("../../migrations/postgres/0014_tolerance_counters.sql"),
        ),
        (
            15,
            "audit_rowid",
            include_str!("../../migrations/postgres/0015_audit_rowid.sql"),
        ),
        (
            16,
            "events",
            include_str!("../../migrations/postgres/0016_events.sql"),
        ),
        (
            17,
            "byte_order_keys",
            include_str!("../../migrations/postgres/0017_byte_order_keys.sql"),
        ),
        (
            18,
            "webhook_endpoints",
            include_str!("../../migrations/postgres/0018_webhook_endpoints.sql"),
        ),
        (
            19,
            "webhook_delivery",
            include_str!("../../migrations/postgres/0019_webhook_delivery.sql"),
        ),
        (
            20,
            "events_global_order",
            include_str!("../../migrations/postgres/0020_events_global_order.sql"),
        ),
        (
            21,
            "page_sessions",
            include_str!("../../migrations/postgres/0021_page_sessions.sql"),
        ),
        (
            22,
            "invitations",
            include_str!("../../migrations/postgres/0022_invitations.sql"),
        ),
        (
            23,
            "import_jobs",
            include_str!("../../migrations/postgres/0023_import_jobs.sql"),
        ),
        (
            24,
            "fixed_planner_statistics",
            include_str!("../../migrations/postgres/0024_fixed_planner_statistics.sql"),
        ),
    ])
}
