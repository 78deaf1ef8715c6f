//! Query plans. Each indexed lookup an IdP makes searches its index on a tenant loaded through
//! the API a moment earlier, before any statistics describe it (issue #21: Entra's first sync of a
//! new tenant met whole-tenant scans for up to 30 minutes). And the shapes of SQL the filter
//! compiler writes for prefix searches (`sw`: a byte-order range, see
//! `filter_sql::text_comparison`) are served by the key columns' indexes on each engine, so the
//! users table's search and `userName sw` never read a whole tenant.

use serde_json::{Value, json};
use sqlx::{AssertSqlSafe, Connection, Executor};

use scim_gateway::config::Limits;
use scim_gateway::scim::list::ListRequest;
use scim_gateway::scim::schema::Registry;
use scim_gateway::store::TenantId;
use scim_gateway::tenant::{groups, users};

use crate::helpers::{TENANT, TestApp, spawn_app, user};

/// Users an IdP's first sync loads before the lookups: enough that reading a whole tenant is
/// never the cheaper plan.
const LOADED: usize = 2000;
const GROUPS: usize = 500;

/// Loads `LOADED` users through `/Bulk` as an IdP's initial sync would, and groups with members.
async fn load_through_the_api(app: &TestApp) -> (Vec<String>, Vec<String>) {
    let mut user_ids = Vec::new();
    for batch in 0..LOADED / 500 {
        let operations = (0..500).map(|i| {
            let n = batch * 500 + i;
            let mut data = user(&format!("user{n:05}"));
            data["displayName"] = json!(format!("Person {n}"));
            json!({"method": "POST", "path": "/Users", "bulkId": format!("u{n}"), "data": data})
        });
        user_ids.extend(created_in_bulk(app, operations.collect()).await);
    }
    let operations = (0..GROUPS).map(|g| {
        let members: Vec<Value> = user_ids
            .iter()
            .skip(g * 3)
            .take(3)
            .map(|id| json!({"value": id}))
            .collect();
        json!({"method": "POST", "path": "/Groups", "bulkId": format!("g{g}"),
               "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                        "displayName": format!("Team {g}"), "externalId": format!("team-{g}"),
                        "members": members}})
    });
    let group_ids = created_in_bulk(app, operations.collect()).await;
    (user_ids, group_ids)
}

/// Sends `operations` (each a POST) in one `/Bulk` request; the ids of what they created.
async fn created_in_bulk(app: &TestApp, operations: Vec<Value>) -> Vec<String> {
    let response = app
        .post(
            "/Bulk",
            &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                    "Operations": operations}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["Operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|op| {
            assert_eq!(op["status"], "201", "{op}");
            let location = op["location"].as_str().unwrap();
            location.rsplit('/').next().unwrap().to_string()
        })
        .collect()
}

