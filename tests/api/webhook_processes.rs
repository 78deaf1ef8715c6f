//! Webhook delivery by the real binary: a process SIGKILLed while it delivers loses nothing
//! (another process carries on once its lease runs out), and two processes delivering from one
//! database never have the same event in flight at once. On both engines.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::post;
use reqwest::Client;
use serde_json::json;

use crate::helpers::{fresh_database_url, user};
use crate::process::{Gateway, cli, get_json, post_json, tenant_with_token};
use scim_gateway::sso::secret_key::SecretKey;

/// What the receiver saw: every delivery's event id, how many deliveries of one event were in
/// flight at once at most, and the ids it acknowledged.
#[derive(Default)]
struct Seen {
    requests: Vec<String>,
    in_flight: HashMap<String, usize>,
    most_at_once: usize,
}

/// Takes a delivery out of flight when dropped.
struct Landed {
    seen: Arc<Mutex<Seen>>,
    id: String,
}

impl Drop for Landed {
    fn drop(&mut self) {
        if let Some(n) = self.seen.lock().unwrap().in_flight.get_mut(&self.id) {
            *n -= 1;
        }
    }
}

/// A slow receiver (each delivery takes `delay`), acknowledging everything.
async fn slow_receiver(delay: Duration) -> (String, Arc<Mutex<Seen>>) {
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let kept = Arc::clone(&seen);
    let app = Router::new().route(
        "/hook",
        post(move |headers: HeaderMap| {
            let kept = Arc::clone(&kept);
            async move {
                let id = headers["webhook-id"].to_str().unwrap().to_string();
                {
                    let mut seen = kept.lock().unwrap();
                    seen.requests.push(id.clone());
                    let now = {
                        let n = seen.in_flight.entry(id.clone()).or_default();
                        *n += 1;
                        *n
                    };
                    seen.most_at_once = seen.most_at_once.max(now);
                }
                // Out of flight when answered, or when the sender went away (a killed process).
                let _landed = Landed { seen: kept, id };
                tokio::time::sleep(delay).await;
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

#[tokio::test]
async fn a_killed_deliverer_loses_nothing_and_two_never_send_one_event_at_once() {
    let database = fresh_database_url().await;
    let scim = tenant_with_token(&database, "hooks", None);
    let operator = cli(&database, &["admin-token", "create"]);
    let key = SecretKey::generate().unwrap();
    let flags = [
        "--secret-key",
        key.as_str(),
        "--allow-insecure-webhooks",
        "--webhook-lease-secs",
        "2",
    ];
    let client = Client::new();
    let (url, seen) = slow_receiver(Duration::from_millis(40)).await;

    let mut first = Gateway::start_with(&database, &flags);
    let created = client
        .post(format!("{}/admin/v1/tenants/hooks/webhooks", first.root))
        .bearer_auth(&operator)
        .json(&json!({"url": url, "eventTypes": ["user.created"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    const USERS: usize = 30;
    for i in 0..USERS {
        let (status, _) = post_json(
            &client,
            &format!("{}/Users", first.base("hooks")),
            &scim,
            &user(&format!("p{i}")),
        )
        .await;
        assert_eq!(status, 201);
    }
    // Kill the process while it delivers.
    for _ in 0..500 {
        if seen.lock().unwrap().requests.len() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let before_kill = seen.lock().unwrap().requests.len();
    assert!(
        (3..USERS).contains(&before_kill),
        "killed while delivering: {before_kill}"
    );
    first.kill();

    // Two processes carry on from the same database.
    let second = Gateway::start_with(&database, &flags);
    let third = Gateway::start_with(&database, &flags);
    // On PostgreSQL an event shows in the feed once every older transaction of the server has
    // ended, and other tests write meanwhile: read until every user's event is there.
    let mut wanted: Vec<String> = Vec::new();
    for _ in 0..100 {
        let feed = get_json(
            &client,
            &format!(
                "{}/admin/v1/tenants/hooks/events?limit=100&wait=5",
                second.root
            ),
            &operator,
        )
        .await;
        // The endpoint takes `user.created` only (each create also tells `invitation.issued`).
        wanted = feed["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["type"] == "user.created")
            .map(|e| e["id"].as_str().unwrap().to_string())
            .collect();
        if wanted.len() >= USERS {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(wanted.len(), USERS);
    let mut delivered = false;
    for _ in 0..600 {
        {
            let seen = seen.lock().unwrap();
            if wanted.iter().all(|w| seen.requests.contains(w)) {
                delivered = true;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let seen = seen.lock().unwrap();
    assert!(
        delivered,
        "every event arrived: {} of {USERS}",
        seen.requests.len()
    );
    assert_eq!(
        seen.most_at_once, 1,
        "one event was in flight twice at once"
    );
    // In feed order, each first arrival after the one before.
    let mut firsts: Vec<&String> = Vec::new();
    for id in &seen.requests {
        if !firsts.contains(&id) {
            firsts.push(id);
        }
    }
    assert_eq!(firsts, wanted.iter().collect::<Vec<_>>());
    drop((second, third));
}

#[tokio::test]
async fn a_stopped_deliverer_hands_its_endpoints_over_at_once() {
    let database = fresh_database_url().await;
    let scim = tenant_with_token(&database, "handover", None);
    let operator = cli(&database, &["admin-token", "create"]);
    let key = SecretKey::generate().unwrap();
    // The default lease (60 s): a process that stops gives it up instead of letting it run out.
    let flags = ["--secret-key", key.as_str(), "--allow-insecure-webhooks"];
    let client = Client::new();
    let (url, seen) = slow_receiver(Duration::from_millis(40)).await;
    let mut first = Gateway::start_with(&database, &flags);
    let created = client
        .post(format!("{}/admin/v1/tenants/handover/webhooks", first.root))
        .bearer_auth(&operator)
        .json(&json!({"url": url}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    const USERS: usize = 30;
    for i in 0..USERS {
        let url = format!("{}/Users", first.base("handover"));
        let (status, _) = post_json(&client, &url, &scim, &user(&format!("h{i}"))).await;
        assert_eq!(status, 201);
    }
    for _ in 0..500 {
        if seen.lock().unwrap().requests.len() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    first.terminate();
    assert!(first.wait().success());
    let before_stop = seen.lock().unwrap().requests.len();
    assert!(
        before_stop < USERS,
        "stopped while delivering: {before_stop}"
    );

    let _second = Gateway::start_with(&database, &flags);
    let started = std::time::Instant::now();
    let mut distinct = 0;
    while started.elapsed() < Duration::from_secs(20) {
        distinct = {
            let seen = seen.lock().unwrap();
            let mut ids = seen.requests.clone();
            ids.sort();
            ids.dedup();
            ids.len()
        };
        if distinct == USERS {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        distinct, USERS,
        "all delivered well before the 60 s lease ran out"
    );
}
