//! Attribute size limits (issue #19): each limit at its value (accepted) and one past it (the
//! documented error naming the limit, nothing written), through POST, PATCH and Bulk alike.
//! Limits are set low for the test: 40 characters (an id is 36), 3 values, 3 members per
//! operation.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_scim_error, spawn_app_configured, user};
use scim_gateway::scim::limits::AttributeLimits;

async fn limited_app() -> TestApp {
    spawn_app_configured(None, |settings| {
        settings.limits.attributes = AttributeLimits {
            max_string_chars: 40,
            max_values: 3,
            max_members_per_operation: 3,
        };
    })
    .await
}

fn emails(n: usize) -> Value {
    (0..n)
        .map(|i| json!({"value": format!("m{i}@x.io"), "type": "work"}))
        .collect()
}

async fn total_users(app: &TestApp) -> i64 {
    let list: Value = app.get_json("/Users?count=0").await;
    list["totalResults"].as_i64().expect("total")
}

#[tokio::test]
async fn a_string_at_the_limit_is_stored_and_one_character_more_is_refused() {
    let app = limited_app().await;
    // 40 characters of two bytes each: the limit counts characters, not bytes.
    let at_limit_name = "é".repeat(40);
    let mut at_limit = user("a@x.io");
    at_limit["displayName"] = json!(at_limit_name);
    assert_eq!(
        app.post("/Users", &at_limit).await.status(),
        StatusCode::CREATED
    );

    let mut over = user("b@x.io");
    over["name"] = json!({"givenName": "é".repeat(41)});
    let error = assert_scim_error(app.post("/Users", &over).await, 400, Some("invalidValue")).await;
    assert!(
        error["detail"]
            .as_str()
            .is_some_and(|d| d.contains("name.givenName") && d.contains("limit of 40 characters")),
        "{error}"
    );
    assert_eq!(
        total_users(&app).await,
        1,
        "nothing of the refused user was written"
    );

    let created: Value = app.get_json("/Users?count=1").await;
    let id = created["Resources"][0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let too_long = app
        .patch_ops(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "path": "displayName", "value": "x".repeat(41)}]),
        )
        .await;
    assert_scim_error(too_long, 400, Some("invalidValue")).await;
    let kept: Value = app.get_json(&format!("/Users/{id}")).await;
    assert_eq!(kept["displayName"], at_limit_name.as_str());
}

#[tokio::test]
async fn values_at_the_limit_are_stored_and_one_more_is_refused() {
    let app = limited_app().await;
    let mut three = user("a@x.io");
    three["emails"] = emails(3);
    let created: Value = app.post("/Users", &three).await.json().await.expect("json");
    let id = created["id"].as_str().expect("created").to_string();

    let mut four = user("b@x.io");
    four["emails"] = emails(4);
    let error = assert_scim_error(app.post("/Users", &four).await, 400, Some("invalidValue")).await;
    assert!(
        error["detail"]
            .as_str()
            .is_some_and(|d| d.contains("emails") && d.contains("limit of 3")),
        "{error}"
    );

    // A PATCH that would take the user to four emails is refused whole.
    let added = app
        .patch_ops(
            &format!("/Users/{id}"),
            json!([{"op": "add", "path": "emails", "value": [{"value": "m9@x.io"}]}]),
        )
        .await;
    assert_scim_error(added, 400, Some("invalidValue")).await;
    let kept: Value = app.get_json(&format!("/Users/{id}")).await;
    assert_eq!(kept["emails"].as_array().map(Vec::len), Some(3));

    // Bulk operations read their data the same way.
    let bulk = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [{"method": "POST", "path": "/Users", "bulkId": "b", "data": four}]
    });
    let answer: Value = app.post("/Bulk", &bulk).await.json().await.expect("json");
    assert_eq!(answer["Operations"][0]["status"], "400", "{answer}");
    assert_eq!(total_users(&app).await, 1);
}

#[tokio::test]
async fn members_per_operation_are_limited_while_a_group_may_hold_more() {
    let app = limited_app().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let created: Value = app
            .post("/Users", &user(&format!("u{i}@x.io")))
            .await
            .json()
            .await
            .expect("json");
        ids.push(created["id"].as_str().expect("id").to_string());
    }
    let members = |ids: &[String]| -> Value { ids.iter().map(|id| json!({"value": id})).collect() };
    // A group's members are not counted against the 3 values of other attributes.
    let group = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "team",
        "members": members(&ids[..4]),
    });
    let created = app.post("/Groups", &group).await;
    let status = created.status();
    let group: Value = created.json().await.expect("json");
    assert_eq!(status, StatusCode::CREATED, "{group}");
    let path = format!("/Groups/{}", group["id"].as_str().expect("id"));

    let three = app
        .patch_ops(
            &path,
            json!([{"op": "remove", "path": "members", "value": members(&ids[..3])}]),
        )
        .await;
    assert_eq!(three.status(), StatusCode::NO_CONTENT);
    let four = app
        .patch_ops(
            &path,
            json!([{"op": "add", "path": "members", "value": members(&ids[..4])}]),
        )
        .await;
    let error = assert_scim_error(four, 400, Some("tooMany")).await;
    assert!(
        error["detail"]
            .as_str()
            .is_some_and(|d| d.contains("limit of 3 per operation")),
        "{error}"
    );
    let kept: Value = app.get_json(&path).await;
    assert_eq!(kept["members"].as_array().map(Vec::len), Some(1));
}
