//! The PostgreSQL side: pool options and its migrations.

use std::time::Duration;

use sqlx::PgPool;
use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};
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
    Migrator::with_migrations(vec![Migration::new(
        1,
        "foundation".into(),
        MigrationType::Simple,
        include_str!("../../migrations/postgres/0001_foundation.sql").into_sql_str(),
        false,
    )])
}
