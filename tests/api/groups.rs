//! Groups over HTTP: every membership form Entra ID and Okta send, uniqueness, filters, and the
//! lifecycle links between users and groups.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_scim_error, spawn_app};

const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

async fn patch_204(app: &TestApp, path: &str, operations: Value) {
    let response = app.patch_ops(path, operations).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(response.headers().contains_key("etag"));
}

async fn users(app: &TestApp, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        ids.push(
            app.create_user(&format!("member{i}")).await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    ids
}

async fn create_group(app: &TestApp, name: &str, members: &[String]) -> Value {
    let members: Vec<Value> = members.iter().map(|id| json!({"value": id})).collect();
    let response = app
        .post("/Groups", &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": name, "members": members}))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

async fn member_ids(app: &TestApp, group_id: &str) -> Vec<String> {
    let group: Value = app
        .get(&format!("/Groups/{group_id}"))
        .await
        .json()
        .await
        .unwrap();
    let mut ids: Vec<String> = group
        .get("members")
        .and_then(Value::as_array)
        .map(|m| {
            m.iter()
                .map(|m| m["value"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

fn sorted(ids: &[&String]) -> Vec<String> {
    let mut out: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    out.sort();
    out
}

#[tokio::test]
async fn create_read_and_the_users_groups_attribute() {
    let app = spawn_app().await;
    let ids = users(&app, 2).await;
    let group = create_group(&app, "Sales", &ids).await;
    let gid = group["id"].as_str().unwrap();
    assert_eq!(group["meta"]["resourceType"], "Group");
    assert_eq!(group["members"].as_array().unwrap().len(), 2);
    // Each member carries its user's displayName (Microsoft's reference tests read it).
    assert_eq!(group["members"][0]["display"], "Babs Jensen");
    assert_eq!(group["members"][0]["type"], "User");
    assert_eq!(
        group["members"][0]["$ref"],
        json!(app.url(&format!("/Users/{}", ids[0])))
    );

    let user: Value = app
        .get(&format!("/Users/{}", ids[0]))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        user["groups"],
        json!([{"value": gid, "display": "Sales", "type": "direct",
                                        "$ref": app.url(&format!("/Groups/{gid}"))}])
    );
    // A user's groups are read-only: sending them changes nothing.
    let mut put = crate::helpers::user("member0");
    put["groups"] = json!([]);
    let after: Value = app
        .put(&format!("/Users/{}", ids[0]), &put)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(after["groups"][0]["value"], json!(gid));
    // A PATCH answers with them too (read in the change's own transaction).
    let title = json!([{"op": "replace", "path": "title", "value": "Lead"}]);
    let patched: Value = app
        .patch_ops(&format!("/Users/{}", ids[0]), title)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(patched["groups"][0]["display"], "Sales");

    let without: Value = app
        .get(&format!("/Groups/{gid}?excludedAttributes=members"))
        .await
        .json()
        .await
        .unwrap();
    assert!(without.get("members").is_none());
    assert_eq!(without["displayName"], "Sales");
    let list: Value = app
        .get("/Groups?excludedAttributes=members")
        .await
        .json()
        .await
        .unwrap();
    assert!(list["Resources"][0].get("members").is_none());
}

#[tokio::test]
async fn a_member_without_a_display_name_is_shown_by_user_name_and_projections_keep_it() {
    let app = spawn_app().await;
    let created = app
        .post(
            "/Users",
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "Ünïcode 用户"}),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let id = created.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let group = create_group(&app, "Support", std::slice::from_ref(&id)).await;
    let gid = group["id"].as_str().unwrap();
    let read: Value = app
        .get(&format!("/Groups/{gid}?attributes=members.display"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read["members"], json!([{"display": "Ünïcode 用户"}]));
}

/// A user's groups come by display name, ignoring case, whichever engine and whichever read
/// (one user, or a page of users), not in the order the groups were created.
#[tokio::test]
async fn a_users_groups_come_in_display_name_order() {
    let app = spawn_app().await;
    let ids = users(&app, 1).await;
    for name in ["gamma", "Beta", "alpha", "Delta"] {
        create_group(&app, name, &ids).await;
    }
    let displays = |user: &Value| -> Vec<String> {
        user["groups"]
            .as_array()
            .expect("groups")
            .iter()
            .map(|g| g["display"].as_str().expect("display").to_string())
            .collect()
    };
    let expected = ["alpha", "Beta", "Delta", "gamma"];
    let one: Value = app
        .get(&format!("/Users/{}", ids[0]))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(displays(&one), expected);
    let page = app.filter("userName eq \"member0\"").await;
    assert_eq!(displays(&page["Resources"][0]), expected);
}

#[tokio::test]
async fn display_names_are_unique_without_regard_to_case() {
    let app = spawn_app().await;
    create_group(&app, "Sales", &[]).await;
    let response = app.post("/Groups", &json!({"displayName": "SALES"})).await;
    assert_scim_error(response, 409, Some("uniqueness")).await;
    let other = create_group(&app, "Support", &[]).await;
    let response = app
        .patch_ops(
            &format!("/Groups/{}", other["id"].as_str().unwrap()),
            json!([{"op": "replace", "path": "displayName", "value": "sales"}]),
        )
        .await;
    assert_scim_error(response, 409, Some("uniqueness")).await;
    assert_scim_error(
        app.post("/Groups", &json!({"members": []})).await,
        400,
        Some("invalidValue"),
    )
    .await;
}

#[tokio::test]
async fn entras_remove_with_a_value_list_leaves_the_other_members() {
    let app = spawn_app().await;
    let ids = users(&app, 4).await;
    let group = create_group(&app, "Engineering", &ids).await;
    let path = format!("/Groups/{}", group["id"].as_str().unwrap());
    patch_204(&app, &path, json!([{"op": "Remove", "path": "members", "value": [{"value": ids[1]}, {"value": ids[2]}]}])).await;
    assert_eq!(
        member_ids(&app, group["id"].as_str().unwrap()).await,
        sorted(&[&ids[0], &ids[3]])
    );
}

#[tokio::test]
async fn every_membership_form_real_clients_send() {
    let app = spawn_app().await;
    let ids = users(&app, 5).await;
    let group = create_group(&app, "Ops", &[]).await;
    let gid = group["id"].as_str().unwrap();
    let path = format!("/Groups/{gid}");

    // Entra: Add with several members; again (idempotent).
    let add = json!([{"op": "Add", "path": "members", "value": [{"value": ids[0]}, {"value": ids[1]}, {"value": ids[2]}]}]);
    patch_204(&app, &path, add.clone()).await;
    patch_204(&app, &path, add).await;
    assert_eq!(
        member_ids(&app, gid).await,
        sorted(&[&ids[0], &ids[1], &ids[2]])
    );
    // RFC: remove by value filter; again (idempotent).
    let remove = json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", ids[0])}]);
    patch_204(&app, &path, remove.clone()).await;
    patch_204(&app, &path, remove).await;
    assert_eq!(member_ids(&app, gid).await, sorted(&[&ids[1], &ids[2]]));
    // Okta: path-less replace carrying the group's own id, its name and the whole list.
    patch_204(
        &app,
        &path,
        json!([{"op": "replace", "value": {"id": gid, "displayName": "Operations",
        "members": [{"value": ids[2], "display": "x"}, {"value": ids[3]}]}}]),
    )
    .await;
    assert_eq!(member_ids(&app, gid).await, sorted(&[&ids[2], &ids[3]]));
    // Microsoft's collection: a bare string member list.
    patch_204(
        &app,
        &path,
        json!([{"op": "add", "path": "members", "value": ids[4]}]),
    )
    .await;
    assert_eq!(
        member_ids(&app, gid).await,
        sorted(&[&ids[2], &ids[3], &ids[4]])
    );
    // Okta "push now" on an empty group: replace with [].
    patch_204(
        &app,
        &path,
        json!([{"op": "replace", "path": "members", "value": []}]),
    )
    .await;
    assert!(member_ids(&app, gid).await.is_empty());
    // Remove all.
    patch_204(
        &app,
        &path,
        json!([{"op": "add", "path": "members", "value": [{"value": ids[0]}]}]),
    )
    .await;
    patch_204(&app, &path, json!([{"op": "remove", "path": "members"}])).await;
    assert!(member_ids(&app, gid).await.is_empty());
    // Okta AIW: PUT with the full member list, members with "display": null.
    let put = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": gid, "displayName": "Operations",
        "members": [{"value": ids[1], "display": null}, {"value": ids[4]}]});
    let replaced: Value = app.put(&path, &put).await.json().await.unwrap();
    assert_eq!(replaced["members"].as_array().unwrap().len(), 2);
    assert_eq!(member_ids(&app, gid).await, sorted(&[&ids[1], &ids[4]]));
    // A different id in a path-less replace is a mutability error, nothing applied.
    let response = app
        .patch_ops(
            &path,
            json!([{"op": "add", "path": "members", "value": [{"value": ids[0]}]},
        {"op": "replace", "value": {"id": "another"}}]),
        )
        .await;
    assert_scim_error(response, 400, Some("mutability")).await;
    assert_eq!(member_ids(&app, gid).await, sorted(&[&ids[1], &ids[4]]));
}

#[tokio::test]
async fn unknown_member_ids_are_skipped_and_the_rest_applied() {
    let app = spawn_app().await;
    let ids = users(&app, 1).await;
    let group = create_group(&app, "Mixed", &[]).await;
    let gid = group["id"].as_str().unwrap();
    patch_204(&app, &format!("/Groups/{gid}"), json!([{"op": "add", "path": "members",
        "value": [{"value": "not-a-user"}, {"value": ids[0]}, {"value": "nested", "type": "Group"}]}])).await;
    assert_eq!(member_ids(&app, gid).await, vec![ids[0].clone()]);
    let event = app
        .audit()
        .await
        .into_iter()
        .find(|e| e.action == "group.patch")
        .unwrap();
    let reason = event.reason.unwrap();
    assert!(
        reason.contains("1 added") && reason.contains("not-a-user") && reason.contains("nested"),
        "{reason}"
    );
}

#[tokio::test]
async fn a_group_patch_with_attributes_answers_200_projected() {
    let app = spawn_app().await;
    let group = create_group(&app, "Proj", &[]).await;
    let gid = group["id"].as_str().unwrap();
    let response = app.client.patch(app.url(&format!("/Groups/{gid}?attributes=displayName")))
        .bearer_auth(&app.token)
        .body(json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "displayName", "value": "Projected"}]}).to_string())
        .send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": gid, "displayName": "Projected"})
    );
}

