//! Migrations applied to a database that already holds data, on the engine `TEST_DATABASE_URL`
//! names (SQLite in memory without it): what a running installation meets on upgrade.

use sqlx::migrate::Migrator;
use sqlx::{AssertSqlSafe, Connection, Executor};

/// A URL of the PostgreSQL server at `url` whose connections work in a new, empty schema.
pub(super) async fn fresh_postgres_schema(url: &str, prefix: &str) -> String {
    let schema = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(url).await.unwrap();
    admin
        .execute(AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .await
        .unwrap();
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-c%20search_path%3D{schema}")
}

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

/// A connection to a fresh database of the engine under test, holding the migrations up to
/// `version`, with `seed` run in it, then migrated to the last version.
async fn upgraded(version: i64, seed: &str) -> Upgraded {
    upgraded_through(version, seed, i64::MAX).await
}

/// As `upgraded`, migrated on to version `last` only.
async fn upgraded_through(version: i64, seed: &str, last: i64) -> Upgraded {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if url.starts_with("postgres") => {
            let url = fresh_postgres_schema(&url, "upgrade").await;
            let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
            migrations_up_to(super::postgres::migrator(), version)
                .run(&mut conn)
                .await
                .unwrap();
            conn.execute(AssertSqlSafe(seed.to_string())).await.unwrap();
            migrations_up_to(super::postgres::migrator(), last)
                .run(&mut conn)
                .await
                .unwrap();
            Upgraded::Postgres(conn)
        }
        _ => {
            let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:")
                .await
                .unwrap();
            migrations_up_to(super::sqlite::migrator(), version)
                .run(&mut conn)
                .await
                .unwrap();
            conn.execute(AssertSqlSafe(seed.to_string())).await.unwrap();
            migrations_up_to(super::sqlite::migrator(), last)
                .run(&mut conn)
                .await
                .unwrap();
            Upgraded::Sqlite(conn)
        }
    }
}

enum Upgraded {
    Postgres(sqlx::PgConnection),
    Sqlite(sqlx::SqliteConnection),
}

impl Upgraded {
    async fn execute(&mut self, sql: &str) {
        match self {
            Upgraded::Postgres(c) => c.execute(AssertSqlSafe(sql.to_string())).await.map(drop),
            Upgraded::Sqlite(c) => c.execute(AssertSqlSafe(sql.to_string())).await.map(drop),
        }
        .unwrap();
    }

    /// Rows of two columns, as text.
    async fn pairs(&mut self, sql: &str) -> Vec<(String, String)> {
        match self {
            Upgraded::Postgres(c) => sqlx::query_as(AssertSqlSafe(sql.to_string()))
                .fetch_all(c)
                .await
                .unwrap(),
            Upgraded::Sqlite(c) => sqlx::query_as(AssertSqlSafe(sql.to_string()))
                .fetch_all(c)
                .await
                .unwrap(),
        }
    }
}

#[tokio::test]
async fn migration_13_indexes_the_role_values_of_users_already_stored() {
    let mut db = upgraded(12, TENANT_AND_USERS).await;
    assert_eq!(db.pairs(ROLE_VALUES).await, expected());
}

const TRAIL: &str = "\
    INSERT INTO tenants (id, slug, display_name, immutable_attributes, created_at, updated_at) VALUES ('t1', 'acme', 'Acme', '[]', 0, 0);
    INSERT INTO directory_connections (id, tenant_id, name, created_at) VALUES ('c1', 't1', 'entra', 0);
    INSERT INTO audit_events (tenant_id, connection_id, at, actor, action, outcome, http_status, tolerances, scim_type, counts_as)
      VALUES ('t1', 'c1', 60000000, 'scim', 'user.create', 'success', 201, '[\"capitalised_operation\"]', NULL, 'creates'),
             ('t1', 'c1', 60000001, 'scim', 'user.patch', 'rejected', 400, NULL, 'mutability', 'rejections');";

