//! Load benchmark (not a pass/fail test). Seeds a database through the library, starts the real
//! `scim-gateway` binary on it, drives SCIM requests over loopback with a few concurrent clients,
//! and reports throughput, p50/p99 latency and the server's peak memory, beside a bare HTTP
//! bare HTTP baseline (an axum handler answering a fixed small JSON body) measured in the same run,
//! served both by a process of its own and inside the client's process (see `baselines`).
//!
//!     cargo bench --bench load -- users             # SQLite; add `--sizes 10000,100000` to choose
//!     cargo bench --bench load -- groups
//!     BENCH_DATABASE_URL=postgres://… cargo bench --bench load -- users
//!     cargo bench --bench load -- admin --sizes 10000,100000   # admin reads and pages; 10 audit events per user
//!     cargo bench --bench load -- webhooks --sizes 10000,100000  # delivering a backlog of events
//!     BENCH_WEBHOOKS=1 cargo bench --bench load -- users   # the users rows with a webhook on
//!     cargo bench --bench load -- webhook-cost --sizes 10000  # writes, webhook off and on, paired
//!     cargo bench --bench load -- import --sizes 100000,1000000  # CSV import (load/import.rs)
//!     cargo bench --bench load -- agencies --sizes 10000,100000  # inherited roles (load/agencies.rs)
//!
//! Scenarios: `users` — at tenants of 10k, 100k and 1M users: GET by id, `userName eq`,
//! `externalId eq`, `emails[type eq "work"].value eq`, a `co` search, a `meta.lastModified gt` sync
//! query, a 100-user page in the middle of the tenant by index and by cursor, creates, and PATCH
//! replace of one attribute. `groups` — PATCH add and remove of one member, and GET with
//! `excludedAttributes=members`, on groups of 100, 10k and 100k members.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::string_slice
)]

#[path = "load/agencies.rs"]
mod agencies;
#[path = "load/import.rs"]
mod import;

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use scim_gateway::clock::now_micros;
use scim_gateway::store::{
    NewUserRows, SeatReservation, Store, TenantId, TenantRecord, TokenRecord, UserId, UserRecord,
    UserStatus,
};
use scim_gateway::tenant::tokens::TokenSecret;
use scim_gateway::tenant::{TenantSlug, tenants, tokens};

// The gateway's allocator, so that the baseline server (this binary) is measured on equal terms.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CONCURRENCY: usize = 4;
/// Requests per row: enough for a second or so of the fast rows, so that p99 means something.
const LOOKUPS: usize = 10_000;
const WRITES: usize = 2_000;
const BASELINE_REQUESTS: usize = 20_000;
const PAIRED_BASELINE: usize = 12_000;
const PAIRED_ROUNDS: usize = 3;
const TENANT: &str = "bench";

struct Stats {
    label: String,
    requests: usize,
    wall: Duration,
    latencies: Vec<Duration>,
    /// Requests/s of the own-process baseline measured just before this row, when paired.
    paired_baseline: Option<f64>,
    /// CPU time the gateway process spent while this row ran (user and system), when measured:
    /// unlike requests/s it hardly moves when other work shares the machine.
    server_cpu: Option<Duration>,
}

impl Stats {
    fn percentile(&self, p: f64) -> f64 {
        let mut sorted = self.latencies.clone();
        sorted.sort();
        let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
        sorted.get(index).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    }

    /// Several measurements of one thing as one: their requests over their summed wall time.
    fn merge(label: &str, parts: Vec<Stats>) -> Stats {
        let mut merged = Stats {
            label: label.to_string(),
            requests: 0,
            wall: Duration::ZERO,
            latencies: Vec::new(),
            paired_baseline: None,
            server_cpu: Some(Duration::ZERO),
        };
        for part in parts {
            merged.requests += part.requests;
            merged.wall += part.wall;
            merged.latencies.extend(part.latencies);
            merged.server_cpu = merged.server_cpu.zip(part.server_cpu).map(|(a, b)| a + b);
        }
        merged
    }

    fn rate(&self) -> f64 {
        self.requests as f64 / self.wall.as_secs_f64()
    }

    fn row(&self) -> String {
        let paired = match self.paired_baseline {
            Some(baseline) => format!(" {baseline:.0} | {:.1} % |", 100.0 * self.rate() / baseline),
            None => " | |".into(),
        };
        let cpu = self.server_cpu.map_or(String::new(), |cpu| {
            format!("{:.0}", cpu.as_secs_f64() * 1e6 / self.requests as f64)
        });
        format!(
            "| {} | {:.0} | {:.2} | {:.2} | {cpu} |{paired}",
            self.label,
            self.rate(),
            self.percentile(0.50),
            self.percentile(0.99)
        )
    }
}

/// Runs `requests` requests made by `make(i)` with CONCURRENCY workers; each must succeed.
async fn drive<F, Fut>(label: &str, requests: usize, make: F) -> Stats
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = reqwest::StatusCode> + Send,
{
    let make = Arc::new(make);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..CONCURRENCY {
        let (make, next) = (make.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= requests {
                    break;
                }
                let t = Instant::now();
                let status = make(i).await;
                latencies.push(t.elapsed());
                assert!(status.is_success(), "request {i} answered {status}");
            }
            latencies
        }));
    }
    let mut latencies = Vec::with_capacity(requests);
    for w in workers {
        latencies.extend(w.await.unwrap());
    }
    Stats {
        label: label.to_string(),
        requests,
        wall: start.elapsed(),
        latencies,
        paired_baseline: None,
        server_cpu: None,
    }
}

/// CPU time a process has spent so far, user and system (`/proc/PID/stat`, in clock ticks of
/// 10 ms: a row of 2,000 writes spends hundreds of them).
fn cpu_time(pid: u32) -> Duration {
    const TICK: Duration = Duration::from_millis(10);
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u32>().ok())
            .unwrap_or(0)
    };
    // utime and stime, fields 14 and 15 of the line: the state (field 3) is the first after the name.
    TICK * (ticks(11) + ticks(12))
}

