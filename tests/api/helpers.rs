//! `spawn_app()`: a gateway on 127.0.0.1:0 with a fresh database, a tenant and a token.

use std::sync::Once;

use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};
use sqlx::{AssertSqlSafe, Connection};

use scim_gateway::app::App;
use scim_gateway::clock::now_micros;
use scim_gateway::config::Settings;
use scim_gateway::store::{PoolOptions, Store};
use scim_gateway::tenant::{TenantSlug, tenants, tokens};

pub const TENANT: &str = "acme";

static TRACING: Once = Once::new();

pub struct TestApp {
    /// `http://127.0.0.1:PORT`
    pub root: String,
    /// SCIM base URL of the tenant `acme`.
    pub base: String,
    pub token: String,
    pub store: Store,
    pub database_url: String,
    pub client: Client,
    _shutdown: tokio::sync::oneshot::Sender<()>,
    _files: DatabaseFiles,
}

/// Removes a test's SQLite files when its gateway goes (a run leaves hundreds of databases
/// otherwise); PostgreSQL schemas live in CI's throw-away cluster.
struct DatabaseFiles(String);

impl Drop for DatabaseFiles {
    fn drop(&mut self) {
        if let Some(path) = self.0.strip_prefix("sqlite://") {
            for suffix in ["", "-wal", "-shm"] {
                std::fs::remove_file(format!("{path}{suffix}")).ok();
            }
        }
    }
}

/// A fresh database URL: an SQLite file in a temp dir, or a new schema on the PostgreSQL server
/// named by `TEST_DATABASE_URL`.
pub async fn fresh_database_url() -> String {
    let name = format!("test_{}", uuid::Uuid::new_v4().simple());
    match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if url.starts_with("postgres") => {
            let mut conn = sqlx::PgConnection::connect(&url)
                .await
                .expect("connect to TEST_DATABASE_URL");
            sqlx::query(AssertSqlSafe(format!("CREATE SCHEMA {name}")))
                .execute(&mut conn)
                .await
                .expect("create schema");
            conn.close().await.ok();
            let sep = if url.contains('?') { '&' } else { '?' };
            format!("{url}{sep}options=-c%20search_path%3D{name}")
        }
        _ => fresh_sqlite_url(),
    }
}

/// A fresh SQLite database URL (a file in a temp dir), whatever `TEST_DATABASE_URL` says.
pub fn fresh_sqlite_url() -> String {
    let name = format!("test_{}", uuid::Uuid::new_v4().simple());
    let dir = std::env::temp_dir().join("scim-gateway-tests");
    std::fs::create_dir_all(&dir).expect("temp dir");
    format!("sqlite://{}", dir.join(format!("{name}.db")).display())
}

/// The pool every test gateway runs with: on PostgreSQL a single connection, so that a code path
/// that takes a second connection while its transaction holds one waits out the acquire timeout
/// and fails its test with a 503 instead of passing on a roomy pool (it would starve a busy
/// process in production).
pub fn test_pool() -> PoolOptions {
    PoolOptions {
        max_connections: 1,
        acquire_timeout: std::time::Duration::from_secs(5),
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(None).await
}

/// A gateway whose tenant `acme` has `seats` seats (unlimited when `None`).
pub async fn spawn_app_with(seats: Option<i64>) -> TestApp {
    spawn_app_configured(seats, |_| {}).await
}

/// A gateway with its settings adjusted by `configure` before it starts.
pub async fn spawn_app_configured(
    seats: Option<i64>,
    configure: impl FnOnce(&mut Settings),
) -> TestApp {
    spawn_app_pooled(seats, test_pool(), configure).await
}

/// A gateway whose store runs with these pool options.
pub async fn spawn_app_pooled(
    seats: Option<i64>,
    pool: PoolOptions,
    configure: impl FnOnce(&mut Settings),
) -> TestApp {
    TRACING.call_once(|| {
        if std::env::var("TEST_LOG").is_ok() {
            scim_gateway::telemetry::init(true, scim_gateway::telemetry::LogFormat::Text);
        }
    });
    let database_url = fresh_database_url().await;
    let store = Store::connect_with(&database_url, pool)
        .await
        .expect("connect");
    store.migrate().await.expect("migrate");
    let slug = TenantSlug::parse(TENANT).expect("slug");
    tenants::create_tenant(&store, &slug, None, seats, now_micros())
        .await
        .expect("tenant");
    let (secret, _) = tokens::create_token(&store, TENANT, "entra", None, now_micros())
        .await
        .expect("token");
    let mut settings = Settings::new("127.0.0.1:0".parse().expect("addr"), None);
    configure(&mut settings);
    let app = App::build(settings, store.clone()).await.expect("build");
    let root = format!("http://{}", app.local_addr());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        rx.await.ok();
    }));
    TestApp {
        base: format!("{root}/scim/v2/{TENANT}"),
        root,
        token: secret.expose().to_string(),
        _files: DatabaseFiles(database_url.clone()),
        database_url,
        store,
        client: Client::new(),
        _shutdown: tx,
    }
}

