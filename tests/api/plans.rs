//! The shapes of SQL the filter compiler writes for prefix searches (`sw`: a byte-order range,
//! see `filter_sql::text_comparison`) are served by the key columns' indexes on each engine, so
//! the users table's search and `userName sw` never read a whole tenant.

use sqlx::{AssertSqlSafe, Connection, Executor};

use crate::helpers::{TENANT, spawn_app};

/// `column` between a prefix and its upper bound, as the compiler writes it for the engine.
fn prefix_range(postgres: bool, tenant_id: &str, table: &str, column: &str) -> String {
    let collate = if postgres { " COLLATE \"C\"" } else { "" };
    let live = if table == "users" {
        " AND deleted_at IS NULL"
    } else {
        ""
    };
    format!(
        "SELECT 1 FROM {table} WHERE tenant_id = '{tenant_id}' AND {column}{collate} >= 'u-0042' \
         AND {column}{collate} < 'u-0043'{live}"
    )
}

const CASES: [(&str, &str, &str); 3] = [
    ("users", "user_name_key", "users_tenant_user_name_key"),
    ("users", "display_name_key", "users_tenant_display_name_idx"),
    ("user_emails", "value_key", "user_emails_lookup_idx"),
];

/// Five thousand users with an email each, so that the planner weighs the indexes for real.
const POPULATION: &str = "\
    INSERT INTO users (id, tenant_id, user_name, user_name_key, display_name, display_name_key, status, doc, \
      version, created_at, modified_at) \
    SELECT 'p' || g, '{tenant}', 'u-' || g, 'u-' || g, 'u-' || g, 'u-' || g, 'invited', '{{}}', 1, 0, 0 \
    FROM generate_series(1, 5000) AS g; \
    INSERT INTO user_emails (user_id, tenant_id, position, value, value_key, is_primary) \
    SELECT 'p' || g, '{tenant}', 0, 'u-' || g, 'u-' || g, true FROM generate_series(1, 5000) AS g; \
    ANALYZE users; ANALYZE user_emails;";

#[tokio::test]
async fn prefix_searches_use_the_key_indexes() {
    let app = spawn_app().await;
    let tenant_id = app
        .store
        .tenant_by_slug(TENANT)
        .await
        .unwrap()
        .unwrap()
        .id
        .to_string();
    for (table, column, index) in CASES {
        let postgres = app.database_url.starts_with("postgres");
        let sql = prefix_range(postgres, &tenant_id, table, column);
        let plan = if postgres {
            let mut conn = sqlx::PgConnection::connect(&app.database_url)
                .await
                .unwrap();
            let mut tx = conn.begin().await.unwrap();
            tx.execute(AssertSqlSafe(
                POPULATION
                    .replace("{tenant}", &tenant_id)
                    .replace("{{}}", "{}"),
            ))
            .await
            .unwrap();
            let rows: Vec<String> = sqlx::query_scalar(AssertSqlSafe(format!("EXPLAIN {sql}")))
                .fetch_all(&mut *tx)
                .await
                .unwrap();
            tx.rollback().await.unwrap();
            rows.join("\n")
        } else {
            let mut conn = sqlx::SqliteConnection::connect(&app.database_url)
                .await
                .unwrap();
            let rows: Vec<(i64, i64, i64, String)> =
                sqlx::query_as(AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")))
                    .fetch_all(&mut conn)
                    .await
                    .unwrap();
            rows.into_iter().map(|r| r.3).collect::<Vec<_>>().join("\n")
        };
        // PostgreSQL names the range in the index condition; SQLite in the SEARCH line.
        let served = if postgres {
            plan.contains(index) && plan.contains(&format!("({column} >= "))
        } else {
            plan.contains("SEARCH") && plan.contains(index) && plan.contains(&format!("{column}>?"))
        };
        assert!(served, "{table}.{column}: {plan}");
    }
}