/// Runs a row against the gateway process `pid`, recording the CPU it spent meanwhile.
async fn on_gateway(pid: u32, row: impl std::future::Future<Output = Stats>) -> Stats {
    let before = cpu_time(pid);
    let mut stats = row.await;
    stats.server_cpu = Some(cpu_time(pid).saturating_sub(before));
    stats
}

/// Peak resident memory of a process, in MiB (VmHWM).
fn peak_rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Whether the users scenario runs with a webhook endpoint receiving every event
/// (`BENCH_WEBHOOKS=1`): the write rows then pay for delivery running beside them.
fn with_webhooks() -> bool {
    std::env::var("BENCH_WEBHOOKS").is_ok_and(|v| v == "1")
}

fn start_gateway(database: &str, port: u16) -> Child {
    start_gateway_with(database, port, with_webhooks())
}

/// The gateway, with a secret key and loopback webhooks allowed when `webhooks`.
fn start_gateway_with(database: &str, port: u16, webhooks: bool) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_scim-gateway"));
    command.args([
        "serve",
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--database",
        database,
    ]);
    // One token drives every measured request: the benchmark measures the gateway's work, not
    // the per-token rate limit (which would refuse most of it with 429).
    command.args(["--token-rate-limit", "0"]);
    if webhooks {
        command
            .env(
                "SCIM_GATEWAY_SECRET_KEY",
                scim_gateway::sso::secret_key::SecretKey::generate().unwrap(),
            )
            .arg("--allow-insecure-webhooks");
    }
    command
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start scim-gateway")
}

async fn wait_ready(client: &reqwest::Client, port: u16) {
    for _ in 0..200 {
        if client
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the gateway did not become ready");
}

/// The bare baseline's router: a handler that answers a fixed small JSON body.
fn baseline_router() -> axum::Router {
    axum::Router::new().route(
        "/baseline",
        axum::routing::get(|| async {
            axum::Json(json!({"schemas": ["urn:x"], "id": "1", "ok": true}))
        }),
    )
}

/// The bare baseline served by a process of its own (this binary, `baseline-server PORT`).
struct BaselineServer {
    process: Child,
    port: u16,
}

impl BaselineServer {
    async fn start(client: &reqwest::Client) -> Self {
        let port = free_port();
        let process = Command::new(std::env::current_exe().unwrap())
            .args(["baseline-server", &port.to_string()])
            .stdout(Stdio::null())
            .spawn()
            .expect("start the baseline server");
        let url = format!("http://127.0.0.1:{port}/baseline");
        for _ in 0..200 {
            if client.get(&url).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        Self { process, port }
    }

    async fn measure(&self, client: &reqwest::Client, label: &str, requests: usize) -> Stats {
        get_baseline(client, self.port, label, requests).await
    }
}

impl Drop for BaselineServer {
    fn drop(&mut self) {
        self.process.kill().ok();
        self.process.wait().ok();
    }
}

/// The bare baselines, measured with the same loopback and client as the gateway: served by a
/// process of its own, as the gateway is (a server can do no better on this machine), and served
/// inside the client's own process and runtime (no hand-off between processes at all, a ceiling no
/// separate server reaches).
async fn baselines(client: &reqwest::Client, requests: usize) -> Vec<Stats> {
    let own_process = BaselineServer::start(client)
        .await
        .measure(
            client,
            "bare HTTP baseline, own process (fixed JSON)",
            requests,
        )
        .await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, baseline_router()).await.ok() });
    let in_process = get_baseline(
        client,
        port,
        "bare HTTP baseline, in the client's process",
        requests,
    )
    .await;
    vec![own_process, in_process]
}

async fn get_baseline(client: &reqwest::Client, port: u16, label: &str, requests: usize) -> Stats {
    let url = format!("http://127.0.0.1:{port}/baseline");
    let client = client.clone();
    drive(label, requests, move |_| {
        let (client, url) = (client.clone(), url.clone());
        async move { client.get(url).send().await.unwrap().status() }
    })
    .await
}

fn user(tenant_id: &TenantId, i: usize, now: i64) -> UserRecord {
    let name = format!("user{i:07}@bench.example");
    let mut doc = serde_json::Map::new();
    doc.insert("userName".into(), json!(name));
    doc.insert("externalId".into(), json!(format!("ext-{i}")));
    doc.insert("displayName".into(), json!(format!("User {i}")));
    doc.insert(
        "emails".into(),
        json!([{"value": name, "type": "work", "primary": true}]),
    );
    UserRecord {
        id: UserId::generate(),
        tenant_id: tenant_id.clone(),
        user_name: name.clone(),
        external_id: Some(format!("ext-{i}")),
        display_name: Some(format!("User {i}")),
        user_type: None,
        status: UserStatus::Invited,
        last_login_at: None,
        doc,
        version: 1,
        created_at: now,
        modified_at: now,
        created_by_connection: None,
        modified_by_connection: None,
        admin_suspended_at: None,
        idp_active: true,
    }
}

/// Inserts `n` users through the store (as POST would, without HTTP), in large transactions.
async fn seed_users(store: &Store, tenant_id: &TenantId, n: usize) -> Vec<UserId> {
    let registry = scim_gateway::scim::schema::Registry::load().unwrap();
    let schemas = registry.user().unwrap();
    let mut ids = Vec::with_capacity(n);
    let now = now_micros();
    for chunk_start in (0..n).step_by(5000) {
        let mut tx = store.begin().await.unwrap();
        for i in chunk_start..(chunk_start + 5000).min(n) {
            let u = user(tenant_id, i, now);
            let index = scim_gateway::tenant::users::index_of(schemas, &u.doc);
            assert!(matches!(
                tx.reserve_seat(tenant_id, u.status).await.unwrap(),
                SeatReservation::Taken { .. }
            ));
            tx.insert_user(&u, &index).await.unwrap();
            ids.push(u.id);
        }
        tx.commit().await.unwrap();
    }
    ids
}

