//! The command-line contract of SPEC §6, run as the real binary.

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};

use reqwest::StatusCode;
use serde_json::Value;

use scim_gateway::app::App;
use scim_gateway::config::Settings;
use scim_gateway::store::Store;

use crate::helpers::{fresh_database_url, user};

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
    let app = App::build(Settings::new("127.0.0.1:0".parse().unwrap(), None), store)
        .await
        .unwrap();
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
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(v) = line.trim().strip_prefix("SCIM base URL:") {
            base = v.trim().to_string();
        }
        if let Some(v) = line.trim().strip_prefix("Bearer token:") {
            token = v.trim().to_string();
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

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "exit status {status:?}");
}
