//! PATCH on users over HTTP, replaying what Entra ID (both dialects) and Okta send through a
//! user's life: create → update → deactivate → reactivate → delete.

use reqwest::StatusCode;
use serde_json::{Value, json};

use scim_gateway::store::PoolOptions;

use crate::helpers::{
    TestApp, assert_scim_error, set_locked_attributes, spawn_app, spawn_app_pooled, test_pool, user,
};

const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const TENANT_EXT: &str = "urn:ietf:params:scim:schemas:extension:gateway:2.0:User";

async fn patch_ok(app: &TestApp, path: &str, operations: Value) -> Value {
    let response = app.patch_ops(path, operations).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().contains_key("etag"));
    response.json().await.unwrap()
}

#[tokio::test]
async fn entra_default_dialect_lifecycle() {
    let app = spawn_app().await;
    // Entra looks the user up first, then creates.
    assert_eq!(
        app.filter("userName eq \"ada@contoso.com\"").await["totalResults"],
        0
    );
    let created = app
        .post(
            "/Users",
            &json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
                "externalId": "ada", "userName": "ada@contoso.com", "active": true,
                "displayName": "Ada Lovelace",
                "emails": [{"primary": true, "type": "work", "value": "ada@contoso.com"}],
                "name": {"formatted": "Ada Lovelace", "familyName": "Lovelace", "givenName": "Ada"},
                ENTERPRISE: {"department": "Engineering"}
            }),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    let path = format!("/Users/{}", created["id"].as_str().unwrap());

    let updated = patch_ok(&app, &path, json!([
        {"op": "Replace", "path": "displayName", "value": "Ada King"},
        {"op": "Replace", "path": "name.familyName", "value": "King"},
        {"op": "Add", "path": "emails[type eq \"work\"].value", "value": "ada.king@contoso.com"},
        {"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+44 20 7946 0000"},
        {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "boss-id"},
        {"op": "Replace", "path": "title", "value": "Countess"}
    ])).await;
    assert_eq!(updated["displayName"], "Ada King");
    assert_eq!(updated["name"]["familyName"], "King");
    assert_eq!(
        updated["emails"],
        json!([{"primary": true, "type": "work", "value": "ada.king@contoso.com"}])
    );
    assert_eq!(
        updated["phoneNumbers"],
        json!([{"type": "mobile", "value": "+44 20 7946 0000"}])
    );
    assert_eq!(updated[ENTERPRISE]["manager"], json!({"value": "boss-id"}));
    assert_eq!(updated["meta"]["version"], "W/\"2\"");
    assert_eq!(
        app.filter("emails[type eq \"work\"].value eq \"ada.king@contoso.com\"")
            .await["totalResults"],
        1
    );

    let deactivated = patch_ok(
        &app,
        &path,
        json!([{"op": "Replace", "path": "active", "value": "False"}]),
    )
    .await;
    assert_eq!(deactivated["active"], false);
    assert_eq!(app.status_of(&deactivated).await, "suspended");
    let reactivated = patch_ok(
        &app,
        &path,
        json!([{"op": "Replace", "path": "active", "value": "True"}]),
    )
    .await;
    assert_eq!(reactivated["active"], true);
    assert_eq!(app.status_of(&reactivated).await, "invited");

    assert_eq!(app.delete(&path).await.status(), StatusCode::NO_CONTENT);
    assert_scim_error(
        app.patch_ops(
            &path,
            json!([{"op": "Replace", "path": "active", "value": "False"}]),
        )
        .await,
        404,
        None,
    )
    .await;

    let patches: Vec<_> = app
        .audit()
        .await
        .into_iter()
        .filter(|e| e.action != "auth.failure")
        .collect();
    let actions: Vec<&str> = patches.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        &actions[..5],
        [
            "user.patch",
            "user.delete",
            "user.reactivate",
            "user.suspend",
            "user.patch"
        ]
    );
    assert!(
        patches[3]
            .tolerances
            .contains(&"capitalised_operation".to_string())
    );
    assert!(
        patches[3]
            .tolerances
            .contains(&"string_boolean".to_string())
    );
    assert_eq!(patches[0].outcome, "rejected");
}