async fn groups_scenario(database: &str) {
    let store = Store::connect(database).await.unwrap();
    store.migrate().await.unwrap();
    let slug = TenantSlug::parse(TENANT).unwrap();
    let tenant = tenants::create_tenant(&store, &slug, None, None, now_micros())
        .await
        .unwrap();
    let (token, _) = tokens::create_token(&store, TENANT, "bench", None, now_micros())
        .await
        .unwrap();
    let token = token.expose().to_string();
    let sizes = [100usize, 10_000, 100_000];
    let spare = 2_000;
    let seeded = Instant::now();
    let users = seed_users(&store, &tenant.id, sizes[2] + spare).await;
    let mut group_ids = Vec::new();
    for size in sizes {
        let caller = scim_gateway::tenant::Caller {
            tenant: tenant.clone().into(),
            connection_id: None,
            actor: "bench",
            request_summary: None,
            token_id: None,
        };
        let registry = scim_gateway::scim::schema::Registry::load().unwrap();
        let ctx = scim_gateway::tenant::audit::WriteContext {
            store: &store,
            schemas: registry.resource_schemas("Group").unwrap(),
            caller: &caller,
            now: now_micros(),
            invitations: None,
        };
        let group = scim_gateway::tenant::groups::create_group(
            &ctx,
            &json!({"displayName": format!("group of {size}")}),
        )
        .await
        .unwrap();
        let mut tx = store.begin().await.unwrap();
        for chunk in users[..size].chunks(5000) {
            tx.add_members(&tenant.id, &group.id, chunk, now_micros())
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
        group_ids.push(group.id);
    }
    println!(
        "seeded {} users and groups of {:?} in {:.1}s",
        users.len(),
        sizes,
        seeded.elapsed().as_secs_f64()
    );
    store.close().await;

    let port = free_port();
    let mut gateway = start_gateway(database, port);
    let client = reqwest::Client::new();
    wait_ready(&client, port).await;
    let base = format!("http://127.0.0.1:{port}/scim/v2/{TENANT}");
    let requests = 2_000;
    let mut rows = baselines(&client, BASELINE_REQUESTS).await;
    let spare_ids: Arc<Vec<UserId>> = Arc::new(users[sizes[2]..].to_vec());
    for (size, gid) in sizes.iter().zip(&group_ids) {
        let url = format!("{base}/Groups/{gid}");
        let (c, t, u, ids) = (
            client.clone(),
            token.clone(),
            url.clone(),
            spare_ids.clone(),
        );
        // Even requests add a spare user, odd ones remove it again: the group keeps its size.
        rows.push(
            drive(&format!("PATCH add/remove 1 member, group of {size}"), requests, move |i| {
                let (c, t, u, ids) = (c.clone(), t.clone(), u.clone(), ids.clone());
                async move {
                    let member = &ids[(i / 2) % ids.len()];
                    let op = if i % 2 == 0 {
                        json!({"op": "add", "path": "members", "value": [{"value": member}]})
                    } else {
                        json!({"op": "remove", "path": format!("members[value eq \"{member}\"]")})
                    };
                    let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [op]});
                    c.patch(&u).bearer_auth(&t).body(body.to_string()).send().await.unwrap().status()
                }
            })
            .await,
        );
        let (c, t, u) = (
            client.clone(),
            token.clone(),
            format!("{url}?excludedAttributes=members"),
        );
        rows.push(
            drive(
                &format!("GET excludedAttributes=members, group of {size}"),
                requests,
                move |_| {
                    let (c, t, u) = (c.clone(), t.clone(), u.clone());
                    async move { c.get(&u).bearer_auth(&t).send().await.unwrap().status() }
                },
            )
            .await,
        );
    }
    let peak = peak_rss_mib(gateway.id());
    gateway.kill().ok();
    gateway.wait().ok();
    println!(
        "\nengine: {}; {CONCURRENCY} concurrent clients; {requests} requests per row",
        engine_name(database)
    );
    println!(
        "| scenario | requests/s | p50 ms | p99 ms | gateway CPU µs/request | | |\n| --- | --- | --- | --- | --- | --- | --- |"
    );
    for row in &rows {
        println!("{}", row.row());
    }
    println!("\ngateway peak memory (VmHWM): {peak:.1} MiB");
}

/// Inserts `n` users in batches (seeding only: no seat accounting), returning their ids.
async fn seed_users_fast(store: &Store, tenant_id: &TenantId, n: usize) -> Vec<UserId> {
    let registry = scim_gateway::scim::schema::Registry::load().unwrap();
    let schemas = registry.user().unwrap();
    let now = now_micros();
    let mut ids = Vec::with_capacity(n);
    for chunk_start in (0..n).step_by(20_000) {
        let mut batch = NewUserRows::default();
        for i in chunk_start..(chunk_start + 20_000).min(n) {
            let u = user(tenant_id, i, now);
            batch.push(&u, &scim_gateway::tenant::users::index_of(schemas, &u.doc));
            ids.push(u.id);
        }
        let mut tx = store.begin().await.unwrap();
        tx.insert_users_batch(&batch).await.unwrap();
        tx.commit().await.unwrap();
    }
    ids
}

/// Users the users scenario creates through the running gateway's SCIM API before it measures,
/// as an IdP's first sync does (the rest of a large tenant is seeded through the library): the
/// lookups then meet the plans a tenant loaded a moment ago gets (issue #21).
const THROUGH_THE_API: usize = 10_000;

/// Creates users `from..to` (shaped as `user` makes them) with SCIM POSTs, 32 at a time, and
/// returns their ids in order.
async fn seed_users_through_api(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    from: usize,
    to: usize,
) -> Vec<UserId> {
    use futures_util::StreamExt;
    let posts = futures_util::stream::iter(from..to).map(|i| {
        let name = format!("user{i:07}@bench.example");
        let body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": name,
            "externalId": format!("ext-{i}"),
            "displayName": format!("User {i}"),
            "emails": [{"value": name, "type": "work", "primary": true}],
        });
        let request = client
            .post(format!("{base}/Users"))
            .bearer_auth(token)
            .json(&body);
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status().as_u16(), 201);
            let created: serde_json::Value = response.json().await.unwrap();
            UserId::new(created["id"].as_str().unwrap())
        }
    });
    posts.buffered(32).collect().await
}

