//! The outbox and its pull feed (`/admin/v1/tenants/{t}/events`): every change tells its event
//! in its own transaction, a refused change tells none, and the feed's order is final under
//! concurrent writers on both engines.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::admin::{admin_get, admin_send, assert_problem, operator_token};
use crate::helpers::{TENANT, TestApp, spawn_app_pooled, spawn_app_with, test_pool, user};
use scim_gateway::clock::now_micros;
use scim_gateway::store::{EventRecord, PoolOptions};

/// The first `n` events of the tenant's feed, read `limit` at a time. On PostgreSQL an event
/// shows once every older transaction of the server has ended (the feed's order is final only
/// then), so a page may come back empty for a moment while other tests write: the reader waits.
async fn feed_of(app: &TestApp, token: &str, limit: usize, n: usize) -> Vec<Value> {
    let mut events = Vec::new();
    let mut after: Option<String> = None;
    while events.len() < n {
        let mut path = format!("/tenants/{TENANT}/events?limit={limit}&wait=10");
        if let Some(cursor) = &after {
            path.push_str(&format!("&after={cursor}"));
        }
        let response = admin_get(app, &path, token).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let page: Value = response.json().await.unwrap();
        let got = page["events"].as_array().unwrap().clone();
        assert!(
            !got.is_empty(),
            "the feed stopped after {} events",
            events.len()
        );
        after = Some(page["nextCursor"].as_str().unwrap().to_string());
        events.extend(got);
    }
    // Nothing more than expected.
    let path = format!(
        "/tenants/{TENANT}/events?limit={limit}&after={}",
        after.unwrap_or_default()
    );
    let rest: Value = admin_get(app, &path, token).await.json().await.unwrap();
    assert_eq!(rest["events"], json!([]), "more events than expected");
    events
}

fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn every_change_tells_its_event_and_a_refused_change_none() {
    let app = spawn_app_with(Some(2)).await;
    let (token, _) = operator_token(&app).await;
    let ada = app.create_user("ada").await;
    let ada_id = ada["id"].as_str().unwrap();
    let changed = app
        .patch_ops(
            &format!("/Users/{ada_id}"),
            json!([{"op": "replace", "path": "displayName", "value": "Ada L."}]),
        )
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
    assert_eq!(
        app.patch_ops(
            &format!("/Users/{ada_id}"),
            json!([{"op": "replace", "path": "active", "value": false}])
        )
        .await
        .status(),
        StatusCode::OK
    );
    assert_eq!(
        app.patch_ops(
            &format!("/Users/{ada_id}"),
            json!([{"op": "replace", "path": "active", "value": true}])
        )
        .await
        .status(),
        StatusCode::OK
    );
    // The second user takes the last seat; the third is refused and tells nothing.
    let bob = app.create_user("bob").await;
    let bob_id = bob["id"].as_str().unwrap();
    assert_eq!(
        app.post("/Users", &user("carol")).await.status(),
        StatusCode::FORBIDDEN
    );
    // A locked attribute (userName) refuses the whole PATCH: no event either.
    assert_eq!(
        app.patch_ops(
            &format!("/Users/{ada_id}"),
            json!([{"op": "replace", "path": "userName", "value": "x"}])
        )
        .await
        .status(),
        StatusCode::BAD_REQUEST
    );
    let group = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Sales", "members": [{"value": ada_id}]});
    let group: Value = app.post("/Groups", &group).await.json().await.unwrap();
    let group_id = group["id"].as_str().unwrap();
    let renamed = app
        .patch_ops(
            &format!("/Groups/{group_id}"),
            json!([
        {"op": "replace", "path": "displayName", "value": "Sales EMEA"},
        {"op": "add", "path": "members", "value": [{"value": bob_id}]},
        {"op": "remove", "path": format!("members[value eq \"{ada_id}\"]")}]),
        )
        .await;
    assert!(renamed.status().is_success());
    assert_eq!(
        app.delete(&format!("/Groups/{group_id}")).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.delete(&format!("/Users/{bob_id}")).await.status(),
        StatusCode::NO_CONTENT
    );

    let events = feed_of(&app, &token, 3, 14).await;
    assert_eq!(
        types(&events),
        [
            "user.created",
            "invitation.issued",
            "user.updated",
            "user.suspended",
            "user.reactivated",
            "user.created",
            "tenant.seat_limit_reached",
            "invitation.issued",
            "group.created",
            "group.members_changed",
            "group.updated",
            "group.members_changed",
            "group.deleted",
            "user.deleted",
        ]
    );
    let mut ids: Vec<&str> = events.iter().map(|e| e["id"].as_str().unwrap()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), events.len(), "event ids are unique");

    // The resource as SCIM shows it, with its version; no location.
    let created = &events[0];
    assert_eq!(created["actor"], "scim");
    assert_eq!(created["connection"], "entra");
    assert_eq!(
        created["resource"],
        json!({"type": "User", "id": ada_id, "version": 1})
    );
    assert_eq!(created["data"]["userName"], "ada");
    assert_eq!(created["data"]["active"], true);
    assert_eq!(created["data"]["meta"]["version"], "W/\"1\"");
    assert!(created["data"]["meta"].get("location").is_none());
    // A new user is invited: the link for the host product to deliver.
    let invited = &events[1];
    assert_eq!(invited["resource"]["id"], ada_id);
    assert_eq!(invited["data"]["userName"], "ada");
    assert_eq!(invited["data"]["email"], "ada@example.com");
    assert!(
        invited["data"]["link"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{}/sso/{TENANT}/invite/inv_", app.root))
    );
    assert!(invited["data"]["expiresAt"].is_string());
    let updated = &events[2];
    assert_eq!(updated["changed"], json!(["displayName"]));
    assert_eq!(updated["data"]["displayName"], "Ada L.");
    assert_eq!(updated["resource"]["version"], 2);
    assert_eq!(events[3]["data"]["active"], false);
    assert_eq!(events[6]["data"], json!({"tenant": TENANT, "seatLimit": 2}));
    assert_eq!(events[9]["data"]["added"], json!([ada_id]));
    assert_eq!(events[10]["changed"], json!(["displayName"]));
    assert_eq!(events[10]["data"]["displayName"], "Sales EMEA");
    assert_eq!(
        (
            events[11]["data"]["added"].clone(),
            events[11]["data"]["removed"].clone()
        ),
        (json!([bob_id]), json!([ada_id]))
    );
    let deleted = &events[13];
    assert_eq!(deleted["data"]["userName"], "bob");
    assert!(deleted["data"]["deleted"].is_string());
    assert!(
        deleted["data"].get("emails").is_none(),
        "a tombstone, not the user"
    );
}