#[tokio::test]
async fn entra_aad_opt_scim_062020_dialect_lifecycle() {
    let app = spawn_app().await;
    let created = app.create_user("grace").await;
    let path = format!(
        "/Users/{}?aadOptscim062020",
        created["id"].as_str().unwrap()
    );
    let updated = patch_ok(&app, &path, json!([
        {"op": "replace", "value": {"displayName": "Grace Hopper", "name.givenName": "Grace",
         "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "1906"}},
        {"op": "add", "path": "roles", "value": [{"value": "{\"id\":\"r1\",\"value\":\"supervisor\"}", "primary": false}]}
    ])).await;
    assert_eq!(updated["displayName"], "Grace Hopper");
    assert_eq!(updated["name"]["givenName"], "Grace");
    assert_eq!(updated[ENTERPRISE]["employeeNumber"], "1906");
    assert_eq!(
        updated["roles"][0]["value"],
        "{\"id\":\"r1\",\"value\":\"supervisor\"}"
    );
    let off = patch_ok(
        &app,
        &path,
        json!([{"op": "replace", "path": "active", "value": false}]),
    )
    .await;
    assert_eq!(off["active"], false);
    let on = patch_ok(
        &app,
        &path,
        json!([{"op": "replace", "path": "active", "value": true}]),
    )
    .await;
    assert_eq!(on["active"], true);
    assert_eq!(
        app.delete(&format!("/Users/{}", created["id"].as_str().unwrap()))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn okta_lifecycle_with_put_updates_and_pathless_active() {
    let app = spawn_app().await;
    assert_eq!(
        app.get("/Users?startIndex=1&count=2").await.status(),
        StatusCode::OK,
        "Okta's test connection"
    );
    let created = app.client.post(app.url("/Users")).bearer_auth(&app.token).header("content-type", "application/json")
        .body(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "Linus@Example.com",
            "name": {"givenName": "Linus", "familyName": "Pauling"},
            "emails": [{"primary": true, "value": "linus@example.com", "type": "work"}],
            "displayName": "Linus Pauling", "locale": "en-US", "externalId": "00u1", "groups": [],
            "password": "1mz050nq", "active": true
        }).to_string()).send().await.unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    let id = created["id"].as_str().unwrap();
    // Okta looks users up by userName in another case.
    assert_eq!(
        app.filter("userName eq \"linus@example.com\"").await["totalResults"],
        1
    );

    let mut profile = created.clone();
    profile["name"]["familyName"] = json!("Pauling-Jr");
    let replaced: Value = app
        .put(&format!("/Users/{id}"), &profile)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(replaced["name"]["familyName"], "Pauling-Jr");

    let off = patch_ok(
        &app,
        &format!("/Users/{id}"),
        json!([{"op": "replace", "value": {"active": false}}]),
    )
    .await;
    assert_eq!(off["active"], false);
    assert_eq!(app.status_of(&off).await, "suspended");
    let on = patch_ok(
        &app,
        &format!("/Users/{id}"),
        json!([{"op": "replace", "value": {"active": true}}]),
    )
    .await;
    assert_eq!(on["active"], true);
    assert_eq!(
        app.delete(&format!("/Users/{id}")).await.status(),
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn a_patch_that_changes_a_locked_attribute_is_rejected_whole() {
    let app = spawn_app().await;
    set_locked_attributes(&app, &["userName", "name.givenName"]).await;
    let created = app.create_user("locked").await;
    let path = format!("/Users/{}", created["id"].as_str().unwrap());
    let response = app
        .patch_ops(
            &path,
            json!([
                {"op": "replace", "path": "displayName", "value": "Would change"},
                {"op": "replace", "path": "name.givenName", "value": "Other"}
            ]),
        )
        .await;
    let body = assert_scim_error(response, 400, Some("mutability")).await;
    assert!(body["detail"].as_str().unwrap().contains("name.givenName"));
    assert_eq!(
        app.get(&path).await.json::<Value>().await.unwrap(),
        created,
        "nothing written"
    );
    let response = app
        .patch_ops(&path, json!([{"op": "remove", "path": "name.givenName"}]))
        .await;
    assert_scim_error(response, 400, Some("mutability")).await;
    // The same value again is fine.
    let same = patch_ok(
        &app,
        &path,
        json!([{"op": "replace", "path": "userName", "value": "LOCKED"}]),
    )
    .await;
    assert_eq!(same["userName"], "locked");
    let rejection = app
        .audit()
        .await
        .into_iter()
        .find(|e| e.outcome == "rejected")
        .unwrap();
    assert_eq!(rejection.action, "user.patch");
}

#[tokio::test]
async fn a_failing_operation_leaves_the_user_exactly_as_it_was() {
    let app = spawn_app().await;
    let created = app.create_user("atomic").await;
    let path = format!("/Users/{}", created["id"].as_str().unwrap());
    for (ops, kind) in [
        (
            json!([{"op": "replace", "path": "displayName", "value": "X"}, {"op": "replace", "path": "nope", "value": 1}]),
            "invalidPath",
        ),
        (
            json!([{"op": "replace", "path": "title", "value": "X"}, {"op": "remove"}]),
            "noTarget",
        ),
        (
            json!([{"op": "replace", "path": "title", "value": "X"}, {"op": "replace", "path": "emails[value co \"zz\"].type", "value": "home"}]),
            "noTarget",
        ),
        (
            json!([{"op": "add", "path": "nickName", "value": "X"}, {"op": "replace", "path": "active", "value": "perhaps"}]),
            "invalidValue",
        ),
        (
            json!([{"op": "add", "path": "nickName", "value": "X"}, {"op": "Delete", "path": "title"}]),
            "invalidSyntax",
        ),
        (
            json!([{"op": "add", "path": "nickName", "value": "X"}, {"op": "replace", "path": "id", "value": "new"}]),
            "mutability",
        ),
    ] {
        let response = app.patch_ops(&path, ops.clone()).await;
        assert_scim_error(response, 400, Some(kind)).await;
        assert_eq!(
            app.get(&path).await.json::<Value>().await.unwrap(),
            created,
            "{ops}"
        );
    }
}

#[tokio::test]
async fn if_match_is_honoured_and_no_op_patches_keep_the_version() {
    let app = spawn_app().await;
    let created = app.create_user("versions").await;
    let path = format!("/Users/{}", created["id"].as_str().unwrap());
    let body = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "A"}]});
    let stale = app
        .client
        .patch(app.url(&path))
        .bearer_auth(&app.token)
        .header("if-match", "W/\"5\"")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_scim_error(stale, 412, None).await;
    let fresh = app
        .client
        .patch(app.url(&path))
        .bearer_auth(&app.token)
        .header("if-match", "W/\"1\"")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(fresh.headers()["etag"], "W/\"2\"");
    // Adding a value that is already there changes nothing, not even lastModified.
    let again = patch_ok(&app, &path, json!([
        {"op": "add", "path": "emails", "value": [{"value": "versions@example.com", "type": "work", "primary": true}]},
        {"op": "remove", "path": "nickName"}
    ])).await;
    assert_eq!(again["meta"]["version"], "W/\"2\"");
}

