//! Bearer tokens decide tenant and connection; wrong, revoked, expired and foreign tokens all get
//! the same 401.

use reqwest::StatusCode;
use serde_json::{Value, json};

use scim_gateway::clock::now_micros;
use scim_gateway::store::UserId;
use scim_gateway::tenant::{TenantSlug, tenants, tokens};

use std::time::Duration;

use crate::helpers::{
    TestApp, assert_scim_error, set_locked_attributes, spawn_app, spawn_app_configured, user,
};

#[tokio::test]
async fn missing_wrong_revoked_and_expired_tokens_get_the_same_401() {
    let app = spawn_app().await;
    let users = app.url("/Users");
    let (revoked, record) = tokens::create_token(&app.store, "acme", "okta", None, now_micros())
        .await
        .unwrap();
    let (expired, _) = tokens::create_token(
        &app.store,
        "acme",
        "okta",
        Some(now_micros() - 1),
        now_micros(),
    )
    .await
    .unwrap();
    // The revocation takes effect at once for the running server.
    tokens::revoke_token(&app.store, "acme", &record.prefix, now_micros())
        .await
        .unwrap();

    let mut bodies = Vec::new();
    for token in [
        None,
        Some("scgw_wrong"),
        Some("Bearer"),
        Some(revoked.expose()),
        Some(expired.expose()),
    ] {
        let mut request = app.client.get(&users);
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        let response = request.send().await.unwrap();
        assert_eq!(
            response.headers()["www-authenticate"],
            "Bearer realm=\"SCIM\""
        );
        bodies.push(assert_scim_error(response, 401, None).await);
    }
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "no hint which failure it was"
    );
    assert_eq!(refused_authentications(&app).await, 5);
    assert_eq!(
        app.get("/Users").await.status(),
        StatusCode::OK,
        "the real token still works"
    );
}

