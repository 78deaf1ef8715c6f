//! Discovery endpoints, served from `scim-schemas/` without a token.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{assert_scim_error, spawn_app};

fn schema_file(name: &str) -> Value {
    let path = format!("{}/scim-schemas/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn without_meta(mut v: Value) -> Value {
    v.as_object_mut().unwrap().remove("meta");
    v
}

#[tokio::test]
async fn service_provider_config_advertises_every_capability_and_limit() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(app.url("/ServiceProviderConfig"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/scim+json");
    let spc: Value = response.json().await.unwrap();
    for key in [
        "patch",
        "bulk",
        "filter",
        "changePassword",
        "sort",
        "etag",
        "authenticationSchemes",
        "documentationUri",
    ] {
        assert!(spc.get(key).is_some(), "{key}");
    }
    assert_eq!(
        spc["filter"],
        json!({"supported": true, "maxResults": 1000})
    );
    assert_eq!(spc["etag"]["supported"], true);
    assert_eq!(spc["authenticationSchemes"][0]["type"], "oauthbearertoken");
    assert_eq!(
        spc["meta"]["location"],
        json!(app.url("/ServiceProviderConfig"))
    );
}

/// `User.json` with the given attributes marked immutable, as a tenant that locks them sees it.
fn user_schema_locking(names: &[&str]) -> Value {
    let mut user = schema_file("User.json");
    for attr in user["attributes"].as_array_mut().unwrap() {
        if names.iter().any(|n| attr["name"] == *n) {
            attr["mutability"] = json!("immutable");
        }
    }
    user
}

async fn get_json(app: &crate::helpers::TestApp, path: &str) -> Value {
    let response = app.client.get(app.url(path)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.json().await.unwrap()
}

#[tokio::test]
async fn schemas_and_resource_types_are_the_files_themselves() {
    let app = spawn_app().await;
    let schemas = get_json(&app, "/Schemas").await;
    assert_eq!(schemas["totalResults"], 4);
    let served: Vec<Value> = schemas["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .cloned()
        .map(without_meta)
        .collect();
    for file in ["EnterpriseUser.json", "TenantUser.json", "Group.json"] {
        assert!(
            served.contains(&schema_file(file)),
            "{file} served as written"
        );
    }
    // The tenant's locked attributes (by default userName and userType) are served immutable.
    assert!(served.contains(&user_schema_locking(&["userName", "userType"])));
    let one = get_json(&app, "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User").await;
    assert_eq!(
        without_meta(one),
        user_schema_locking(&["userName", "userType"])
    );
    crate::helpers::set_locked_attributes(&app, &["emails"]).await;
    let relocked = get_json(&app, "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User").await;
    assert_eq!(without_meta(relocked), user_schema_locking(&["emails"]));

    let types = get_json(&app, "/ResourceTypes").await;
    let files = schema_file("ResourceTypes.json");
    assert_eq!(types["totalResults"], 2);
    assert_eq!(without_meta(types["Resources"][0].clone()), files[0]);
    assert_eq!(without_meta(types["Resources"][1].clone()), files[1]);
    let user = get_json(&app, "/ResourceTypes/User").await;
    assert_eq!(user["endpoint"], "/Users");
    assert_eq!(
        user["meta"]["location"],
        json!(app.url("/ResourceTypes/User"))
    );
}

#[tokio::test]
async fn discovery_refuses_writes_filters_and_unknown_ids() {
    let app = spawn_app().await;
    for path in ["/ServiceProviderConfig", "/Schemas", "/ResourceTypes"] {
        let response = app
            .client
            .post(app.url(path))
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_scim_error(response, 405, None).await;
        let response = app
            .client
            .put(app.url(path))
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_scim_error(response, 405, None).await;
        let response = app
            .client
            .get(app.url(path))
            .query(&[("filter", "id eq \"x\"")])
            .send()
            .await
            .unwrap();
        assert_scim_error(response, 403, None).await;
    }
    assert_scim_error(
        app.client
            .get(app.url("/Schemas/urn:nope"))
            .send()
            .await
            .unwrap(),
        404,
        None,
    )
    .await;
    assert_scim_error(
        app.client
            .get(app.url("/ResourceTypes/Nope"))
            .send()
            .await
            .unwrap(),
        404,
        None,
    )
    .await;
}
