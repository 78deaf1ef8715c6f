//! The command-line contract of SPEC §6, run as the real binary.

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};

use reqwest::StatusCode;
use serde_json::Value;

use scim_gateway::app::App;
use scim_gateway::config::Settings;
use scim_gateway::store::{Store, TenantId};

use crate::helpers::{TENANT, fresh_database_url, user};

fn gateway(database: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_scim-gateway"))
        .arg("--database")
        .arg(database)
        .args(args)
        .env_remove("DATABASE_URL")
        .output()
        .expect("run scim-gateway")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("utf-8")
}

#[tokio::test]
async fn tenant_create_then_again_fails_clearly() {
    let db = fresh_database_url().await;
    let first = gateway(&db, &["tenant", "create", "globex", "--seats", "3"]);
    assert!(first.status.success(), "{first:?}");
    let again = gateway(&db, &["tenant", "create", "globex"]);
    assert!(!again.status.success());
    let err = String::from_utf8(again.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "one clear line: {err}");
    assert!(
        err.contains("globex") && err.contains("already exists"),
        "{err}"
    );

    let bad = gateway(&db, &["tenant", "create", "Not A Slug"]);
    assert!(!bad.status.success());

    let list: Value =
        serde_json::from_str(&stdout(&gateway(&db, &["--json", "tenant", "list"]))).unwrap();
    assert_eq!(list[0]["slug"], "globex");
    assert_eq!(list[0]["seatLimit"], 3);
    assert_eq!(
        list[0]["immutableAttributes"],
        serde_json::json!(["userName", "userType"])
    );
}

#[tokio::test]
async fn tenant_update_changes_seats_and_locked_attributes() {
    let db = fresh_database_url().await;
    assert!(
        gateway(&db, &["tenant", "create", "initech"])
            .status
            .success()
    );
    let updated = gateway(
        &db,
        &[
            "tenant",
            "update",
            "initech",
            "--seats",
            "10",
            "--immutable",
            "username,name.givenName,EMAILS,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
            "--json",
        ],
    );
    assert!(updated.status.success(), "{updated:?}");
    let tenant: Value = serde_json::from_str(&stdout(&updated)).unwrap();
    assert_eq!(tenant["seatLimit"], 10);
    assert_eq!(
        tenant["immutableAttributes"],
        serde_json::json!([
            "userName",
            "name.givenName",
            "emails",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber"
        ])
    );
    let unlimited = gateway(
        &db,
        &["--json", "tenant", "update", "initech", "--unlimited-seats"],
    );
    assert_eq!(
        serde_json::from_str::<Value>(&stdout(&unlimited)).unwrap()["seatLimit"],
        Value::Null
    );
    assert!(
        !gateway(&db, &["tenant", "update", "initech", "--immutable", "id"])
            .status
            .success()
    );
    assert!(
        !gateway(&db, &["tenant", "update", "nope", "--seats", "1"])
            .status
            .success()
    );
}

#[tokio::test]
async fn token_create_prints_only_the_token_and_it_works_on_a_running_server() {
    let db = fresh_database_url().await;
    assert!(
        gateway(&db, &["tenant", "create", "hooli"])
            .status
            .success()
    );
    let store = Store::connect(&db).await.unwrap();
    let mut settings = Settings::new("127.0.0.1:0".parse().unwrap(), None);
    // Reads may reuse a looked-up token for `--token-cache-ms` (see auth.rs); not here.
    settings.token_cache_ttl = std::time::Duration::ZERO;
    let app = App::build(settings, store).await.unwrap();
    let root = app.public_url().to_string();
    let (_stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        stopped.await.ok();
    }));

    // Created while the server runs: usable at once, no restart.
    let created = gateway(
        &db,
        &[
            "token",
            "create",
            "--tenant",
            "hooli",
            "--connection",
            "okta",
        ],
    );
    assert!(created.status.success());
    let out = stdout(&created);
    assert_eq!(out.lines().count(), 1);
    let token = out.trim();
    assert!(token.starts_with("scgw_") && token.len() > 40);
    let client = reqwest::Client::new();
    let users = format!("{root}/scim/v2/hooli/Users");
    let response = client
        .post(&users)
        .bearer_auth(token)
        .body(user("cli").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);

    let listed: Value = serde_json::from_str(&stdout(&gateway(
        &db,
        &["token", "list", "--tenant", "hooli", "--json"],
    )))
    .unwrap();
    let prefix = listed[0]["prefix"].as_str().unwrap().to_string();
    assert!(token.starts_with(&prefix) && prefix.len() < 20);
    assert_eq!(listed[0]["connection"], "okta");
    assert_eq!(listed[0]["state"], "live");
    assert!(
        !listed.to_string().contains(token),
        "listings never show secrets"
    );

    // Revoked while the server runs: refused at once.
    assert!(
        gateway(&db, &["token", "revoke", "--tenant", "hooli", &prefix])
            .status
            .success()
    );
    let refused = client.get(&users).bearer_auth(token).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert!(
        !gateway(&db, &["token", "create", "--tenant", "nope"])
            .status
            .success()
    );
}