#[tokio::test]
async fn the_feed_waits_for_the_next_event_and_refuses_foreign_cursors() {
    let app = spawn_app_with(None).await;
    let (token, _) = operator_token(&app).await;
    let empty: Value = admin_get(&app, &format!("/tenants/{TENANT}/events"), &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(empty["events"], json!([]));
    let cursor = empty["nextCursor"].as_str().unwrap().to_string();
    let writer = {
        let (client, url, token) = (app.client.clone(), app.url("/Users"), app.token.clone());
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(600)).await;
            client
                .post(url)
                .bearer_auth(token)
                .json(&user("late"))
                .send()
                .await
                .unwrap()
                .status()
        })
    };
    let waited: Value = admin_get(
        &app,
        &format!("/tenants/{TENANT}/events?after={cursor}&wait=10"),
        &token,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(writer.await.unwrap(), StatusCode::CREATED);
    assert_eq!(
        types(waited["events"].as_array().unwrap()),
        ["user.created", "invitation.issued"]
    );
    assert_eq!(waited["events"][0]["data"]["userName"], "late");

    for bad in ["after=forged", "limit=0", "limit=1001", "wait=31", "wait=x"] {
        let path = format!("/tenants/{TENANT}/events?{bad}");
        assert_problem(admin_get(&app, &path, &token).await, 400).await;
    }
}

#[tokio::test]
async fn a_reader_sees_every_event_once_in_order_under_eight_concurrent_writers() {
    // Eight connections on PostgreSQL, so that writers really commit out of order.
    let pool = PoolOptions {
        max_connections: 10,
        ..test_pool()
    };
    let app = spawn_app_pooled(None, pool, |_| {}).await;
    let (token, _) = operator_token(&app).await;
    const WRITERS: usize = 8;
    const EACH: usize = 15;
    // Each create tells two events: `user.created` and `invitation.issued`.
    const EVENTS: usize = WRITERS * EACH * 2;
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let (client, url, scim) = (app.client.clone(), app.url("/Users"), app.token.clone());
        writers.push(tokio::spawn(async move {
            for i in 0..EACH {
                let status = client
                    .post(&url)
                    .bearer_auth(&scim)
                    .json(&user(&format!("w{w}-u{i}")))
                    .send()
                    .await
                    .unwrap()
                    .status();
                assert_eq!(status, StatusCode::CREATED);
            }
        }));
    }
    // The reader follows the feed while the writers write.
    let mut seen: Vec<String> = Vec::new();
    let mut after = String::new();
    while seen.len() < EVENTS {
        let path = if after.is_empty() {
            format!("/tenants/{TENANT}/events?limit=7&wait=5")
        } else {
            format!("/tenants/{TENANT}/events?limit=7&wait=5&after={after}")
        };
        let page: Value = admin_get(&app, &path, &token).await.json().await.unwrap();
        for event in page["events"].as_array().unwrap() {
            seen.push(event["id"].as_str().unwrap().to_string());
        }
        after = page["nextCursor"].as_str().unwrap().to_string();
        assert!(seen.len() <= EVENTS, "an event came twice");
    }
    for writer in writers {
        writer.await.unwrap();
    }
    // What the reader saw as it happened is the feed as it stands afterwards: nothing appeared
    // behind the reader, nothing twice.
    let settled: Vec<String> = feed_of(&app, &token, 50, EVENTS)
        .await
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(seen, settled);
}

