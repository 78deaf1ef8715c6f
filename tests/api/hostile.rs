//! The hostile-input findings of issue #13, each as a class: NUL and control characters in every
//! kind of string and id, multi-byte names wherever a name is parsed, bodies that announce more
//! than the limit, media types, trailing slashes, and an exhausted pool. On both engines.

use std::time::Duration;

use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{
    TestApp, assert_scim_error, spawn_app, spawn_app_configured, spawn_app_pooled, user,
};
use scim_gateway::sso::secret_key::SecretKey;
use scim_gateway::store::PoolOptions;

const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    body: Option<&Value>,
) -> Response {
    let mut request = app
        .client
        .request(method, app.url(path))
        .bearer_auth(&app.token);
    if let Some(body) = body {
        request = request
            .header("content-type", "application/scim+json")
            .body(body.to_string());
    }
    request.send().await.unwrap()
}

/// The gateway still writes after what a test threw at it.
async fn assert_still_serving(app: &TestApp) {
    let after = app.post("/Users", &user("after")).await;
    assert_eq!(after.status(), StatusCode::CREATED);
}

fn patch_body(operations: Value) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": operations})
}

async fn user_count(app: &TestApp) -> i64 {
    app.get("/Users").await.json::<Value>().await.unwrap()["totalResults"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn a_nul_in_any_string_is_refused_with_invalid_value_and_writes_nothing() {
    let app = spawn_app().await;
    for (attribute, set) in [
        ("userName", json!({"userName": "a\u{0}b"})),
        ("displayName", json!({"displayName": "x\u{0}"})),
        ("externalId", json!({"externalId": "\u{0}"})),
        (
            "value",
            json!({"emails": [{"value": "a\u{0}@example.com", "type": "work"}]}),
        ),
        ("givenName", json!({"name": {"givenName": "x\u{0}"}})),
        ("title", json!({"title": "boss\u{0}"})),
        (
            "skills",
            json!({"urn:ietf:params:scim:schemas:extension:gateway:2.0:User": {"skills": ["\u{0}"]}}),
        ),
    ] {
        let mut body = user("nul");
        for (key, value) in set.as_object().unwrap() {
            body[key] = value.clone();
        }
        let error =
            assert_scim_error(app.post("/Users", &body).await, 400, Some("invalidValue")).await;
        assert!(
            error["detail"]
                .as_str()
                .unwrap()
                .contains(&format!("'{attribute}'")),
            "{error}"
        );
    }
    let group = json!({"schemas": [GROUP], "displayName": "Sales\u{0}"});
    assert_scim_error(app.post("/Groups", &group).await, 400, Some("invalidValue")).await;
    assert_eq!(app.tenant_seats_used().await, 0);
    assert_eq!(user_count(&app).await, 0);
    assert!(
        app.audit()
            .await
            .iter()
            .all(|e| !e.action.starts_with("user.") && !e.action.starts_with("group."))
    );

    // A PATCH or PUT that would store one changes nothing.
    let created = app.create_user("kept").await;
    let id = created["id"].as_str().unwrap();
    let patch = patch_body(json!([{"op": "replace", "path": "name.givenName", "value": "x\u{0}"}]));
    assert_scim_error(
        send(
            &app,
            reqwest::Method::PATCH,
            &format!("/Users/{id}"),
            Some(&patch),
        )
        .await,
        400,
        Some("invalidValue"),
    )
    .await;
    let mut put = user("kept");
    put["displayName"] = json!("\u{0}");
    assert_scim_error(
        app.put(&format!("/Users/{id}"), &put).await,
        400,
        Some("invalidValue"),
    )
    .await;
    let after: Value = app.get(&format!("/Users/{id}")).await.json().await.unwrap();
    assert_eq!(after["meta"]["version"], created["meta"]["version"]);
    assert_eq!(after["name"]["givenName"], "Barbara");
}

#[tokio::test]
async fn an_id_or_query_holding_a_nul_is_a_client_error_on_every_route() {
    let app = spawn_app().await;
    let body = user("x");
    for resource in ["Users", "Groups"] {
        for id in ["%00", "abc%00def", "%C3%A9%00"] {
            let path = format!("/{resource}/{id}");
            assert_scim_error(
                send(&app, reqwest::Method::GET, &path, None).await,
                404,
                None,
            )
            .await;
            assert_scim_error(
                send(&app, reqwest::Method::PUT, &path, Some(&body)).await,
                404,
                None,
            )
            .await;
            let patch = patch_body(json!([{"op": "replace", "path": "displayName", "value": "y"}]));
            assert_scim_error(
                send(&app, reqwest::Method::PATCH, &path, Some(&patch)).await,
                404,
                None,
            )
            .await;
            assert_scim_error(
                send(&app, reqwest::Method::DELETE, &path, None).await,
                404,
                None,
            )
            .await;
        }
    }
    // A raw NUL in a query parameter, and an escaped one inside a filter string.
    assert_scim_error(
        send(
            &app,
            reqwest::Method::GET,
            "/Users?filter=userName%20eq%20%22a%00%22",
            None,
        )
        .await,
        400,
        Some("invalidValue"),
    )
    .await;
    assert_scim_error(
        send(
            &app,
            reqwest::Method::GET,
            "/Users?sortBy=userName%00",
            None,
        )
        .await,
        400,
        Some("invalidValue"),
    )
    .await;
    let search = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                        "filter": "userName eq \"a\\u0000\""});
    assert_scim_error(
        send(&app, reqwest::Method::POST, "/Users/.search", Some(&search)).await,
        400,
        Some("invalidFilter"),
    )
    .await;
    let bulk = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [{"method": "DELETE", "path": "/Users/\u{0}"}]});
    assert_scim_error(
        send(&app, reqwest::Method::POST, "/Bulk", Some(&bulk)).await,
        400,
        Some("invalidValue"),
    )
    .await;
    assert_still_serving(&app).await;
}

