//! Roles and permissions: effective roles are the union of SCIM role values naming catalog roles,
//! roles mapped from groups, and admin assignments; unknown values grant nothing and are audited.

use reqwest::StatusCode;
use serde_json::{Value, json};
use std::process::Command;

use scim_gateway::clock::now_micros;
use scim_gateway::tenant::roles;

use crate::helpers::{TENANT, TestApp, fresh_database_url, spawn_app, user};

const EXT: &str = "urn:ietf:params:scim:schemas:extension:gateway:2.0:User";

async fn effective(app: &TestApp, id: &str) -> (Value, Value) {
    let path = format!("/Users/{id}?attributes={EXT}:effectiveRoles,{EXT}:effectivePermissions");
    let body = app.get_json(&path).await;
    (
        body[EXT]["effectiveRoles"].clone(),
        body[EXT]["effectivePermissions"].clone(),
    )
}

async fn catalog(app: &TestApp) {
    let now = now_micros();
    let s = |list: &[&str]| list.iter().map(|p| p.to_string()).collect::<Vec<_>>();
    roles::create_role(
        &app.store,
        TENANT,
        "Supervisor",
        &s(&["conversations:*", "users:view"]),
        None,
        false,
        now,
    )
    .await
    .unwrap();
    roles::create_role(
        &app.store,
        TENANT,
        "Analyst",
        &s(&["analytics:view"]),
        None,
        true,
        now,
    )
    .await
    .unwrap();
    roles::create_role(
        &app.store,
        TENANT,
        "Admin",
        &s(&["settings:manage", "users:manage"]),
        None,
        false,
        now,
    )
    .await
    .unwrap();
    roles::map_group(&app.store, TENANT, "Data Team", "analyst", false, now)
        .await
        .unwrap();
}

