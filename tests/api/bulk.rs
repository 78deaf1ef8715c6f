//! Bulk requests: bulkId references (in any order), failOnErrors, per-operation rules and limits.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_scim_error, spawn_app, spawn_app_with, user};

const BULK: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";

async fn bulk(app: &TestApp, body: Value) -> Value {
    let response = app.post("/Bulk", &body).await;
    assert_eq!(response.status(), StatusCode::OK);
    let out: Value = response.json().await.unwrap();
    assert_eq!(
        out["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:BulkResponse"])
    );
    out
}

fn statuses(out: &Value) -> Vec<String> {
    out["Operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["status"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_group_can_list_users_created_in_the_same_request_whatever_the_order() {
    let app = spawn_app().await;
    let out = bulk(&app, json!({"schemas": [BULK], "Operations": [
        {"method": "POST", "path": "/Groups", "bulkId": "team", "data": {"displayName": "Team",
            "members": [{"value": "bulkId:alice", "type": "User"}, {"value": "bulkId:bob"}]}},
        {"method": "POST", "path": "/Users", "bulkId": "alice", "data": user("alice")},
        {"method": "POST", "path": "/Users", "bulkId": "bob", "data": user("bob")},
        {"method": "PATCH", "path": "/Users/bulkId:bob", "data": {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "title", "value": "Lead"}]}}
    ]})).await;
    assert_eq!(statuses(&out), ["201", "201", "201", "200"]);
    let ops = out["Operations"].as_array().unwrap();
    assert_eq!(ops[0]["bulkId"], "team");
    assert_eq!(ops[0]["version"], "W/\"1\"");
    let group_location = ops[0]["location"].as_str().unwrap();
    let group: Value = app
        .get_with(group_location, &app.token)
        .await
        .json()
        .await
        .unwrap();
    let alice_id = ops[1]["location"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap();
    let members: Vec<&str> = group["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    assert!(members.contains(&alice_id) && members.len() == 2, "{group}");
    let bob: Value = app
        .get_with(ops[2]["location"].as_str().unwrap(), &app.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(bob["title"], "Lead");
    let summaries: Vec<String> = app
        .audit()
        .await
        .into_iter()
        .filter_map(|e| e.request_summary)
        .collect();
    assert!(summaries.iter().any(|s| s == "Bulk POST /Users"));
}

#[tokio::test]
async fn errors_are_reported_per_operation_and_fail_on_errors_stops() {
    let app = spawn_app().await;
    app.create_user("taken").await;
    let ops = json!([
        {"method": "POST", "path": "/Users", "bulkId": "a", "data": user("taken")},
        {"method": "POST", "path": "/Users", "bulkId": "b", "data": {"displayName": "no userName"}},
        {"method": "POST", "path": "/Users", "bulkId": "c", "data": user("fresh")},
        {"method": "DELETE", "path": "/Users/unknown"},
        {"method": "GET", "path": "/Users"}
    ]);
    // Without failOnErrors every operation runs (an unknown method is refused up front).
    let refused = app
        .post("/Bulk", &json!({"schemas": [BULK], "Operations": ops}))
        .await;
    assert_scim_error(refused, 400, Some("invalidSyntax")).await;
    let ops = json!(ops.as_array().unwrap()[..4]);
    let out = bulk(&app, json!({"schemas": [BULK], "Operations": ops})).await;
    assert_eq!(statuses(&out), ["409", "400", "201", "404"]);
    let first = &out["Operations"][0];
    assert_eq!(first["response"]["scimType"], "uniqueness");
    assert_eq!(first["response"]["status"], "409");
    assert!(first.get("location").is_none());

    let out = bulk(
        &app,
        json!({"schemas": [BULK], "failOnErrors": 1, "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "x", "data": user("taken")},
            {"method": "POST", "path": "/Users", "bulkId": "y", "data": user("never")}
        ]}),
    )
    .await;
    assert_eq!(statuses(&out), ["409"]);
    assert_eq!(app.filter("userName eq \"never\"").await["totalResults"], 0);
}

#[tokio::test]
async fn seat_limits_and_versions_apply_per_operation() {
    let app = spawn_app_with(Some(2)).await;
    let out = bulk(
        &app,
        json!({"schemas": [BULK], "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "1", "data": user("one")},
            {"method": "POST", "path": "/Users", "bulkId": "2", "data": user("two")},
            {"method": "POST", "path": "/Users", "bulkId": "3", "data": user("three")}
        ]}),
    )
    .await;
    assert_eq!(statuses(&out), ["201", "201", "403"]);
    assert!(
        out["Operations"][2]["response"]["detail"]
            .as_str()
            .unwrap()
            .contains("seat limit 2 reached")
    );

    let one = out["Operations"][0]["location"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let mut changed = user("one");
    changed["title"] = json!("X");
    let out = bulk(&app, json!({"schemas": [BULK], "Operations": [
        {"method": "PUT", "path": format!("/Users/{one}"), "version": "W/\"7\"", "data": changed},
        {"method": "DELETE", "path": format!("/Users/{one}"), "version": "W/\"1\""}
    ]})).await;
    assert_eq!(statuses(&out), ["412", "204"]);
    assert_eq!(app.tenant_seats_used().await, 1);
}

#[tokio::test]
async fn circular_and_failed_references_are_409() {
    let app = spawn_app().await;
    let out = bulk(&app, json!({"schemas": [BULK], "Operations": [
        {"method": "POST", "path": "/Groups", "bulkId": "g1", "data": {"displayName": "A", "externalId": "bulkId:g2"}},
        {"method": "POST", "path": "/Groups", "bulkId": "g2", "data": {"displayName": "B", "externalId": "bulkId:g1"}},
        {"method": "POST", "path": "/Users", "bulkId": "bad", "data": {"displayName": "no userName"}},
        {"method": "POST", "path": "/Groups", "bulkId": "g3", "data": {"displayName": "C", "members": [{"value": "bulkId:bad"}]}},
        {"method": "DELETE", "path": "/Users/bulkId:nowhere"}
    ]})).await;
    assert_eq!(statuses(&out), ["409", "409", "400", "409", "409"]);
    assert_eq!(
        app.get("/Groups").await.json::<Value>().await.unwrap()["totalResults"],
        0
    );
}

#[tokio::test]
async fn limits_are_advertised_and_enforced_with_413() {
    let app = spawn_app().await;
    let spc: Value = app
        .get("/ServiceProviderConfig")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        spc["bulk"],
        json!({"supported": true, "maxOperations": 1000, "maxPayloadSize": 4194304})
    );
    let many: Vec<Value> = (0..1001)
        .map(|i| json!({"method": "DELETE", "path": format!("/Users/{i}")}))
        .collect();
    let body = assert_scim_error(
        app.post("/Bulk", &json!({"schemas": [BULK], "Operations": many}))
            .await,
        413,
        None,
    )
    .await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("maxOperations is 1000")
    );
    // Bigger than a single request may be (1 MiB), within maxPayloadSize: accepted. Each title
    // is within the 2,048 characters a string may have; 600 of them make 1.2 MB.
    let operations: Vec<Value> = (0..600)
        .map(|i| {
            let mut big = user(&format!("big{i}"));
            big["title"] = json!("x".repeat(2_000));
            json!({"method": "POST", "path": "/Users", "bulkId": format!("b{i}"), "data": big})
        })
        .collect();
    let out = bulk(&app, json!({"schemas": [BULK], "Operations": operations})).await;
    assert_eq!(statuses(&out), vec!["201"; 600]);
    let mut huge = user("huge");
    huge["title"] = json!("x".repeat(5_000_000));
    let response = app.post("/Bulk", &json!({"schemas": [BULK], "Operations": [{"method": "POST", "path": "/Users", "bulkId": "h", "data": huge}]})).await;
    let body = assert_scim_error(response, 413, None).await;
    assert!(body["detail"].as_str().unwrap().contains("maxPayloadSize"));
}