/// On PostgreSQL, waits until the gateway has given the lookup tables their first statistics
/// (`store/statistics.rs`; it looks every two seconds).
async fn first_statistics(app: &TestApp) {
    let mut conn = sqlx::PgConnection::connect(&app.database_url)
        .await
        .unwrap();
    for _ in 0..100 {
        let analyzed: i64 = sqlx::query_scalar(
            "SELECT count(DISTINCT tablename) FROM pg_stats WHERE schemaname = current_schema() \
             AND tablename IN ('users', 'user_emails', 'groups', 'group_members')",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap();
        if analyzed == 4 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    panic!("the gateway gathered no statistics of the lookup tables within 20 s");
}

/// The plan of a list request with `filter`, as `scim-gateway explain` prints it.
async fn explain(app: &TestApp, tenant_id: &TenantId, resource: &str, filter: &str) -> String {
    let registry = Registry::load().unwrap();
    let schemas = registry.resource_schemas(resource).unwrap();
    let request = ListRequest {
        filter: Some(filter.to_string()),
        ..ListRequest::default()
    };
    let limits = Limits::default().list_limits();
    let now = scim_gateway::clock::now_micros();
    let lines = match resource {
        "User" => {
            users::explain_list_users(&app.store, schemas, tenant_id, &request, limits, now).await
        }
        _ => {
            groups::explain_list_groups(&app.store, schemas, tenant_id, &request, limits, now).await
        }
    };
    lines.unwrap().join("\n")
}

/// The page statement's lines of `plan` (`explain` prints the page, then the count).
fn page_of(plan: &str) -> String {
    plan.lines()
        .filter(|line| line.starts_with("page: "))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether `plan` searches one of `indexes` by `column` (rather than reading a whole tenant
/// in some index's order, or the table).
fn searches(plan: &str, postgres: bool, indexes: &[String], column: &str) -> bool {
    let lines: Vec<&str> = plan.lines().collect();
    if postgres {
        // `Index Scan using i on t`, then `Index Cond: (... (column = ...` on the next line.
        let by_column = |i: usize| {
            lines.get(i + 1).is_some_and(|next| {
                next.contains("Index Cond:") && next.contains(&format!("{column} "))
            })
        };
        !plan.contains("Seq Scan")
            && lines.iter().enumerate().any(|(i, line)| {
                indexes.iter().any(|index| {
                    line.contains(&format!("Scan using {index} "))
                        || line.contains(&format!("Scan on {index}"))
                }) && by_column(i)
            })
    } else {
        // `SEARCH t USING INDEX i (tenant_id=? AND column=?)`
        lines.iter().any(|line| {
            line.contains("SEARCH")
                && indexes
                    .iter()
                    .any(|index| line.contains(&format!("INDEX {index} (")))
                && (line.contains(&format!("{column}=?")) || line.contains(&format!("{column}>?")))
        }) && !lines
            .iter()
            .any(|line| line.contains("SCAN u") || line.contains("SCAN g"))
    }
}

#[tokio::test]
async fn every_indexed_lookup_searches_its_index_on_a_tenant_loaded_a_moment_ago() {
    let app = spawn_app().await;
    let postgres = app.database_url.starts_with("postgres");
    let (user_ids, group_ids) = load_through_the_api(&app).await;
    if postgres {
        first_statistics(&app).await;
    }
    let tenant_id = app.store.tenant_by_slug(TENANT).await.unwrap().unwrap().id;
    // By id, the primary key or the (tenant, id) index: either finds the one row.
    let by_id = |table: &str| {
        let key = if postgres {
            format!("{table}_pkey")
        } else {
            format!("sqlite_autoindex_{table}_1")
        };
        vec![key, format!("{table}_tenant_id_idx")]
    };
    let one = |index: &str| vec![index.to_string()];
    let (someone, team) = (&user_ids[1234], &group_ids[7]);
    let cases = [
        (
            "User",
            r#"userName eq "user01234""#.to_string(),
            one("users_tenant_user_name_key"),
            "user_name_key",
        ),
        (
            "User",
            r#"externalId eq "ext-user01234""#.into(),
            one("users_tenant_external_id_idx"),
            "external_id",
        ),
        (
            "User",
            r#"displayName eq "Person 1234""#.into(),
            one("users_tenant_display_name_idx"),
            "display_name_key",
        ),
        (
            "User",
            format!(r#"id eq "{someone}""#),
            by_id("users"),
            "id",
        ),
        (
            "User",
            r#"emails[type eq "work"].value eq "user01234@example.com""#.into(),
            one("user_emails_lookup_idx"),
            "value_key",
        ),
        (
            "User",
            r#"emails.value eq "user01234@example.com""#.into(),
            one("user_emails_lookup_idx"),
            "value_key",
        ),
        (
            "User",
            r#"meta.lastModified gt "2999-01-01T00:00:00Z""#.into(),
            one("users_tenant_modified_idx"),
            "modified_at",
        ),
        (
            "Group",
            r#"displayName eq "Team 7""#.into(),
            one("groups_tenant_display_name_key"),
            "display_name_key",
        ),
        (
            "Group",
            r#"externalId eq "team-7""#.into(),
            one("groups_tenant_external_id_idx"),
            "external_id",
        ),
        ("Group", format!(r#"id eq "{team}""#), by_id("groups"), "id"),
        (
            "Group",
            format!(r#"id eq "{team}" and members[value eq "{someone}"]"#),
            by_id("groups"),
            "id",
        ),
    ];
    let mut wrong = Vec::new();
    for (resource, filter, indexes, column) in &cases {
        let plan = explain(&app, &tenant_id, resource, filter).await;
        if !searches(&page_of(&plan), postgres, indexes, column) {
            wrong.push(format!(
                "{resource} {filter} (expected {indexes:?} by {column}):\n{plan}"
            ));
        }
    }
    // GET /Users/{id}: the user by its key, and its groups through the members' index.
    let user_id = scim_gateway::store::UserId::new(someone.as_str());
    let plan = app
        .store
        .explain_user_with_groups(&tenant_id, &user_id)
        .await
        .unwrap()
        .join("\n");
    if !searches(&plan, postgres, &by_id("users"), "id")
        || !searches(
            &plan,
            postgres,
            &one("group_members_member_idx"),
            "member_id",
        )
    {
        wrong.push(format!("GET /Users/{{id}}:\n{plan}"));
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}

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

/// Five thousand users with an email and an invitation each, a few with a user type and a role
/// template, so that the planner weighs the indexes for real.
const POPULATION: &str = "\
    INSERT INTO users (id, tenant_id, user_name, user_name_key, display_name, display_name_key, status, doc, \
      version, created_at, modified_at) \
    SELECT 'p' || g, '{tenant}', 'u-' || g, 'u-' || g, 'u-' || g, 'u-' || g, 'invited', '{{}}', 1, 0, 0 \
    FROM generate_series(1, 5000) AS g; \
    INSERT INTO user_emails (user_id, tenant_id, position, value, value_key, is_primary) \
    SELECT 'p' || g, '{tenant}', 0, 'u-' || g, 'u-' || g, true FROM generate_series(1, 5000) AS g; \
    UPDATE users SET user_type_key = 'agent' WHERE id IN ('p7', 'p8', 'p9'); \
    UPDATE users SET role_template_key = 'night shift' WHERE id = 'p9'; \
    INSERT INTO invitations (token_hash, tenant_id, user_id, issued_at, expires_at) \
    SELECT 'h' || g, '{tenant}', 'p' || g, 0, 1 FROM generate_series(1, 5000) AS g; \
    ANALYZE users; ANALYZE user_emails; ANALYZE invitations;";

#[tokio::test]
async fn prefix_searches_use_the_key_indexes() {
    let app = spawn_app().await;
    let tenant_id = tenant_id(&app).await;
    let postgres = app.database_url.starts_with("postgres");
    for (table, column, index) in CASES {
        let sql = prefix_range(postgres, &tenant_id, table, column);
        let plan = plan_on_population(&app, &tenant_id, &sql).await;
        // PostgreSQL names the range in the index condition; SQLite in the SEARCH line.
        let served = if postgres {
            plan.contains(index) && plan.contains(&format!("({column} >= "))
        } else {
            plan.contains("SEARCH") && plan.contains(index) && plan.contains(&format!("{column}>?"))
        };
        assert!(served, "{table}.{column}: {plan}");
    }
}

/// The lookups of the indexes that hold only some rows (migration 0031): users by user type and
/// by role template (only users that have one are indexed), and a user's open invitations
/// (through the index of all of the user's invitations).
#[tokio::test]
async fn partial_indexes_serve_their_lookups() {
    let app = spawn_app().await;
    let tenant_id = tenant_id(&app).await;
    let postgres = app.database_url.starts_with("postgres");
    let cases = [
        (
            format!(
                "SELECT id FROM users WHERE tenant_id = '{tenant_id}' AND user_type_key = 'agent' \
                 AND deleted_at IS NULL LIMIT 1"
            ),
            "users_tenant_user_type_idx",
            "user_type_key",
        ),
        (
            format!(
                "SELECT t.id FROM user_type_role_mappings tm JOIN users t ON t.tenant_id = tm.tenant_id \
                 AND t.user_type_key = tm.user_type_key AND t.deleted_at IS NULL \
                 WHERE tm.tenant_id = '{tenant_id}' AND tm.role_id = 'r1'"
            ),
            "users_tenant_user_type_idx",
            "user_type_key",
        ),
        (
            format!(
                "SELECT id FROM users WHERE tenant_id = '{tenant_id}' \
                 AND role_template_key = 'night shift' AND deleted_at IS NULL"
            ),
            "users_tenant_role_template_idx",
            "role_template_key",
        ),
        (
            "UPDATE invitations SET ended_at = 1, ended_how = 'resent' \
             WHERE user_id = 'p42' AND ended_at IS NULL"
                .to_string(),
            "invitations_user_idx",
            "user_id",
        ),
    ];
    // Only users with a type or a template are indexed; the open invitations have no index.
    for index in [
        "users_tenant_user_type_idx",
        "users_tenant_role_template_idx",
    ] {
        let definition = index_definition(&app, index).await.unwrap_or_default();
        assert!(definition.contains("IS NOT NULL"), "{index}: {definition}");
    }
    assert_eq!(index_definition(&app, "invitations_open_idx").await, None);
    for (sql, index, column) in cases {
        let plan = plan_on_population(&app, &tenant_id, &sql).await;
        let served = if postgres {
            plan.contains(&format!("using {index} ")) && plan.contains(&format!("{column} = "))
        } else {
            plan.contains("SEARCH")
                && plan.contains(&format!("INDEX {index} ("))
                && plan.contains(&format!("{column}=?"))
        };
        assert!(served, "{sql}: {plan}");
    }
}

/// The `CREATE INDEX` statement of the index `name`, if there is one.
async fn index_definition(app: &TestApp, name: &str) -> Option<String> {
    if app.database_url.starts_with("postgres") {
        let mut conn = sqlx::PgConnection::connect(&app.database_url)
            .await
            .unwrap();
        sqlx::query_scalar("SELECT indexdef FROM pg_indexes WHERE indexname = $1")
            .bind(name)
            .fetch_optional(&mut conn)
            .await
            .unwrap()
    } else {
        let mut conn = sqlx::SqliteConnection::connect(&app.database_url)
            .await
            .unwrap();
        sqlx::query_scalar("SELECT sql FROM sqlite_schema WHERE type = 'index' AND name = $1")
            .bind(name)
            .fetch_optional(&mut conn)
            .await
            .unwrap()
    }
}

async fn tenant_id(app: &TestApp) -> String {
    app.store
        .tenant_by_slug(TENANT)
        .await
        .unwrap()
        .unwrap()
        .id
        .to_string()
}

/// The plan of `sql`: on PostgreSQL over `POPULATION` (rolled back after), so that the planner
/// weighs the indexes for real; on SQLite as the fixed planner statistics have it.
async fn plan_on_population(app: &TestApp, tenant_id: &str, sql: &str) -> String {
    if app.database_url.starts_with("postgres") {
        let mut conn = sqlx::PgConnection::connect(&app.database_url)
            .await
            .unwrap();
        let mut tx = conn.begin().await.unwrap();
        tx.execute(AssertSqlSafe(
            POPULATION
                .replace("{tenant}", tenant_id)
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
    }
}