#[tokio::test]
async fn groups_are_found_the_way_clients_look_them_up() {
    let app = spawn_app().await;
    let ids = users(&app, 2).await;
    let sales = create_group(&app, "Sales", &ids[..1]).await;
    create_group(&app, "Support", &ids[1..]).await;
    let sid = sales["id"].as_str().unwrap();
    let find = |filter: String| {
        let app = &app;
        async move {
            let r = app
                .client
                .get(app.url("/Groups"))
                .query(&[
                    ("filter", filter.as_str()),
                    ("excludedAttributes", "members"),
                ])
                .bearer_auth(&app.token)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::OK, "{filter}");
            let list: Value = r.json().await.unwrap();
            list["Resources"]
                .as_array()
                .unwrap()
                .iter()
                .map(|g| g["displayName"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(find("displayName eq \"sales\"".into()).await, ["Sales"]);
    assert_eq!(
        find(format!("id eq \"{sid}\" and members eq \"{}\"", ids[0])).await,
        ["Sales"]
    );
    assert!(
        find(format!("id eq \"{sid}\" and members eq \"{}\"", ids[1]))
            .await
            .is_empty()
    );
    assert_eq!(
        find(format!("members[value eq \"{}\"]", ids[1])).await,
        ["Support"]
    );
    assert_eq!(
        find("displayName sw \"S\"".into()).await,
        ["Sales", "Support"]
    );
    let search = app
        .post(
            "/Groups/.search",
            &json!({"filter": "displayName eq \"Support\""}),
        )
        .await;
    assert_eq!(search.json::<Value>().await.unwrap()["totalResults"], 1);
}

#[tokio::test]
async fn deleting_users_and_groups_removes_their_memberships() {
    let app = spawn_app().await;
    let ids = users(&app, 3).await;
    let group = create_group(&app, "Doomed", &ids).await;
    let gid = group["id"].as_str().unwrap().to_string();
    let version_before = group["meta"]["version"].clone();

    // Suspension keeps memberships; deletion removes them (and moves the group's version).
    let mut suspended = crate::helpers::user("member0");
    suspended["active"] = json!(false);
    app.put(&format!("/Users/{}", ids[0]), &suspended).await;
    assert_eq!(member_ids(&app, &gid).await.len(), 3);
    app.delete(&format!("/Users/{}", ids[1])).await;
    assert_eq!(member_ids(&app, &gid).await, sorted(&[&ids[0], &ids[2]]));
    let after: Value = app
        .get(&format!("/Groups/{gid}"))
        .await
        .json()
        .await
        .unwrap();
    assert_ne!(after["meta"]["version"], version_before);

    assert_eq!(
        app.delete(&format!("/Groups/{gid}")).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_scim_error(app.get(&format!("/Groups/{gid}")).await, 404, None).await;
    let user: Value = app
        .get(&format!("/Users/{}", ids[2]))
        .await
        .json()
        .await
        .unwrap();
    assert!(user.get("groups").is_none());
    let actions: Vec<String> = app.audit().await.into_iter().map(|e| e.action).collect();
    assert!(
        actions.contains(&"group.delete".to_string())
            && actions.contains(&"group.create".to_string())
    );
}

#[tokio::test]
async fn concurrent_member_changes_lose_nothing() {
    let app = spawn_app().await;
    let ids = users(&app, 24).await;
    let group = create_group(&app, "Busy", &ids[20..]).await;
    let path = format!("/Groups/{}", group["id"].as_str().unwrap());
    // Two clients at once: one adds members 0..10 and removes 20, 21; the other adds 10..20 and
    // removes 22, 23 — one member per request, interleaved.
    let client =
        |adds: Vec<String>, removes: Vec<String>| {
            let (http, url, token) = (app.client.clone(), app.url(&path), app.token.clone());
            tokio::spawn(async move {
                let mut ops: Vec<Value> = adds
                    .iter()
                    .map(|id| json!({"op": "add", "path": "members", "value": [{"value": id}]}))
                    .collect();
                ops.extend(removes.iter().map(
                    |id| json!({"op": "remove", "path": format!("members[value eq \"{id}\"]")}),
                ));
                for op in ops {
                    let status = http
                        .patch(&url)
                        .bearer_auth(&token)
                        .body(json!({"schemas": [PATCH_OP], "Operations": [op]}).to_string())
                        .send()
                        .await
                        .unwrap()
                        .status();
                    assert_eq!(status, StatusCode::NO_CONTENT);
                }
            })
        };
    let a = client(ids[0..10].to_vec(), ids[20..22].to_vec());
    let b = client(ids[10..20].to_vec(), ids[22..24].to_vec());
    a.await.unwrap();
    b.await.unwrap();
    let expected: Vec<&String> = ids[0..20].iter().collect();
    assert_eq!(
        member_ids(&app, group["id"].as_str().unwrap()).await,
        sorted(&expected)
    );
}

#[tokio::test]
async fn group_if_match_is_honoured() {
    let app = spawn_app().await;
    let group = create_group(&app, "Versioned", &[]).await;
    let url = app.url(&format!("/Groups/{}", group["id"].as_str().unwrap()));
    let body = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "displayName", "value": "New"}]});
    let stale = app
        .client
        .patch(&url)
        .bearer_auth(&app.token)
        .header("if-match", "W/\"9\"")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_scim_error(stale, 412, None).await;
    let fresh = app
        .client
        .patch(&url)
        .bearer_auth(&app.token)
        .header("if-match", "W/\"1\"")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(fresh.status(), StatusCode::NO_CONTENT);
    assert_eq!(fresh.headers()["etag"], "W/\"2\"");
}