/// A fresh database with the bench tenant and a SCIM token of its `connection`.
async fn bench_tenant(connection: &str) -> (String, Store, TenantRecord, TokenSecret, TokenRecord) {
    let database = fresh_database().await;
    let store = Store::connect(&database).await.unwrap();
    store.migrate().await.unwrap();
    let slug = TenantSlug::parse(TENANT).unwrap();
    let tenant = tenants::create_tenant(&store, &slug, None, None, now_micros())
        .await
        .unwrap();
    let (secret, token) = tokens::create_token(&store, TENANT, connection, None, now_micros())
        .await
        .unwrap();
    (database, store, tenant, secret, token)
}

async fn users_scenario(sizes: &[usize]) {
    let client = reqwest::Client::new();
    let baselines_before = baselines(&client, BASELINE_REQUESTS).await;
    let paired = BaselineServer::start(&client).await;
    let mut all_rows = Vec::new();
    let mut memory = Vec::new();
    let mut engine = "";
    for &size in sizes {
        let (database, store, tenant, token, _) = bench_tenant("bench").await;
        engine = engine_name(&database);
        let token = token.expose().to_string();
        let through_api = size.min(THROUGH_THE_API);
        let seeded = Instant::now();
        let mut ids = seed_users_fast(&store, &tenant.id, size - through_api).await;
        println!(
            "seeded {} users through the library in {:.1}s",
            size - through_api,
            seeded.elapsed().as_secs_f64()
        );
        let operator = if with_webhooks() {
            let (secret, _) = scim_gateway::tenant::operators::create_operator_token(
                &store,
                "bench",
                None,
                now_micros(),
            )
            .await
            .unwrap();
            Some(secret.expose().to_string())
        } else {
            None
        };
        store.close().await;

        let port = free_port();
        let mut gateway = start_gateway(&database, port);
        wait_ready(&client, port).await;
        if let Some(operator) = operator {
            let hook = start_receiver().await.0;
            let created = client
                .post(format!(
                    "http://127.0.0.1:{port}/admin/v1/tenants/{TENANT}/webhooks"
                ))
                .bearer_auth(operator)
                .json(&json!({"url": hook}))
                .send()
                .await
                .unwrap();
            assert_eq!(created.status().as_u16(), 201);
            println!("webhook endpoint on: every event is delivered while the rows run");
        }
        let base = format!("http://127.0.0.1:{port}/scim/v2/{TENANT}");
        let seeded = Instant::now();
        ids.extend(seed_users_through_api(&client, &base, &token, size - through_api, size).await);
        let took = seeded.elapsed().as_secs_f64();
        println!(
            "then created {through_api} users through the running gateway's API in {took:.1}s \
             ({:.0}/s), and measured at once",
            through_api as f64 / took
        );
        let ids = Arc::new(ids);
        // Each row alternates with the own-process baseline (baseline, row, baseline, row, …), so
        // that its share of the baseline does not depend on how busy the machine was elsewhere in
        // the run.
        let pid = gateway.id();
        let get =
            |label: String, requests: usize, url_of: Arc<dyn Fn(usize) -> String + Send + Sync>| {
                let (c, t, paired) = (client.clone(), token.clone(), &paired);
                async move {
                    let mut rounds = Vec::new();
                    let mut baseline_rounds = Vec::new();
                    for round in 0..PAIRED_ROUNDS {
                        baseline_rounds.push(
                            paired
                                .measure(&c, "paired", PAIRED_BASELINE / PAIRED_ROUNDS)
                                .await,
                        );
                        let (c, t, url_of) = (c.clone(), t.clone(), url_of.clone());
                        let offset = round * requests.div_ceil(PAIRED_ROUNDS);
                        rounds.push(
                            on_gateway(
                                pid,
                                drive(&label, requests.div_ceil(PAIRED_ROUNDS), move |i| {
                                    let (c, t, url) = (c.clone(), t.clone(), url_of(offset + i));
                                    async move {
                                        c.get(url).bearer_auth(t).send().await.unwrap().status()
                                    }
                                }),
                            )
                            .await,
                        );
                    }
                    let baseline = Stats::merge("paired", baseline_rounds);
                    let mut stats = Stats::merge(&label, rounds);
                    stats.paired_baseline = Some(baseline.rate());
                    stats
                }
            };
        let pick = move |i: usize| (i * 7919) % size;
        let q = |filter: String| urlencode(&filter);
        let b = base.clone();
        let by_id = ids.clone();
        all_rows.push(
            get(
                format!("GET /Users/{{id}} @ {size}"),
                LOOKUPS,
                Arc::new(move |i| format!("{b}/Users/{}", by_id[pick(i)])),
            )
            .await,
        );
        let b = base.clone();
        all_rows.push(
            get(
                format!("userName eq @ {size}"),
                LOOKUPS,
                Arc::new(move |i| {
                    format!(
                        "{b}/Users?filter={}",
                        q(format!("userName eq \"USER{:07}@bench.example\"", pick(i)))
                    )
                }),
            )
            .await,
        );
        let b = base.clone();
        all_rows.push(
            get(
                format!("externalId eq @ {size}"),
                LOOKUPS,
                Arc::new(move |i| {
                    format!(
                        "{b}/Users?filter={}",
                        q(format!("externalId eq \"ext-{}\"", pick(i)))
                    )
                }),
            )
            .await,
        );
        let b = base.clone();
        all_rows.push(
            get(
                format!("emails[type eq \"work\"].value eq @ {size}"),
                LOOKUPS,
                Arc::new(move |i| {
                    format!(
                        "{b}/Users?filter={}",
                        q(format!(
                            "emails[type eq \"work\"].value eq \"user{:07}@bench.example\"",
                            pick(i)
                        ))
                    )
                }),
            )
            .await,
        );
        let b = base.clone();
        all_rows.push(
            get(
                format!("userName co (scan) @ {size}"),
                40,
                Arc::new(move |i| {
                    format!(
                        "{b}/Users?count=10&filter={}",
                        q(format!("userName co \"{:05}@\"", pick(i) % 100_000))
                    )
                }),
            )
            .await,
        );
        let b = base.clone();
        let recent = "2999-01-01T00:00:00Z";
        all_rows.push(
            get(
                format!("meta.lastModified gt (sync) @ {size}"),
                LOOKUPS,
                Arc::new(move |_| {
                    format!(
                        "{b}/Users?filter={}",
                        q(format!("meta.lastModified gt \"{recent}\""))
                    )
                }),
            )
            .await,
        );
        let b = base.clone();
        let middle = size / 2;
        all_rows.push(
            get(
                format!("index page startIndex={middle} @ {size}"),
                40,
                Arc::new(move |_| {
                    format!("{b}/Users?startIndex={middle}&count=100&attributes=userName")
                }),
            )
            .await,
        );
        // A cursor that resumes in the middle of the tenant, as a walk would hold one.
        let request = scim_gateway::scim::list::ListRequest {
            attributes: Some("userName".into()),
            cursor: Some(String::new()),
            ..Default::default()
        };
        let cursor = scim_gateway::scim::list::Cursor {
            after_id: ids[middle].to_string(),
            issued_at: now_micros() + 3_600_000_000,
            fingerprint: request.fingerprint(&format!("{}/User", tenant.id)),
        }
        .encode();
        let b = base.clone();
        all_rows.push(
            get(
                format!("cursor page in the middle @ {size}"),
                2000,
                Arc::new(move |_| {
                    format!("{b}/Users?cursor={cursor}&count=100&attributes=userName")
                }),
            )
            .await,
        );
        // Writes as Entra sends them: a create, and a PATCH replacing one attribute. Each is a
        // transaction with its audit event (through SQLite's single writer); a share of the GET
        // baseline would mean nothing for them, so they are not paired with it.
        let (c, t, b) = (client.clone(), token.clone(), base.clone());
        all_rows.push(
            on_gateway(pid, drive(&format!("POST /Users (create) @ {size}"), WRITES, move |i| {
                let (c, t, url) = (c.clone(), t.clone(), format!("{b}/Users"));
                let body = json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": format!("new{i:07}@bench.example"),
                    "externalId": format!("new-{i}"),
                    "name": {"givenName": "New", "familyName": format!("User {i}")},
                    "emails": [{"value": format!("new{i:07}@bench.example"), "type": "work", "primary": true}],
                });
                async move { c.post(url).bearer_auth(t).json(&body).send().await.unwrap().status() }
            }))
            .await,
        );
        let (c, t, b, by_id) = (client.clone(), token.clone(), base.clone(), ids.clone());
        all_rows.push(
            on_gateway(pid, drive(&format!("PATCH replace displayName @ {size}"), WRITES, move |i| {
                let (c, t) = (c.clone(), t.clone());
                let url = format!("{b}/Users/{}", by_id[pick(i)]);
                let body = json!({
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "Replace", "path": "displayName", "value": format!("Renamed {i}")}],
                });
                async move { c.patch(url).bearer_auth(t).json(&body).send().await.unwrap().status() }
            }))
            .await,
        );
        memory.push((size, peak_rss_mib(gateway.id())));
        gateway.kill().ok();
        gateway.wait().ok();
    }
    let baselines_after = baselines(&client, BASELINE_REQUESTS).await;
    println!("\nengine: {engine}; {CONCURRENCY} concurrent clients");
    println!(
        "| scenario | requests/s | p50 ms | p99 ms | gateway CPU µs/request | own-process baseline alternating with it, req/s | share |\n\
         | --- | --- | --- | --- | --- | --- | --- |"
    );
    for (when, rows) in [("before", baselines_before), ("after", baselines_after)] {
        for mut row in rows {
            row.label = format!("{} ({when} the gateway rows)", row.label);
            println!("{}", row.row());
        }
    }
    for row in &all_rows {
        println!("{}", row.row());
    }
    for (size, mib) in memory {
        println!("gateway peak memory at {size} users (VmHWM): {mib:.1} MiB");
    }
}