#[tokio::test]
async fn effective_roles_union_scim_roles_groups_and_assignments() {
    let app = spawn_app().await;
    catalog(&app).await;
    let mut body = user("ada");
    // Entra sends role values as JSON strings (IDP-QUIRKS Q11); "Ghost" names no role.
    body["roles"] = json!([{"value": "supervisor"}, {"value": "{\"id\":\"1\",\"value\":\"Ghost\",\"displayName\":\"Ghost\"}"}]);
    let created: Value = app.post("/Users", &body).await.json().await.unwrap();
    let id = created["id"].as_str().unwrap();
    assert!(
        created[EXT].get("effectiveRoles").is_none(),
        "returned on request only"
    );

    let (roles_now, permissions) = effective(&app, id).await;
    assert_eq!(roles_now, json!(["Supervisor"]));
    assert_eq!(
        permissions,
        json!([
            "conversations:create",
            "conversations:delete",
            "conversations:edit",
            "conversations:manage",
            "conversations:view",
            "users:view"
        ])
    );
    let event = app
        .audit()
        .await
        .into_iter()
        .find(|e| e.action == "user.create")
        .unwrap();
    assert!(
        event.reason.unwrap().contains("Ghost"),
        "unknown role values are audited"
    );

    // A group mapped to a role grants it to its members.
    let group = app
        .post(
            "/Groups",
            &json!({"displayName": "data team", "members": [{"value": id}]}),
        )
        .await;
    assert_eq!(group.status(), StatusCode::CREATED);
    assert_eq!(
        effective(&app, id).await.0,
        json!(["Analyst", "Supervisor"])
    );

    // An admin assignment adds to it; taking it back removes it.
    roles::assign_role(&app.store, TENANT, "ADA", "Admin", false, now_micros())
        .await
        .unwrap();
    let (all, permissions) = effective(&app, id).await;
    assert_eq!(all, json!(["Admin", "Analyst", "Supervisor"]));
    assert!(
        permissions
            .as_array()
            .unwrap()
            .contains(&json!("settings:manage"))
    );
    roles::assign_role(&app.store, TENANT, "ada", "Admin", true, now_micros())
        .await
        .unwrap();
    roles::map_group(
        &app.store,
        TENANT,
        "Data Team",
        "Analyst",
        true,
        now_micros(),
    )
    .await
    .unwrap();
    assert_eq!(effective(&app, id).await.0, json!(["Supervisor"]));

    // The whole extension, asked for, carries them too; lists work the same way.
    let list: Value = app
        .get(&format!("/Users?attributes={EXT}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        list["Resources"][0][EXT]["effectiveRoles"],
        json!(["Supervisor"])
    );
    assert_eq!(list["Resources"][0][EXT]["status"], "invited");
}

#[tokio::test]
async fn the_catalog_refuses_bad_permissions_and_duplicates() {
    let app = spawn_app().await;
    let now = now_micros();
    let bad = roles::create_role(
        &app.store,
        TENANT,
        "X",
        &["users:fly".to_string()],
        None,
        false,
        now,
    )
    .await;
    assert!(bad.unwrap_err().to_string().contains("users:fly"));
    roles::create_role(
        &app.store,
        TENANT,
        "Agent",
        &["conversations:view".to_string()],
        None,
        false,
        now,
    )
    .await
    .unwrap();
    let twice = roles::create_role(
        &app.store,
        TENANT,
        "AGENT",
        &["conversations:view".to_string()],
        None,
        false,
        now,
    )
    .await;
    assert!(twice.unwrap_err().to_string().contains("already exists"));
    let missing = roles::map_group(&app.store, TENANT, "Sales", "Nope", false, now).await;
    assert!(missing.is_err());
}

#[tokio::test]
async fn role_commands_run_from_the_cli() {
    let db = fresh_database_url().await;
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_scim-gateway"))
            .arg("--database")
            .arg(&db)
            .args(args)
            .output()
            .unwrap()
    };
    assert!(run(&["tenant", "create", "umbrella"]).status.success());
    assert!(
        run(&[
            "role",
            "create",
            "--tenant",
            "umbrella",
            "Supervisor",
            "--permissions",
            "conversations:*,users:view"
        ])
        .status
        .success()
    );
    assert!(
        run(&[
            "role",
            "create",
            "--tenant",
            "umbrella",
            "Viewer",
            "--permissions",
            "analytics:view",
            "--template"
        ])
        .status
        .success()
    );
    assert!(
        run(&[
            "role",
            "map",
            "--tenant",
            "umbrella",
            "--group",
            "Leads",
            "--role",
            "supervisor"
        ])
        .status
        .success()
    );
    assert!(
        !run(&[
            "role",
            "create",
            "--tenant",
            "umbrella",
            "Bad",
            "--permissions",
            "nope:view"
        ])
        .status
        .success()
    );
    let listed: Value =
        serde_json::from_slice(&run(&["--json", "role", "list", "--tenant", "umbrella"]).stdout)
            .unwrap();
    assert_eq!(listed[0]["name"], "Supervisor");
    assert_eq!(listed[0]["mappedGroups"], json!(["Leads"]));
    assert_eq!(listed[1]["template"], true);
    let updated = run(&[
        "--json",
        "role",
        "update",
        "--tenant",
        "umbrella",
        "Viewer",
        "--permissions",
        "analytics:view,users:view",
    ]);
    assert_eq!(
        serde_json::from_slice::<Value>(&updated.stdout).unwrap()["permissions"],
        json!(["analytics:view", "users:view"])
    );
}

/// The `user.roles_changed` events for `user` once the last one has `added` and `removed`:
/// (added, removed), oldest first.
async fn roles_changed_of(
    app: &TestApp,
    user: &str,
    added: Value,
    removed: Value,
) -> Vec<(Value, Value)> {
    let of_user = |e: &scim_gateway::store::EventRecord| e.resource_id.as_deref() == Some(user);
    app.outbox_events("user.roles_changed", |e| {
        of_user(e) && e.data["added"] == added && e.data["removed"] == removed
    })
    .await
    .into_iter()
    .filter(|e| of_user(e))
    .map(|e| (e.data["added"].clone(), e.data["removed"].clone()))
    .collect()
}

