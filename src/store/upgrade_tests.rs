//! Migrations applied to a database that already holds data, on the engine `TEST_DATABASE_URL`
//! names (SQLite in memory without it): what a running installation meets on upgrade.

use sqlx::migrate::Migrator;
use sqlx::{AssertSqlSafe, Connection, Executor};

/// The migrations up to `version`, of this engine.
fn migrations_up_to(all: Migrator, version: i64) -> Migrator {
    Migrator::with_migrations(
        all.iter()
            .filter(|m| m.version <= version)
            .cloned()
            .collect(),
    )
}

const TENANT_AND_USERS: &str = "\
    INSERT INTO tenants (id, slug, display_name, immutable_attributes, created_at, updated_at) VALUES ('t1', 'acme', 'Acme', '[]', 0, 0);
    INSERT INTO users (id, tenant_id, user_name, user_name_key, status, doc, version, created_at, modified_at) VALUES
      ('u1', 't1', 'plain', 'plain', 'invited', '{\"roles\":[{\"value\":\"Agent\"},{\"value\":\"agent\"}]}', 1, 0, 0),
      ('u2', 't1', 'entra', 'entra', 'invited', '{\"roles\":[{\"value\":\"{\\\"id\\\":\\\"1\\\",\\\"value\\\":\\\"Supervisor\\\"}\"}]}', 1, 0, 0),
      ('u3', 't1', 'odd', 'odd', 'invited', '{\"roles\":{\"value\":\"Agent\"}}', 1, 0, 0),
      ('u4', 't1', 'number', 'number', 'invited', '{\"roles\":[{\"value\":\"42\"},{\"value\":7}]}', 1, 0, 0);";

const ROLE_VALUES: &str =
    "SELECT user_id, value_key FROM user_role_values ORDER BY user_id, value_key";

fn expected() -> Vec<(String, String)> {
    [("u1", "agent"), ("u2", "supervisor"), ("u4", "42")]
        .map(|(u, v)| (u.to_string(), v.to_string()))
        .to_vec()
}

#[tokio::test]
async fn migration_13_indexes_the_role_values_of_users_already_stored() {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if url.starts_with("postgres") => {
            let schema = format!("upgrade_{}", uuid::Uuid::new_v4().simple());
            let mut admin = sqlx::PgConnection::connect(&url).await.unwrap();
            admin
                .execute(AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
                .await
                .unwrap();
            let sep = if url.contains('?') { '&' } else { '?' };
            let url = format!("{url}{sep}options=-c%20search_path%3D{schema}");
            let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
            migrations_up_to(super::postgres::migrator(), 12)
                .run(&mut conn)
                .await
                .unwrap();
            conn.execute(TENANT_AND_USERS).await.unwrap();
            super::postgres::migrator().run(&mut conn).await.unwrap();
            let rows: Vec<(String, String)> = sqlx::query_as(ROLE_VALUES)
                .fetch_all(&mut conn)
                .await
                .unwrap();
            assert_eq!(rows, expected());
        }
        _ => {
            let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:")
                .await
                .unwrap();
            migrations_up_to(super::sqlite::migrator(), 12)
                .run(&mut conn)
                .await
                .unwrap();
            conn.execute(TENANT_AND_USERS).await.unwrap();
            super::sqlite::migrator().run(&mut conn).await.unwrap();
            let rows: Vec<(String, String)> = sqlx::query_as(ROLE_VALUES)
                .fetch_all(&mut conn)
                .await
                .unwrap();
            assert_eq!(rows, expected());
        }
    }
}