/// Audit events seeded per user in the admin scenario: a tenant of N users carries 10 N events.
const EVENTS_PER_USER: usize = 10;

/// Inserts rows `i` = 0 … n−1 into `table`, generated in the database a million per statement
/// (`values`: one row's values, in SQL, in terms of `i`).
async fn insert_series(database: &str, table: &str, columns: &str, values: &str, n: usize) {
    use sqlx::{AssertSqlSafe, Connection};
    const CHUNK: usize = 1_000_000;
    for first in (0..n).step_by(CHUNK) {
        let last = (first + CHUNK).min(n) - 1;
        if database.starts_with("postgres") {
            let sql = format!(
                "INSERT INTO {table} ({columns}) SELECT {values} FROM generate_series({first}, {last}) AS g(i)"
            );
            let mut conn = sqlx::PgConnection::connect(database).await.unwrap();
            sqlx::query(AssertSqlSafe(sql))
                .execute(&mut conn)
                .await
                .unwrap();
        } else {
            let sql = format!(
                "WITH RECURSIVE g(i) AS (SELECT {first} UNION ALL SELECT i + 1 FROM g WHERE i < {last}) \
                 INSERT INTO {table} ({columns}) SELECT {values} FROM g"
            );
            let mut conn = sqlx::SqliteConnection::connect(database).await.unwrap();
            sqlx::query(AssertSqlSafe(sql))
                .execute(&mut conn)
                .await
                .unwrap();
        }
    }
}