#[tokio::test]
async fn patch_responses_honour_attributes() {
    let app = spawn_app().await;
    let created = app.create_user("projected").await;
    let path = format!(
        "/Users/{}?attributes=displayName",
        created["id"].as_str().unwrap()
    );
    let body = patch_ok(
        &app,
        &path,
        json!([{"op": "replace", "path": "displayName", "value": "Shown"}]),
    )
    .await;
    assert_eq!(
        body,
        json!({"schemas": created["schemas"], "id": created["id"], "displayName": "Shown"})
    );
}

#[tokio::test]
async fn patch_enforces_tenant_extension_rules_and_seats_are_untouched() {
    let app = spawn_app().await;
    let created = app.create_user("agent").await;
    let path = format!("/Users/{}", created["id"].as_str().unwrap());
    let response = app
        .patch_ops(
            &path,
            json!([{"op": "add", "path": format!("{TENANT_EXT}:maxChats"), "value": 11}]),
        )
        .await;
    assert_scim_error(response, 400, Some("invalidValue")).await;
    let ok = patch_ok(
        &app,
        &path,
        json!([{"op": "add", "path": format!("{TENANT_EXT}:skills"), "value": ["billing"]}]),
    )
    .await;
    assert_eq!(ok[TENANT_EXT]["skills"], json!(["billing"]));
    let off = patch_ok(
        &app,
        &path,
        json!([{"op": "replace", "path": "active", "value": false}]),
    )
    .await;
    assert_eq!(off["active"], false);
    assert_eq!(
        app.tenant_seats_used().await,
        1,
        "a suspended user keeps the seat"
    );
    let other = app.post("/Users", &user("second")).await;
    assert_eq!(other.status(), StatusCode::CREATED);
}