#[tokio::test]
async fn root_search_pages_over_users_then_groups() {
    let app = spawn_app().await;
    users(&app, 2).await;
    create_group(&app, "Blue Team", &[]).await;
    create_group(&app, "Red Team", &[]).await;
    let search = |body: Value| {
        let app = &app;
        async move {
            let response = app.post("/.search", &body).await;
            assert_eq!(response.status(), StatusCode::OK);
            response.json::<Value>().await.unwrap()
        }
    };
    let all = search(json!({"filter": "displayName sw \"b\""})).await;
    assert_eq!(all["totalResults"], 3);
    let types: Vec<&str> = all["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["meta"]["resourceType"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["User", "User", "Group"]);
    let page = search(json!({"filter": "displayName sw \"b\"", "startIndex": 2, "count": 2, "attributes": ["displayName"]})).await;
    let names: Vec<&str> = page["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["displayName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Babs Jensen", "Blue Team"]);
    assert_eq!(
        search(json!({"filter": "userName eq \"member0\""})).await["totalResults"],
        1,
        "groups have no userName"
    );
    assert_eq!(search(json!({})).await["totalResults"], 4);
    assert_scim_error(
        app.post("/.search", &json!({"filter": "displayName eq"}))
            .await,
        400,
        Some("invalidFilter"),
    )
    .await;
}