/// Control characters other than NUL are text JSON carries and both engines store: they come
/// back as sent, and no query over them fails afterwards (the stored-value case).
#[tokio::test]
async fn other_control_characters_are_stored_as_sent_and_never_break_a_later_query() {
    let app = spawn_app().await;
    let mut body = user("ctl");
    body["name"]["givenName"] = json!("x\u{1}\u{1f}\t\u{7f}");
    body["title"] = json!("t\u{7}\r\n");
    body["displayName"] = json!("\u{1b}[31mred");
    let created: Value = app.post("/Users", &body).await.json().await.unwrap();
    let id = created["id"].as_str().unwrap();
    let read: Value = app.get(&format!("/Users/{id}")).await.json().await.unwrap();
    assert_eq!(read["name"]["givenName"], "x\u{1}\u{1f}\t\u{7f}");
    assert_eq!(read["title"], "t\u{7}\r\n");
    app.create_user("plain").await;
    for filter in [
        "name.givenName pr",
        "title pr",
        "displayName pr",
        r#"title co "\u0007""#,
        r#"name.givenName sw "x\u0001""#,
    ] {
        let found = app.filter(filter).await;
        assert!(
            found["Resources"]
                .as_array()
                .unwrap()
                .iter()
                .any(|u| u["id"] == json!(id)),
            "{filter}: {found}"
        );
    }
    for sort in ["name.givenName", "title", "displayName"] {
        let response = send(
            &app,
            reqwest::Method::GET,
            &format!("/Users?sortBy={sort}"),
            None,
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK, "sortBy={sort}");
        assert_eq!(response.json::<Value>().await.unwrap()["totalResults"], 2);
    }
}

/// Names with multi-byte characters, where byte-offset slicing used to panic (a 500).
const MULTI_BYTE_NAMES: [&str; 8] = [
    "abcé",
    "éabc",
    "😀",
    "用户名",
    "urné:x",
    "urn:é",
    "name.givené",
    "emails[type eq \"wörk\"].valué",
];

/// `GET /Users` with one query parameter, encoded as a client would.
async fn list_with(app: &TestApp, parameter: &str, value: &str) -> Response {
    app.client
        .get(app.url("/Users"))
        .query(&[(parameter, value)])
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap()
}

fn assert_client_answer(what: &str, status: StatusCode) {
    assert!(
        status.is_success() || status.is_client_error(),
        "{what}: answered {status}"
    );
}

