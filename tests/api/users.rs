//! Users: create, read, replace and delete over HTTP, as Entra ID and Okta do them.

use reqwest::StatusCode;
use scim_gateway::store::UserId;
use serde_json::{Value, json};

use crate::helpers::{assert_scim_error, spawn_app, user};

const TENANT_EXT: &str = "urn:ietf:params:scim:schemas:extension:gateway:2.0:User";

#[tokio::test]
async fn create_answers_201_with_location_etag_and_meta() {
    let app = spawn_app().await;
    let response = app.post("/Users", &user("bjensen")).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_string();
    let etag = response.headers()["etag"]
        .to_str()
        .expect("ascii")
        .to_string();
    assert_eq!(response.headers()["content-type"], "application/scim+json");
    let body: Value = response.json().await.expect("json");
    let id = body["id"].as_str().expect("id");
    assert_eq!(location, app.url(&format!("/Users/{id}")));
    assert_eq!(body["meta"]["location"], json!(location));
    assert_eq!(body["meta"]["version"], json!(etag));
    assert_eq!(body["meta"]["resourceType"], "User");
    assert_eq!(body["meta"]["created"], body["meta"]["lastModified"]);
    assert_eq!(body["userName"], "bjensen");
    assert_eq!(body["active"], true);
    assert_eq!(app.status_of(&body).await, "invited");
    assert!(
        body.get(TENANT_EXT).is_none(),
        "status is returned on request only"
    );
    assert_eq!(
        body["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:User"])
    );

    let fetched: Value = app
        .get(&format!("/Users/{id}"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(fetched, body);
}

#[tokio::test]
async fn entra_style_create_is_read_with_its_quirks() {
    let app = spawn_app().await;
    // Entra/Microsoft Postman: string booleans, unknown schema URN, read-only input, a password,
    // attribute names in another case and an enterprise attribute at the top level.
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/User"],
        "UserName": "OMalley", "Active": "True", "id": "client-chosen", "password": "hunter2",
        "meta": {"created": "1999-01-01T00:00:00Z"}, "groups": [{"value": "g1"}],
        "emails": [{"Primary": "true", "type": "work", "value": "omalley@example.com"}],
        "department": "Sales",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "701984",
        "addresses": null, "nickName": ""
    });
    let response = app
        .client
        .post(app.url("/Users"))
        .bearer_auth(&app.token)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await.expect("json");
    assert_eq!(created["userName"], "OMalley");
    assert_eq!(created["active"], true);
    assert_ne!(created["id"], "client-chosen");
    assert_ne!(created["meta"]["created"], "1999-01-01T00:00:00Z");
    assert!(created.get("password").is_none() && created.get("groups").is_none());
    assert!(created.get("addresses").is_none() && created.get("nickName").is_none());
    assert_eq!(created["emails"][0]["primary"], true);
    let enterprise = &created["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"];
    assert_eq!(
        enterprise,
        &json!({"department": "Sales", "employeeNumber": "701984"})
    );
    // The password is not stored anywhere.
    let stored = app
        .store
        .user_by_id(
            &app.store.tenant_by_slug("acme").await.unwrap().unwrap().id,
            &UserId::new(created["id"].as_str().unwrap()),
        )
        .await
        .unwrap()
        .unwrap();
    assert!(
        !serde_json::to_string(&stored.doc)
            .unwrap()
            .contains("hunter2")
    );
}

#[tokio::test]
async fn put_replaces_the_user_and_drives_the_status() {
    let app = spawn_app().await;
    let created = app.create_user("bjensen").await;
    let id = created["id"].as_str().unwrap();
    let mut replacement = user("bjensen");
    replacement["displayName"] = json!("Barbara J.");
    replacement.as_object_mut().unwrap().remove("name");
    replacement["active"] = json!(false);
    let response = app.put(&format!("/Users/{id}"), &replacement).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["etag"], "W/\"2\"");
    let updated: Value = response.json().await.unwrap();
    assert_eq!(updated["displayName"], "Barbara J.");
    assert!(
        updated.get("name").is_none(),
        "omitted attributes are cleared by PUT"
    );
    assert_eq!(updated["active"], false);
    assert_eq!(app.status_of(&updated).await, "suspended");
    assert_eq!(updated["meta"]["created"], created["meta"]["created"]);
    assert_ne!(
        updated["meta"]["lastModified"],
        created["meta"]["lastModified"]
    );

    // Okta reactivates with a full PUT and active true: back to invited (never signed in).
    replacement["active"] = json!(true);
    let back: Value = app
        .put(&format!("/Users/{id}"), &replacement)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(back["active"], true);
    assert_eq!(app.status_of(&back).await, "invited");

    // A suspended user still answers GET and filters (deactivation is not deletion).
    replacement["active"] = json!(false);
    app.put(&format!("/Users/{id}"), &replacement).await;
    assert_eq!(
        app.get(&format!("/Users/{id}")).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.filter("userName eq \"bjensen\"").await["totalResults"],
        1
    );
}