#[tokio::test]
async fn a_role_that_is_not_assignable_comes_only_from_group_mappings() {
    let app = spawn_app().await;
    let now = now_micros();
    let (operator, _) = crate::admin::operator_token(&app).await;
    let created = app
        .client
        .post(format!("{}/admin/v1/tenants/{TENANT}/roles", app.root))
        .bearer_auth(&operator)
        .json(
            &json!({"name": "Supervisor", "permissions": ["conversations:*"], "assignable": false}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(created.json::<Value>().await.unwrap()["assignable"], false);
    roles::map_group(&app.store, TENANT, "Leads", "Supervisor", false, now)
        .await
        .unwrap();

    // A SCIM `roles` value naming it grants nothing, and the create says so in the audit trail.
    let mut body = user("ada");
    body["roles"] = json!([{"value": "Supervisor"}]);
    let created: Value = app.post("/Users", &body).await.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(effective(&app, &id).await.0, json!([]));
    let create = app
        .audit()
        .await
        .into_iter()
        .find(|e| e.action == "user.create")
        .unwrap();
    assert!(
        create
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("not assignable")),
        "{:?}",
        create.reason
    );

    // An admin cannot assign it by hand.
    let refused = roles::assign_role(&app.store, TENANT, "ada", "Supervisor", false, now).await;
    assert!(
        matches!(&refused, Err(scim_gateway::tenant::TenantError::InvalidArgument(d)) if d.contains("not assignable")),
        "{refused:?}"
    );
    // The admin users table's role filter agrees: nobody holds it yet.
    let holders = || async {
        let path = format!("/tenants/{TENANT}/users?role=Supervisor");
        let page: Value = crate::admin::admin_get(&app, &path, &operator)
            .await
            .json()
            .await
            .unwrap();
        page["users"].as_array().unwrap().len()
    };
    assert_eq!(holders().await, 0);

    // A group mapped to it does.
    let group = app
        .post(
            "/Groups",
            &json!({"displayName": "Leads", "members": [{"value": id}]}),
        )
        .await;
    assert_eq!(group.status(), StatusCode::CREATED);
    assert_eq!(effective(&app, &id).await.0, json!(["Supervisor"]));
    assert_eq!(holders().await, 1);
}

#[tokio::test]
async fn making_a_role_not_assignable_takes_it_from_its_holders_by_hand() {
    let app = spawn_app().await;
    catalog(&app).await;
    let created: Value = app.post("/Users", &user("bob")).await.json().await.unwrap();
    let bob = created["id"].as_str().unwrap().to_string();
    let mut body = user("cy");
    body["roles"] = json!([{"value": "Admin"}]);
    let created: Value = app.post("/Users", &body).await.json().await.unwrap();
    let cy = created["id"].as_str().unwrap().to_string();
    roles::assign_role(&app.store, TENANT, "bob", "Admin", false, now_micros())
        .await
        .unwrap();
    assert_eq!(effective(&app, &bob).await.0, json!(["Admin"]));
    assert_eq!(effective(&app, &cy).await.0, json!(["Admin"]));

    let update = roles::RoleUpdate {
        assignable: Some(false),
        ..roles::RoleUpdate::default()
    };
    let role = roles::update_role_by(&app.store, "cli", TENANT, "Admin", update, now_micros())
        .await
        .unwrap();
    assert!(!role.assignable);
    assert_eq!(effective(&app, &bob).await.0, json!([]));
    assert_eq!(effective(&app, &cy).await.0, json!([]));
    for user in [&bob, &cy] {
        let told = roles_changed_of(&app, user, json!([]), json!(["Admin"])).await;
        assert_eq!(
            told.last(),
            Some(&(json!([]), json!(["Admin"]))),
            "{user}: {told:?}"
        );
    }

    // Back to assignable: both hold it again.
    let update = roles::RoleUpdate {
        assignable: Some(true),
        ..roles::RoleUpdate::default()
    };
    roles::update_role_by(&app.store, "cli", TENANT, "Admin", update, now_micros())
        .await
        .unwrap();
    assert_eq!(effective(&app, &bob).await.0, json!(["Admin"]));
    assert_eq!(
        roles_changed_of(&app, &cy, json!(["Admin"]), json!([]))
            .await
            .last(),
        Some(&(json!(["Admin"]), json!([])))
    );
}
