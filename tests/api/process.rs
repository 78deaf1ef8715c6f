//! The real binary as an operator runs it: two processes racing for the last seats, SIGKILL at a
//! random moment under concurrent writes, and SIGTERM under load. On both engines (the database
//! is `fresh_database_url`'s, so PostgreSQL when `TEST_DATABASE_URL` names it).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use rand::RngExt;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use tokio::task::JoinSet;

use crate::helpers::{fresh_database_url, user};

const BINARY: &str = env!("CARGO_BIN_EXE_scim-gateway");
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// Runs a CLI command of the binary on `database` and returns its stdout.
pub(crate) fn cli(database: &str, args: &[&str]) -> String {
    let output = Command::new(BINARY)
        .arg("--database")
        .arg(database)
        .args(args)
        .output()
        .expect("run the binary");
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("utf-8")
        .trim()
        .to_string()
}

/// A tenant with `seats` seats and a token for it, made through the CLI; returns the token.
pub(crate) fn tenant_with_token(database: &str, slug: &str, seats: Option<u32>) -> String {
    let seats = seats.map(|n| n.to_string());
    let mut args = vec!["tenant", "create", slug];
    if let Some(seats) = &seats {
        args.extend(["--seats", seats.as_str()]);
    }
    cli(database, &args);
    cli(database, &["token", "create", "--tenant", slug])
}

/// A `scim-gateway serve` process on a free loopback port.
pub(crate) struct Gateway {
    child: Child,
    pub(crate) root: String,
    /// Every line the process wrote to stderr so far (its log).
    pub(crate) log: Arc<Mutex<Vec<String>>>,
}

impl Gateway {
    pub(crate) fn start(database: &str) -> Gateway {
        Gateway::start_with(database, &[])
    }

    /// A gateway serving with these extra `serve` flags.
    pub(crate) fn start_with(database: &str, serve_flags: &[&str]) -> Gateway {
        Gateway::start_configured(database, serve_flags, &[("RUST_LOG", "warn")])
    }