#[tokio::test]
async fn serve_demo_prints_a_working_curl_and_stops_cleanly_on_sigterm() {
    let db = fresh_database_url().await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_scim-gateway"))
        .args([
            "serve",
            "--demo",
            "--listen",
            "127.0.0.1:0",
            "--database",
            &db,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut base, mut token) = (String::new(), String::new());
    let (mut pages, mut operator) = (String::new(), String::new());
    let first_word = |v: &str| v.split_whitespace().next().unwrap_or_default().to_string();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(v) = line.trim().strip_prefix("SCIM base URL:") {
            base = v.trim().to_string();
        }
        if let Some(v) = line.trim().strip_prefix("Bearer token:") {
            token = v.trim().to_string();
        }
        if let Some(v) = line.trim().strip_prefix("Admin pages:") {
            pages = first_word(v);
        }
        if let Some(v) = line.trim().strip_prefix("Operator token:") {
            operator = first_word(v);
        }
        if line.contains("curl -s -X POST") {
            break;
        }
    }
    assert!(
        base.ends_with("/scim/v2/demo") && !base.contains(":0/"),
        "{base}"
    );
    let response = reqwest::Client::new()
        .post(format!("{base}/Users"))
        .bearer_auth(&token)
        .header("content-type", "application/scim+json")
        .body(user("newcomer").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);

    // The printed operator token opens the printed pages, and the first look is a populated
    // dashboard: the demo seeds itself through its own APIs (users, a suspension, a refusal).
    assert!(pages.ends_with("/ui"), "{pages}");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let cookie = crate::pages::page_session(&pages, &operator).await;
    let mut dashboard = String::new();
    for _ in 0..100 {
        dashboard = client
            .get(format!("{pages}/t/demo"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if dashboard.contains("locked") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        dashboard.contains("&#39;userName&#39; is locked")
            || dashboard.contains("'userName' is locked"),
        "{dashboard}"
    );
    let stats: serde_json::Value = client
        .get(format!(
            "{}/admin/v1/tenants/demo/users/stats",
            pages.trim_end_matches("/ui")
        ))
        .bearer_auth(&operator)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (stats["total"].clone(), stats["suspended"].clone()),
        (serde_json::json!(6), serde_json::json!(1))
    );

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "exit status {status:?}");
}

fn gateway_with_key(database: &str, key: Option<&str>, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_scim-gateway"));
    command
        .arg("--database")
        .arg(database)
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("SCIM_GATEWAY_SECRET_KEY");
    if let Some(key) = key {
        command.env("SCIM_GATEWAY_SECRET_KEY", key);
    }
    command.output().expect("run scim-gateway")
}