#[tokio::test]
async fn put_of_an_unchanged_user_keeps_its_version() {
    let app = spawn_app().await;
    let created = app.create_user("same").await;
    let id = created["id"].as_str().unwrap();
    let response = app.put(&format!("/Users/{id}"), &user("same")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["meta"]["version"], created["meta"]["version"]);
    assert_eq!(
        body["meta"]["lastModified"],
        created["meta"]["lastModified"]
    );
}

#[tokio::test]
async fn put_and_delete_of_unknown_ids_are_404() {
    let app = spawn_app().await;
    assert_scim_error(app.put("/Users/nope", &user("x")).await, 404, None).await;
    assert_scim_error(app.delete("/Users/nope").await, 404, None).await;
    assert_scim_error(app.get("/Users/nope").await, 404, None).await;
}

#[tokio::test]
async fn duplicate_user_name_in_any_case_is_409_uniqueness() {
    let app = spawn_app().await;
    app.create_user("Bjensen").await;
    let body = assert_scim_error(
        app.post("/Users", &user("BJENSEN")).await,
        409,
        Some("uniqueness"),
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("BJENSEN"));
    assert_eq!(
        app.filter("userName eq \"bjensen\"").await["totalResults"],
        1
    );
    assert_eq!(
        app.tenant_seats_used().await,
        1,
        "the rejected create took no seat"
    );

    // With userName unlocked, renaming another user onto a taken name is refused as well.
    crate::helpers::set_locked_attributes(&app, &[]).await;
    let other = app.create_user("other").await;
    let id = other["id"].as_str().unwrap();
    assert_scim_error(
        app.put(&format!("/Users/{id}"), &user("bJensen")).await,
        409,
        Some("uniqueness"),
    )
    .await;
    let unchanged: Value = app.get(&format!("/Users/{id}")).await.json().await.unwrap();
    assert_eq!(unchanged["userName"], "other");
}

/// An update sets only the indexed columns whose attribute changed (SQLite rewrites an index
/// entry for every column an UPDATE sets); the lookups before an IdP's create must follow every
/// change and survive every update that leaves them alone.
#[tokio::test]
async fn lookups_follow_the_attributes_an_update_changes_and_only_those() {
    let app = spawn_app().await;
    let created = app.create_user("bjensen").await;
    let id = created["id"].as_str().unwrap();
    let mut other = user("other");
    other["displayName"] = json!("Someone Else");
    assert_eq!(
        app.post("/Users", &other).await.status(),
        StatusCode::CREATED
    );
    let found = |filter: &'static str| {
        let app = &app;
        async move {
            let list = app.filter(filter).await;
            list["Resources"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["id"].as_str().unwrap().to_string())
                .collect::<Vec<String>>()
        }
    };

    let changed = app
        .patch_ops(
            &format!("/Users/{id}"),
            json!([
                {"op": "replace", "path": "externalId", "value": "ext-new"},
                {"op": "replace", "path": "displayName", "value": "Barbara J"},
            ]),
        )
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
    assert_eq!(found("externalId eq \"ext-new\"").await, [id]);
    assert!(found("externalId eq \"ext-bjensen\"").await.is_empty());
    assert_eq!(found("displayName eq \"barbara j\"").await, [id]);
    assert!(found("displayName eq \"Babs Jensen\"").await.is_empty());

    // A change of no indexed attribute leaves every lookup where it was.
    let renamed = app
        .patch_ops(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "path": "name.familyName", "value": "Jensen-Smith"}]),
        )
        .await;
    assert_eq!(renamed.status(), StatusCode::OK);
    for filter in [
        "userName eq \"BJENSEN\"",
        "externalId eq \"ext-new\"",
        "displayName eq \"Barbara J\"",
    ] {
        assert_eq!(found(filter).await, [id], "{filter}");
    }

    // A PUT (Okta's update) that changes them back.
    let mut replaced = user("bjensen");
    replaced["name"]["familyName"] = json!("Jensen-Smith");
    let put = app.put(&format!("/Users/{id}"), &replaced).await;
    assert_eq!(put.status(), StatusCode::OK);
    assert_eq!(found("externalId eq \"ext-bjensen\"").await, [id]);
    assert!(found("externalId eq \"ext-new\"").await.is_empty());
    assert_eq!(found("displayName eq \"Babs Jensen\"").await, [id]);
}