    /// A gateway serving with these extra `serve` flags and environment variables.
    pub(crate) fn start_configured(
        database: &str,
        serve_flags: &[&str],
        env: &[(&str, &str)],
    ) -> Gateway {
        let mut child = Command::new(BINARY)
            .arg("--database")
            .arg(database)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(serve_flags)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the gateway");
        let stderr = child.stderr.take().expect("stderr");
        let (address_tx, address_rx) = mpsc::channel();
        let log = Arc::new(Mutex::new(Vec::new()));
        let kept = log.clone();
        // The gateway says where it listens on stderr (a JSON log line with `--log-format json`);
        // the whole log is kept, and read as it comes so that a full pipe never blocks it.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(address) = listening_address(&line) {
                    address_tx.send(address).ok();
                }
                kept.lock().expect("log").push(line);
            }
        });
        let address = address_rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the gateway announces its address");
        Gateway {
            child,
            root: format!("http://{address}"),
            log,
        }
    }

    pub(crate) fn base(&self, slug: &str) -> String {
        format!("{}/scim/v2/{slug}", self.root)
    }

    pub(crate) fn kill(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }

    pub(crate) fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill -TERM");
        assert!(status.success());
    }

    pub(crate) fn wait(&mut self) -> ExitStatus {
        self.child.wait().expect("wait")
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The address a `serve` log line announces: the plain announcement, or the JSON log's
/// `scim-gateway listening` event.
fn listening_address(line: &str) -> Option<String> {
    if let Some(rest) = line.strip_prefix("scim-gateway listening on ") {
        return rest.split_whitespace().next().map(str::to_string);
    }
    let event: Value = serde_json::from_str(line).ok()?;
    let fields = &event["fields"];
    (fields["message"] == "scim-gateway listening")
        .then(|| fields["address"].as_str().map(str::to_string))
        .flatten()
}

/// POSTs `body` as SCIM JSON: the status and the answer, or status 0 when the connection broke
/// (the process was killed), which acknowledges nothing.
pub(crate) async fn post_json(
    client: &Client,
    url: &str,
    token: &str,
    body: &Value,
) -> (u16, Value) {
    match client
        .post(url)
        .bearer_auth(token)
        .header("content-type", "application/scim+json")
        .body(body.to_string())
        .send()
        .await
    {
        Ok(response) => {
            let status = response.status().as_u16();
            (status, response.json().await.unwrap_or(Value::Null))
        }
        Err(_) => (0, Value::Null),
    }
}

async fn create(client: &Client, base: &str, token: &str, body: &Value) -> (u16, Value) {
    post_json(client, &format!("{base}/Users"), token, body).await
}

/// The status of a PATCH, or `None` when the connection broke.
async fn patch_status(client: &Client, url: &str, token: &str, body: &Value) -> Option<StatusCode> {
    let response = client
        .patch(url)
        .bearer_auth(token)
        .header("content-type", "application/scim+json")
        .body(body.to_string())
        .send()
        .await;
    response.ok().map(|r| r.status())
}

pub(crate) async fn get_json(client: &Client, url: &str, token: &str) -> Value {
    client
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// `totalResults` of a list URL.
pub(crate) async fn total(client: &Client, url: &str, token: &str) -> i64 {
    get_json(client, url, token).await["totalResults"]
        .as_i64()
        .unwrap()
}

/// Two gateway processes on one database race `racers` creates for `seats` seats: exactly
/// `seats` are created and the rest refused with the seat-limit error, none answered otherwise;
/// the count agrees, and the tenant is told it is full exactly once.
async fn race_for_seats(seats: u32, racers: usize) {
    let database = fresh_database_url().await;
    let token = tenant_with_token(&database, "race", Some(seats));
    let operator = cli(&database, &["admin-token", "create", "--name", "race"]);
    let gateways = [Gateway::start(&database), Gateway::start(&database)];
    let client = Client::new();
    let mut creates = JoinSet::new();
    for i in 0..racers {
        let (client, token) = (client.clone(), token.clone());
        let base = gateways[i % 2].base("race");
        creates.spawn(
            async move { create(&client, &base, &token, &user(&format!("racer{i}"))).await },
        );
    }
    let (mut created, mut refused) = (0, 0);
    let reached = format!("seat limit {seats} reached");
    while let Some(outcome) = creates.join_next().await {
        let (status, body) = outcome.unwrap();
        match status {
            201 => created += 1,
            403 => {
                assert!(
                    body["detail"].as_str().unwrap().contains(&reached),
                    "{body}"
                );
                refused += 1;
            }
            other => panic!("a create answered {other}: {body}"),
        }
    }
    let seats = usize::try_from(seats).unwrap();
    assert_eq!((created, refused), (seats, racers - seats));
    let users = total(
        &client,
        &format!("{}/Users?count=0", gateways[1].base("race")),
        &token,
    )
    .await;
    assert_eq!(users, i64::try_from(seats).unwrap());
    let shown = cli(&database, &["--json", "tenant", "show", "race"]);
    let tenant: Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(tenant["seatsUsed"], seats, "{tenant}");
    let events_url = format!(
        "{}/admin/v1/tenants/race/events?limit=1000",
        gateways[0].root
    );
    let feed = get_json(&client, &events_url, &operator).await;
    let events = feed["events"].as_array().unwrap();
    let of_type = |wanted: &str| events.iter().filter(|e| e["type"] == wanted).count();
    assert_eq!(of_type("user.created"), seats, "{feed}");
    assert_eq!(of_type("tenant.seat_limit_reached"), 1, "{feed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_racing_for_five_seats_create_exactly_five() {
    race_for_seats(5, 40).await;
}

/// Enough seats that, on PostgreSQL, each connection takes most of its seats from its own quota
/// (`Tx::reserve_seat`), and the last ones come from quotas taken back.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_racing_for_sixty_seats_create_exactly_sixty() {
    race_for_seats(60, 150).await;
}

/// What a client was told succeeded before the kill.
#[derive(Default)]
struct Acknowledged {
    created: Vec<(String, String)>,
    patched: Vec<(String, String)>,
    joined: Vec<String>,
}

/// Concurrent creates, PATCHes and group member adds until the process dies; returns what was
/// acknowledged.
async fn write_until_killed(
    base: &str,
    token: &str,
    round: usize,
    seeded: &[String],
    group: &str,
) -> Acknowledged {
    let client = Client::new();
    let mut writers = JoinSet::new();
    for worker in 0..6 {
        let (client, base, token, group) = (
            client.clone(),
            base.to_string(),
            token.to_string(),
            group.to_string(),
        );
        let seeded = seeded.to_vec();
        writers.spawn(async move {
            let mut done = Acknowledged::default();
            for n in 0.. {
                let user_name = format!("r{round}w{worker}n{n}");
                let (status, body) = create(&client, &base, &token, &user(&user_name)).await;
                if status == 0 {
                    break;
                }
                assert_eq!(status, 201, "{body}");
                let id = body["id"].as_str().unwrap().to_string();
                done.created.push((id.clone(), user_name));
                // Each seeded user is PATCHed by one worker, once per round.
                if let Some(target) = seeded.get(n * 6 + worker) {
                    let title = format!("title r{round} n{n}");
                    let patch = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": title}]});
                    match patch_status(&client, &format!("{base}/Users/{target}"), &token, &patch).await {
                        Some(StatusCode::OK) => done.patched.push((target.clone(), title)),
                        Some(other) => panic!("PATCH answered {other}"),
                        None => break,
                    }
                }
                let add = json!({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members", "value": [{"value": id}]}]});
                match patch_status(&client, &format!("{base}/Groups/{group}"), &token, &add).await {
                    Some(StatusCode::NO_CONTENT) => done.joined.push(id),
                    Some(other) => panic!("member add answered {other}"),
                    None => break,
                }
            }
            done
        });
    }
    let mut all = Acknowledged::default();
    while let Some(done) = writers.join_next().await {
        let done = done.unwrap();
        all.created.extend(done.created);
        all.patched.extend(done.patched);
        all.joined.extend(done.joined);
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_process_loses_no_acknowledged_write_and_leaves_none_half_applied() {
    let database = fresh_database_url().await;
    let token = tenant_with_token(&database, "crash", None);
    let client = Client::new();
    // Users to PATCH and a group to join, made before the first kill.
    let (seeded, group) = {
        let gateway = Gateway::start(&database);
        let base = gateway.base("crash");
        let mut seeded = Vec::new();
        for i in 0..60 {
            let (status, body) = create(&client, &base, &token, &user(&format!("seed{i}"))).await;
            assert_eq!(status, 201);
            seeded.push(body["id"].as_str().unwrap().to_string());
        }
        let crew = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Crew"});
        let (status, group) = post_json(&client, &format!("{base}/Groups"), &token, &crew).await;
        assert_eq!(status, 201);
        (seeded, group["id"].as_str().unwrap().to_string())
    };
    let mut acknowledged = Acknowledged::default();
    for round in 0..3 {
        // Unlimited: six workers on a fast machine pass the default 500 requests a second per
        // token before the kill, and a 429 is not what this test is about.
        let mut gateway = Gateway::start_with(&database, &["--token-rate-limit", "0"]);
        let base = gateway.base("crash");
        let writes = tokio::spawn({
            let (base, token, seeded, group) =
                (base.clone(), token.clone(), seeded.clone(), group.clone());
            async move { write_until_killed(&base, &token, round, &seeded, &group).await }
        });
        let delay = rand::rng().random_range(150..900);
        tokio::time::sleep(Duration::from_millis(delay)).await;
        gateway.kill();
        let done = writes.await.unwrap();
        assert!(
            !done.created.is_empty(),
            "round {round}: nothing was written before the kill"
        );
        acknowledged.created.extend(done.created);
        acknowledged.patched.extend(done.patched);
        acknowledged.joined.extend(done.joined);
    }

    let gateway = Gateway::start(&database);
    let base = gateway.base("crash");
    for (id, user_name) in &acknowledged.created {
        let found: Value = client
            .get(format!("{base}/Users"))
            .query(&[("filter", format!("userName eq \"{user_name}\""))])
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(found["totalResults"], 1, "{user_name}");
        assert_eq!(found["Resources"][0]["id"], json!(id));
    }
    // A seeded user is PATCHed at most once per round; its title is the last acknowledged one
    // unless a later round's unacknowledged PATCH committed over it.
    for (id, title) in &acknowledged.patched {
        let read = get_json(&client, &format!("{base}/Users/{id}"), &token).await;
        let stored = read["title"].as_str().unwrap_or_default();
        assert!(stored >= title.as_str(), "{id}: {stored} lost {title}");
    }
    let members = get_json(&client, &format!("{base}/Groups/{group}"), &token).await;
    let member_ids: Vec<&str> = members["members"]
        .as_array()
        .map(|m| m.iter().filter_map(|m| m["value"].as_str()).collect())
        .unwrap_or_default();
    for id in &acknowledged.joined {
        assert!(member_ids.contains(&id.as_str()), "member {id} lost");
    }
    // Nothing half-applied: the seat counter matches the users, and every user that exists
    // has its create event.
    let users = total(&client, &format!("{base}/Users?count=0"), &token).await;
    let tenant: Value =
        serde_json::from_str(&cli(&database, &["--json", "tenant", "show", "crash"])).unwrap();
    assert_eq!(tenant["seatsUsed"], users, "{tenant}");
    assert!(users >= 60 + acknowledged.created.len() as i64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_answers_every_accepted_request_refuses_new_ones_and_exits_zero() {
    let database = fresh_database_url().await;
    let token = tenant_with_token(&database, "drain", None);
    let mut gateway = Gateway::start(&database);
    let base = gateway.base("drain");
    let client = Client::new();
    // Bulk requests of many creates each: long enough to be in flight when the signal comes.
    let mut bulks = JoinSet::new();
    for b in 0..4 {
        let operations: Vec<Value> = (0..400)
            .map(|i| json!({"method": "POST", "path": "/Users", "bulkId": format!("b{b}u{i}"), "data": user(&format!("b{b}u{i}"))}))
            .collect();
        let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": operations});
        let (client, base, token) = (client.clone(), base.clone(), token.clone());
        bulks.spawn(async move {
            let response = client
                .post(format!("{base}/Bulk"))
                .bearer_auth(&token)
                .header("content-type", "application/scim+json")
                .body(body.to_string())
                .send()
                .await
                .expect("an accepted request is answered");
            assert_eq!(response.status(), StatusCode::OK);
            let body: Value = response.json().await.unwrap();
            let statuses: Vec<&str> = body["Operations"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["status"].as_str().unwrap())
                .collect();
            assert_eq!(statuses.len(), 400);
            assert!(statuses.iter().all(|s| *s == "201"), "{statuses:?}");
        });
    }
    // The signal comes once the gateway is working on every one of them: a request still on the
    // wire, not yet read, is not accepted (hyper closes such connections on shutdown, and a client
    // retries them), so the test waits until each Bulk has written its first user.
    for b in 0..4 {
        let started = format!("{base}/Users?count=0&filter=userName%20sw%20%22b{b}u%22");
        while total(&client, &started, &token).await == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    gateway.terminate();
    // New connections are refused while the accepted requests finish.
    let address = gateway.root.trim_start_matches("http://").to_string();
    let mut refused = false;
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(&address).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(refused, "new connections are still accepted after SIGTERM");
    while let Some(done) = bulks.join_next().await {
        done.unwrap();
    }
    assert!(gateway.wait().success());
    let gateway = Gateway::start(&database);
    assert_eq!(
        total(
            &client,
            &format!("{}/Users?count=0", gateway.base("drain")),
            &token
        )
        .await,
        1600
    );
}

/// A Python program that opens the SQLite file named by its argument, reads, and closes it.
const READ_AND_CLOSE: &str = "import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute('SELECT count(*) FROM users').fetchall()
db.close()
";

/// The number of times the server's writes waited for its SQLite log to start over, from
/// `/metrics`.
async fn log_start_overs(client: &Client, root: &str) -> u64 {
    let text = client
        .get(format!("{root}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    text.lines()
        .find_map(|line| {
            line.strip_prefix("scim_gateway_sqlite_wal_pauses_total{engine=\"sqlite\"} ")
        })
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0)
}

/// Another program reading the SQLite file while `serve` runs (an operator's `sqlite3` shell or
/// script; the write benchmark's own Python) leaves the server's write-ahead log alone. The
/// server's checkpoint thread once synced the files through descriptors of its own and closed
/// them, which drops every POSIX lock the process holds on the database file: the reader's
/// close then found itself the file's last user, checkpointed and deleted the log the server
/// went on committing to, so whoever opened the file later (the server restarted) lost every
/// write since (issue #21, session 19). SQLite only: the log is SQLite's.
#[tokio::test]
async fn a_program_reading_the_file_beside_the_server_leaves_its_log_alone() {
    use std::os::unix::fs::MetadataExt;

    let dir = std::env::temp_dir().join("scim-gateway-tests");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(format!("log_{}.db", uuid::Uuid::new_v4().simple()));
    let database = format!("sqlite://{}", path.display());
    let token = tenant_with_token(&database, "acme", None);
    // Unlimited: a slow machine needs more creates, faster, than the default rate allows.
    let mut gateway = Gateway::start_with(&database, &["--token-rate-limit", "0"]);
    let base = gateway.base("acme");
    let client = Client::new();
    // Creates until the log has started over once: the checkpoint thread syncs the files first.
    let mut created = 0_u64;
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while log_start_overs(&client, &gateway.root).await == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the log never started over"
        );
        let mut batch = JoinSet::new();
        for _ in 0..16 {
            let (client, base, token) = (client.clone(), base.clone(), token.clone());
            let name = format!("u{}", uuid::Uuid::new_v4().simple());
            batch.spawn(async move { create(&client, &base, &token, &user(&name)).await.0 });
        }
        for status in batch.join_all().await {
            assert_eq!(status, 201);
            created += 1;
        }
    }
    let log = dir.join(format!("{}-wal", path.file_name().expect("name").display()));
    let before = std::fs::metadata(&log).expect("the server's log").ino();
    let read = Command::new("python3")
        .args(["-c", READ_AND_CLOSE])
        .arg(&path)
        .output()
        .expect("run python3");
    assert!(
        read.status.success(),
        "{}",
        String::from_utf8_lossy(&read.stderr)
    );
    let after = std::fs::metadata(&log).map(|m| m.ino());
    assert_eq!(
        after.ok(),
        Some(before),
        "the reader left the server's log in place"
    );
    // What the server acknowledges after the read is in the file for whoever opens it next.
    let (status, _) = create(&client, &base, &token, &user("after-the-read")).await;
    assert_eq!(status, 201);
    gateway.kill();
    let shown: Value =
        serde_json::from_str(&cli(&database, &["--json", "tenant", "show", "acme"])).expect("json");
    assert_eq!(shown["seatsUsed"], json!(created + 1));
}