#[tokio::test]
async fn migration_15_keeps_the_trail_its_ids_and_its_counting_triggers() {
    // Through 31: migration 32 drops the triggers (the store counts since).
    let mut db = upgraded_through(14, TRAIL, 31).await;
    let kept = "SELECT CAST(id AS TEXT), action || '/' || COALESCE(scim_type, '-') || '/' || counts_as \
                FROM audit_events ORDER BY id";
    assert_eq!(
        db.pairs(kept).await,
        [
            ("1", "user.create/-/creates"),
            ("2", "user.patch/mutability/rejections")
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .to_vec()
    );
    // Appended after the rebuild: a new id, counted by both triggers.
    db.execute(
        "INSERT INTO audit_events (tenant_id, connection_id, at, actor, action, outcome, http_status, tolerances, counts_as) \
         VALUES ('t1', 'c1', 60000002, 'scim', 'user.patch', 'success', 200, '[\"capitalised_operation\"]', 'updates')",
    )
    .await;
    assert_eq!(
        db.pairs("SELECT CAST(MAX(id) AS TEXT), CAST(COUNT(*) AS TEXT) FROM audit_events")
            .await,
        [("3".to_string(), "3".to_string())]
    );
    assert_eq!(
        db.pairs(
            "SELECT CAST(SUM(creates) AS TEXT) || '/' || CAST(SUM(rejections) AS TEXT), \
             CAST(SUM(updates) AS TEXT) FROM sync_counters"
        )
        .await,
        [("1/1".to_string(), "1".to_string())],
        "the seeded create and rejection were counted as they were appended; the update by the rebuilt table's trigger"
    );
    assert_eq!(
        db.pairs(
            "SELECT tolerance, CAST(SUM(count) AS TEXT) FROM tolerance_counters GROUP BY tolerance"
        )
        .await,
        [("capitalised_operation".to_string(), "2".to_string())]
    );
}

#[tokio::test]
async fn migration_32_keeps_the_counts_and_leaves_sqlites_counting_to_the_store() {
    let mut db = upgraded(31, TRAIL).await;
    let counted = "SELECT CAST(SUM(creates) AS TEXT) || '/' || CAST(SUM(rejections) AS TEXT), \
                   CAST(SUM(updates) AS TEXT) FROM sync_counters";
    assert_eq!(
        db.pairs(counted).await,
        [("1/1".to_string(), "0".to_string())],
        "what the triggers counted before the upgrade stays"
    );
    // SQLite's store counts what it appends (`Tx::insert_audits`): a trigger left behind would
    // count it a second time. PostgreSQL's triggers still count (`sync_counted_by_triggers`).
    let by_triggers = matches!(db, Upgraded::Postgres(_));
    let counted_now = if by_triggers { "1" } else { "0" };
    db.execute(
        "INSERT INTO audit_events (tenant_id, connection_id, at, actor, action, outcome, http_status, tolerances, counts_as) \
         VALUES ('t1', 'c1', 60000002, 'scim', 'user.patch', 'success', 200, '[\"capitalised_operation\"]', 'updates')",
    )
    .await;
    assert_eq!(
        db.pairs(counted).await,
        [("1/1".to_string(), counted_now.to_string())]
    );
    assert_eq!(
        db.pairs(
            "SELECT tolerance, CAST(SUM(count) AS TEXT) FROM tolerance_counters GROUP BY tolerance"
        )
        .await,
        [(
            "capitalised_operation".to_string(),
            if by_triggers { "2" } else { "1" }.to_string()
        )]
    );
}

const TYPED_USERS: &str = "\
    INSERT INTO tenants (id, slug, display_name, immutable_attributes, created_at, updated_at) VALUES ('t1', 'acme', 'Acme', '[]', 0, 0);
    INSERT INTO users (id, tenant_id, user_name, user_name_key, user_type, status, doc, version, created_at, modified_at) VALUES
      ('u1', 't1', 'lead', 'lead', 'Supervisor', 'invited', '{\"userType\":\"Supervisor\",\"urn:ietf:params:scim:schemas:extension:gateway:2.0:User\":{\"roleTemplate\":\"Agent Basics\"}}', 1, 0, 0),
      ('u2', 't1', 'plain', 'plain', NULL, 'invited', '{\"urn:ietf:params:scim:schemas:extension:gateway:2.0:User\":{\"roleTemplate\":7}}', 1, 0, 0);";

#[tokio::test]
async fn migration_27_keys_the_user_types_and_templates_of_users_already_stored() {
    let mut db = upgraded(26, TYPED_USERS).await;
    let keys = "SELECT id, COALESCE(user_type_key, '-') || '/' || COALESCE(role_template_key, '-') \
                FROM users ORDER BY id";
    assert_eq!(
        db.pairs(keys).await,
        [("u1", "supervisor/agent basics"), ("u2", "-/-")]
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .to_vec()
    );
}

const COUNTED_TENANTS: &str = "\
    INSERT INTO tenants (id, slug, display_name, seat_limit, seats_used, users_invited, users_active, users_suspended, immutable_attributes, created_at, updated_at)
      VALUES ('t1', 'acme', 'Acme', 10, 6, 3, 2, 1, '[]', 0, 0), ('t2', 'empty', 'Empty', NULL, 0, 0, 0, 0, '[]', 0, 0);";

#[tokio::test]
async fn migration_28_moves_the_tenants_counts_into_their_shards() {
    let mut db = upgraded(27, COUNTED_TENANTS).await;
    let counts = "SELECT tenant_id, CAST(shard AS TEXT) || ':' || CAST(seats AS TEXT) || '/' || \
                  CAST(invited AS TEXT) || '/' || CAST(active AS TEXT) || '/' || CAST(suspended AS TEXT) \
                  FROM tenant_user_counts ORDER BY tenant_id";
    assert_eq!(
        db.pairs(counts).await,
        [("t1", "0:6/3/2/1"), ("t2", "0:0/0/0/0")]
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .to_vec()
    );
}