fn bare_event(tenant_id: &scim_gateway::store::TenantId, name: &str) -> EventRecord {
    EventRecord {
        id: format!("evt_{name}"),
        tenant_id: tenant_id.clone(),
        event_type: "test.event".into(),
        at: now_micros(),
        actor: "cli".into(),
        connection_id: None,
        resource_type: None,
        resource_id: None,
        resource_version: None,
        changed: Vec::new(),
        data: serde_json::Map::new(),
    }
}

#[tokio::test]
async fn an_event_committed_while_an_older_transaction_writes_waits_behind_it() {
    let pool = PoolOptions {
        max_connections: 4,
        ..test_pool()
    };
    let app = spawn_app_pooled(None, pool, |_| {}).await;
    let tenant = app.store.tenant_by_slug(TENANT).await.unwrap().unwrap();
    let feed = |after| {
        let (store, id) = (app.store.clone(), tenant.id.clone());
        async move {
            store
                .event_feed(scim_gateway::store::FeedScope::Tenant(&id), after, 100)
                .await
                .unwrap()
                .into_iter()
                .map(|e| e.event.id)
                .collect::<Vec<_>>()
        }
    };
    let mut older = app.store.begin().await.unwrap();
    older
        .insert_event(&bare_event(&tenant.id, "older"))
        .await
        .unwrap();
    let newer = {
        let (store, id) = (app.store.clone(), tenant.id.clone());
        tokio::spawn(async move {
            let mut tx = store.begin().await.unwrap();
            tx.insert_event(&bare_event(&id, "newer")).await.unwrap();
            tx.commit().await.unwrap();
        })
    };
    if app.database_url.starts_with("postgres") {
        // PostgreSQL lets the newer transaction commit first; the feed holds its event back.
        for _ in 0..100 {
            if newer.is_finished() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(newer.is_finished(), "the newer transaction committed");
        assert_eq!(feed(None).await, Vec::<String>::new());
    } else {
        // SQLite lets one transaction write at a time: the newer one waits for the older.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            !newer.is_finished(),
            "the newer transaction waits for the writer"
        );
    }
    older.commit().await.unwrap();
    newer.await.unwrap();
    // Once both ended (and any other test's transaction older than them), both show, in the
    // order of the transactions that wrote them.
    let mut shown = feed(None).await;
    for _ in 0..100 {
        if shown.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        shown = feed(None).await;
    }
    assert_eq!(shown, ["evt_older", "evt_newer"]);
}