pub fn user(user_name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "displayName": "Babs Jensen",
        "emails": [{"value": format!("{user_name}@example.com"), "type": "work", "primary": true}],
        "externalId": format!("ext-{user_name}"),
    })
}

/// Another gateway process on the same database, as behind a load balancer: its own connection
/// pool and caches. Returns its root URL; it stops when the sender is dropped.
pub async fn spawn_sibling(
    app: &TestApp,
    configure: impl FnOnce(&mut Settings),
) -> (String, tokio::sync::oneshot::Sender<()>) {
    let store = Store::connect(&app.database_url).await.expect("connect");
    let mut settings = Settings::new("127.0.0.1:0".parse().expect("addr"), None);
    configure(&mut settings);
    let sibling = App::build(settings, store).await.expect("build");
    let root = format!("http://{}", sibling.local_addr());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(sibling.run_until(async {
        rx.await.ok();
    }));
    (root, tx)
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .bearer_auth(&self.token)
            .header("content-type", "application/scim+json")
            .body(body.to_string())
            .send()
            .await
            .expect("request")
    }

    pub async fn put(&self, path: &str, body: &Value) -> Response {
        self.client
            .put(self.url(path))
            .bearer_auth(&self.token)
            .header("content-type", "application/scim+json")
            .body(body.to_string())
            .send()
            .await
            .expect("request")
    }

    /// A SCIM PATCH of these operations.
    pub async fn patch_ops(&self, path: &str, operations: Value) -> Response {
        self.client
            .patch(self.url(path))
            .bearer_auth(&self.token)
            .header("content-type", "application/scim+json; charset=utf-8")
            .body(
                json!({
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": operations,
                })
                .to_string(),
            )
            .send()
            .await
            .expect("request")
    }

    /// The JSON body of a GET.
    pub async fn get_json(&self, path: &str) -> Value {
        self.get(path).await.json().await.expect("json")
    }

    pub async fn get(&self, path: &str) -> Response {
        self.get_with(&self.url(path), &self.token).await
    }

    /// GET of any URL with any bearer token (a session, another tenant's token).
    pub async fn get_with(&self, url: &str, token: &str) -> Response {
        self.client
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.client
            .delete(self.url(path))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("request")
    }

    /// Creates a user and returns its JSON.
    pub async fn create_user(&self, user_name: &str) -> Value {
        let response = self.post("/Users", &user(user_name)).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json().await.expect("json")
    }

    /// `GET /Users?filter=…`, returning the ListResponse.
    pub async fn filter(&self, filter: &str) -> Value {
        let response = self
            .client
            .get(self.url("/Users"))
            .query(&[("filter", filter)])
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::OK, "filter {filter}");
        response.json().await.expect("json")
    }

    /// The test tenant's record as stored now.
    pub async fn tenant(&self) -> scim_gateway::store::TenantRecord {
        self.store
            .tenant_by_slug(TENANT)
            .await
            .expect("read")
            .expect("tenant")
    }

    pub async fn tenant_seats_used(&self) -> i64 {
        self.tenant().await.seats_used
    }

    /// The tenant's outbox events of `event_type` once one of them is `wanted` (waiting a moment
    /// on PostgreSQL, whose feed shows a transaction once every older one on the server ended);
    /// empty if none comes within 5 s.
    pub async fn outbox_events(
        &self,
        event_type: &str,
        wanted: impl Fn(&scim_gateway::store::EventRecord) -> bool,
    ) -> Vec<scim_gateway::store::EventRecord> {
        self.outbox_events_of(TENANT, event_type, wanted).await
    }

    /// `outbox_events` of the tenant `slug`.
    pub async fn outbox_events_of(
        &self,
        slug: &str,
        event_type: &str,
        wanted: impl Fn(&scim_gateway::store::EventRecord) -> bool,
    ) -> Vec<scim_gateway::store::EventRecord> {
        let tenant = scim_gateway::tenant::tenants::find_tenant(&self.store, slug)
            .await
            .expect("tenant");
        for _ in 0..100 {
            let found: Vec<_> = self
                .store
                .event_feed(
                    scim_gateway::store::FeedScope::Tenant(&tenant.id),
                    None,
                    1000,
                )
                .await
                .expect("feed")
                .into_iter()
                .map(|e| e.event)
                .filter(|e| e.event_type == event_type)
                .collect();
            if found.iter().any(&wanted) {
                return found;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        Vec::new()
    }

    /// The tenant's audit events, newest first.
    pub async fn audit(&self) -> Vec<scim_gateway::store::AuditRecord> {
        let tenant = self.tenant().await;
        self.store
            .audit_events(&tenant.id, 1000)
            .await
            .expect("audit")
    }
}

/// Asserts a SCIM error response and returns its body.
pub async fn assert_scim_error(response: Response, status: u16, scim_type: Option<&str>) -> Value {
    assert_eq!(response.status().as_u16(), status);
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/scim+json")
    );
    let body: Value = response.json().await.expect("json");
    assert_eq!(
        body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
    );
    assert_eq!(body["status"], json!(status.to_string()));
    assert_eq!(
        body.get("scimType").and_then(Value::as_str),
        scim_type,
        "{body}"
    );
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()));
    body
}

