//! The gateway's log as a log shipper and a security review read it (issue #19): with
//! `--log-format json` every line is a JSON object and a request's lines carry its request id;
//! at any level (`RUST_LOG=trace`) no secret the gateway handles appears: SCIM and operator
//! tokens, the secret key, an SSO client secret, an invitation link's secret, a session token, a
//! webhook signing secret. The real binary, the real OpenID provider, both engines.

use std::process::Command;

use reqwest::redirect::Policy;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{fresh_database_url, user};
use crate::oidc_provider::{Provider, follow_to_gateway};
use crate::process::{Gateway, cli};

const BINARY: &str = env!("CARGO_BIN_EXE_scim-gateway");
/// The client of `scim-sp` at the test OpenID provider.
const CLIENT_SECRET: &str = "scim-sp-secret";

/// Runs a CLI command logging at trace, in JSON; its stdout and its log (stderr).
fn logged_cli(database: &str, secret_key: &str, args: &[&str]) -> (String, String) {
    let output = Command::new(BINARY)
        .args(["--database", database, "--log-format", "json"])
        .args(args)
        .env("RUST_LOG", "trace")
        .env("SCIM_GATEWAY_SECRET_KEY", secret_key)
        .output()
        .expect("run the binary");
    let log = String::from_utf8(output.stderr).expect("utf-8");
    assert!(output.status.success(), "{args:?}: {log}");
    let stdout = String::from_utf8(output.stdout).expect("utf-8");
    (stdout.trim().to_string(), log)
}

fn bearer(request: reqwest::RequestBuilder, token: &str) -> reqwest::RequestBuilder {
    request.header("authorization", format!("Bearer {token}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_request_ids_and_no_secret_at_any_level() {
    let database = fresh_database_url().await;
    let secret_key = cli(&database, &["sso", "new-secret-key"]);
    let mut cli_logs = Vec::new();
    let mut run = |args: &[&str]| {
        let (stdout, log) = logged_cli(&database, &secret_key, args);
        cli_logs.push(log);
        stdout
    };
    run(&["tenant", "create", "acme"]);
    let scim_token = run(&["token", "create", "--tenant", "acme"]);
    let operator_token = run(&["admin-token", "create", "--name", "logs"]);

    let mut gateway = Gateway::start_configured(
        &database,
        &["--log-format", "json", "--allow-insecure-webhooks"],
        &[
            ("RUST_LOG", "trace"),
            ("SCIM_GATEWAY_SECRET_KEY", &secret_key),
        ],
    );
    let root = gateway.root.clone();
    let op = Provider::start(&format!("{root}/sso/acme/callback")).await;
    let secret_file = std::env::temp_dir().join(format!("client-secret-{}", uuid::Uuid::new_v4()));
    std::fs::write(&secret_file, CLIENT_SECRET).expect("secret file");
    run(&[
        "sso",
        "set",
        "--tenant",
        "acme",
        "--issuer",
        &op.issuer,
        "--client-id",
        "scim-sp",
        "--client-secret-file",
        secret_file.to_str().expect("path"),
    ]);
    std::fs::remove_file(&secret_file).ok();

    // SCIM: a user is provisioned (invited), with the token in every request.
    let client = Client::new();
    let created = bearer(
        client.post(format!("{root}/scim/v2/acme/Users")),
        &scim_token,
    )
    .header("content-type", "application/scim+json")
    .json(&user("alice@example.com"))
    .send()
    .await
    .expect("create");
    assert_eq!(created.status(), StatusCode::CREATED);
    let request_id = created.headers()["x-request-id"]
        .to_str()
        .expect("ascii")
        .to_string();
    let alice: Value = created.json().await.expect("json");
    let alice_id = alice["id"].as_str().expect("id");

    // The admin API: a new invitation link, and a webhook endpoint with its signing secret.
    let admin = format!("{root}/admin/v1/tenants/acme");
    let invitation: Value = bearer(
        client.post(format!("{admin}/users/{alice_id}/invitation")),
        &operator_token,
    )
    .send()
    .await
    .expect("invitation")
    .json()
    .await
    .expect("json");
    let link = invitation["link"].as_str().expect("link").to_string();
    let invitation_secret = link.rsplit('/').next().expect("secret").to_string();
    let endpoint: Value = bearer(client.post(format!("{admin}/webhooks")), &operator_token)
        .json(&json!({"url": "http://127.0.0.1:9/hooks"}))
        .send()
        .await
        .expect("webhook")
        .json()
        .await
        .expect("json");
    let webhook_secret = endpoint["secret"].as_str().expect("secret").to_string();

    // The invitation link leads to the sign-in; the provider signs alice in (its login_hint
    // names its user) and the gateway exchanges the code with the client secret.
    let browser = Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .expect("browser");
    let opened = browser.get(&link).send().await.expect("invitation link");
    assert!(opened.status().is_redirection(), "{}", opened.status());
    let answer = browser
        .get(format!("{root}/sso/acme/login?login_hint=alice"))
        .send()
        .await
        .expect("login");
    let callback = follow_to_gateway(&browser, &op.issuer, &root, answer)
        .await
        .map_err(|answer| answer.status())
        .expect("the provider leads back to the gateway");
    let signed_in = browser.get(&callback).send().await.expect("callback");
    let session = signed_in
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("scgw_session="))
        .and_then(|c| c.split(';').next())
        .filter(|c| !c.is_empty())
        .expect("a session cookie")
        .to_string();
    let me = bearer(client.get(format!("{root}/sso/acme/me")), &session)
        .send()
        .await
        .expect("me");
    assert_eq!(me.status(), StatusCode::OK);

    // Let the webhook worker try its delivery (and log it) before the log is read.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    gateway.terminate();
    gateway.wait();
    let served = gateway.log.lock().expect("log").clone();

    let mut events = Vec::new();
    for line in &served {
        let event: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("a log line that is not JSON ({e}): {line}"));
        events.push(event);
    }
    let of_create: Vec<&Value> = events
        .iter()
        .filter(|e| e["span"]["request_id"] == request_id.as_str())
        .collect();
    assert!(
        !of_create.is_empty(),
        "no log line carries the create's request id {request_id}"
    );
    assert!(
        of_create
            .iter()
            .all(|e| e["span"]["name"] == "request" && e["level"].is_string()),
        "{of_create:?}"
    );
    let levels: std::collections::BTreeSet<&str> =
        events.iter().filter_map(|e| e["level"].as_str()).collect();
    assert!(levels.contains("TRACE"), "the log ran at trace: {levels:?}");

    let secrets = [
        ("the SCIM token", scim_token.as_str()),
        ("the operator token", operator_token.as_str()),
        ("the secret key", secret_key.as_str()),
        ("the SSO client secret", CLIENT_SECRET),
        ("the invitation's secret", invitation_secret.as_str()),
        ("the session token", session.as_str()),
        ("the webhook signing secret", webhook_secret.as_str()),
    ];
    for (what, secret) in secrets {
        assert!(secret.len() >= 12, "{what} is too short to search for");
        for line in served.iter().chain(cli_logs.iter()) {
            assert!(!line.contains(secret), "{what} is in the log: {line}");
        }
    }
    drop(op);
}
