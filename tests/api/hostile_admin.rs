//! The admin plane under hostile input, against the real binary: 800 generated requests to the
//! admin API (hostile path segments, query parameters, JSON and CSV bodies, media types and
//! tokens) and to the pages and sign-in routes (with a page session, hostile forms). None may
//! answer 5xx or be held past the request timeout; every refusal of the admin API is
//! `application/problem+json`; the gateway serves afterwards, and the tenants that exist are
//! exactly those the successful requests created.

use std::time::Duration;

use proptest::prelude::*;
use reqwest::header::{CONTENT_TYPE, COOKIE, HeaderValue};
use reqwest::{Client, Method, redirect};
use serde_json::{Map, Value, json};

use crate::fuzz::{hostile_json, hostile_text};
use crate::helpers::{fresh_database_url, user};
use crate::hostile_suite::{encode_segment, generated, sent_by_four};
use crate::process::{Gateway, cli, post_json, tenant_with_token, total};

const REQUESTS: usize = 800;
const REQUEST_TIMEOUT_SECS: u64 = 10;
const TENANT: &str = "storm";
/// Base64 of 32 bytes.
const SECRET_KEY: &str = "c3Rvcm0tc3Rvcm0tc3Rvcm0tc3Rvcm0tc3Rvcm0tISE=";

/// The admin API's routes (as its OpenAPI document names them) and the pages', with the methods
/// they serve.
const ROUTES: &[(&str, &str)] = &[
    ("GET", "/admin/v1/tenants"),
    ("POST", "/admin/v1/tenants"),
    ("GET", "/admin/v1/tenants/{tenant}"),
    ("PATCH", "/admin/v1/tenants/{tenant}"),
    ("PUT", "/admin/v1/tenants/{tenant}/parent"),
    ("GET", "/admin/v1/tenants/{tenant}/agency-users"),
    (
        "PUT",
        "/admin/v1/tenants/{tenant}/agency-users/{user}/roles",
    ),
    (
        "DELETE",
        "/admin/v1/tenants/{tenant}/agency-users/{user}/roles",
    ),
    ("GET", "/admin/v1/tenants/{tenant}/audit"),
    ("GET", "/admin/v1/tenants/{tenant}/audit/export"),
    ("GET", "/admin/v1/tenants/{tenant}/connections"),
    ("POST", "/admin/v1/tenants/{tenant}/connections"),
    (
        "GET",
        "/admin/v1/tenants/{tenant}/connections/{connection}/sync",
    ),
    (
        "POST",
        "/admin/v1/tenants/{tenant}/connections/{connection}/tokens",
    ),
    ("GET", "/admin/v1/tenants/{tenant}/events"),
    ("GET", "/admin/v1/tenants/{tenant}/imports"),
    ("POST", "/admin/v1/tenants/{tenant}/imports"),
    ("GET", "/admin/v1/tenants/{tenant}/imports/{any}"),
    ("GET", "/admin/v1/tenants/{tenant}/imports/{any}/report"),
    ("GET", "/admin/v1/tenants/{tenant}/roles"),
    ("POST", "/admin/v1/tenants/{tenant}/roles"),
    ("PATCH", "/admin/v1/tenants/{tenant}/roles/{role}"),
    (
        "PUT",
        "/admin/v1/tenants/{tenant}/roles/{role}/groups/{group}",
    ),
    (
        "DELETE",
        "/admin/v1/tenants/{tenant}/roles/{role}/groups/{group}",
    ),
    (
        "PUT",
        "/admin/v1/tenants/{tenant}/roles/{role}/user-types/{any}",
    ),
    (
        "DELETE",
        "/admin/v1/tenants/{tenant}/roles/{role}/user-types/{any}",
    ),
    ("GET", "/admin/v1/tenants/{tenant}/tokens"),
    ("DELETE", "/admin/v1/tenants/{tenant}/tokens/{any}"),
    ("GET", "/admin/v1/tenants/{tenant}/users"),
    ("GET", "/admin/v1/tenants/{tenant}/users/deleted"),
    ("GET", "/admin/v1/tenants/{tenant}/users/stats"),
    ("GET", "/admin/v1/tenants/{tenant}/users/{user}"),
    (
        "GET",
        "/admin/v1/tenants/{tenant}/users/{user}/environments",
    ),
    ("POST", "/admin/v1/tenants/{tenant}/users/{user}/invitation"),
    ("POST", "/admin/v1/tenants/{tenant}/users/{user}/reactivate"),
    ("POST", "/admin/v1/tenants/{tenant}/users/{user}/suspend"),
    (
        "PUT",
        "/admin/v1/tenants/{tenant}/users/{user}/roles/{role}",
    ),
    (
        "DELETE",
        "/admin/v1/tenants/{tenant}/users/{user}/roles/{role}",
    ),
    ("GET", "/admin/v1/tenants/{tenant}/webhooks"),
    ("POST", "/admin/v1/tenants/{tenant}/webhooks"),
    ("PATCH", "/admin/v1/tenants/{tenant}/webhooks/{any}"),
    ("GET", "/admin/v1/tenants/{tenant}/webhooks/{any}/attempts"),
    ("POST", "/admin/v1/webhooks/{any}/test"),
    ("GET", "/admin/v1/openapi.json"),
    ("GET", "/ui/tenants"),
    ("GET", "/ui/t/{tenant}"),
    ("GET", "/ui/t/{tenant}/users"),
    ("GET", "/ui/t/{tenant}/users/{user}"),
    ("POST", "/ui/t/{tenant}/users/{user}/status"),
    ("POST", "/ui/t/{tenant}/users/{user}/invitation"),
    ("GET", "/ui/t/{tenant}/connections"),
    ("GET", "/ui/t/{tenant}/connections/{connection}"),
    ("POST", "/ui/t/{tenant}/connections/{connection}/tokens"),
    ("GET", "/ui/t/{tenant}/audit"),
    ("GET", "/ui/t/{tenant}/audit/export"),
    ("GET", "/ui/t/{tenant}/roles"),
    ("GET", "/ui/{any}"),
    ("POST", "/ui/login"),
    ("GET", "/ui/sso"),
    ("GET", "/sso/{tenant}/login"),
    ("GET", "/sso/{tenant}/callback"),
    ("GET", "/sso/{tenant}/me"),
    ("GET", "/sso/{tenant}/invite/{any}"),
    ("POST", "/sso/introspect"),
];

