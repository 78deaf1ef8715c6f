//! Every SCIM write and every rejection leaves an audit event, written with the change.

use serde_json::json;

use crate::helpers::{spawn_app, user};

#[tokio::test]
async fn writes_are_audited_with_the_attributes_they_changed() {
    let app = spawn_app().await;
    let mut entra = user("audited");
    entra["active"] = json!("True");
    let created: serde_json::Value = app.post("/Users", &entra).await.json().await.unwrap();
    let id = created["id"].as_str().unwrap();
    let mut changed = user("audited");
    changed["title"] = json!("Boss");
    changed["active"] = json!(false);
    app.put(&format!("/Users/{id}"), &changed).await;
    app.delete(&format!("/Users/{id}")).await;

    let events: Vec<_> = app
        .audit()
        .await
        .into_iter()
        .filter(|e| e.action.starts_with("user."))
        .collect();
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["user.delete", "user.suspend", "user.create"]);
    let create = &events[2];
    assert_eq!(create.http_status, 201);
    assert!(create.changed_attributes.contains(&"emails".to_string()));
    assert_eq!(create.tolerances, ["string_boolean"]);
    assert_eq!(
        create.request_summary.as_deref(),
        Some("POST /scim/v2/acme/Users")
    );
    assert!(create.connection_id.is_some());
    assert_eq!(events[1].changed_attributes, ["title", "active"]);
    assert!(
        events
            .iter()
            .all(|e| e.outcome == "success" && e.target_id.as_deref() == Some(id))
    );
}

#[tokio::test]
async fn rejections_are_audited_with_their_reason() {
    let app = spawn_app().await;
    app.create_user("dup").await;
    app.post("/Users", &user("DUP")).await;
    app.post("/Users", &json!({"displayName": "no name"})).await;
    let rejected: Vec<_> = app
        .audit()
        .await
        .into_iter()
        .filter(|e| e.outcome == "rejected")
        .collect();
    assert_eq!(rejected.len(), 2);
    assert_eq!(rejected[1].http_status, 409);
    assert!(rejected[1].reason.as_deref().unwrap().contains("DUP"));
    assert_eq!(rejected[0].http_status, 400);
    assert!(rejected[0].reason.as_deref().unwrap().contains("userName"));
}
