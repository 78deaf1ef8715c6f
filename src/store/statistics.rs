//! PostgreSQL's first planner statistics. Without any, PostgreSQL takes `deleted_at IS NULL` to
//! hold for one row in two hundred, so every partial index on live users looks nearly empty, and
//! it walked a whole tenant through one of them for `userName eq` or `GET /Users/{id}`. Worse,
//! sqlx prepares each statement once per connection, and a generic plan PostgreSQL made of it
//! while the tables were empty (an IdP's first sync looks users up before creating any) was kept
//! until the statistics changed (issue #21: 534 instead of 6,022 lookups/s for the first minute
//! after a load, until autovacuum's ANALYZE). The gateway gives each lookup table its first
//! statistics as soon as it holds rows: the ANALYZE also makes every connection plan its cached
//! statements again. After that autovacuum keeps them, and as they are fractions of the table,
//! they stay right as it grows. (Planning every execution with its values instead,
//! `plan_cache_mode = force_custom_plan`, cost 40 % of a lookup's throughput.) SQLite plans with
//! statistics fixed by a migration and needs none of this.

use std::time::Duration;

use sqlx::AssertSqlSafe;

use super::{Pools, Store, StoreError};

/// The tables whose lookups must find their indexes from the first request on.
const LOOKUP_TABLES: [&str; 4] = ["users", "user_emails", "groups", "group_members"];
/// How often tables without statistics are looked for.
const EVERY: Duration = Duration::from_secs(2);

impl Store {
    /// Gives each lookup table its first statistics once it holds rows, checking every few
    /// seconds until all have some. Runs beside the server; returns at once on SQLite.
    pub async fn gather_first_statistics(self) {
        if !matches!(self.pools, Pools::Postgres(_)) {
            return;
        }
        loop {
            match self.analyze_tables_without_statistics().await {
                Ok(0) => return,
                Ok(_) => {}
                Err(err) => tracing::warn!(error = %err, "could not gather planner statistics"),
            }
            tokio::time::sleep(EVERY).await;
        }
    }

    /// ANALYZEs each lookup table that holds rows but has no statistics; returns how many are
    /// still without (those that are empty).
    pub(super) async fn analyze_tables_without_statistics(&self) -> Result<usize, StoreError> {
        let Pools::Postgres(pool) = &self.pools else {
            return Ok(0);
        };
        let missing: Vec<String> = sqlx::query_scalar(
            "SELECT t.name FROM unnest($1::text[]) AS t(name) WHERE NOT EXISTS \
             (SELECT 1 FROM pg_stats s WHERE s.schemaname = current_schema() AND s.tablename = t.name)",
        )
        .bind(&LOOKUP_TABLES[..])
        .fetch_all(pool)
        .await?;
        let mut empty = 0;
        for table in LOOKUP_TABLES
            .iter()
            .filter(|t| missing.iter().any(|m| m == *t))
        {
            let has_rows: bool = sqlx::query_scalar(AssertSqlSafe(format!(
                "SELECT EXISTS (SELECT 1 FROM {table})"
            )))
            .fetch_one(pool)
            .await?;
            if has_rows {
                sqlx::query(AssertSqlSafe(format!("ANALYZE {table}")))
                    .execute(pool)
                    .await?;
                tracing::info!(table, "gathered the first planner statistics");
            } else {
                empty += 1;
            }
        }
        Ok(empty)
    }
}