/// Appends `n` audit events of the tenant's `entra` connection, as the writes of a busy sync
/// would (creates, updates and a rejection now and then), counted in the sync counters by the
/// trail's own trigger as they would be. Ten million events through the API would take hours,
/// so they are generated in the database, a million per statement and transaction. Event `i`
/// happens at the time returned plus `100 i` µs.
async fn seed_audit(database: &str, tenant: &TenantId, connection: &str, n: usize) -> i64 {
    let start = now_micros() - 3_600_000_000;
    let columns = "tenant_id, connection_id, at, actor, action, target_type, target_id, outcome, \
                   http_status, request_summary, counts_as";
    let values = format!(
        "'{tenant}', '{connection}', {start} + i * 100, 'scim', \
         CASE WHEN i % 3 = 0 THEN 'user.create' ELSE 'user.patch' END, 'User', \
         'seeded-' || (i % 1000), \
         CASE WHEN i % 50 = 0 THEN 'rejected' ELSE 'success' END, \
         CASE WHEN i % 50 = 0 THEN 400 ELSE 200 END, 'PATCH /scim/v2/bench/Users/x', \
         CASE WHEN i % 50 = 0 THEN 'rejections' WHEN i % 3 = 0 THEN 'creates' ELSE 'updates' END"
    );
    insert_series(database, "audit_events", columns, &values, n).await;
    start
}

/// The admin API's reads at tenants of `sizes` users with ten times as many audit events: stat
/// cards, a connection's sync state, a searched and filtered users page, and an audit page deep
/// in the trail. Their cost should not follow the tenant or the trail.
async fn admin_scenario(sizes: &[usize]) {
    let client = reqwest::Client::new();
    let mut rows = Vec::new();
    let mut engine = "";
    for &size in sizes {
        let (database, store, tenant, _, scim) = bench_tenant("entra").await;
        engine = engine_name(&database);
        let (operator, _) = scim_gateway::tenant::operators::create_operator_token(
            &store,
            "bench",
            None,
            now_micros(),
        )
        .await
        .unwrap();
        let operator = operator.expose().to_string();
        let seeded = Instant::now();
        let ids = seed_users_fast(&store, &tenant.id, size).await;
        let events = size * EVENTS_PER_USER;
        let first_event_at =
            seed_audit(&database, &tenant.id, scim.connection_id.as_str(), events).await;
        println!(
            "seeded {size} users and {events} audit events in {:.1}s",
            seeded.elapsed().as_secs_f64()
        );
        store.close().await;
        let port = free_port();
        let mut gateway = start_gateway(&database, port);
        wait_ready(&client, port).await;
        let pid = gateway.id();
        let base = format!("http://127.0.0.1:{port}/admin/v1/tenants/{TENANT}");
        // A cursor half-way down the trail, as a reader paging back would hold one.
        let deep = scim_gateway::tenant::cursor::encode(
            "audit",
            first_event_at + events as i64 / 2 * 100,
            i64::MAX,
        );
        for (label, path) in [
            ("stat cards", "/users/stats".to_string()),
            ("sync state", "/connections/entra/sync".to_string()),
            (
                "users page: search + status",
                "/users?search=user00012&status=invited&count=50".to_string(),
            ),
            (
                "audit page deep in the trail",
                format!("/audit?count=50&cursor={deep}"),
            ),
            (
                "audit page: rejections only",
                "/audit?count=50&outcome=rejected".to_string(),
            ),
        ] {
            let url = format!("{base}{path}");
            let (c, t) = (client.clone(), operator.clone());
            rows.push(
                on_gateway(
                    pid,
                    drive(
                        &format!("{label} @ {size} users, {events} events"),
                        2_000,
                        move |_| {
                            let (c, t, url) = (c.clone(), t.clone(), url.clone());
                            async move { c.get(url).bearer_auth(t).send().await.unwrap().status() }
                        },
                    ),
                )
                .await,
            );
        }
        // The admin pages, as a signed-in operator's browser asks for them (a page session
        // cookie, HTML rendered from the same use-cases).
        let pages = format!("http://127.0.0.1:{port}/ui");
        let signed_in = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .post(format!("{pages}/login"))
            .form(&[("token", operator.as_str())])
            .send()
            .await
            .unwrap();
        let cookie = signed_in.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string();
        let someone = ids[size / 2].to_string();
        for (label, path) in [
            ("page: dashboard", format!("/t/{TENANT}")),
            ("page: users table", format!("/t/{TENANT}/users")),
            (
                "page: users, search + status",
                format!("/t/{TENANT}/users?q=user00012&status=invited"),
            ),
            ("page: a user", format!("/t/{TENANT}/users/{someone}")),
            ("page: audit log", format!("/t/{TENANT}/audit")),
        ] {
            let url = format!("{pages}{path}");
            let (c, cookie) = (client.clone(), cookie.clone());
            rows.push(
                on_gateway(
                    pid,
                    drive(
                        &format!("{label} @ {size} users, {events} events"),
                        2_000,
                        move |_| {
                            let (c, cookie, url) = (c.clone(), cookie.clone(), url.clone());
                            async move {
                                c.get(url)
                                    .header("cookie", cookie)
                                    .send()
                                    .await
                                    .unwrap()
                                    .status()
                            }
                        },
                    ),
                )
                .await,
            );
        }
        gateway.kill().ok();
        gateway.wait().ok();
    }
    println!("\nengine: {engine}; {CONCURRENCY} concurrent clients; 2000 requests per row");
    println!(
        "| scenario | requests/s | p50 ms | p99 ms | gateway CPU µs/request | | |\n| --- | --- | --- | --- | --- | --- | --- |"
    );
    for row in &rows {
        println!("{}", row.row());
    }
}