#[tokio::test]
async fn multi_byte_names_are_client_errors_wherever_a_name_is_parsed() {
    let app = spawn_app().await;
    let id = app.create_user("mb").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let group: Value = app
        .post("/Groups", &json!({"schemas": [GROUP], "displayName": "G"}))
        .await
        .json()
        .await
        .unwrap();
    let gid = group["id"].as_str().unwrap().to_string();
    for name in MULTI_BYTE_NAMES {
        for filter in [
            format!("{name} pr"),
            format!("{name} eq \"x\""),
            format!("emails[{name} eq \"x\"]"),
            format!("emails[type eq \"work\"].{name} eq \"x\""),
            format!("not ({name} gt 1)"),
        ] {
            let response = list_with(&app, "filter", &filter).await;
            assert_client_answer(&filter, response.status());
        }
        for parameter in ["sortBy", "attributes", "excludedAttributes"] {
            let response = list_with(&app, parameter, name).await;
            assert_client_answer(&format!("{parameter}={name}"), response.status());
        }
        for op in ["add", "replace", "remove"] {
            let patch = patch_body(json!([{"op": op, "path": name, "value": "v"}]));
            let response = send(
                &app,
                reqwest::Method::PATCH,
                &format!("/Users/{id}"),
                Some(&patch),
            )
            .await;
            assert_client_answer(&format!("user {op} {name}"), response.status());
            let response = send(
                &app,
                reqwest::Method::PATCH,
                &format!("/Groups/{gid}"),
                Some(&patch),
            )
            .await;
            assert_client_answer(&format!("group {op} {name}"), response.status());
            let pathless = patch_body(json!([{"op": op, "value": {name: "v"}}]));
            let response = send(
                &app,
                reqwest::Method::PATCH,
                &format!("/Users/{id}"),
                Some(&pathless),
            )
            .await;
            assert_client_answer(&format!("path-less {op} {name}"), response.status());
        }
    }
    // Names outside the grammar are named in a SCIM error, not a 500.
    let response = list_with(&app, "filter", "abcé pr").await;
    assert_scim_error(response, 400, Some("invalidFilter")).await;
    let patch = patch_body(json!([{"op": "replace", "path": "abcé", "value": "v"}]));
    let response = send(
        &app,
        reqwest::Method::PATCH,
        &format!("/Users/{id}"),
        Some(&patch),
    )
    .await;
    let error = assert_scim_error(response, 400, Some("invalidPath")).await;
    assert!(
        error["detail"].as_str().unwrap().contains("abcé"),
        "{error}"
    );
}

/// A request that announces a body far over the limit and sends two bytes is answered 413 at
/// once, not held until the request timeout (set far beyond the read bound here).
#[tokio::test]
async fn a_declared_length_over_the_limit_is_refused_at_once() {
    let app = spawn_app_configured(None, |settings| {
        settings.limits.request_timeout = Duration::from_secs(600);
    })
    .await;
    let address = app.root.trim_start_matches("http://").to_string();
    for path in [
        "/scim/v2/acme/Users",
        "/scim/v2/acme/Bulk",
        "/sso/introspect",
    ] {
        let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/scim+json\r\nContent-Length: 1000000000000\r\n\r\n{{}}",
            app.token
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut head = [0u8; 12];
        tokio::time::timeout(Duration::from_secs(20), stream.read_exact(&mut head))
            .await
            .unwrap_or_else(|_| panic!("{path}: no answer while the body was still announced"))
            .unwrap();
        assert_eq!(&head, b"HTTP/1.1 413", "{path}");
    }
    assert_still_serving(&app).await;
}

#[tokio::test]
async fn media_types_other_than_json_are_415_and_write_nothing() {
    let app = spawn_app().await;
    let body = user("typed").to_string();
    let post = |content_type: Option<&'static str>, path: &'static str, body: String| {
        let mut request = app
            .client
            .post(app.url(path))
            .bearer_auth(&app.token)
            .body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        request.send()
    };
    for content_type in [
        "text/plain",
        "application/xml",
        "application/x-www-form-urlencoded",
        "application/jsonx",
    ] {
        assert_scim_error(
            post(Some(content_type), "/Users", body.clone())
                .await
                .unwrap(),
            415,
            None,
        )
        .await;
        let bulk = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": []});
        assert_scim_error(
            post(Some(content_type), "/Bulk", bulk.to_string())
                .await
                .unwrap(),
            415,
            None,
        )
        .await;
    }
    assert_eq!(app.tenant_seats_used().await, 0);
    for (i, content_type) in [
        Some("application/scim+json"),
        Some("application/json"),
        Some("Application/SCIM+JSON; charset=utf-8"),
        Some("application/json;charset=UTF-8"),
        None,
    ]
    .into_iter()
    .enumerate()
    {
        let response = post(
            content_type,
            "/Users",
            user(&format!("typed{i}")).to_string(),
        )
        .await
        .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED, "{content_type:?}");
    }
}

