//! Tenant rules over SCIM: locked attributes, seat limits (also under concurrency), the tenant
//! extension's ranges and admin CRM access.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{
    assert_scim_error, set_locked_attributes, set_seat_limit, spawn_app, spawn_app_with, user,
};

#[tokio::test]
async fn a_put_that_changes_a_locked_user_name_is_rejected_whole() {
    let app = spawn_app().await;
    let created = app.create_user("locked").await;
    let id = created["id"].as_str().unwrap();
    let mut renamed = user("renamed");
    renamed["displayName"] = json!("Would change too");
    let body = assert_scim_error(
        app.put(&format!("/Users/{id}"), &renamed).await,
        400,
        Some("mutability"),
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("'userName'"));
    let unchanged: Value = app.get(&format!("/Users/{id}")).await.json().await.unwrap();
    assert_eq!(unchanged, created, "nothing was written");

    let rejection = app
        .audit()
        .await
        .into_iter()
        .find(|e| e.outcome == "rejected")
        .expect("audited");
    assert_eq!(rejection.action, "user.replace");
    assert_eq!(rejection.http_status, 400);
    assert!(rejection.reason.unwrap().contains("userName"));
}

#[tokio::test]
async fn user_type_is_locked_once_set_but_may_be_set_later_and_resent() {
    let app = spawn_app().await;
    let created = app.create_user("typed").await;
    let id = created["id"].as_str().unwrap();
    let mut with_type = user("typed");
    with_type["userType"] = json!("agent");
    assert_eq!(
        app.put(&format!("/Users/{id}"), &with_type).await.status(),
        StatusCode::OK,
        "unset → set is fine"
    );
    assert_eq!(
        app.put(&format!("/Users/{id}"), &with_type).await.status(),
        StatusCode::OK,
        "same value is fine"
    );
    with_type["userType"] = json!("supervisor");
    assert_scim_error(
        app.put(&format!("/Users/{id}"), &with_type).await,
        400,
        Some("mutability"),
    )
    .await;
    // Leaving the locked attribute out of a PUT keeps it.
    let kept: Value = app
        .put(&format!("/Users/{id}"), &user("typed"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(kept["userType"], "agent");
}

#[tokio::test]
async fn a_tenant_can_lock_names_and_emails() {
    let app = spawn_app().await;
    set_locked_attributes(
        &app,
        &["userName", "name.givenName", "name.familyName", "emails"],
    )
    .await;
    let created = app.create_user("strict").await;
    let id = created["id"].as_str().unwrap();

    let mut new_name = user("strict");
    new_name["name"]["givenName"] = json!("Other");
    let body = assert_scim_error(
        app.put(&format!("/Users/{id}"), &new_name).await,
        400,
        Some("mutability"),
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("name.givenName"));

    let mut new_email = user("strict");
    new_email["emails"] = json!([{"value": "other@example.com", "type": "work"}]);
    let body = assert_scim_error(
        app.put(&format!("/Users/{id}"), &new_email).await,
        400,
        Some("mutability"),
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("emails"));

    // The same values, emails in another case, and a change elsewhere are fine.
    let mut same = user("strict");
    same["emails"][0]["value"] = json!("STRICT@example.com");
    same["title"] = json!("Engineer");
    let ok: Value = app
        .put(&format!("/Users/{id}"), &same)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ok["title"], "Engineer");
    assert_eq!(ok["emails"][0]["value"], "strict@example.com");
}

#[tokio::test]
async fn a_create_beyond_the_seat_limit_is_403_and_audited() {
    let app = spawn_app_with(Some(2)).await;
    app.create_user("one").await;
    app.create_user("two").await;
    let body = assert_scim_error(app.post("/Users", &user("three")).await, 403, None).await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("seat limit 2 reached"),
        "{body}"
    );
    assert_eq!(app.filter("userName eq \"three\"").await["totalResults"], 0);
    let rejection = app
        .audit()
        .await
        .into_iter()
        .find(|e| e.outcome == "rejected")
        .expect("audited");
    assert_eq!(
        (rejection.action.as_str(), rejection.http_status),
        ("user.create", 403)
    );

    // Suspended users hold their seat; deleted users free it.
    let list = app.filter("userName eq \"one\"").await;
    let id = list["Resources"][0]["id"].as_str().unwrap().to_string();
    let mut suspended = user("one");
    suspended["active"] = json!(false);
    app.put(&format!("/Users/{id}"), &suspended).await;
    assert_eq!(
        app.post("/Users", &user("three")).await.status(),
        StatusCode::FORBIDDEN
    );
    app.delete(&format!("/Users/{id}")).await;
    assert_eq!(
        app.post("/Users", &user("three")).await.status(),
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn lowering_the_limit_below_the_count_removes_nobody() {
    let app = spawn_app_with(Some(5)).await;
    for name in ["a", "b", "c"] {
        app.create_user(name).await;
    }
    set_seat_limit(&app, Some(1)).await;
    assert_eq!(
        app.get("/Users").await.json::<Value>().await.unwrap()["totalResults"],
        3
    );
    assert_eq!(
        app.post("/Users", &user("d")).await.status(),
        StatusCode::FORBIDDEN
    );
    set_seat_limit(&app, None).await;
    assert_eq!(
        app.post("/Users", &user("d")).await.status(),
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn twenty_concurrent_creates_into_five_free_seats_give_five_201_and_fifteen_403() {
    let app = spawn_app_with(Some(5)).await;
    let requests = (0..20).map(|i| {
        let client = app.client.clone();
        let url = app.url("/Users");
        let token = app.token.clone();
        tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(token)
                .header("content-type", "application/scim+json")
                .body(user(&format!("racer{i}")).to_string())
                .send()
                .await
                .expect("send")
                .status()
        })
    });
    let mut created = 0;
    let mut refused = 0;
    for request in requests {
        match request.await.expect("join") {
            StatusCode::CREATED => created += 1,
            StatusCode::FORBIDDEN => refused += 1,
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!((created, refused), (5, 15));
    assert_eq!(app.tenant_seats_used().await, 5);
    assert_eq!(
        app.get("/Users").await.json::<Value>().await.unwrap()["totalResults"],
        5
    );
}

#[tokio::test]
async fn tenant_extension_ranges_and_admin_crm_access_are_enforced() {
    let app = spawn_app().await;
    let ext = "urn:ietf:params:scim:schemas:extension:gateway:2.0:User";
    let mut too_many = user("chatty");
    too_many[ext] = json!({"maxChats": 11});
    let body = assert_scim_error(
        app.post("/Users", &too_many).await,
        400,
        Some("invalidValue"),
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("maxChats"));

    let mut admin = user("admin");
    admin["userType"] = json!("tenant_admin");
    admin[ext] = json!({"crmAccess": false});
    assert_scim_error(app.post("/Users", &admin).await, 400, Some("invalidValue")).await;

    let mut fine = user("agent");
    fine[ext] = json!({"maxChats": 10, "maxEmails": 0, "skills": ["billing", "french"], "voiceCalls": "True",
                       "status": "active", "lastLogin": "2020-01-01T00:00:00Z"});
    let created: Value = app.post("/Users", &fine).await.json().await.unwrap();
    assert_eq!(created[ext]["maxChats"], 10);
    assert_eq!(created[ext]["voiceCalls"], true);
    assert_eq!(
        app.status_of(&created).await,
        "invited",
        "read-only status input is ignored"
    );
    assert!(created[ext].get("lastLogin").is_none());
    assert_eq!(app.tenant_seats_used().await, 1);
}
