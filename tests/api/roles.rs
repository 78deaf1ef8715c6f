//! Roles and permissions: effective roles are the union of SCIM role values naming catalog roles,
//! roles mapped from groups and user types, the role template a user names, and admin
//! assignments; unknown values and templates grant nothing and are audited.

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
        run(&[
            "role",
            "map",
            "--tenant",
            "umbrella",
            "--user-type",
            "supervisor",
            "--role",
            "Supervisor"
        ])
        .status
        .success()
    );
    assert!(
        !run(&[
            "role",
            "map",
            "--tenant",
            "umbrella",
            "--role",
            "Supervisor"
        ])
        .status
        .success(),
        "a mapping names a group or a user type"
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
    assert_eq!(listed[0]["mappedUserTypes"], json!(["supervisor"]));
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

/// An admin API request with the operator token; its status and JSON body (null when none).
async fn admin_send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    operator: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = app
        .client
        .request(
            method,
            format!("{}/admin/v1/tenants/{TENANT}{path}", app.root),
        )
        .bearer_auth(operator);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_user_type_and_a_role_template_grant_their_roles() {
    use reqwest::Method;
    let app = spawn_app().await;
    let (operator, _) = crate::admin::operator_token(&app).await;
    let supervisor =
        json!({"name": "Supervisor", "permissions": ["conversations:*"], "assignable": false});
    let template = json!({"name": "Agent Basics", "permissions": ["analytics:view", "users:view"], "template": true});
    for role in [supervisor, template] {
        let (status, _) = admin_send(&app, Method::POST, "/roles", &operator, Some(role)).await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let mapping = "/roles/Supervisor/user-types/supervisor";
    let (status, _) = admin_send(&app, Method::PUT, mapping, &operator, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, listed) = admin_send(&app, Method::GET, "/roles", &operator, None).await;
    let listed_supervisor = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "Supervisor")
        .unwrap();
    assert_eq!(listed_supervisor["userTypes"], json!(["supervisor"]));

    // The type in another case, and the template by name in another case, grant both roles:
    // the not-assignable Supervisor comes from the mapping.
    let mut body = user("ada");
    body["userType"] = json!("Supervisor");
    body[EXT] = json!({"roleTemplate": "agent basics"});
    let created: Value = app.post("/Users", &body).await.json().await.unwrap();
    let ada = created["id"].as_str().unwrap().to_string();
    let (held, permissions) = effective(&app, &ada).await;
    assert_eq!(held, json!(["Agent Basics", "Supervisor"]));
    assert!(
        permissions
            .as_array()
            .unwrap()
            .contains(&json!("conversations:manage"))
    );
    assert!(
        permissions
            .as_array()
            .unwrap()
            .contains(&json!("analytics:view"))
    );

    // The admin's view says where each comes from, and the role filter agrees.
    let (_, detail) =
        admin_send(&app, Method::GET, &format!("/users/{ada}"), &operator, None).await;
    let sources = |name: &str| {
        detail["roles"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .map(|r| r["sources"].clone())
    };
    assert_eq!(
        sources("Supervisor"),
        Some(json!([{"kind": "userType", "group": null, "userType": "Supervisor"}]))
    );
    assert_eq!(
        sources("Agent Basics"),
        Some(json!([{"kind": "template", "group": null}]))
    );
    let holders = |role: &'static str| {
        let (app, operator) = (&app, &operator);
        async move {
            let path = format!("/users?role={}", role.replace(' ', "+"));
            let (_, page) = admin_send(app, Method::GET, &path, operator, None).await;
            page["users"].as_array().map_or(0, Vec::len)
        }
    };
    assert_eq!(holders("Supervisor").await, 1);
    assert_eq!(holders("Agent Basics").await, 1);

    // Unlocked, a PATCH of the type moves the user out of the mapped role, and back.
    crate::helpers::set_locked_attributes(&app, &[]).await;
    for (user_type, holding) in [("Agent", 0), ("SUPERVISOR", 1)] {
        let operation = json!([{"op": "replace", "path": "userType", "value": user_type}]);
        let answer = app.patch_ops(&format!("/Users/{ada}"), operation).await;
        assert_eq!(answer.status(), StatusCode::OK);
        assert_eq!(holders("Supervisor").await, holding, "{user_type}");
    }

    // A template that is not in the catalog, or a role that is not a template, grants nothing
    // and is audited as a warning.
    for (name, named) in [("bob", "Nope"), ("cy", "Supervisor")] {
        let mut body = user(name);
        body[EXT] = json!({"roleTemplate": named});
        let created: Value = app.post("/Users", &body).await.json().await.unwrap();
        let id = created["id"].as_str().unwrap().to_string();
        assert_eq!(effective(&app, &id).await.0, json!([]));
        let (_, detail) =
            admin_send(&app, Method::GET, &format!("/users/{id}"), &operator, None).await;
        assert_eq!(detail["unknownRoleTemplate"], named);
        let create = app
            .audit()
            .await
            .into_iter()
            .find(|e| e.action == "user.create" && e.target_name.as_deref() == Some(name))
            .unwrap();
        assert!(
            create
                .reason
                .as_deref()
                .is_some_and(|r| r.contains(&format!("roleTemplate '{named}'"))),
            "{:?}",
            create.reason
        );
    }

    // A role that stops being a template leaves the users naming it, and comes back.
    for template in [false, true] {
        let (status, _) = admin_send(
            &app,
            Method::PATCH,
            "/roles/Agent%20Basics",
            &operator,
            Some(json!({"template": template})),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let expected = if template {
            json!(["Agent Basics", "Supervisor"])
        } else {
            json!(["Supervisor"])
        };
        assert_eq!(effective(&app, &ada).await.0, expected);
    }
    let lost = roles_changed_of(&app, &ada, json!([]), json!(["Agent Basics"])).await;
    assert!(!lost.is_empty());

    // Dropping the template from the user tells its roles changed, naming the attribute.
    let patched = app
        .patch_ops(
            &format!("/Users/{ada}"),
            json!([{"op": "remove", "path": format!("{EXT}:roleTemplate")}]),
        )
        .await;
    assert_eq!(patched.status(), StatusCode::OK);
    assert_eq!(effective(&app, &ada).await.0, json!(["Supervisor"]));
    let told = app
        .outbox_events("user.roles_changed", |e| {
            e.resource_id.as_deref() == Some(ada.as_str())
                && e.data["cause"] == "roleTemplate attribute"
        })
        .await;
    assert_eq!(
        told.last().unwrap().data["removed"],
        json!(["Agent Basics"])
    );

    // The store's own reckoning (what events tell) counts the user type too.
    let helper = json!({"name": "Helper", "permissions": ["users:view"]});
    let (status, _) = admin_send(&app, Method::POST, "/roles", &operator, Some(helper)).await;
    assert_eq!(status, StatusCode::CREATED);
    let assign = format!("/users/{ada}/roles/Helper");
    let (status, _) = admin_send(&app, Method::PUT, &assign, &operator, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let told = roles_changed_of(&app, &ada, json!(["Helper"]), json!([])).await;
    let held_now = app
        .outbox_events("user.roles_changed", |e| {
            e.data["added"] == json!(["Helper"])
        })
        .await;
    assert!(!told.is_empty());
    assert_eq!(
        held_now.last().unwrap().data["roles"],
        json!(["Helper", "Supervisor"])
    );
    let (status, _) = admin_send(&app, Method::DELETE, &assign, &operator, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    // Unmapping the type is one event for the type, and the role is gone.
    let (status, _) = admin_send(&app, Method::DELETE, mapping, &operator, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = admin_send(&app, Method::DELETE, mapping, &operator, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "no such mapping any more");
    assert_eq!(effective(&app, &ada).await.0, json!([]));
    assert_eq!(holders("Supervisor").await, 0);
    let told = app
        .outbox_events("user_type.roles_changed", |e| {
            e.data["removed"] == json!(["Supervisor"])
        })
        .await;
    assert_eq!(told.last().unwrap().data["userType"], "supervisor");
}

#[tokio::test]
async fn admin_user_types_have_crm_access_when_the_attribute_is_absent() {
    let app = spawn_app().await;
    let mut body = user("root");
    body["userType"] = json!("Tenant_Admin");
    let created = app.post("/Users", &body).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    assert_eq!(created[EXT]["crmAccess"], true);
    assert!(created["schemas"].as_array().unwrap().contains(&json!(EXT)));
    let agent: Value = app
        .post("/Users", &user("agent"))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        agent
            .get(EXT)
            .is_none_or(|ext| ext.get("crmAccess").is_none())
    );

    // Filters see it, and removing it leaves it on.
    let filter = format!("{EXT}:crmAccess eq true");
    let found: Value = app
        .client
        .get(app.url("/Users"))
        .query(&[("filter", filter.as_str())])
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(found["totalResults"], 1);
    let id = created["id"].as_str().unwrap();
    let patched = app
        .patch_ops(
            &format!("/Users/{id}"),
            json!([{"op": "remove", "path": format!("{EXT}:crmAccess")}]),
        )
        .await;
    assert_eq!(patched.status(), StatusCode::OK);
    assert_eq!(
        patched.json::<Value>().await.unwrap()[EXT]["crmAccess"],
        true
    );
    let refused = app
        .patch_ops(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "path": format!("{EXT}:crmAccess"), "value": false}]),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
}