/// Appends `n` events to the tenant's outbox, as `n` user creates would (a user of about the
/// size the users scenario creates), a million per statement.
async fn seed_events(database: &str, tenant: &TenantId, n: usize) {
    let start = now_micros();
    let data = "'{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"id\":\"u-' || i || '\",\
                \"userName\":\"user' || i || '@bench.example\",\"name\":{\"givenName\":\"Bench\",\
                \"familyName\":\"User\"},\"active\":true}'";
    let values = format!(
        "'evt_bench_' || i, '{tenant}', 'user.created', {start} + i, 'scim', 'User', 'u-' || i, 1, {data}"
    );
    let columns =
        "id, tenant_id, type, at, actor, resource_type, resource_id, resource_version, data";
    insert_series(database, "events", columns, &values, n).await;
}

/// A webhook receiver in this process answering 204; its URL and how many it received.
async fn start_receiver() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    let delivered = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = Arc::clone(&delivered);
    let receiver = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let counter = Arc::clone(&counter);
            async move {
                counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, receiver).await });
    (hook, delivered)
}

/// Webhook delivery: a backlog of N events in the outbox, one endpoint, a receiver in this
/// process answering 204. Reports events delivered per second by one gateway process and its
/// peak memory, which must not follow the backlog.
async fn webhooks_scenario(sizes: &[usize]) {
    use std::sync::atomic::Ordering;
    let client = reqwest::Client::new();
    println!(
        "\n| backlog | delivered/s | seconds | gateway CPU µs/event | gateway peak memory MiB |\n| --- | --- | --- | --- | --- |"
    );
    for &size in sizes {
        let (database, store, tenant, _, _) = bench_tenant("entra").await;
        let (operator, _) = scim_gateway::tenant::operators::create_operator_token(
            &store,
            "bench",
            None,
            now_micros(),
        )
        .await
        .unwrap();
        store.close().await;
        let (hook, delivered) = start_receiver().await;
        let port = free_port();
        let key = scim_gateway::sso::secret_key::SecretKey::generate().unwrap();
        let mut gateway = Command::new(env!("CARGO_BIN_EXE_scim-gateway"))
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--database",
                &database,
            ])
            .args(["--allow-insecure-webhooks", "--token-rate-limit", "0"])
            .env("SCIM_GATEWAY_SECRET_KEY", &key)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start scim-gateway");
        wait_ready(&client, port).await;
        let created = client
            .post(format!(
                "http://127.0.0.1:{port}/admin/v1/tenants/{TENANT}/webhooks"
            ))
            .bearer_auth(operator.expose())
            .json(&json!({"url": hook}))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status().as_u16(), 201);
        // The backlog lands after the endpoint exists, as a burst of writes would.
        seed_events(&database, &tenant.id, size).await;
        let pid = gateway.id();
        let cpu_before = cpu_time(pid);
        let started = Instant::now();
        while delivered.load(Ordering::Relaxed) < size {
            tokio::time::sleep(Duration::from_millis(20)).await;
            assert!(
                started.elapsed() < Duration::from_secs(3600),
                "delivery stalled"
            );
        }
        let seconds = started.elapsed().as_secs_f64();
        let cpu = cpu_time(pid).saturating_sub(cpu_before);
        println!(
            "| {size} | {:.0} | {seconds:.1} | {} | {:.1} |",
            size as f64 / seconds,
            cpu.as_micros() / size as u128,
            peak_rss_mib(pid)
        );
        gateway.kill().ok();
        gateway.wait().ok();
    }
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn engine_name(database: &str) -> &'static str {
    if database.starts_with("postgres") {
        "PostgreSQL"
    } else {
        "SQLite"
    }
}

/// A fresh database: a new SQLite file, or a new schema on the server of `BENCH_DATABASE_URL`.
async fn fresh_database() -> String {
    let name = format!("bench_{}", uuid::Uuid::new_v4().simple());
    match std::env::var("BENCH_DATABASE_URL") {
        Ok(url) if url.starts_with("postgres") => {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {name}")))
                .execute(&mut conn)
                .await
                .unwrap();
            let sep = if url.contains('?') { '&' } else { '?' };
            format!("{url}{sep}options=-c%20search_path%3D{name}")
        }
        _ => {
            let dir = std::env::temp_dir().join("scim-gateway-bench");
            std::fs::create_dir_all(&dir).unwrap();
            format!("sqlite://{}", dir.join(format!("{name}.db")).display())
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `cargo bench` adds `--bench`; the scenario is the word among the arguments.
    let scenario = args
        .iter()
        .find(|a| {
            [
                "users",
                "groups",
                "admin",
                "webhooks",
                "webhook-cost",
                "import",
                "agencies",
            ]
            .contains(&a.as_str())
        })
        .cloned()
        .unwrap_or_else(|| "users".into());
    let sizes: Vec<usize> = args
        .iter()
        .position(|a| a == "--sizes")
        .and_then(|i| args.get(i + 1))
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![10_000, 100_000, 1_000_000]);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    if let Some(i) = args.iter().position(|a| a == "baseline-server") {
        let port: u16 = args[i + 1].parse().unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
                .await
                .unwrap();
            axum::serve(listener, baseline_router()).await.unwrap();
        });
        return;
    }
    // `get URL [TOKEN]`: the same client against a gateway that is already running, for profiling.
    if let Some(i) = args.iter().position(|a| a == "get") {
        let url = args.get(i + 1).cloned().expect("get URL [TOKEN]");
        let token = args.get(i + 2).cloned().unwrap_or_default();
        runtime.block_on(async {
            let client = reqwest::Client::new();
            let stats = drive(&format!("GET {url}"), 20_000, move |_| {
                let (c, u, t) = (client.clone(), url.clone(), token.clone());
                async move { c.get(u).bearer_auth(t).send().await.unwrap().status() }
            })
            .await;
            println!("{}", stats.row());
        });
        return;
    }
    runtime.block_on(async {
        match scenario.as_str() {
            "groups" => groups_scenario(&fresh_database().await).await,
            "users" => users_scenario(&sizes).await,
            "admin" => admin_scenario(&sizes).await,
            "webhooks" => webhooks_scenario(&sizes).await,
            "webhook-cost" => webhook_cost_scenario(sizes[0]).await,
            "import" => import::import_scenario(&sizes).await,
            "agencies" => agencies::agencies_scenario(&sizes).await,
            other => panic!(
                "unknown scenario '{other}'; try: users, groups, admin, webhooks, webhook-cost, import, agencies"
            ),
        }
    });
}

