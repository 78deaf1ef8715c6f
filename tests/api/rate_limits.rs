//! Per-token rate limits (issue #19), on the real binary and both engines: a flood on one token
//! gets 429 with `Retry-After` and a SCIM error while another token of the same tenant and
//! another tenant keep being served; a tenant's own limit (CLI and admin API) replaces the
//! gateway's default, and 0 lifts it. Limits are low so that no pace of the test machine matters:
//! a burst of at most 10 and a refill of 1 or 2 a second against 30 requests.

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::helpers::fresh_database_url;
use crate::process::{Gateway, cli, tenant_with_token};

/// Sends `n` GETs of the user list with `token`; the answers that were 429, each checked.
async fn refused_of(client: &Client, base: &str, token: &str, n: usize) -> usize {
    let mut refused = 0;
    for _ in 0..n {
        let response = client
            .get(format!("{base}/Users?count=1"))
            .bearer_auth(token)
            .send()
            .await
            .expect("request");
        match response.status() {
            StatusCode::OK => {}
            StatusCode::TOO_MANY_REQUESTS => {
                let retry_after: u64 = response.headers()["retry-after"]
                    .to_str()
                    .expect("ascii")
                    .parse()
                    .expect("seconds");
                assert!(retry_after >= 1);
                let error: Value = response.json().await.expect("a SCIM error");
                assert_eq!(error["status"], "429");
                assert!(
                    error["detail"]
                        .as_str()
                        .is_some_and(|d| d.contains("requests per second")),
                    "{error}"
                );
                refused += 1;
            }
            other => panic!("unexpected {other}"),
        }
    }
    refused
}

async fn served(client: &Client, base: &str, token: &str) -> StatusCode {
    client
        .get(format!("{base}/Users?count=1"))
        .bearer_auth(token)
        .send()
        .await
        .expect("request")
        .status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_token_gets_429_while_other_tokens_and_tenants_are_served() {
    let database = fresh_database_url().await;
    let acme = tenant_with_token(&database, "acme", None);
    let acme_other = cli(
        &database,
        &[
            "token",
            "create",
            "--tenant",
            "acme",
            "--connection",
            "okta",
        ],
    );
    let globex = tenant_with_token(&database, "globex", None);
    // acme's own limit: 2 a second, 3 at once; globex has the gateway's default (1, burst 10).
    cli(
        &database,
        &[
            "tenant",
            "update",
            "acme",
            "--rate-limit",
            "2",
            "--rate-burst",
            "3",
        ],
    );
    let operator = cli(&database, &["admin-token", "create", "--name", "ops"]);
    let gateway = Gateway::start_with(
        &database,
        &[
            "--token-rate-limit",
            "1",
            "--token-rate-burst",
            "10",
            "--token-cache-ms",
            "0",
        ],
    );
    let client = Client::new();
    let (acme_base, globex_base) = (gateway.base("acme"), gateway.base("globex"));

    let refused = refused_of(&client, &acme_base, &acme, 30).await;
    assert!(
        refused >= 15,
        "only {refused} of 30 refused at 2/s, burst 3"
    );
    assert_eq!(
        served(&client, &acme_base, &acme_other).await,
        StatusCode::OK
    );
    assert_eq!(served(&client, &globex_base, &globex).await, StatusCode::OK);

    // The default applies to globex: its burst of 10, then 1 a second.
    let refused = refused_of(&client, &globex_base, &globex, 30).await;
    assert!(
        refused >= 5,
        "only {refused} of 30 refused at 1/s, burst 10"
    );
    assert_eq!(
        served(&client, &acme_base, &acme_other).await,
        StatusCode::OK
    );

    // An operator lifts globex's limit (0 requests a second: none), then gives it back.
    let tenant_url = format!("{}/admin/v1/tenants/globex", gateway.root);
    let patch = |body: Value| {
        client
            .patch(&tenant_url)
            .bearer_auth(&operator)
            .json(&body)
            .send()
    };
    let lifted = patch(json!({"rateLimit": {"perSecond": 0, "burst": 1}}))
        .await
        .expect("patch");
    assert_eq!(lifted.status(), StatusCode::OK);
    let view: Value = lifted.json().await.expect("json");
    assert_eq!(view["rateLimit"], json!({"perSecond": 0, "burst": 1}));
    assert_eq!(refused_of(&client, &globex_base, &globex, 30).await, 0);

    let invalid = patch(json!({"rateLimit": {"perSecond": 5, "burst": 0}}))
        .await
        .expect("patch");
    assert_eq!(invalid.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        invalid.headers()["content-type"],
        "application/problem+json"
    );

    let back = patch(json!({"rateLimit": null})).await.expect("patch");
    assert_eq!(back.status(), StatusCode::OK);
    assert_eq!(
        back.json::<Value>().await.expect("json")["rateLimit"],
        Value::Null
    );
    let refused = refused_of(&client, &globex_base, &globex, 30).await;
    assert!(refused >= 5, "the default is back: {refused} of 30 refused");
}