#[tokio::test]
async fn one_trailing_slash_is_tolerated_on_every_scim_route() {
    let app = spawn_app().await;
    let created = app.post("/Users/", &user("slash")).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let id = created.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let found = send(
        &app,
        reqwest::Method::GET,
        "/Users/?filter=userName%20eq%20%22slash%22",
        None,
    )
    .await;
    assert_eq!(found.status(), StatusCode::OK);
    assert_eq!(found.json::<Value>().await.unwrap()["totalResults"], 1);
    for path in [
        "/Groups/",
        "/ServiceProviderConfig/",
        "/Schemas/",
        "/ResourceTypes/",
        &format!("/Users/{id}/"),
    ] {
        assert_eq!(
            send(&app, reqwest::Method::GET, path, None).await.status(),
            StatusCode::OK,
            "{path}"
        );
    }
    let patch = patch_body(json!([{"op": "replace", "path": "displayName", "value": "S"}]));
    let patched = send(
        &app,
        reqwest::Method::PATCH,
        &format!("/Users/{id}/"),
        Some(&patch),
    )
    .await;
    assert_eq!(patched.status(), StatusCode::OK);
    let search = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]});
    assert_eq!(
        send(
            &app,
            reqwest::Method::POST,
            "/Users/.search/",
            Some(&search)
        )
        .await
        .status(),
        StatusCode::OK
    );
    assert_eq!(
        send(
            &app,
            reqwest::Method::DELETE,
            &format!("/Users/{id}/"),
            None
        )
        .await
        .status(),
        StatusCode::NO_CONTENT
    );
}

/// With every connection held, a request is answered 503 with `Retry-After` when the acquire
/// timeout runs out, writes nothing, and the same request succeeds once a connection is free.
#[tokio::test]
async fn an_exhausted_pool_answers_503_with_retry_after_and_writes_nothing() {
    let pool = PoolOptions {
        max_connections: 1,
        acquire_timeout: Duration::from_millis(300),
    };
    let app = spawn_app_pooled(None, pool, |_| {}).await;
    let held = app.store.begin().await.unwrap();
    let response = app.post("/Users", &user("waiting")).await;
    assert_eq!(
        response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
    assert_scim_error(response, 503, None).await;
    drop(held);
    assert_eq!(
        app.post("/Users", &user("waiting")).await.status(),
        StatusCode::CREATED
    );
    assert_eq!(app.tenant_seats_used().await, 1);
}

/// The sign-in endpoints read client text too (tenant slugs, `state`, tokens): a NUL or a
/// multi-byte character there is a client error on both engines, never a 500.
#[tokio::test]
async fn sign_in_endpoints_answer_hostile_text_with_client_errors() {
    let key = SecretKey::parse(&SecretKey::generate().unwrap()).unwrap();
    let app = spawn_app_configured(None, |settings| settings.sso.secret_key = Some(key)).await;
    let client = &app.client;
    for path in [
        "/sso/%00/login",
        "/sso/acme%00/login",
        "/sso/%C3%A9/login",
        "/sso/acme/callback?state=%00&code=x",
        "/sso/acme/callback?state=%C3%A9&code=%00",
        "/sso/%00/me",
        "/sso/acme/me",
        "/scim/v2/%00/Users",
        "/scim/v2/%C3%A9/Users",
    ] {
        let response = client
            .get(format!("{}{path}", app.root))
            .bearer_auth("a\u{e9}b")
            .send()
            .await
            .unwrap();
        assert_client_answer(path, response.status());
    }
    for body in ["token=%00", "token=%C3%A9", "token="] {
        let response = client
            .post(format!("{}/sso/introspect", app.root))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_client_answer(body, response.status());
    }
    let response = client
        .post(format!("{}/sso/introspect", app.root))
        .header("content-type", "application/json")
        .body(json!({"token": "\u{0}"}).to_string())
        .send()
        .await
        .unwrap();
    assert_client_answer("introspect JSON with a NUL", response.status());
    let response = client
        .post(format!("{}/sso/acme/logout", app.root))
        .header("cookie", "scgw_session=%00")
        .send()
        .await
        .unwrap();
    assert_client_answer("logout with a NUL cookie", response.status());
}

/// A client that stops sending its body is cut off at the request timeout with a SCIM error, and
/// the half-sent request writes nothing.
#[tokio::test]
async fn a_stalled_body_is_cut_off_with_a_scim_408() {
    let app = spawn_app_configured(None, |settings| {
        settings.limits.request_timeout = Duration::from_secs(1);
    })
    .await;
    let address = app.root.trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let request = format!(
        "POST /scim/v2/acme/Users HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/scim+json\r\nContent-Length: 100\r\n\r\n{{\"userName\"",
        app.token
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut answer))
        .await
        .expect("the gateway cuts the request off")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("application/scim+json"), "{answer}");
    assert!(answer.contains("request time limit"), "{answer}");
    assert_eq!(app.tenant_seats_used().await, 0);
}