/// Sets the tenant's locked attributes, as `tenant update --immutable` does.
pub async fn set_locked_attributes(app: &TestApp, attributes: &[&str]) {
    let registry = scim_gateway::scim::schema::Registry::load().expect("schemas");
    let schemas = registry.user().expect("user schemas");
    let slug = TenantSlug::parse(TENANT).expect("slug");
    let list = attributes.iter().map(|s| s.to_string()).collect();
    tenants::update_tenant(
        &app.store,
        schemas,
        &slug,
        tenants::SeatChange::Keep,
        Some(list),
        now_micros(),
    )
    .await
    .expect("update tenant");
}

/// Sets the tenant's seat limit.
pub async fn set_seat_limit(app: &TestApp, limit: Option<i64>) {
    let registry = scim_gateway::scim::schema::Registry::load().expect("schemas");
    let schemas = registry.user().expect("user schemas");
    let slug = TenantSlug::parse(TENANT).expect("slug");
    let change = match limit {
        Some(n) => tenants::SeatChange::Limit(n),
        None => tenants::SeatChange::Unlimited,
    };
    tenants::update_tenant(&app.store, schemas, &slug, change, None, now_micros())
        .await
        .expect("update tenant");
}

impl TestApp {
    /// The user's lifecycle status, which SCIM returns only on request.
    pub async fn status_of(&self, user: &Value) -> String {
        let id = user["id"].as_str().expect("id");
        let path = format!(
            "/Users/{id}?attributes=urn:ietf:params:scim:schemas:extension:gateway:2.0:User:status"
        );
        let body: Value = self.get(&path).await.json().await.expect("json");
        body["urn:ietf:params:scim:schemas:extension:gateway:2.0:User"]["status"]
            .as_str()
            .expect("status")
            .to_string()
    }
}
