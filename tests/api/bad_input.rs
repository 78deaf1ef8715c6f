//! Hostile and broken requests get a SCIM error, write nothing, and the server keeps serving.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{assert_scim_error, spawn_app, user};

async fn post_raw(
    app: &crate::helpers::TestApp,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    app.client
        .post(app.url("/Users"))
        .bearer_auth(&app.token)
        .header("content-type", "application/scim+json")
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn malformed_bodies_are_400_invalid_syntax_and_write_nothing() {
    let app = spawn_app().await;
    assert_scim_error(
        post_raw(&app, "{\"userName\": ").await,
        400,
        Some("invalidSyntax"),
    )
    .await;
    assert_scim_error(post_raw(&app, "").await, 400, Some("invalidSyntax")).await;
    assert_scim_error(post_raw(&app, "[1, 2]").await, 400, Some("invalidSyntax")).await;
    assert_scim_error(
        post_raw(&app, b"{\"userName\": \"\xff\xfe\"}".to_vec()).await,
        400,
        Some("invalidSyntax"),
    )
    .await;
    let deep = format!(
        "{{\"userName\":\"d\",\"x\":{}1{}}}",
        "[".repeat(100),
        "]".repeat(100)
    );
    assert_scim_error(post_raw(&app, deep).await, 400, Some("invalidSyntax")).await;
    assert_eq!(
        app.get("/Users").await.json::<Value>().await.unwrap()["totalResults"],
        0
    );
    assert_eq!(app.tenant_seats_used().await, 0);
}

#[tokio::test]
async fn wrong_types_and_missing_user_name_are_400_invalid_value() {
    let app = spawn_app().await;
    for body in [
        json!({"displayName": "no userName"}),
        json!({"userName": 42}),
        json!({"userName": "x", "active": "maybe"}),
        json!({"userName": "x", "name": "not an object"}),
        json!({"userName": "x", "emails": [{"value": {"nested": true}}]}),
        json!({"userName": "x", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": "not an object"}),
    ] {
        assert_scim_error(app.post("/Users", &body).await, 400, Some("invalidValue")).await;
    }
    assert_eq!(app.tenant_seats_used().await, 0);
}

#[tokio::test]
async fn an_oversized_body_is_413_and_the_server_keeps_serving() {
    let app = spawn_app().await;
    let mut huge = user("huge");
    huge["displayName"] = json!("x".repeat(2 * 1024 * 1024));
    assert_scim_error(app.post("/Users", &huge).await, 413, None).await;
    assert_eq!(
        app.post("/Users", &user("after")).await.status(),
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn unknown_endpoints_and_methods_are_scim_errors() {
    let app = spawn_app().await;
    assert_scim_error(app.get("/Nope").await, 404, None).await;
    let response = app
        .client
        .patch(app.url("/Users"))
        .bearer_auth(&app.token)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_scim_error(response, 405, None).await;
    // /Me answers only to an SSO session token (see sso.rs), and never changes the user.
    assert_scim_error(app.get("/Me").await, 401, None).await;
    let changed = app.put("/Me", &json!({})).await;
    assert_eq!(changed.headers()["allow"], "GET");
    assert_scim_error(changed, 405, None).await;
}
