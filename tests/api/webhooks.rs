//! Webhook endpoints through the admin API, against a real HTTP receiver started by the test:
//! the secret is shown once, a test ping arrives signed the Standard Webhooks way (checked here,
//! and by the `standardwebhooks` package from PyPI when CI names its Python), unsafe targets are
//! refused.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use axum::routing::post;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::admin::{admin_get, admin_post, assert_problem, operator_token};
use crate::helpers::{TENANT, TestApp, spawn_app, spawn_app_configured};
use scim_gateway::sso::secret_key::SecretKey;
use scim_gateway::store::TokenPrefix;
use scim_gateway::tenant::operators::AdminActor;
use scim_gateway::webhooks::endpoints::{EndpointScope, NewEndpoint};
use scim_gateway::webhooks::signature::SigningSecret;

/// What a receiver got: each request's headers and body.
type Received = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

/// An HTTP receiver on loopback answering every POST with `status`; its URL and what it got.
async fn receiver(status: u16) -> (String, Received) {
    let received: Received = Arc::default();
    let kept = Arc::clone(&received);
    let app = Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: Bytes| {
            let kept = Arc::clone(&kept);
            async move {
                kept.lock().unwrap().push((headers, body));
                (AxumStatus::from_u16(status).unwrap(), "received")
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, received)
}

fn secret_key() -> SecretKey {
    SecretKey::parse(&SecretKey::generate().unwrap()).unwrap()
}

/// A gateway with a secret key (to seal signing secrets), letting webhooks go to loopback.
async fn webhook_app() -> TestApp {
    spawn_app_configured(None, |settings| {
        settings.sso.secret_key = Some(secret_key());
        settings.allow_insecure_webhooks = true;
    })
    .await
}

async fn create(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.client
        .request(
            Method::POST,
            format!("{}/admin/v1/tenants/{TENANT}/webhooks", app.root),
        )
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// Sends the endpoint's test ping; what the gateway says came back.
async fn ping(app: &TestApp, token: &str, id: &str) -> Value {
    let response = admin_post(app, &format!("/tenants/{TENANT}/webhooks/{id}/test"), token).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// Verifies a delivery with the `standardwebhooks` package when CI names a Python that has it.
fn verified_by_standardwebhooks(secret: &str, headers: &HeaderMap, body: &[u8]) -> Option<bool> {
    let python = std::env::var("STANDARDWEBHOOKS_PYTHON").ok()?;
    let header = |name: &str| headers[name].to_str().unwrap().to_string();
    let script = "import sys, json\nfrom standardwebhooks import Webhook\n\
                  secret, msg_id, ts, sig = sys.argv[1:5]\n\
                  body = sys.stdin.buffer.read()\n\
                  Webhook(secret).verify(body, {'webhook-id': msg_id, 'webhook-timestamp': ts, 'webhook-signature': sig})\n";
    let mut child = std::process::Command::new(python)
        .args(["-c", script, secret])
        .args([
            header("webhook-id"),
            header("webhook-timestamp"),
            header("webhook-signature"),
        ])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(body).unwrap();
    Some(child.wait().unwrap().success())
}

#[tokio::test]
async fn an_endpoint_gets_a_signed_ping_and_its_secret_is_shown_once() {
    let app = webhook_app().await;
    let (token, _) = operator_token(&app).await;
    let (url, received) = receiver(200).await;
    let created = create(&app, &token, json!({"url": url, "eventTypes": ["user.created", "user.deleted"], "description": "CRM sync"})).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    let secret = created["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"), "{created}");
    assert_eq!(
        created["eventTypes"],
        json!(["user.created", "user.deleted"])
    );
    let id = created["id"].as_str().unwrap().to_string();

    let listed = admin_get(&app, &format!("/tenants/{TENANT}/webhooks"), &token).await;
    let listed_text = listed.text().await.unwrap();
    assert!(!listed_text.contains(&secret), "a listing shows no secret");
    let listed: Value = serde_json::from_str(&listed_text).unwrap();
    assert_eq!(listed[0]["id"], id.as_str());
    assert!(listed[0].get("secret").is_none());

    let ping = admin_post(
        &app,
        &format!("/tenants/{TENANT}/webhooks/{id}/test"),
        &token,
    )
    .await;
    assert_eq!(ping.status(), StatusCode::OK);
    let ping: Value = ping.json().await.unwrap();
    assert_eq!(
        (ping["delivered"].clone(), ping["status"].clone()),
        (json!(true), json!(200))
    );
    assert_eq!(ping["excerpt"], "received");

    let got = received.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    let (headers, body) = &got[0];
    let message: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(message["type"], "webhook.ping");
    assert_eq!(message["data"]["endpoint"], id.as_str());
    let header = |name: &str| headers[name].to_str().unwrap().to_string();
    assert!(header("webhook-id").starts_with("msg_"));
    let timestamp: i64 = header("webhook-timestamp").parse().unwrap();
    assert!((timestamp - scim_gateway::clock::now_micros() / 1_000_000).abs() < 60);
    let expected =
        SigningSecret::parse(&secret)
            .unwrap()
            .sign(&header("webhook-id"), timestamp, body);
    assert_eq!(header("webhook-signature"), expected);
    if let Some(verified) = verified_by_standardwebhooks(&secret, headers, body) {
        assert!(verified, "standardwebhooks refused the signature");
    }
    // Another endpoint's secret does not verify it.
    let other = SigningSecret::generate().unwrap();
    assert_ne!(
        other.sign(&header("webhook-id"), timestamp, body),
        header("webhook-signature")
    );

    let audit = app.audit().await;
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    assert!(
        actions.contains(&"webhook.create") && actions.contains(&"webhook.test"),
        "{actions:?}"
    );

    let gone = app
        .client
        .delete(format!(
            "{}/admin/v1/tenants/{TENANT}/webhooks/{id}",
            app.root
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::NO_CONTENT);
    let listed: Value = admin_get(&app, &format!("/tenants/{TENANT}/webhooks"), &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed, json!([]));
    assert_problem(
        admin_post(
            &app,
            &format!("/tenants/{TENANT}/webhooks/{id}/test"),
            &token,
        )
        .await,
        404,
    )
    .await;
}

#[tokio::test]
async fn a_failing_endpoint_is_reported_not_retried_by_the_ping() {
    let app = webhook_app().await;
    let (token, _) = operator_token(&app).await;
    let (url, received) = receiver(503).await;
    let created: Value = create(&app, &token, json!({"url": url}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(created["eventTypes"], json!(["*"]));
    let id = created["id"].as_str().unwrap();
    let answer = ping(&app, &token, id).await;
    assert_eq!(
        (answer["delivered"].clone(), answer["status"].clone()),
        (json!(false), json!(503))
    );
    assert_eq!(received.lock().unwrap().len(), 1);
    // Nobody listening: no answer, said so.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead = format!("http://{}/hook", closed.local_addr().unwrap());
    drop(closed);
    let created: Value = create(&app, &token, json!({"url": dead}))
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap();
    let answer = ping(&app, &token, id).await;
    assert_eq!(
        (answer["delivered"].clone(), answer["status"].clone()),
        (json!(false), Value::Null)
    );
    assert!(!answer["excerpt"].as_str().unwrap().is_empty());
}

#[tokio::test]
async fn a_host_name_that_resolves_to_an_internal_address_is_never_connected_to() {
    // A gateway in production mode, whose endpoint's name came to resolve to loopback after the
    // endpoint was accepted (DNS re-pointed): written here through the use-case with the URL check
    // relaxed, as the API would never accept it.
    let key = secret_key();
    let sealing = key.clone();
    let app = spawn_app_configured(None, move |settings| {
        settings.sso.secret_key = Some(sealing);
    })
    .await;
    let (token, _) = operator_token(&app).await;
    let (url, received) = receiver(200).await;
    let port = url.split(':').nth(2).unwrap().split('/').next().unwrap();
    let (endpoint, _) = scim_gateway::webhooks::endpoints::create_endpoint(
        &app.store,
        Some(&key),
        &AdminActor::Operator {
            prefix: TokenPrefix::new("test"),
        },
        EndpointScope::Tenant(TENANT),
        NewEndpoint {
            url: format!("http://localhost:{port}/hook"),
            event_types: Vec::new(),
            description: None,
        },
        true,
        scim_gateway::clock::now_micros(),
    )
    .await
    .unwrap();
    let answer = ping(&app, &token, &endpoint.id).await;
    assert_eq!(
        (answer["delivered"].clone(), answer["status"].clone()),
        (json!(false), Value::Null)
    );
    let excerpt = answer["excerpt"].as_str().unwrap();
    assert!(
        excerpt.starts_with("'localhost' resolves only to loopback"),
        "{excerpt}"
    );
    assert!(received.lock().unwrap().is_empty());
}

#[tokio::test]
async fn unsafe_targets_unknown_events_and_a_gateway_without_a_key_are_refused() {
    // Without --allow-insecure-webhooks: https to public hosts only.
    let app = spawn_app_configured(None, |settings| {
        settings.sso.secret_key = Some(secret_key());
    })
    .await;
    let (token, _) = operator_token(&app).await;
    for url in [
        "http://hooks.example.com/",
        "https://127.0.0.1/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://localhost/hook",
        "https://user:pw@hooks.example.com/",
        "not a url",
    ] {
        let problem = assert_problem(create(&app, &token, json!({"url": url})).await, 400).await;
        assert!(!problem["detail"].as_str().unwrap().is_empty());
    }
    assert_problem(
        create(
            &app,
            &token,
            json!({"url": "https://hooks.example.com/", "eventTypes": ["user.exploded"]}),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(
        create(&app, &token, json!({"url": "https://hooks.example.com/"}))
            .await
            .status(),
        StatusCode::CREATED
    );
    // No secret key: nothing to seal signing secrets with.
    let keyless = spawn_app().await;
    let (token, _) = operator_token(&keyless).await;
    let problem = assert_problem(
        create(
            &keyless,
            &token,
            json!({"url": "https://hooks.example.com/"}),
        )
        .await,
        400,
    )
    .await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("SCIM_GATEWAY_SECRET_KEY")
    );
}

/// A receiver that answers each POST as `answer` says for that request (0-based count): a
/// status, after a stall of some milliseconds.
async fn receiver_with(
    answer: impl Fn(usize) -> (u16, u64) + Send + Sync + 'static,
) -> (String, Received) {
    let received: Received = Arc::default();
    let kept = Arc::clone(&received);
    let answer = Arc::new(answer);
    let app = Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: Bytes| {
            let (kept, answer) = (Arc::clone(&kept), Arc::clone(&answer));
            async move {
                let (status, stall) = {
                    let mut got = kept.lock().unwrap();
                    let reply = answer(got.len());
                    got.push((headers, body));
                    reply
                };
                tokio::time::sleep(std::time::Duration::from_millis(stall)).await;
                (AxumStatus::from_u16(status).unwrap(), "noted")
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, received)
}

/// A gateway whose deliveries retry at once (tens of milliseconds instead of seconds).
async fn hasty_app(horizon: std::time::Duration) -> TestApp {
    use scim_gateway::webhooks::worker::WorkerSettings;
    use std::time::Duration;
    spawn_app_configured(None, move |settings| {
        settings.sso.secret_key = Some(secret_key());
        settings.allow_insecure_webhooks = true;
        settings.webhook_delivery = WorkerSettings {
            poll_every: Duration::from_millis(20),
            first_retry: Duration::from_millis(10),
            max_retry: Duration::from_millis(40),
            horizon,
            timeout: Duration::from_millis(200),
            ..WorkerSettings::default()
        };
    })
    .await
}

#[tokio::test]
async fn every_event_arrives_in_order_at_least_once_through_failures_with_the_same_id() {
    let app = hasty_app(std::time::Duration::from_secs(3600)).await;
    let (token, _) = operator_token(&app).await;
    // Three requests in ten fail and one in ten stalls past the timeout, at random.
    let (url, received) = receiver_with(|_| {
        use rand::RngExt;
        match rand::rng().random_range(0..10) {
            0..3 => (500, 0),
            3 => (204, 1_000),
            _ => (204, 0),
        }
    })
    .await;
    let created: Value = create(
        &app,
        &token,
        json!({"url": url, "eventTypes": ["user.created", "user.deleted"]}),
    )
    .await
    .json()
    .await
    .unwrap();
    let secret = SigningSecret::parse(created["secret"].as_str().unwrap()).unwrap();
    let id = created["id"].as_str().unwrap().to_string();
    let mut users = Vec::new();
    for i in 0..15 {
        users.push(app.create_user(&format!("hook-{i}")).await);
    }
    // A change the endpoint does not ask for (an update) is passed over; a delete is sent.
    let second = users[1]["id"].as_str().unwrap();
    let rename = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "displayName", "value": "Renamed"}]});
    let renamed = app
        .client
        .patch(app.url(&format!("/Users/{second}")))
        .bearer_auth(&app.token)
        .json(&rename)
        .send()
        .await
        .unwrap();
    assert_eq!(renamed.status(), StatusCode::OK);
    let first = users[0]["id"].as_str().unwrap();
    assert_eq!(
        app.delete(&format!("/Users/{first}")).await.status(),
        StatusCode::NO_CONTENT
    );

    // The feed says what should arrive, in order. On PostgreSQL an event shows once every older
    // transaction of the server has ended, and other tests write meanwhile: read until all 32
    // are there (each create also tells `invitation.issued`, which the endpoint does not take).
    let mut events = Vec::new();
    for _ in 0..100 {
        let feed: Value = admin_get(
            &app,
            &format!("/tenants/{TENANT}/events?limit=100&wait=5"),
            &token,
        )
        .await
        .json()
        .await
        .unwrap();
        events = feed["events"].as_array().unwrap().clone();
        if events.len() >= 32 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(events.len(), 32);
    let id_of = |e: &Value| e["id"].as_str().unwrap().to_string();
    let wanted: Vec<String> = events
        .iter()
        .filter(|e| e["type"] != "user.updated" && e["type"] != "invitation.issued")
        .map(id_of)
        .collect();
    let passed_over = events
        .iter()
        .find(|e| e["type"] == "user.updated")
        .map(id_of)
        .unwrap();
    let delivered = |got: &[(HeaderMap, Bytes)]| -> Vec<String> {
        got.iter()
            .map(|(headers, _)| headers["webhook-id"].to_str().unwrap().to_string())
            .collect()
    };
    let mut waited = 0;
    loop {
        let got = received.lock().unwrap().clone();
        let ids = delivered(&got);
        if wanted.iter().all(|w| ids.contains(w)) || waited > 300 {
            break;
        }
        drop(got);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        waited += 1;
    }
    let got = received.lock().unwrap().clone();
    // Every request is signed for its id and timestamp, and carries the event as the feed has it.
    for (headers, body) in &got {
        let header = |name: &str| headers[name].to_str().unwrap().to_string();
        let timestamp: i64 = header("webhook-timestamp").parse().unwrap();
        assert_eq!(
            header("webhook-signature"),
            secret.sign(&header("webhook-id"), timestamp, body)
        );
        let message: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(message["id"], header("webhook-id"));
        assert_eq!(message["tenant"], TENANT);
    }
    // The order of first arrivals is the feed's order: a failed event is retried (same id)
    // before anything after it is sent.
    let mut first_arrivals: Vec<String> = Vec::new();
    for id in delivered(&got) {
        if !first_arrivals.contains(&id) {
            first_arrivals.push(id);
        }
    }
    assert_eq!(first_arrivals, wanted);
    assert!(!first_arrivals.contains(&passed_over));
    let deleted = &got
        .iter()
        .rev()
        .find(|(h, _)| h["webhook-id"].to_str().unwrap() == wanted[15])
        .unwrap()
        .1;
    let deleted: Value = serde_json::from_slice(deleted).unwrap();
    assert_eq!(deleted["type"], "user.deleted");
    assert_eq!(deleted["data"]["userName"], "hook-0");
    // The delivery log shows every attempt, failures and stalls included, once the round that
    // made it is over.
    let mut log = Vec::new();
    for _ in 0..250 {
        let page: Value = admin_get(
            &app,
            &format!("/tenants/{TENANT}/webhooks/{id}/attempts"),
            &token,
        )
        .await
        .json()
        .await
        .unwrap();
        log = page.as_array().unwrap().clone();
        if log.len() >= received.lock().unwrap().len().min(100) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(log.len(), received.lock().unwrap().len().min(100));
    assert!(log.iter().all(|a| a["delivered"] == (a["status"] == 204)));
}

async fn endpoint_listed(app: &TestApp, token: &str) -> Value {
    let listed: Value = admin_get(app, &format!("/tenants/{TENANT}/webhooks"), token)
        .await
        .json()
        .await
        .unwrap();
    listed[0].clone()
}

async fn patch_endpoint(app: &TestApp, token: &str, id: &str, body: Value) -> reqwest::Response {
    app.client
        .patch(format!(
            "{}/admin/v1/tenants/{TENANT}/webhooks/{id}",
            app.root
        ))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// Waits (up to about five seconds) until `done` holds of what the receiver got.
async fn until(received: &Received, done: impl Fn(&[(HeaderMap, Bytes)]) -> bool) -> bool {
    for _ in 0..250 {
        if done(&received.lock().unwrap()) {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    false
}

fn answered(got: &[(HeaderMap, Bytes)], event_id: &str) -> usize {
    got.iter()
        .filter(|(h, _)| h["webhook-id"].to_str().unwrap() == event_id)
        .count()
}

#[tokio::test]
async fn a_disabled_endpoint_says_why_and_is_enabled_and_replayed_by_an_admin() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let app = hasty_app(std::time::Duration::from_millis(300)).await;
    let (token, _) = operator_token(&app).await;
    let healthy = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&healthy);
    let (url, received) = receiver_with(move |_| {
        if flag.load(Ordering::SeqCst) {
            (200, 0)
        } else {
            (500, 0)
        }
    })
    .await;
    let created: Value = create(&app, &token, json!({"url": url}))
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_string();
    let before_anything = scim_gateway::clock::now_micros();
    app.create_user("first-told").await;
    let mut endpoint = Value::Null;
    for _ in 0..200 {
        endpoint = endpoint_listed(&app, &token).await;
        if endpoint["disabledAt"].is_string() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(endpoint["disabledAt"].is_string(), "{endpoint}");
    assert!(
        endpoint["disabledReason"]
            .as_str()
            .unwrap()
            .contains("HTTP 500"),
        "{endpoint}"
    );
    let tried = received.lock().unwrap().len();
    assert!(tried >= 2, "retried before giving up: {tried}");
    // Disabled: nothing more is sent, and the log holds every attempt.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(received.lock().unwrap().len(), tried);
    let log: Value = admin_get(
        &app,
        &format!("/tenants/{TENANT}/webhooks/{id}/attempts"),
        &token,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(log.as_array().unwrap().len(), tried);
    let event_id = log[0]["eventId"].as_str().unwrap().to_string();

    // The receiver is fixed; an admin turns deliveries back on: the event arrives.
    healthy.store(true, Ordering::SeqCst);
    let enabled = patch_endpoint(&app, &token, &id, json!({"enabled": true})).await;
    assert_eq!(enabled.status(), StatusCode::OK);
    let enabled: Value = enabled.json().await.unwrap();
    assert_eq!(
        (
            enabled["disabledAt"].clone(),
            enabled["failedAttempts"].clone()
        ),
        (Value::Null, json!(0))
    );
    assert!(until(&received, |got| answered(got, &event_id) == tried + 1).await);

    // A replay from before the event sends it again, with the same id.
    let from = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(before_anything) * 1000)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let replayed = patch_endpoint(&app, &token, &id, json!({"replayFrom": from})).await;
    assert_eq!(replayed.status(), StatusCode::OK);
    assert!(until(&received, |got| answered(got, &event_id) == tried + 2).await);
    let actions: Vec<String> = app.audit().await.into_iter().map(|e| e.action).collect();
    assert!(
        actions.iter().any(|a| a == "webhook.enable")
            && actions.iter().any(|a| a == "webhook.replay")
    );

    for bad in [
        json!({"replayFrom": "yesterday"}),
        json!({"replayFrom": "2999-01-01T00:00:00Z"}),
        json!({"url": "x"}),
    ] {
        assert_problem(patch_endpoint(&app, &token, &id, bad).await, 400).await;
    }
}

#[tokio::test]
async fn an_operator_wide_endpoint_receives_every_tenants_events_and_only_operators_manage_it() {
    use scim_gateway::tenant::TenantSlug;
    use scim_gateway::tenant::{tenants, tokens};
    let app = hasty_app(std::time::Duration::from_secs(3600)).await;
    let (token, _) = operator_token(&app).await;
    let (url, received) = receiver(204).await;
    // Events from before the endpoint existed are not sent.
    app.create_user("before").await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let endpoint_made = scim_gateway::clock::now_micros();
    let response = app
        .client
        .post(format!("{}/admin/v1/webhooks", app.root))
        .bearer_auth(&token)
        .json(&json!({"url": url, "eventTypes": ["user.created"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_string();
    let secret = created["secret"].as_str().unwrap().to_string();
    // The tenant's own list does not show it; the operator-wide list does.
    let tenant_list: Value = admin_get(&app, &format!("/tenants/{TENANT}/webhooks"), &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(tenant_list, json!([]));
    let listed: Value = admin_get(&app, "/webhooks", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0]["id"], json!(id));
    // A second tenant with its own token.
    let other = TenantSlug::parse("other").unwrap();
    let now = scim_gateway::clock::now_micros();
    tenants::create_tenant(&app.store, &other, None, None, now)
        .await
        .unwrap();
    let (other_token, _) = tokens::create_token(&app.store, "other", "default", None, now)
        .await
        .unwrap();
    app.create_user("ada").await;
    let other_user = app
        .client
        .post(format!("{}/scim/v2/other/Users", app.root))
        .bearer_auth(other_token.expose())
        .json(&crate::helpers::user("bob"))
        .send()
        .await
        .unwrap();
    assert_eq!(other_user.status(), StatusCode::CREATED);
    app.create_user("carol").await;
    let arrived = until(&received, |got| got.len() >= 3).await;
    assert!(arrived, "{} deliveries", received.lock().unwrap().len());
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let got = received.lock().unwrap().clone();
    let bodies: Vec<(String, String)> = got
        .iter()
        .map(|(headers, body)| {
            let signer = SigningSecret::parse(&secret).unwrap();
            let header = |name: &str| headers[name].to_str().unwrap().to_string();
            let timestamp: i64 = header("webhook-timestamp").parse().unwrap();
            assert_eq!(
                header("webhook-signature"),
                signer.sign(&header("webhook-id"), timestamp, body)
            );
            let message: Value = serde_json::from_slice(body).unwrap();
            assert_eq!(message["type"], "user.created");
            (
                message["tenant"].as_str().unwrap().to_string(),
                message["data"]["userName"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter()
            .map(|(t, u)| (t.to_string(), u.to_string()))
            .collect()
    };
    assert_eq!(
        bodies,
        pairs(&[(TENANT, "ada"), ("other", "bob"), (TENANT, "carol")])
    );
    let log: Value = admin_get(&app, &format!("/webhooks/{id}/attempts"), &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(log.as_array().unwrap().len(), 3);
    // A replay from the endpoint's creation sends the three again, with the same ids.
    let from = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(endpoint_made) * 1000)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let replayed = app
        .client
        .patch(format!("{}/admin/v1/webhooks/{id}", app.root))
        .bearer_auth(&token)
        .json(&json!({"replayFrom": from}))
        .send()
        .await
        .unwrap();
    assert_eq!(replayed.status(), StatusCode::OK);
    assert!(until(&received, |got| got.len() >= 6).await);
    let ids: Vec<String> = received
        .lock()
        .unwrap()
        .iter()
        .map(|(headers, _)| headers["webhook-id"].to_str().unwrap().to_string())
        .collect();
    assert_eq!(ids[3..6], ids[0..3]);
    // A tenant's path does not reach it (tenant admins' sessions are refused these routes:
    // sso.rs).
    assert_problem(
        admin_get(
            &app,
            &format!("/tenants/{TENANT}/webhooks/{id}/attempts"),
            &token,
        )
        .await,
        404,
    )
    .await;
    // The ping names no tenant; a delete removes it.
    let answer: Value = admin_post(&app, &format!("/webhooks/{id}/test"), &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(answer["delivered"], json!(true));
    let ping = received.lock().unwrap().last().unwrap().1.clone();
    let ping: Value = serde_json::from_slice(&ping).unwrap();
    assert_eq!(ping["data"]["tenant"], Value::Null);
    let deleted = app
        .client
        .delete(format!("{}/admin/v1/webhooks/{id}", app.root))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        admin_get(&app, "/webhooks", &token)
            .await
            .json::<Value>()
            .await
            .unwrap(),
        json!([])
    );
}