/// Query parameters the admin API and the pages read.
const PARAMETERS: &[&str] = &[
    "search",
    "status",
    "userType",
    "role",
    "connection",
    "sortBy",
    "sortOrder",
    "cursor",
    "startIndex",
    "count",
    "after",
    "limit",
    "wait",
    "target",
    "actor",
    "action",
    "outcome",
    "since",
    "until",
    "format",
    "dryRun",
    "via",
    "code",
    "state",
];

/// Members the admin API's bodies have, so that hostile values reach its checks.
const MEMBERS: &[&str] = &[
    "slug",
    "name",
    "parent",
    "seatLimit",
    "lockedAttributes",
    "rateLimit",
    "permissions",
    "description",
    "template",
    "assignable",
    "roles",
    "access",
    "url",
    "events",
    "enabled",
    "label",
    "expiresInDays",
    "displayName",
];

#[derive(Debug, Clone)]
enum Segment {
    Known,
    Hostile(String),
}

#[derive(Debug, Clone)]
enum Credential {
    Operator,
    None,
    Raw(String),
}

#[derive(Debug, Clone)]
enum Body {
    None,
    Json(Value),
    Form(Vec<(String, String)>),
    Raw(Vec<u8>),
}

#[derive(Debug, Clone)]
struct AdminRequest {
    method: Method,
    route: &'static str,
    segments: Vec<Segment>,
    query: Vec<(String, String)>,
    content_type: Option<String>,
    credential: Credential,
    body: Body,
}