#[tokio::test]
async fn a_token_of_tenant_a_cannot_read_or_write_tenant_b() {
    let app = spawn_app().await;
    let victim = app.create_user("victim").await;
    let id = victim["id"].as_str().unwrap();
    let other = TenantSlug::parse("other").unwrap();
    tenants::create_tenant(&app.store, &other, None, None, now_micros())
        .await
        .unwrap();
    let (foreign, _) = tokens::create_token(&app.store, "other", "default", None, now_micros())
        .await
        .unwrap();

    // Tenant other's token at acme's URL: 401, whatever the method.
    let url = app.url(&format!("/Users/{id}"));
    assert_scim_error(app.get_with(&url, foreign.expose()).await, 401, None).await;
    assert_scim_error(
        app.client
            .delete(&url)
            .bearer_auth(foreign.expose())
            .send()
            .await
            .unwrap(),
        401,
        None,
    )
    .await;
    // Tenant other's token at its own URL cannot see acme's user either.
    let own = format!("{}/scim/v2/other/Users/{id}", app.root);
    assert_scim_error(app.get_with(&own, foreign.expose()).await, 404, None).await;
    let list: Value = app
        .get_with(
            &format!("{}/scim/v2/other/Users", app.root),
            foreign.expose(),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["totalResults"], 0);
    // And acme's token cannot write into other.
    let response = app
        .client
        .post(format!("{}/scim/v2/other/Users", app.root))
        .bearer_auth(&app.token)
        .body(user("intruder").to_string())
        .send()
        .await
        .unwrap();
    assert_scim_error(response, 401, None).await;
    assert_eq!(
        app.get(&format!("/Users/{id}")).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn token_rotation_keeps_the_old_token_for_the_grace_period_only() {
    let app = spawn_app_configured(None, |s| s.token_cache_ttl = Duration::ZERO).await;
    let (_, _) = tokens::rotate_token(&app.store, "acme", "entra", 3_600_000_000, now_micros())
        .await
        .unwrap();
    assert_eq!(
        app.get("/Users").await.status(),
        StatusCode::OK,
        "old token within grace"
    );
    let (newest, _) = tokens::rotate_token(&app.store, "acme", "entra", 0, now_micros())
        .await
        .unwrap();
    assert_scim_error(app.get("/Users").await, 401, None).await;
    let response = app.get_with(&app.url("/Users"), newest.expose()).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn writes_remember_the_connection_of_the_token() {
    let app = spawn_app().await;
    let created = app.create_user("tracked").await;
    let tenant = app.store.tenant_by_slug("acme").await.unwrap().unwrap();
    let stored = app
        .store
        .user_by_id(&tenant.id, &UserId::new(created["id"].as_str().unwrap()))
        .await
        .unwrap()
        .unwrap();
    let tokens = app.store.list_tokens(&tenant.id).await.unwrap();
    let entra = tokens
        .iter()
        .find(|t| t.connection_name == "entra")
        .unwrap();
    assert_eq!(
        stored.created_by_connection.as_ref(),
        Some(&entra.connection_id)
    );
    assert!(entra.last_used_at.is_some(), "token use is recorded");
}

/// The refused authentications in the tenant's audit trail.
async fn refused_authentications(app: &TestApp) -> usize {
    app.audit()
        .await
        .into_iter()
        .filter(|e| e.action == "auth.failure")
        .count()
}

/// Revokes the token the test app's requests carry, as `token revoke` does.
async fn revoke_the_apps_token(app: &TestApp) {
    let tenant = app.tenant().await;
    let listed = app.store.list_tokens(&tenant.id).await.unwrap();
    tokens::revoke_token(&app.store, "acme", &listed[0].prefix, now_micros())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_revoked_token_never_writes_again_and_reads_only_within_the_cache_time() {
    // A cache time far longer than the test: what is cached shows.
    let app = spawn_app_configured(None, |s| s.token_cache_ttl = Duration::from_secs(600)).await;
    assert_eq!(app.get("/Users").await.status(), StatusCode::OK);
    revoke_the_apps_token(&app).await;
    // Writes check the token inside their transaction: refused at once.
    assert_scim_error(app.post("/Users", &user("after-revoke")).await, 401, None).await;
    // A write's refusal also drops what reads reuse: the revocation now shows to reads too.
    assert_scim_error(app.get("/Users").await, 401, None).await;

    // Without a write in between, reads reuse the grant for the cache time.
    let (second, record) = tokens::create_token(&app.store, "acme", "okta", None, now_micros())
        .await
        .unwrap();
    let read = |path: &'static str| {
        app.client
            .get(app.url(path))
            .bearer_auth(second.expose())
            .send()
    };
    assert_eq!(read("/Users").await.unwrap().status(), StatusCode::OK);
    tokens::revoke_token(&app.store, "acme", &record.prefix, now_micros())
        .await
        .unwrap();
    assert_eq!(read("/Users").await.unwrap().status(), StatusCode::OK);
    let write = app
        .client
        .post(app.url("/Users"))
        .bearer_auth(second.expose())
        .header("content-type", "application/scim+json")
        .body(user("after-second-revoke").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(write.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.tenant_seats_used().await, 0, "no write got through");
}

#[tokio::test]
async fn a_write_refused_inside_its_transaction_is_recorded_as_a_refused_authentication() {
    let app = spawn_app_configured(None, |s| s.token_cache_ttl = Duration::from_secs(600)).await;
    let created = app.create_user("kept").await;
    let id = created["id"].as_str().unwrap();
    revoke_the_apps_token(&app).await;
    // The create above left the grant in the cache: only the write's own check refuses it.
    let patched = app
        .patch_ops(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "path": "displayName", "value": "Changed"}]),
        )
        .await;
    let refused = assert_scim_error(patched, 401, None).await;
    assert_eq!(
        refused["detail"], "a valid bearer token for this tenant is required",
        "the words of any refused token"
    );
    let audit = app.audit().await;
    let failures: Vec<_> = audit
        .iter()
        .filter(|e| e.action == "auth.failure")
        .collect();
    assert_eq!(failures.len(), 1, "{audit:?}");
    assert_eq!(failures[0].http_status, 401);
    assert!(
        !audit.iter().any(|e| e.action == "user.patch"),
        "neither applied nor counted as the connection's rejection: {audit:?}"
    );
    let stored = app
        .store
        .user_by_id(&app.tenant().await.id, &UserId::new(id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.doc["displayName"], "Babs Jensen");
}

#[tokio::test]
async fn a_bulk_request_ends_at_the_operation_that_finds_its_token_dead() {
    let app = spawn_app_configured(None, |s| s.token_cache_ttl = Duration::from_secs(600)).await;
    // The read leaves the grant in the cache; the revocation comes after it.
    assert_eq!(app.get("/Users").await.status(), StatusCode::OK);
    revoke_the_apps_token(&app).await;
    let response = app
        .post(
            "/Bulk",
            &json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                "Operations": [
                    {"method": "POST", "path": "/Users", "bulkId": "a", "data": user("bulk-a")},
                    {"method": "POST", "path": "/Users", "bulkId": "b", "data": user("bulk-b")},
                ],
            }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let operations = body["Operations"].as_array().unwrap();
    assert_eq!(operations.len(), 1, "nothing ran after the refusal: {body}");
    assert_eq!(operations[0]["status"], "401");
    assert_eq!(app.tenant_seats_used().await, 0, "no write got through");
    assert_eq!(refused_authentications(&app).await, 1);
    // The grant was forgotten: reads are refused at once too.
    assert_scim_error(app.get("/Users").await, 401, None).await;
}

#[tokio::test]
async fn a_reused_grant_writes_under_the_locked_attributes_in_force() {
    // The grant looked up by the first request carries the tenant as it was then.
    let app = spawn_app_configured(None, |s| s.token_cache_ttl = Duration::from_secs(600)).await;
    let created = app.create_user("locked-later").await;
    let id = created["id"].as_str().unwrap();
    set_locked_attributes(&app, &["userName", "userType", "name.familyName"]).await;
    let patched = app
        .patch_ops(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "path": "name.familyName", "value": "Other"}]),
        )
        .await;
    assert_scim_error(patched, 400, Some("mutability")).await;
    let mut replaced = user("locked-later");
    replaced["name"]["familyName"] = json!("Other");
    let put = app.put(&format!("/Users/{id}"), &replaced).await;
    assert_scim_error(put, 400, Some("mutability")).await;
}
