//! Plans made while a tenant was empty are not the plans its lookups run with once it is loaded
//! (issue #21), on the engine `TEST_DATABASE_URL` names (an SQLite file without it). The plans of
//! a loaded tenant's lookups themselves are pinned in tests/api/plans.rs.

use super::upgrade_tests::fresh_postgres_schema;
use super::{Dialect, PoolOptions, SqlFragment, Store, TenantId, UserId};

/// A migrated store on one connection (so every statement below shares its prepared statements).
async fn one_connection_store() -> Store {
    let url = match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if url.starts_with("postgres") => fresh_postgres_schema(&url, "plans").await,
        _ => {
            let dir = std::env::temp_dir().join("scim-gateway-tests");
            std::fs::create_dir_all(&dir).unwrap();
            let file = dir.join(format!("plans_{}.db", uuid::Uuid::new_v4().simple()));
            format!("sqlite://{}", file.display())
        }
    };
    let pool = PoolOptions {
        max_connections: 1,
        ..PoolOptions::default()
    };
    let store = Store::connect_with(&url, pool).await.unwrap();
    store.migrate().await.unwrap();
    store
}

/// Five thousand users in the tenant, written around the gateway (the point is their number).
async fn load(store: &Store, tenant: &TenantId) {
    let series = match store.dialect() {
        Dialect::Postgres => "SELECT g AS n FROM generate_series(1, 5000) AS g",
        Dialect::Sqlite => {
            "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 5000) \
             SELECT n FROM s"
        }
    };
    let sql = format!(
        "INSERT INTO users (id, tenant_id, user_name, user_name_key, external_id, display_name, \
         display_name_key, status, doc, version, created_at, modified_at) \
         SELECT 'u' || n, $1, 'user' || n, 'user' || n, 'ext-' || n, 'User ' || n, 'user ' || n, \
         'invited', '{{}}', 1, 0, 0 FROM ({series}) AS series"
    );
    let mut tx = store.begin().await.unwrap();
    tx.fetch_all(SqlFragment::statement(sql, vec![tenant.into()]), |_| Ok(()))
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn a_plan_made_on_an_empty_tenant_is_not_kept_once_it_is_loaded() {
    let store = one_connection_store().await;
    let tenant = TenantId::new("t1");
    let mut tx = store.begin().await.unwrap();
    let insert = "INSERT INTO tenants (id, slug, display_name, immutable_attributes, created_at, \
                  updated_at) VALUES ($1, 'acme', 'Acme', '[]', 0, 0)";
    tx.fetch_all(
        SqlFragment::statement(insert, vec![(&tenant).into()]),
        |_| Ok(()),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let someone = UserId::new("u1234");
    // An IdP's first sync asks for users before there are any: PostgreSQL makes a generic plan
    // of a statement after its fifth execution.
    for _ in 0..10 {
        assert!(
            store
                .user_with_groups(&tenant, &someone)
                .await
                .unwrap()
                .is_none()
        );
    }
    let empty_plan = store
        .explain_user_with_groups(&tenant, &someone)
        .await
        .unwrap();
    load(&store, &tenant).await;
    // What the running gateway does within seconds of the load (`statistics.rs`).
    store.analyze_tables_without_statistics().await.unwrap();
    assert!(
        store
            .user_with_groups(&tenant, &someone)
            .await
            .unwrap()
            .is_some()
    );
    let loaded_plan = match store.dialect() {
        // The plan the connection's prepared statement of that read runs with now: sqlx named
        // it, PostgreSQL shows it for these values (generic when it kept one).
        Dialect::Postgres => {
            let cached = SqlFragment::statement(
                "SELECT name FROM pg_prepared_statements WHERE statement LIKE \
                 'SELECT u.id, %AS member_of FROM users u WHERE u.tenant_id = $1 AND u.id = $2%'",
                vec![],
            );
            let names = store
                .fetch_all(cached, |row| row.column::<String>("name"))
                .await
                .unwrap();
            assert_eq!(names.len(), 1, "{names:?}");
            let explain = SqlFragment::statement(
                format!(
                    "EXPLAIN (COSTS OFF) EXECUTE {}('t1', 'u1234')",
                    names.concat()
                ),
                vec![],
            );
            store
                .fetch_all(explain, |row| row.column::<String>("QUERY PLAN"))
                .await
                .unwrap()
        }
        // SQLite plans with the statistics written by the migrations, whatever the data.
        Dialect::Sqlite => {
            let loaded_plan = store
                .explain_user_with_groups(&tenant, &someone)
                .await
                .unwrap();
            assert_eq!(empty_plan, loaded_plan);
            loaded_plan
        }
    };
    // By the primary key, or by the (tenant, id) index with both in its condition.
    let by_id = [
        "users_pkey ",
        "sqlite_autoindex_users_1 ",
        "users_tenant_id_idx ",
    ];
    let searched = loaded_plan
        .iter()
        .zip(loaded_plan.iter().skip(1))
        .any(|(step, next)| {
            by_id.iter().any(|index| step.contains(index))
                && (step.contains("id=?") || next.contains("(id = "))
        });
    assert!(searched, "{loaded_plan:?}");
}