fn admin_request() -> impl Strategy<Value = AdminRequest> {
    let segment = prop_oneof![
        3 => Just(Segment::Known),
        2 => hostile_text().prop_map(Segment::Hostile),
    ];
    let parameter = (
        prop_oneof![4 => prop::sample::select(PARAMETERS).prop_map(str::to_string), 1 => hostile_text()],
        hostile_text(),
    );
    let shaped = prop::collection::vec((prop::sample::select(MEMBERS), hostile_json()), 0..4)
        .prop_map(|members| {
            Body::Json(Value::Object(
                members
                    .into_iter()
                    .map(|(name, value)| (name.to_string(), value))
                    .collect::<Map<_, _>>(),
            ))
        });
    let body = prop_oneof![
        1 => Just(Body::None),
        3 => shaped,
        2 => hostile_json().prop_map(Body::Json),
        2 => prop::collection::vec((prop::sample::select(&["csrf", "status", "token", "label", "prefix"][..]).prop_map(str::to_string), hostile_text()), 0..4).prop_map(Body::Form),
        1 => hostile_text().prop_map(|text| Body::Raw(format!("userName,givenName\n{text}\n").into_bytes())),
        1 => prop::collection::vec(any::<u8>(), 0..200).prop_map(Body::Raw),
    ];
    let content_type = prop::option::of(prop_oneof![
        3 => Just("application/json".to_string()),
        1 => Just("application/x-www-form-urlencoded".to_string()),
        1 => Just("text/csv".to_string()),
        1 => hostile_text(),
    ]);
    let credential = prop_oneof![
        6 => Just(Credential::Operator),
        1 => Just(Credential::None),
        1 => hostile_text().prop_map(Credential::Raw),
    ];
    let any_method = prop::sample::select(vec![
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
    ]);
    (
        prop::sample::select(ROUTES),
        prop::option::weighted(0.15, any_method),
        prop::collection::vec(segment, 3),
        prop::collection::vec(parameter, 0..3),
        content_type,
        credential,
        body,
    )
        .prop_map(
            |((method, route), other_method, segments, query, content_type, credential, body)| {
                AdminRequest {
                    method: other_method.unwrap_or_else(|| {
                        Method::from_bytes(method.as_bytes()).unwrap_or(Method::GET)
                    }),
                    route,
                    segments,
                    query,
                    content_type,
                    credential,
                    body,
                }
            },
        )
}

/// What the routes' placeholders can name that exists.
struct World {
    root: String,
    operator: String,
    page_cookie: String,
    user_id: String,
    group_id: String,
}

fn path_of(world: &World, request: &AdminRequest) -> String {
    let mut path = request.route.to_string();
    let known = [
        ("{tenant}", TENANT),
        ("{user}", world.user_id.as_str()),
        ("{group}", world.group_id.as_str()),
        ("{role}", "agent"),
        ("{connection}", "default"),
        ("{any}", "x"),
    ];
    for (index, (placeholder, value)) in known.iter().enumerate() {
        let segment = match request.segments.get(index % request.segments.len()) {
            Some(Segment::Hostile(text)) => encode_segment(text),
            _ => (*value).to_string(),
        };
        path = path.replace(placeholder, &segment);
    }
    path
}

/// Sends one request; `None` when no HTTP client may send it (a header value it cannot hold).
async fn send(client: &Client, world: &World, request: &AdminRequest) -> Option<(u16, String)> {
    let path = path_of(world, request);
    let mut builder = client
        .request(request.method.clone(), format!("{}{path}", world.root))
        .query(&request.query);
    match &request.credential {
        Credential::Operator if path.starts_with("/admin/") => {
            builder = builder.bearer_auth(&world.operator);
        }
        Credential::Operator => {
            builder = builder.header(COOKIE, HeaderValue::from_str(&world.page_cookie).ok()?);
        }
        Credential::None => {}
        Credential::Raw(text) => {
            builder = builder.header(
                "authorization",
                HeaderValue::from_str(&format!("Bearer {text}")).ok()?,
            );
        }
    }
    if let Some(media) = &request.content_type {
        builder = builder.header(CONTENT_TYPE, HeaderValue::from_str(media).ok()?);
    }
    builder = match &request.body {
        Body::None => builder,
        Body::Json(value) => builder.body(value.to_string()),
        Body::Form(fields) => builder.body(
            fields
                .iter()
                .map(|(name, value)| format!("{}={}", encode_segment(name), encode_segment(value)))
                .collect::<Vec<_>>()
                .join("&"),
        ),
        Body::Raw(bytes) => builder.body(bytes.clone()),
    };
    let response = builder
        .send()
        .await
        .unwrap_or_else(|err| panic!("{request:?} was not answered within its limit: {err}"));
    let status = response.status().as_u16();
    if path.starts_with("/admin/v1/") && status >= 400 {
        let media = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert_eq!(
            media, "application/problem+json",
            "{request:?} answered {status} without a problem"
        );
    }
    Some((status, response.text().await.unwrap_or_default()))
}