/// What a webhook costs SCIM writes, paired in one gateway process: one endpoint receiving every
/// event, and rounds of creates and PATCHes with the endpoint off (disabled) and on (enabled from
/// the feed's end, so it delivers what the round writes), the order alternating from round to
/// round so that neither state always runs first. Reports each round and the medians.
async fn webhook_cost_scenario(size: usize) {
    use std::sync::atomic::Ordering;
    const ROUND_WRITES: usize = 1000;
    // The machine is shared: more rounds make the medians steadier (`BENCH_ROUNDS`).
    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10);
    let client = reqwest::Client::new();
    let (database, store, tenant, token, _) = bench_tenant("entra").await;
    let token = token.expose().to_string();
    let ids = Arc::new(seed_users_fast(&store, &tenant.id, size).await);
    let (operator, _) =
        scim_gateway::tenant::operators::create_operator_token(&store, "bench", None, now_micros())
            .await
            .unwrap();
    let operator = operator.expose().to_string();
    store.close().await;
    let port = free_port();
    let mut gateway = start_gateway_with(&database, port, true);
    wait_ready(&client, port).await;
    let pid = gateway.id();
    let (hook, delivered) = start_receiver().await;
    let admin = format!("http://127.0.0.1:{port}/admin/v1/tenants/{TENANT}/webhooks");
    let created: serde_json::Value = client
        .post(&admin)
        .bearer_auth(&operator)
        .json(&json!({"url": hook}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let endpoint = format!("{admin}/{}", created["id"].as_str().unwrap());
    let base = format!("http://127.0.0.1:{port}/scim/v2/{TENANT}");
    let mut rows: Vec<(bool, Stats, Stats)> = Vec::new();
    for round in 0..rounds {
        let order = if round.is_multiple_of(2) {
            [false, true]
        } else {
            [true, false]
        };
        for on in order {
            let change = if on {
                let now = time::OffsetDateTime::now_utc()
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap();
                json!({"enabled": true, "replayFrom": now})
            } else {
                json!({"enabled": false})
            };
            let answer = client
                .patch(&endpoint)
                .bearer_auth(&operator)
                .json(&change)
                .send()
                .await
                .unwrap();
            assert!(answer.status().is_success(), "{}", answer.status());
            let before = delivered.load(Ordering::Relaxed);
            let state = if on { "on" } else { "off" };
            let offset = rows.len() * ROUND_WRITES;
            let (c, t, b) = (client.clone(), token.clone(), base.clone());
            let creates = on_gateway(pid, drive(&format!("create, webhook {state}"), ROUND_WRITES, move |i| {
                let (c, t, url) = (c.clone(), t.clone(), format!("{b}/Users"));
                let n = offset + i;
                let body = json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": format!("new{n:07}@bench.example"),
                    "externalId": format!("new-{n}"),
                    "name": {"givenName": "New", "familyName": format!("User {n}")},
                    "emails": [{"value": format!("new{n:07}@bench.example"), "type": "work", "primary": true}],
                });
                async move { c.post(url).bearer_auth(t).json(&body).send().await.unwrap().status() }
            }))
            .await;
            let (c, t, b, by_id) = (client.clone(), token.clone(), base.clone(), ids.clone());
            let patches = on_gateway(pid, drive(&format!("PATCH, webhook {state}"), ROUND_WRITES, move |i| {
                let (c, t) = (c.clone(), t.clone());
                let n = offset + i;
                let url = format!("{b}/Users/{}", by_id[(n * 7919) % by_id.len()]);
                // A value no earlier round wrote: every PATCH changes the user.
                let body = json!({
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "Replace", "path": "displayName", "value": format!("Renamed {n}")}],
                });
                async move { c.patch(url).bearer_auth(t).json(&body).send().await.unwrap().status() }
            }))
            .await;
            println!(
                "round {round}, webhook {state}: create {:.0} req/s, PATCH {:.0} req/s; {} events delivered meanwhile",
                creates.rate(),
                patches.rate(),
                delivered.load(Ordering::Relaxed) - before
            );
            rows.push((on, creates, patches));
        }
    }
    gateway.kill().ok();
    gateway.wait().ok();
    let median = |mut values: Vec<f64>| {
        values.sort_by(f64::total_cmp);
        let mid = values.len() / 2;
        if values.len().is_multiple_of(2) {
            (values[mid - 1] + values[mid]) / 2.0
        } else {
            values[mid]
        }
    };
    let cpu = |s: &Stats| {
        s.server_cpu
            .map_or(0.0, |c| c.as_secs_f64() * 1e6 / s.requests as f64)
    };
    println!(
        "\nengine: {}; {size} users; {rounds} rounds of {ROUND_WRITES} creates and {ROUND_WRITES} PATCHes per state; {CONCURRENCY} clients",
        engine_name(&database)
    );
    println!(
        "| row | off: req/s (median) | on: req/s (median) | on/off | off: gateway CPU µs/req | on: gateway CPU µs/req |\n| --- | --- | --- | --- | --- | --- |"
    );
    for (name, pick) in [
        ("POST /Users (create)", 0_usize),
        ("PATCH replace displayName", 1),
    ] {
        let of = |on: bool, measure: &dyn Fn(&Stats) -> f64| {
            median(
                rows.iter()
                    .filter(|(state, _, _)| *state == on)
                    .map(|(_, c, p)| measure(if pick == 0 { c } else { p }))
                    .collect(),
            )
        };
        let (off_rate, on_rate) = (of(false, &Stats::rate), of(true, &Stats::rate));
        println!(
            "| {name} | {off_rate:.0} | {on_rate:.0} | {:.1} % | {:.0} | {:.0} |",
            100.0 * on_rate / off_rate,
            of(false, &cpu),
            of(true, &cpu)
        );
    }
}
