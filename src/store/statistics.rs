//! PostgreSQL's first planner statistics. Without any, PostgreSQL takes `deleted_at IS NULL` to
//! hold for one row in two hundred, so every partial index on live users looks nearly empty, and
//! it walked a whole tenant through one of them for `userName eq` or `GET /Users/{id}`. Worse,
//! sqlx prepares each statement once per connection, and a generic plan PostgreSQL made of it
//! while the tables were empty (an IdP's first sync looks users up before creating any) was kept
//! until the statistics changed (issue #21: 534 instead of 6,022 lookups/s for the first minute
//! after a load, until autovacuum's ANALYZE). The gateway gives each lookup table its first
//! statistics within seconds of its first 50 rows: the ANALYZE also makes every connection plan
//! its cached statements again. After that autovacuum keeps them, and as they are fractions of
//! the table, they stay right as it grows. (Planning every execution with its values instead,
//! `plan_cache_mode = force_custom_plan`, cost 40 % of a lookup's throughput.) SQLite plans with
//! statistics fixed by a migration and needs none of this.

use std::time::Duration;

use sqlx::AssertSqlSafe;

use super::{Pools, Store, StoreError};

/// The tables whose lookups must find their indexes from the first request on.
const LOOKUP_TABLES: [&str; 4] = ["users", "user_emails", "groups", "group_members"];
/// How often tables without statistics are looked for.
const EVERY: Duration = Duration::from_secs(2);
/// Rows a table holds before its first statistics are taken: from one or two rows PostgreSQL
/// would conclude that every value is unique, the tenant's id among them (autovacuum's own
/// threshold is 50 rows too).
const FIRST_ROWS: i64 = 50;

impl Store {
    /// Gives each lookup table its first statistics once it holds `FIRST_ROWS` rows, checking
    /// every few seconds until all have some. Runs beside the server; returns at once on SQLite.
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

    /// ANALYZEs each lookup table that was never analyzed and holds `FIRST_ROWS` rows; returns
    /// how many are still without statistics (those that hold fewer).
    pub(super) async fn analyze_tables_without_statistics(&self) -> Result<usize, StoreError> {
        let Pools::Postgres(pool) = &self.pools else {
            return Ok(0);
        };
        let never_analyzed: Vec<String> = sqlx::query_scalar(
            "SELECT relname::text FROM pg_stat_user_tables WHERE schemaname = current_schema() \
             AND relname = ANY($1) AND last_analyze IS NULL AND last_autoanalyze IS NULL",
        )
        .bind(&LOOKUP_TABLES[..])
        .fetch_all(pool)
        .await?;
        let mut waiting = 0;
        for table in LOOKUP_TABLES
            .iter()
            .filter(|t| never_analyzed.iter().any(|n| n == *t))
        {
            let rows: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
                "SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT {FIRST_ROWS}) AS first_rows"
            )))
            .fetch_one(pool)
            .await?;
            if rows >= FIRST_ROWS {
                sqlx::query(AssertSqlSafe(format!("ANALYZE {table}")))
                    .execute(pool)
                    .await?;
                tracing::info!(table, "gathered the first planner statistics");
            } else {
                waiting += 1;
            }
        }
        Ok(waiting)
    }
}