/// Tenants the admin API lists.
async fn tenant_count(client: &Client, world: &World) -> usize {
    let listed: Value = client
        .get(format!("{}/admin/v1/tenants", world.root))
        .bearer_auth(&world.operator)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    listed.as_array().map_or(0, Vec::len)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_hundred_hostile_admin_and_page_requests_get_no_5xx() {
    let database = fresh_database_url().await;
    let token = tenant_with_token(&database, TENANT, Some(50));
    cli(
        &database,
        &[
            "role",
            "create",
            "--tenant",
            TENANT,
            "--permissions",
            "users:view",
            "agent",
        ],
    );
    let operator = cli(&database, &["admin-token", "create", "--name", "storm"]);
    let timeout = REQUEST_TIMEOUT_SECS.to_string();
    // With a secret key, so that single sign-on is on (without one its routes answer 503: the
    // gateway's configuration, not the client's input).
    let gateway = Gateway::start_configured(
        &database,
        &["--request-timeout-secs", &timeout],
        &[
            ("RUST_LOG", "warn"),
            ("SCIM_GATEWAY_SECRET_KEY", SECRET_KEY),
        ],
    );
    let client = Client::builder()
        .timeout(Duration::from_secs(REQUEST_TIMEOUT_SECS + 10))
        .redirect(redirect::Policy::none())
        .build()
        .unwrap();
    let base = gateway.base(TENANT);
    let (_, created) = post_json(&client, &format!("{base}/Users"), &token, &user("anchor")).await;
    let group = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                       "displayName": "Anchors", "members": [{"value": created["id"]}]});
    let (_, group) = post_json(&client, &format!("{base}/Groups"), &token, &group).await;
    let signed_in = client
        .post(format!("{}/ui/login", gateway.root))
        .form(&[("token", operator.as_str())])
        .send()
        .await
        .unwrap();
    let page_cookie = signed_in
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|cookie| cookie.split(';').next())
        .expect("a page session")
        .to_string();
    let world = std::sync::Arc::new(World {
        root: gateway.root.clone(),
        operator,
        page_cookie,
        user_id: created["id"].as_str().unwrap().to_string(),
        group_id: group["id"].as_str().unwrap().to_string(),
    });
    let tenants_before = tenant_count(&client, &world).await;

    let requests = generated(&admin_request(), REQUESTS);
    let answered = sent_by_four(requests, {
        let (client, world) = (client.clone(), world.clone());
        move |request| {
            let (client, world) = (client.clone(), world.clone());
            async move { send(&client, &world, &request).await }
        }
    })
    .await;
    let sent = answered.len();
    let tenants_made = answered
        .iter()
        .filter(|(request, status, _)| {
            request.method == Method::POST && request.route == "/admin/v1/tenants" && *status == 201
        })
        .count();
    assert!(
        sent >= 700,
        "only {sent} of the generated requests could be sent"
    );
    assert_eq!(
        tenant_count(&client, &world).await,
        tenants_before + tenants_made,
        "tenants beyond what successful requests created"
    );
    // Still serving SCIM (the storm may have changed the tenant's seat limit; no admin route
    // deletes a user, so the anchor is there).
    assert!(total(&client, &format!("{base}/Users?count=0"), &token).await >= 1);
}
