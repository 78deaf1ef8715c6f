//! The PostgreSQL side: pool options and its migrations.

use std::time::Duration;

use sqlx::PgPool;
use sqlx::migrate::Migrator;
use sqlx::postgres::PgPoolOptions;

use super::StoreError;

pub(super) async fn connect(url: &str) -> Result<PgPool, StoreError> {
    Ok(PgPoolOptions::new()
        .max_connections(10)
        .acquire_timeout(Duration::from_secs(30))
        .connect(url)
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
    ])
}