#[tokio::test]
async fn sso_set_keeps_the_client_secret_sealed_and_never_shows_it() {
    let db = fresh_database_url().await;
    let key = stdout(&gateway(&db, &["sso", "new-secret-key"]));
    let key = key.trim();
    assert!(
        gateway(&db, &["tenant", "create", "umbrella"])
            .status
            .success()
    );
    let dir = std::env::temp_dir().join(format!("sso-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let secret_file = dir.join("secret");
    std::fs::write(&secret_file, "very-secret-client-secret\n").unwrap();
    let secret_path = secret_file.to_str().unwrap();
    let set = [
        "sso",
        "set",
        "--tenant",
        "umbrella",
        "--issuer",
        "https://login.example.com/tenant/v2.0",
        "--client-id",
        "gw-client",
        "--client-secret-file",
        secret_path,
        "--user-claim",
        "preferred_username",
        "--jit",
        "--redirect-allow",
        "https://app.example/home",
    ];

    let without_key = gateway_with_key(&db, None, &set);
    assert!(!without_key.status.success());
    assert!(String::from_utf8_lossy(&without_key.stderr).contains("SCIM_GATEWAY_SECRET_KEY"));

    let insecure = gateway_with_key(
        &db,
        Some(key),
        &[
            "sso",
            "set",
            "--tenant",
            "umbrella",
            "--issuer",
            "http://idp.example",
            "--client-id",
            "x",
            "--client-secret-file",
            secret_path,
        ],
    );
    assert!(!insecure.status.success());
    assert!(String::from_utf8_lossy(&insecure.stderr).contains("https"));

    let saved = gateway_with_key(&db, Some(key), &set);
    assert!(saved.status.success(), "{saved:?}");
    let shown = gateway_with_key(
        &db,
        Some(key),
        &[
            "--json",
            "sso",
            "show",
            "--tenant",
            "umbrella",
            "--public-url",
            "https://gw.example/",
        ],
    );
    let all_output = format!("{saved:?}{shown:?}");
    assert!(!all_output.contains("very-secret-client-secret"));
    let shown: Value = serde_json::from_str(&stdout(&shown)).unwrap();
    assert_eq!(shown["issuer"], "https://login.example.com/tenant/v2.0");
    assert_eq!(shown["userClaim"], "preferred_username");
    assert_eq!(shown["jit"], true);
    assert_eq!(
        shown["redirectUri"],
        "https://gw.example/sso/umbrella/callback"
    );

    // In the database the secret is sealed, and it opens with the key and this tenant only.
    let store = Store::connect(&db).await.unwrap();
    let tenant = store.tenant_by_slug("umbrella").await.unwrap().unwrap();
    let config = store.sso_config(&tenant.id).await.unwrap().unwrap();
    assert!(!config.client_secret_sealed.contains("very-secret"));
    let key = scim_gateway::sso::secret_key::SecretKey::parse(key).unwrap();
    let context = scim_gateway::sso::config::SsoConfig::secret_context(&tenant.id);
    assert_eq!(
        key.open(&config.client_secret_sealed, &context).unwrap(),
        b"very-secret-client-secret"
    );
    assert!(
        key.open(&config.client_secret_sealed, "another tenant")
            .is_err()
    );

    // A later `set` without a secret keeps it…
    let key_text = key_text_of(&key);
    let again = gateway_with_key(
        &db,
        Some(&key_text),
        &["sso", "set", "--tenant", "umbrella", "--no-jit"],
    );
    assert!(again.status.success(), "{again:?}");
    let kept = store.sso_config(&tenant.id).await.unwrap().unwrap();
    assert_eq!(kept.client_secret_sealed, config.client_secret_sealed);
    assert!(!kept.jit);
    // …but only with the key it was sealed with.
    let other_key = stdout(&gateway(&db, &["sso", "new-secret-key"]));
    let wrong = gateway_with_key(
        &db,
        Some(other_key.trim()),
        &["sso", "set", "--tenant", "umbrella", "--jit"],
    );
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("secret key"));
    let events = store.audit_events(&tenant.id, 10).await.unwrap();
    let configured: Vec<_> = events
        .iter()
        .filter(|e| e.action == "sso.configure")
        .collect();
    assert_eq!(configured.len(), 2);
    assert_eq!(configured[0].changed_attributes, vec!["jit"]);
    assert!(!format!("{events:?}").contains("very-secret"));
    store.close().await;
    std::fs::remove_dir_all(&dir).ok();
}

fn key_text_of(key: &scim_gateway::sso::secret_key::SecretKey) -> String {
    key.to_base64()
}

#[tokio::test]
async fn purge_removes_old_tombstones_and_keeps_live_users() {
    let app = crate::helpers::spawn_app().await;
    let gone = app.create_user("gone").await;
    let kept = app.create_user("kept").await;
    let id = gone["id"].as_str().unwrap();
    assert_eq!(
        app.delete(&format!("/Users/{id}")).await.status(),
        StatusCode::NO_CONTENT
    );
    let tenant = app.store.tenant_by_slug("acme").await.unwrap().unwrap();
    assert!(tombstone_of(&app, &tenant.id, "gone").await);

    // Within the retention period the tombstone stays.
    let kept_back = gateway(
        &app.database_url,
        &["--json", "purge", "--older-than-days", "30"],
    );
    assert!(kept_back.status.success(), "{kept_back:?}");
    let report: Value = serde_json::from_str(&stdout(&kept_back)).unwrap();
    assert_eq!(report["tombstones"], 0);
    assert!(tombstone_of(&app, &tenant.id, "gone").await);

    let purged = gateway(
        &app.database_url,
        &["--json", "purge", "--older-than-days", "0"],
    );
    let report: Value = serde_json::from_str(&stdout(&purged)).unwrap();
    assert_eq!(report["tombstones"], 1);
    assert!(!tombstone_of(&app, &tenant.id, "gone").await);
    assert_eq!(
        app.get(&format!("/Users/{}", kept["id"].as_str().unwrap()))
            .await
            .status(),
        StatusCode::OK
    );
    let events = app.audit().await;
    let purge = events.iter().find(|e| e.action == "tenant.purge").unwrap();
    assert!(
        purge
            .reason
            .as_deref()
            .unwrap()
            .starts_with("1 deleted users purged")
    );
}

#[tokio::test]
async fn purge_keeps_the_audit_trail_unless_given_a_retention_and_then_says_so() {
    let app = crate::helpers::spawn_app().await;
    app.create_user("a").await;
    app.create_user("b").await;
    let before = app.audit().await.len();
    assert!(before >= 3, "two creates and the token's creation");

    let kept = gateway(&app.database_url, &["--json", "purge"]);
    assert!(kept.status.success(), "{kept:?}");
    let report: Value = serde_json::from_str(&stdout(&kept)).unwrap();
    assert_eq!(report["auditEvents"], 0);
    assert_eq!(app.audit().await.len(), before);

    // A retention of a day keeps today's events.
    let recent = gateway(
        &app.database_url,
        &["--json", "purge", "--audit-older-than-days", "1"],
    );
    let report: Value = serde_json::from_str(&stdout(&recent)).unwrap();
    assert_eq!(report["auditEvents"], 0);

    let purged = gateway(
        &app.database_url,
        &["--json", "purge", "--audit-older-than-days", "0"],
    );
    assert!(purged.status.success(), "{purged:?}");
    let report: Value = serde_json::from_str(&stdout(&purged)).unwrap();
    assert_eq!(report["auditEvents"], before as u64);
    // What is left says what was purged, and when.
    let events = app.audit().await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].action, "tenant.purge_audit");
    assert_eq!(
        events[0].reason.as_deref(),
        Some(
            format!("{before} audit events purged (older than the audit retention period)")
                .as_str()
        )
    );
}