/// The `user.roles_changed` and `group.roles_changed` events of the feed from `after` on:
/// (type, resource id, added, removed, cause).
fn role_changes(events: &[Value]) -> Vec<(String, String, Value, Value, String)> {
    events
        .iter()
        .filter(|e| e["type"].as_str().unwrap().ends_with(".roles_changed"))
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_string(),
                e["resource"]["id"].as_str().unwrap().to_string(),
                e["data"]["added"].clone(),
                e["data"]["removed"].clone(),
                e["data"]["cause"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn effective_role_changes_are_told_per_user_and_per_group() {
    let app = spawn_app_with(None).await;
    let (token, _) = operator_token(&app).await;
    let send = |method: Method, path: String, body: Value| {
        let (app, token) = (&app, &token);
        async move { admin_send(app, method, &path, token, body).await.status() }
    };
    for name in ["Lead", "Agent"] {
        let role = json!({"name": name, "permissions": ["conversations:view"]});
        let status = send(Method::POST, format!("/tenants/{TENANT}/roles"), role).await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let mapped = send(
        Method::PUT,
        format!("/tenants/{TENANT}/roles/Lead/groups/Team%20Leads"),
        Value::Null,
    )
    .await;
    assert!(mapped.is_success(), "{mapped}");
    let ada = app.create_user("ada").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let bob = app.create_user("bob").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    // A group that maps to no role changes nobody's roles.
    let plain = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Everyone", "members": [{"value": ada}, {"value": bob}]});
    assert_eq!(
        app.post("/Groups", &plain).await.status(),
        StatusCode::CREATED
    );
    // Joining the mapped group gives ada Lead.
    let leads = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Team Leads", "members": [{"value": ada}]});
    let leads: Value = app.post("/Groups", &leads).await.json().await.unwrap();
    let leads = leads["id"].as_str().unwrap().to_string();
    // bob names Agent in his SCIM roles, then an admin assigns him Lead, which the group then
    // gives him too: the second grant changes nothing and tells nothing.
    let roles = json!([{"op": "add", "path": "roles", "value": [{"value": "Agent"}]}]);
    let patched = app.patch_ops(&format!("/Users/{bob}"), roles).await;
    assert_eq!(patched.status(), StatusCode::OK);
    let assign = format!("/tenants/{TENANT}/users/{bob}/roles/Lead");
    assert!(
        send(Method::PUT, assign.clone(), Value::Null)
            .await
            .is_success()
    );
    let members = json!([
        {"op": "add", "path": "members", "value": [{"value": bob}]},
        {"op": "remove", "path": format!("members[value eq \"{ada}\"]")}
    ]);
    let patched = app.patch_ops(&format!("/Groups/{leads}"), members).await;
    assert_eq!(patched.status(), StatusCode::NO_CONTENT);
    // Renaming the group takes Lead from its members; mapping the new name gives it back;
    // deleting the group takes it again.
    let rename = json!([{"op": "replace", "path": "displayName", "value": "Leads"}]);
    let renamed = app.patch_ops(&format!("/Groups/{leads}"), rename).await;
    assert_eq!(renamed.status(), StatusCode::NO_CONTENT);
    let remap = format!("/tenants/{TENANT}/roles/Lead/groups/Leads");
    assert!(send(Method::PUT, remap, Value::Null).await.is_success());
    let deleted = app
        .client
        .delete(app.url(&format!("/Groups/{leads}")))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    // Taking back an assignment bob still holds no other way.
    assert_eq!(
        send(Method::DELETE, assign, Value::Null).await,
        StatusCode::NO_CONTENT
    );

    // Two users were created: each tells `user.created` and `invitation.issued`.
    let all = feed_of(&app, &token, 100, 20).await;
    let told = role_changes(&all);
    let change = |kind: &str, id: &str, added: &[&str], removed: &[&str], cause: &str| {
        (
            kind.to_string(),
            id.to_string(),
            json!(added),
            json!(removed),
            cause.to_string(),
        )
    };
    let operator = all
        .iter()
        .find(|e| {
            e["type"] == "user.roles_changed"
                && e["data"]["cause"].as_str().unwrap().contains("operator")
        })
        .map(|e| e["actor"].as_str().unwrap().to_string())
        .unwrap();
    assert!(operator.starts_with("operator:"), "{operator}");
    assert_eq!(
        told,
        vec![
            change(
                "user.roles_changed",
                &ada,
                &["Lead"],
                &[],
                "group 'Team Leads'"
            ),
            change(
                "user.roles_changed",
                &bob,
                &["Agent"],
                &[],
                "roles attribute"
            ),
            change(
                "user.roles_changed",
                &bob,
                &["Lead"],
                &[],
                &format!("role.assign by {operator}")
            ),
            change(
                "user.roles_changed",
                &ada,
                &[],
                &["Lead"],
                "group 'Team Leads'"
            ),
            change(
                "group.roles_changed",
                &leads,
                &[],
                &["Lead"],
                "group renamed from 'Team Leads'"
            ),
            change(
                "group.roles_changed",
                &leads,
                &["Lead"],
                &[],
                &format!("role.map_group by {operator}")
            ),
            change(
                "group.roles_changed",
                &leads,
                &[],
                &["Lead"],
                "group deleted"
            ),
            change(
                "user.roles_changed",
                &bob,
                &[],
                &["Lead"],
                &format!("role.unassign by {operator}")
            ),
        ]
    );
    let last = all
        .iter()
        .rev()
        .find(|e| e["type"] == "user.roles_changed")
        .unwrap();
    assert_eq!(last["data"]["roles"], json!(["Agent"]));
}