/// A PATCH or PUT reads the user locked in its transaction (`tenant::users::lock_user`) and
/// writes the next version. Concurrent PATCHes of one user, each adding its own
/// skill, all land; so do concurrent PUTs (Okta's), each taking a version of its own. On
/// PostgreSQL through eight pooled connections, so that the writes really meet (the user is
/// locked `FOR UPDATE`).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_changes_of_one_user_lose_nothing() {
    const PATCHES: usize = 24;
    const PUTS: usize = 8;
    let pool = PoolOptions {
        max_connections: 8,
        ..test_pool()
    };
    let app = spawn_app_pooled(None, pool, |_| {}).await;
    let created = app.create_user("busy").await;
    let path = format!("/Users/{}", created["id"].as_str().unwrap());
    let send_all = |bodies: Vec<(reqwest::Method, Value)>| {
        let requests: Vec<_> = bodies
            .into_iter()
            .map(|(method, body)| {
                let (http, url, token) = (app.client.clone(), app.url(&path), app.token.clone());
                tokio::spawn(async move {
                    http.request(method, &url)
                        .bearer_auth(&token)
                        .header("content-type", "application/scim+json")
                        .body(body.to_string())
                        .send()
                        .await
                        .unwrap()
                        .status()
                })
            })
            .collect();
        async move {
            for request in requests {
                assert_eq!(request.await.unwrap(), StatusCode::OK);
            }
        }
    };
    send_all(
        (0..PATCHES)
            .map(|n| {
                let op = json!({"op": "add", "path": format!("{TENANT_EXT}:skills"), "value": [format!("skill-{n}")]});
                (reqwest::Method::PATCH, json!({"schemas": [PATCH_OP], "Operations": [op]}))
            })
            .collect(),
    )
    .await;
    let stored = app.get_json(&path).await;
    let mut skills: Vec<&str> = stored[TENANT_EXT]["skills"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    skills.sort_unstable();
    let mut expected: Vec<String> = (0..PATCHES).map(|n| format!("skill-{n}")).collect();
    expected.sort_unstable();
    assert_eq!(skills, expected, "a concurrent PATCH was lost");
    assert_eq!(stored["meta"]["version"], format!("W/\"{}\"", 1 + PATCHES));

    send_all(
        (0..PUTS)
            .map(|n| {
                let mut body = user("busy");
                body["title"] = json!(format!("title-{n}"));
                (reqwest::Method::PUT, body)
            })
            .collect(),
    )
    .await;
    let stored = app.get_json(&path).await;
    assert_eq!(
        stored["meta"]["version"],
        format!("W/\"{}\"", 1 + PATCHES + PUTS),
        "two concurrent PUTs wrote one version"
    );
    let changes = app
        .audit()
        .await
        .iter()
        .filter(|e| e.action == "user.patch" || e.action == "user.replace")
        .count();
    assert_eq!(changes, PATCHES + PUTS);
}