#[tokio::test]
async fn purge_keeps_the_outbox_unless_given_a_retention_and_never_its_newest_event() {
    let app = crate::helpers::spawn_app().await;
    // Each create tells two events: user.created and invitation.issued.
    for name in ["a", "b", "c"] {
        app.create_user(name).await;
    }
    let tenant = app.store.tenant_by_slug(TENANT).await.unwrap().unwrap();
    let outbox = || {
        let (store, id) = (app.store.clone(), tenant.id.clone());
        async move {
            store
                .event_feed(scim_gateway::store::FeedScope::Tenant(&id), None, 100)
                .await
                .unwrap()
        }
    };
    let mut before = outbox().await;
    for _ in 0..100 {
        if before.len() == 6 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        before = outbox().await;
    }
    assert_eq!(before.len(), 6);

    let kept = gateway(&app.database_url, &["--json", "purge"]);
    let report: Value = serde_json::from_str(&stdout(&kept)).unwrap();
    assert_eq!(report["outboxEvents"], 0);
    let purged = gateway(
        &app.database_url,
        &["--json", "purge", "--events-older-than-days", "0"],
    );
    assert!(purged.status.success(), "{purged:?}");
    let report: Value = serde_json::from_str(&stdout(&purged)).unwrap();
    // Everything is old enough, but the newest event stays: its number is never given again.
    assert_eq!(report["outboxEvents"], 5);
    let left = outbox().await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].event.id, before[5].event.id);
    app.create_user("d").await;
    let mut after = outbox().await;
    for _ in 0..100 {
        if after.len() == 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        after = outbox().await;
    }
    assert_eq!(after.len(), 3);
    assert!(
        after[1].position > before[5].position,
        "a new event comes after the kept one"
    );
    let audit = app.audit().await;
    assert!(audit.iter().any(|e| e.action == "tenant.purge_events"));
}

/// Whether a tombstone of the tenant carries `user_name` (read as sign-in reads it).
async fn tombstone_of(
    app: &crate::helpers::TestApp,
    tenant_id: &TenantId,
    user_name: &str,
) -> bool {
    let mut tx = app.store.begin().await.unwrap();
    tx.tombstone_matches(tenant_id, user_name).await.unwrap()
}
