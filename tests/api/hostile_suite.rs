//! 1,200 generated hostile requests against the real binary: bodies, filters, paths, query
//! parameters, headers and tokens drawn from the fuzz generators (deterministically, so a failure
//! names a request that can be sent again). None may answer 5xx or be held past the request
//! timeout; the gateway still serves afterwards; and refused requests wrote nothing: the users
//! that exist are exactly the ones successful requests created, and the seat counter agrees.

use std::time::Duration;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use reqwest::header::{HeaderName, HeaderValue};
use reqwest::{Client, Method};
use serde_json::{Value, json};
use tokio::task::JoinSet;

use crate::fuzz::{hostile_json, hostile_patch, hostile_text};
use crate::helpers::{fresh_database_url, user};
use crate::process::{Gateway, cli, post_json, tenant_with_token, total};

const REQUESTS: usize = 1200;
/// The gateway's own request timeout in this suite; the client waits a little longer.
const REQUEST_TIMEOUT_SECS: u64 = 10;

/// Where a generated request goes: a known route (with the id of one of the anchor users or
/// groups), or a hostile path.
#[derive(Debug, Clone)]
enum Target {
    Route(&'static str, usize),
    HostileSegment(&'static str, String),
    HostilePath(String),
}

#[derive(Debug, Clone)]
enum Credential {
    Valid,
    None,
    OtherTenant,
    Raw(String),
}

#[derive(Debug, Clone)]
enum Body {
    None,
    Json(Value),
    Raw(Vec<u8>),
}

#[derive(Debug, Clone)]
struct HostileRequest {
    method: Method,
    target: Target,
    query: Vec<(String, String)>,
    content_type: Option<String>,
    credential: Credential,
    if_match: Option<String>,
    body: Body,
}

/// The routes and the methods they serve; most requests are sent as one of these, so that they
/// reach the handlers rather than the router's 404 and 405.
const ROUTES: &[(&str, &str)] = &[
    ("GET", "/Users"),
    ("POST", "/Users"),
    ("POST", "/Users/"),
    ("GET", "/Users/{user}"),
    ("PUT", "/Users/{user}"),
    ("PATCH", "/Users/{user}"),
    ("PATCH", "/Users/{user}"),
    ("DELETE", "/Users/{user}"),
    ("POST", "/Users/.search"),
    ("GET", "/Groups"),
    ("POST", "/Groups"),
    ("GET", "/Groups/{group}"),
    ("PUT", "/Groups/{group}"),
    ("PATCH", "/Groups/{group}"),
    ("PATCH", "/Groups/{group}"),
    ("DELETE", "/Groups/{group}"),
    ("POST", "/Groups/.search"),
    ("POST", "/.search"),
    ("POST", "/Bulk"),
    ("GET", "/ServiceProviderConfig"),
    ("GET", "/Schemas"),
    ("GET", "/ResourceTypes"),
    ("GET", "/Me"),
];

/// Users and groups made before the storm, for routes that name one.
const ANCHORS: usize = 20;

const PARAMETERS: &[&str] = &[
    "filter",
    "sortBy",
    "sortOrder",
    "attributes",
    "excludedAttributes",
    "count",
    "startIndex",
    "cursor",
];

fn hostile_request() -> impl Strategy<Value = HostileRequest> {
    let any_method = prop::sample::select(vec![
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
    ]);
    let routed =
        (prop::sample::select(ROUTES), 0..ANCHORS).prop_map(|((method, route), anchor)| {
            (
                Method::from_bytes(method.as_bytes()).unwrap_or(Method::GET),
                Target::Route(route, anchor),
            )
        });
    let elsewhere = (
        any_method,
        prop_oneof![
            2 => (prop::sample::select(&["/Users/", "/Groups/", "/Schemas/", "/ResourceTypes/"][..]), hostile_text())
                .prop_map(|(route, segment)| Target::HostileSegment(route, segment)),
            1 => (prop::sample::select(ROUTES), 0..ANCHORS).prop_map(|((_, route), anchor)| Target::Route(route, anchor)),
            1 => hostile_text().prop_map(Target::HostilePath),
        ],
    );
    let method_and_target = prop_oneof![5 => routed, 1 => elsewhere];
    let parameter = (
        prop_oneof![3 => prop::sample::select(PARAMETERS).prop_map(str::to_string), 1 => hostile_text()],
        hostile_text(),
    );
    let content_type = prop::option::of(prop_oneof![
        3 => Just("application/scim+json".to_string()),
        1 => Just("application/json; charset=utf-8".to_string()),
        1 => Just("text/plain".to_string()),
        1 => hostile_text(),
    ]);
    let credential = prop_oneof![
        6 => Just(Credential::Valid),
        1 => Just(Credential::None),
        1 => Just(Credential::OtherTenant),
        1 => hostile_text().prop_map(Credential::Raw),
    ];
    let body = prop_oneof![
        1 => Just(Body::None),
        3 => hostile_json().prop_map(Body::Json),
        2 => hostile_patch().prop_map(Body::Json),
        2 => (hostile_text(), hostile_json()).prop_map(|(name, extra)| {
            let mut body = user(&format!("h{}", name.chars().take(40).collect::<String>()));
            if let (Some(fields), Value::Object(extra)) = (body.as_object_mut(), extra) {
                fields.extend(extra);
            }
            Body::Json(body)
        }),
        1 => prop::collection::vec(prop::sample::select(vec![
            json!({"method": "POST", "path": "/Users", "bulkId": "a", "data": user("bulk-a")}),
            json!({"method": "DELETE", "path": "/Users/bulkId:a"}),
            json!({"method": "PATCH", "path": "/Groups/bulkId:a", "data": {}}),
        ]), 0..4).prop_map(|ops| Body::Json(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": ops}))),
        2 => (hostile_text(), hostile_text(), hostile_text()).prop_map(|(filter, sort_by, attribute)| Body::Json(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": filter, "sortBy": sort_by, "attributes": [attribute], "count": 5}))),
        1 => prop::collection::vec(any::<u8>(), 0..200).prop_map(Body::Raw),
    ];
    (
        method_and_target,
        prop::collection::vec(parameter, 0..3),
        content_type,
        credential,
        prop::option::of(hostile_text()),
        body,
    )
        .prop_map(
            |((method, target), query, content_type, credential, if_match, body)| HostileRequest {
                method,
                target,
                query,
                content_type,
                credential,
                if_match,
                body,
            },
        )
}

/// `count` values of `strategy`, drawn deterministically (a failure names a request that can be
/// sent again).
pub(crate) fn generated<S: Strategy>(strategy: &S, count: usize) -> Vec<S::Value> {
    let mut runner = TestRunner::deterministic();
    (0..count)
        .map(|_| strategy.new_tree(&mut runner).unwrap().current())
        .collect()
}

/// Sends `requests` from four concurrent workers and returns the answered ones with their status
/// and body (`send` answers `None` for a request no HTTP client can express). A 5xx fails the
/// test, naming the request.
pub(crate) async fn sent_by_four<R, B, F, Fut>(requests: Vec<R>, send: F) -> Vec<(R, u16, B)>
where
    R: Clone + std::fmt::Debug + Send + 'static,
    B: std::fmt::Display + Send + 'static,
    F: Fn(R) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Option<(u16, B)>> + Send,
{
    let mut workers = JoinSet::new();
    for chunk in requests.chunks(requests.len().div_ceil(4).max(1)) {
        let (send, chunk) = (send.clone(), chunk.to_vec());
        workers.spawn(async move {
            let mut answered = Vec::new();
            for request in chunk {
                if let Some((status, body)) = send(request.clone()).await {
                    assert!(status < 500, "{request:?} answered {status}: {body}");
                    answered.push((request, status, body));
                }
            }
            answered
        });
    }
    let mut answered = Vec::new();
    while let Some(done) = workers.join_next().await {
        answered.extend(done.unwrap());
    }
    answered
}

/// Every byte but the unreserved ones percent-encoded, so any text can be a path segment.
pub(crate) fn encode_segment(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

struct World {
    base: String,
    token: String,
    other_token: String,
    user_ids: Vec<String>,
    group_ids: Vec<String>,
}

/// Sends one request; `None` when the client cannot even express it (a header value no HTTP
/// client may send).
async fn send(client: &Client, world: &World, request: &HostileRequest) -> Option<(u16, Value)> {
    let path = match &request.target {
        Target::Route(route, anchor) => route
            .replace("{user}", world.user_ids.get(*anchor)?)
            .replace("{group}", world.group_ids.get(*anchor)?),
        Target::HostileSegment(route, segment) => format!("{route}{}", encode_segment(segment)),
        Target::HostilePath(path) => format!("/{}", encode_segment(path)),
    };
    let mut builder = client
        .request(request.method.clone(), format!("{}{path}", world.base))
        .query(&request.query);
    let authorization = match &request.credential {
        Credential::Valid => Some(format!("Bearer {}", world.token)),
        Credential::None => None,
        Credential::OtherTenant => Some(format!("Bearer {}", world.other_token)),
        Credential::Raw(text) => Some(format!("Bearer {text}")),
    };
    let headers = [
        ("authorization", authorization),
        ("content-type", request.content_type.clone()),
        ("if-match", request.if_match.clone()),
    ];
    for (name, value) in headers {
        if let Some(value) = value {
            builder = builder.header(
                HeaderName::from_static(name),
                HeaderValue::from_str(&value).ok()?,
            );
        }
    }
    builder = match &request.body {
        Body::None => builder,
        Body::Json(value) => builder.body(value.to_string()),
        Body::Raw(bytes) => builder.body(bytes.clone()),
    };
    let response = builder
        .send()
        .await
        .unwrap_or_else(|err| panic!("{request:?} was not answered within its limit: {err}"));
    let status = response.status().as_u16();
    Some((status, response.json().await.unwrap_or(Value::Null)))
}

/// How the user count changed through a successful request: creates minus deletes.
fn users_changed(request: &HostileRequest, status: u16, body: &Value) -> i64 {
    let path = match &request.target {
        Target::Route(route, _) => *route,
        _ => return 0,
    };
    match (request.method.as_str(), path, status) {
        ("POST", "/Users" | "/Users/", 201) => 1,
        ("DELETE", "/Users/{user}", 204) => -1,
        ("POST", "/Bulk", 200) => body["Operations"]
            .as_array()
            .map(|ops| {
                ops.iter()
                    .map(|op| {
                        match (
                            op["method"].as_str(),
                            op["status"].as_str(),
                            op["location"].as_str(),
                        ) {
                            (Some("POST"), Some("201"), Some(at)) if at.contains("/Users/") => 1,
                            (Some("DELETE"), Some("204"), Some(at)) if at.contains("/Users/") => -1,
                            _ => 0,
                        }
                    })
                    .sum()
            })
            .unwrap_or(0),
        _ => 0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twelve_hundred_hostile_requests_get_no_5xx_and_refused_ones_write_nothing() {
    let database = fresh_database_url().await;
    let token = tenant_with_token(&database, "hostile", Some(500));
    let other_token = tenant_with_token(&database, "other", None);
    let timeout = REQUEST_TIMEOUT_SECS.to_string();
    let gateway = Gateway::start_with(&database, &["--request-timeout-secs", &timeout]);
    let client = Client::builder()
        .timeout(Duration::from_secs(REQUEST_TIMEOUT_SECS + 10))
        .build()
        .unwrap();
    let base = gateway.base("hostile");
    let (mut user_ids, mut group_ids) = (Vec::new(), Vec::new());
    for anchor in 0..ANCHORS {
        let (_, created) = post_json(
            &client,
            &format!("{base}/Users"),
            &token,
            &user(&format!("anchor{anchor}")),
        )
        .await;
        user_ids.push(created["id"].as_str().unwrap().to_string());
        let anchors = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                             "displayName": format!("Anchors {anchor}"), "members": [{"value": created["id"]}]});
        let (_, group) = post_json(&client, &format!("{base}/Groups"), &token, &anchors).await;
        group_ids.push(group["id"].as_str().unwrap().to_string());
    }
    let world = std::sync::Arc::new(World {
        base,
        token,
        other_token,
        user_ids,
        group_ids,
    });

    let requests = generated(&hostile_request(), REQUESTS);
    let answered = sent_by_four(requests, {
        let (client, world) = (client.clone(), world.clone());
        move |request| {
            let (client, world) = (client.clone(), world.clone());
            async move { send(&client, &world, &request).await }
        }
    })
    .await;
    let sent = answered.len();
    let change: i64 = answered
        .iter()
        .map(|(request, status, body)| users_changed(request, *status, body))
        .sum();
    assert!(
        sent >= 1000,
        "only {sent} of the generated requests could be sent"
    );

    // Still serving, and exactly what succeeded was written.
    let users = total(
        &client,
        &format!("{}/Users?count=0", world.base),
        &world.token,
    )
    .await;
    assert_eq!(
        users,
        ANCHORS as i64 + change,
        "users beyond what successful requests created"
    );
    let tenant: Value =
        serde_json::from_str(&cli(&database, &["--json", "tenant", "show", "hostile"])).unwrap();
    assert_eq!(tenant["seatsUsed"], users, "{tenant}");
    let (after, _) = post_json(
        &client,
        &format!("{}/Users", world.base),
        &world.token,
        &user("after-the-storm"),
    )
    .await;
    assert_eq!(after, 201);
}