#[tokio::test]
async fn external_id_is_not_unique() {
    let app = spawn_app().await;
    let mut a = user("a");
    let mut b = user("b");
    a["externalId"] = json!("shared");
    b["externalId"] = json!("shared");
    assert_eq!(app.post("/Users", &a).await.status(), StatusCode::CREATED);
    assert_eq!(app.post("/Users", &b).await.status(), StatusCode::CREATED);
    assert_eq!(
        app.filter("externalId eq \"shared\"").await["totalResults"],
        2
    );
}

#[tokio::test]
async fn if_match_and_if_none_match_are_honoured() {
    let app = spawn_app().await;
    let created = app.create_user("etag").await;
    let id = created["id"].as_str().unwrap();
    let url = app.url(&format!("/Users/{id}"));

    let not_modified = app
        .client
        .get(&url)
        .bearer_auth(&app.token)
        .header("if-none-match", "W/\"1\"")
        .send()
        .await
        .unwrap();
    assert_eq!(not_modified.status(), StatusCode::NOT_MODIFIED);
    let modified = app
        .client
        .get(&url)
        .bearer_auth(&app.token)
        .header("if-none-match", "W/\"7\"")
        .send()
        .await
        .unwrap();
    assert_eq!(modified.status(), StatusCode::OK);

    let mut changed = user("etag");
    changed["displayName"] = json!("Changed");
    let stale = app
        .client
        .put(&url)
        .bearer_auth(&app.token)
        .header("if-match", "W/\"9\"")
        .body(changed.to_string())
        .send()
        .await
        .unwrap();
    assert_scim_error(stale, 412, None).await;
    let unchanged: Value = app.get(&format!("/Users/{id}")).await.json().await.unwrap();
    assert_eq!(unchanged["displayName"], "Babs Jensen");

    let fresh = app
        .client
        .put(&url)
        .bearer_auth(&app.token)
        .header("if-match", "W/\"1\"")
        .body(changed.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(fresh.status(), StatusCode::OK);

    let stale_delete = app
        .client
        .delete(&url)
        .bearer_auth(&app.token)
        .header("if-match", "W/\"1\"")
        .send()
        .await
        .unwrap();
    assert_scim_error(stale_delete, 412, None).await;
    assert_eq!(
        app.get(&format!("/Users/{id}")).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn delete_soft_deletes_frees_the_seat_and_the_user_name() {
    let app = spawn_app().await;
    let created = app.create_user("gone").await;
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(app.tenant_seats_used().await, 1);

    let response = app.delete(&format!("/Users/{id}")).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_scim_error(app.get(&format!("/Users/{id}")).await, 404, None).await;
    assert_scim_error(
        app.put(&format!("/Users/{id}"), &user("gone")).await,
        404,
        None,
    )
    .await;
    assert_scim_error(app.delete(&format!("/Users/{id}")).await, 404, None).await;
    assert_eq!(app.filter("userName eq \"gone\"").await["totalResults"], 0);
    assert_eq!(
        app.filter("emails.value eq \"gone@example.com\"").await["totalResults"],
        0
    );
    assert_eq!(app.tenant_seats_used().await, 0);

    // The tombstone keeps history: the delete event names the user.
    let events = app.audit().await;
    let delete = events
        .iter()
        .find(|e| e.action == "user.delete" && e.outcome == "success")
        .expect("delete audited");
    assert_eq!(delete.target_id.as_deref(), Some(id.as_str()));
    assert_eq!(delete.target_name.as_deref(), Some("gone"));

    // Re-creating the same userName gives a new user.
    let again = app.create_user("gone").await;
    assert_ne!(again["id"], json!(id));
}
