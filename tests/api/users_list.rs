//! Listing users: the lookups Entra ID and Okta make before a create, paging and projection.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_scim_error, spawn_app, user};

async fn three_users(app: &TestApp) -> Vec<Value> {
    let mut out = Vec::new();
    for name in ["alice", "Bob", "carol"] {
        out.push(app.create_user(name).await);
    }
    out
}

fn names(list: &Value) -> Vec<String> {
    list["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userName"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn the_lookups_real_clients_make_find_the_user() {
    let app = spawn_app().await;
    let users = three_users(&app).await;
    let bob_id = users[1]["id"].as_str().unwrap();
    for filter in [
        "userName eq \"bob\"".to_string(),
        "USERNAME Eq \"BOB\"".to_string(),
        "externalId eq \"ext-Bob\"".to_string(),
        format!("id eq \"{bob_id}\""),
        "emails[type eq \"work\"].value eq \"BOB@example.com\"".to_string(),
        "emails[type eq \"work\" and value co \"bob@\"]".to_string(),
        "userName eq \"Bob\" and externalId eq \"ext-Bob\"".to_string(),
        "urn:ietf:params:scim:schemas:core:2.0:User:userName eq \"bob\"".to_string(),
        "externalId eq ext-Bob".to_string(),
    ] {
        let list = app.filter(&filter).await;
        assert_eq!(names(&list), ["Bob"], "{filter}");
        assert_eq!(list["totalResults"], 1);
    }
}

#[tokio::test]
async fn case_exact_attributes_are_compared_exactly() {
    let app = spawn_app().await;
    three_users(&app).await;
    assert_eq!(
        app.filter("externalId eq \"EXT-BOB\"").await["totalResults"],
        0
    );
    assert_eq!(
        app.filter("displayName eq \"BABS JENSEN\"").await["totalResults"],
        3
    );
}

#[tokio::test]
async fn other_operators_and_logic_run_in_sql() {
    let app = spawn_app().await;
    three_users(&app).await;
    assert_eq!(
        names(&app.filter("userName sw \"a\" or userName ew \"ol\"").await),
        ["alice", "carol"]
    );
    assert_eq!(
        names(
            &app.filter("not (userName eq \"bob\") and userName co \"l\"")
                .await
        ),
        ["alice", "carol"]
    );
    assert_eq!(
        names(&app.filter("userName ne \"alice\" and active eq true").await),
        ["Bob", "carol"]
    );
    assert_eq!(
        app.filter("meta.created gt \"2000-01-01T00:00:00Z\"").await["totalResults"],
        3
    );
    assert_eq!(
        app.filter("meta.lastModified lt \"2000-01-01T00:00:00Z\"")
            .await["totalResults"],
        0
    );
    assert_eq!(app.filter("externalId pr").await["totalResults"], 3);
}

#[tokio::test]
async fn no_match_is_200_with_an_empty_list() {
    let app = spawn_app().await;
    let list = app.filter("userName eq \"nobody\"").await;
    assert_eq!(
        list,
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": 0, "startIndex": 1, "itemsPerPage": 0, "Resources": []
        })
    );
}

#[tokio::test]
async fn bad_filters_are_400_invalid_filter() {
    let app = spawn_app().await;
    for filter in [
        "userName eq",
        "userName xx \"a\"",
        "(userName eq \"a\"",
        "active gt true",
        "nope eq \"x\"",
    ] {
        let response = app
            .client
            .get(app.url("/Users"))
            .query(&[("filter", filter)])
            .bearer_auth(&app.token)
            .send()
            .await
            .unwrap();
        assert_scim_error(response, 400, Some("invalidFilter")).await;
    }
    let hostile = format!("userName eq \"{}\"", "x".repeat(10_000));
    let response = app
        .client
        .get(app.url("/Users"))
        .query(&[("filter", hostile.as_str())])
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_scim_error(response, 400, Some("invalidFilter")).await;
}

#[tokio::test]
async fn paging_reports_exact_totals_and_follows_the_rfc_edge_cases() {
    let app = spawn_app().await;
    three_users(&app).await;
    let page: Value = app
        .get("/Users?startIndex=2&count=1")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            page["totalResults"].clone(),
            page["startIndex"].clone(),
            page["itemsPerPage"].clone()
        ),
        (json!(3), json!(2), json!(1))
    );
    assert_eq!(names(&page), ["Bob"]);

    let counted: Value = app.get("/Users?count=0").await.json().await.unwrap();
    assert_eq!(
        (
            counted["totalResults"].clone(),
            counted["Resources"].clone()
        ),
        (json!(3), json!([]))
    );

    let clamped: Value = app
        .get("/Users?startIndex=-4&count=-1")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            clamped["startIndex"].clone(),
            clamped["itemsPerPage"].clone()
        ),
        (json!(1), json!(0))
    );

    let beyond: Value = app.get("/Users?startIndex=10").await.json().await.unwrap();
    assert_eq!(
        (
            beyond["totalResults"].clone(),
            beyond["itemsPerPage"].clone()
        ),
        (json!(3), json!(0))
    );

    // count above the maximum is served the maximum; unknown parameters are ignored.
    let big = app.get("/Users?count=100000&aadOptscim062020").await;
    assert_eq!(big.status(), StatusCode::OK);
    assert_eq!(big.json::<Value>().await.unwrap()["itemsPerPage"], 3);

    assert_scim_error(app.get("/Users?count=ten").await, 400, Some("invalidValue")).await;
}

#[tokio::test]
async fn attributes_and_excluded_attributes_project_every_read() {
    let app = spawn_app().await;
    let created = app.create_user("proj").await;
    let id = created["id"].as_str().unwrap();
    let only: Value = app
        .get(&format!("/Users/{id}?attributes=userName,name.familyName"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        only,
        json!({"schemas": created["schemas"], "id": id, "userName": "proj",
                            "name": {"familyName": "Jensen"}})
    );
    let without: Value = app
        .get(&format!("/Users/{id}?excludedAttributes=emails,meta,id"))
        .await
        .json()
        .await
        .unwrap();
    assert!(without.get("emails").is_none() && without.get("meta").is_none());
    assert_eq!(without["id"], json!(id), "id is always returned");
    let list: Value = app
        .get("/Users?attributes=externalId")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        list["Resources"][0],
        json!({"schemas": created["schemas"], "id": id, "externalId": "ext-proj"})
    );
    let created2 = app
        .client
        .post(app.url("/Users?attributes=userName"))
        .bearer_auth(&app.token)
        .body(user("proj2").to_string())
        .send()
        .await
        .unwrap();
    let created2: Value = created2.json().await.unwrap();
    assert!(created2.get("emails").is_none() && created2["userName"] == "proj2");
}

#[tokio::test]
async fn search_by_post_answers_like_get() {
    let app = spawn_app().await;
    three_users(&app).await;
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "attributes": ["userName"], "filter": "userName sw \"c\" or userName eq \"alice\"",
        "startIndex": 1, "count": 10
    });
    for path in ["/Users/.search", "/.search"] {
        let response = app.post(path, &body).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let list: Value = response.json().await.unwrap();
        assert_eq!(names(&list), ["alice", "carol"]);
        assert!(list["Resources"][0].get("emails").is_none(), "projected");
    }
    assert_scim_error(
        app.post("/Users/.search", &json!({"filter": "userName eq"}))
            .await,
        400,
        Some("invalidFilter"),
    )
    .await;
}
