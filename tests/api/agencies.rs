//! Agencies: the roles a user holds at an agency ripple down to every environment below it,
//! computed when asked (a change at the agency reaches every environment at once); an
//! environment's override replaces them for one user there and below; chains stay acyclic and
//! at most four tenants long.

use std::process::Command;

use reqwest::StatusCode;
use serde_json::{Value, json};

use scim_gateway::clock::now_micros;
use scim_gateway::store::{TenantId, UserId};
use scim_gateway::tenant::agencies::{self, InheritedAccess};
use scim_gateway::tenant::tenants::{self, create_tenant_by};
use scim_gateway::tenant::{TenantError, TenantSlug, roles};

use crate::helpers::{TENANT, TestApp, fresh_database_url, spawn_app, user};

/// Creates tenant `slug` as an environment of `parent` (none: its own), through the rules.
async fn environment(
    app: &TestApp,
    slug: &str,
    parent: Option<&str>,
) -> Result<TenantId, TenantError> {
    let slug = TenantSlug::parse(slug).unwrap();
    let created = create_tenant_by(&app.store, "cli", &slug, None, None, parent, now_micros());
    Ok(created.await?.id)
}

/// What the user holds in the environment `slug`: `None` when they are no agency user of it.
async fn access(app: &TestApp, slug: &str, user: &UserId) -> Option<InheritedAccess> {
    let environment = tenants::find_tenant(&app.store, slug).await.unwrap();
    agencies::inherited_access(&app.store, &environment.id, user)
        .await
        .unwrap()
}

async fn role_names(app: &TestApp, slug: &str, user: &UserId) -> Option<Vec<String>> {
    access(app, slug, user).await.map(|a| a.roles)
}

fn names(list: &[&str]) -> Option<Vec<String>> {
    Some(list.iter().map(|s| s.to_string()).collect())
}

#[tokio::test]
async fn roles_at_the_agency_ripple_down_to_its_environments_unless_overridden() {
    let app = spawn_app().await;
    let now = now_micros();
    let permissions = |list: &[&str]| list.iter().map(|p| p.to_string()).collect::<Vec<_>>();
    for (name, granted) in [
        ("Supervisor", permissions(&["conversations:*"])),
        ("Analyst", permissions(&["analytics:view"])),
    ] {
        roles::create_role(&app.store, TENANT, name, &granted, None, false, now)
            .await
            .unwrap();
    }
    let created: Value = app.post("/Users", &user("ada")).await.json().await.unwrap();
    let ada = UserId::new(created["id"].as_str().unwrap());
    roles::assign_role(&app.store, TENANT, "ada", "Supervisor", false, now)
        .await
        .unwrap();
    // Two environments of the agency, and a third level below the first.
    environment(&app, "studio-a", Some(TENANT)).await.unwrap();
    environment(&app, "studio-b", Some(TENANT)).await.unwrap();
    environment(&app, "studio-a-staging", Some("studio-a"))
        .await
        .unwrap();
    for slug in ["studio-a", "studio-b", "studio-a-staging"] {
        assert_eq!(
            role_names(&app, slug, &ada).await,
            names(&["Supervisor"]),
            "{slug}"
        );
    }
    let held = access(&app, "studio-b", &ada).await.unwrap();
    assert!(
        held.permissions
            .contains(&"conversations:manage".to_string())
    );
    assert!(!held.overridden);
    // The agency's own user is no agency user of the agency itself.
    assert_eq!(access(&app, TENANT, &ada).await, None);

    // An override in one environment replaces the inherited roles there and below it only.
    roles::create_role(
        &app.store,
        "studio-a",
        "Viewer",
        &permissions(&["conversations:view"]),
        None,
        false,
        now,
    )
    .await
    .unwrap();
    let viewer = ["viewer".to_string()];
    agencies::override_by(&app.store, "cli", "studio-a", &ada, Some(&viewer), now)
        .await
        .unwrap();
    assert_eq!(role_names(&app, "studio-a", &ada).await, names(&["Viewer"]));
    assert!(access(&app, "studio-a", &ada).await.unwrap().overridden);
    assert_eq!(
        role_names(&app, "studio-a-staging", &ada).await,
        names(&["Viewer"])
    );
    assert_eq!(
        role_names(&app, "studio-b", &ada).await,
        names(&["Supervisor"])
    );
    // Each place whose roles the override changed tells it in its own feed.
    for slug in ["studio-a", "studio-a-staging"] {
        let told = app
            .outbox_events_of(slug, "user.roles_changed", |e| {
                e.resource_id.as_deref() == Some(ada.as_str())
            })
            .await;
        let last = told.last().unwrap_or_else(|| panic!("{slug}: no event"));
        assert_eq!(last.data["added"], json!(["Viewer"]), "{slug}");
        assert_eq!(last.data["removed"], json!(["Supervisor"]), "{slug}");
    }
    // (The events above are settled, and studio-b's would be older than them.)
    let studio_b = tenants::find_tenant(&app.store, "studio-b").await.unwrap();
    let elsewhere = app
        .store
        .event_feed(
            scim_gateway::store::FeedScope::Tenant(&studio_b.id),
            None,
            100,
        )
        .await
        .unwrap();
    assert!(elsewhere.is_empty(), "{elsewhere:?}");

    // A change at the agency reaches every environment that inherits, at once.
    roles::assign_role(&app.store, TENANT, "ada", "Analyst", false, now)
        .await
        .unwrap();
    assert_eq!(
        role_names(&app, "studio-b", &ada).await,
        names(&["Analyst", "Supervisor"])
    );
    assert_eq!(role_names(&app, "studio-a", &ada).await, names(&["Viewer"]));
    // The change is told in the agency's feed and in the feeds of the environments where ada
    // inherits it; not in studio-a, whose override decides there and below it.
    for slug in [TENANT, "studio-b"] {
        let told = app
            .outbox_events_of(slug, "user.roles_changed", |e| {
                e.resource_id.as_deref() == Some(ada.as_str())
                    && e.data["added"] == json!(["Analyst"])
            })
            .await;
        let last = told.last().unwrap_or_else(|| panic!("{slug}: no event"));
        if slug != TENANT {
            assert_eq!(last.data["agency"], TENANT);
        }
    }
    for slug in ["studio-a", "studio-a-staging"] {
        let told = app
            .outbox_events_of(slug, "user.roles_changed", |e| {
                e.data["added"] == json!(["Viewer"])
            })
            .await;
        assert!(
            told.iter().all(|e| e.data["added"] != json!(["Analyst"])),
            "{slug}: {told:?}"
        );
    }

    // An empty override takes the user's access in one environment away; lifting it gives the
    // inherited roles back.
    agencies::override_by(&app.store, "cli", "studio-b", &ada, Some(&[]), now)
        .await
        .unwrap();
    assert_eq!(role_names(&app, "studio-b", &ada).await, names(&[]));
    agencies::override_by(&app.store, "cli", "studio-b", &ada, None, now)
        .await
        .unwrap();
    assert_eq!(
        role_names(&app, "studio-b", &ada).await,
        names(&["Analyst", "Supervisor"])
    );
    let again = agencies::override_by(&app.store, "cli", "studio-b", &ada, None, now).await;
    assert!(matches!(again, Err(TenantError::NotFound(_))), "{again:?}");

    // Overrides are for agency users, with the environment's own roles.
    let own = agencies::override_by(&app.store, "cli", TENANT, &ada, Some(&[]), now).await;
    assert!(
        matches!(own, Err(TenantError::InvalidArgument(_))),
        "{own:?}"
    );
    let foreign = ["Supervisor".to_string()];
    let unknown =
        agencies::override_by(&app.store, "cli", "studio-b", &ada, Some(&foreign), now).await;
    assert!(
        matches!(unknown, Err(TenantError::NotFound(_))),
        "{unknown:?}"
    );

    // A user deleted at the agency reaches no environment.
    let id = created["id"].as_str().unwrap();
    assert_eq!(
        app.delete(&format!("/Users/{id}")).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(access(&app, "studio-b", &ada).await, None);
}

#[tokio::test]
async fn an_agency_chain_has_no_cycle_and_at_most_four_tenants() {
    let app = spawn_app().await;
    let now = now_micros();
    environment(&app, "level-2", Some(TENANT)).await.unwrap();
    environment(&app, "level-3", Some("level-2")).await.unwrap();
    environment(&app, "level-4", Some("level-3")).await.unwrap();
    let too_deep = environment(&app, "level-5", Some("level-4")).await;
    assert!(
        matches!(&too_deep, Err(TenantError::InvalidArgument(d)) if d.contains("at most 4")),
        "{too_deep:?}"
    );
    assert!(
        tenants::find_tenant(&app.store, "level-5").await.is_err(),
        "nothing written"
    );
    for parent in ["level-4", TENANT] {
        let cycle = agencies::set_parent_by(&app.store, "cli", TENANT, Some(parent), now).await;
        assert!(
            matches!(&cycle, Err(TenantError::InvalidArgument(d)) if d.contains("its own agency")),
            "{parent}: {cycle:?}"
        );
    }
    // A tenant with an environment of its own moves under another with its whole subtree
    // counted.
    environment(&app, "other", None).await.unwrap();
    environment(&app, "other-child", Some("other"))
        .await
        .unwrap();
    let deep = agencies::set_parent_by(&app.store, "cli", "other", Some("level-3"), now).await;
    assert!(
        matches!(deep, Err(TenantError::InvalidArgument(_))),
        "{deep:?}"
    );
    let moved = agencies::set_parent_by(&app.store, "cli", "other", Some("level-2"), now)
        .await
        .unwrap();
    assert!(moved.parent_id.is_some());
    let told = app
        .outbox_events_of("other", "tenant.parent_changed", |e| {
            e.data["parent"] == "level-2"
        })
        .await;
    assert_eq!(told.len(), 1, "{told:?}");
    let alone = agencies::set_parent_by(&app.store, "cli", "other", None, now)
        .await
        .unwrap();
    assert_eq!(alone.parent_id, None);
}

#[tokio::test]
async fn agency_commands_run_from_the_cli() {
    let db = fresh_database_url().await;
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_scim-gateway"))
            .arg("--database")
            .arg(&db)
            .args(args)
            .output()
            .unwrap()
    };
    let ok = |args: &[&str]| {
        let out = run(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    ok(&["tenant", "create", "agency"]);
    let created = ok(&["--json", "tenant", "create", "studio", "--parent", "agency"]);
    let studio: Value = serde_json::from_str(&created).unwrap();
    assert!(studio["parentId"].is_string());
    assert!(
        !run(&["tenant", "create", "orphan", "--parent", "nowhere"])
            .status
            .success()
    );
    ok(&[
        "role",
        "create",
        "--tenant",
        "agency",
        "Lead",
        "--permissions",
        "users:view",
    ]);
    ok(&[
        "role",
        "create",
        "--tenant",
        "studio",
        "Guest",
        "--permissions",
        "analytics:view",
    ]);
    let csv = std::env::temp_dir().join(format!("agency-{}.csv", uuid::Uuid::new_v4()));
    std::fs::write(&csv, "userName\nada\n").unwrap();
    let imported = run(&["import", "--tenant", "agency", csv.to_str().unwrap()]);
    std::fs::remove_file(&csv).unwrap();
    assert!(imported.status.success());
    ok(&[
        "role", "assign", "--tenant", "agency", "--user", "ada", "--role", "Lead",
    ]);

    let roles = |out: &str| serde_json::from_str::<Value>(out).unwrap();
    let inherited = ok(&[
        "--json", "agency", "roles", "--tenant", "studio", "--agency", "agency", "--user", "ada",
    ]);
    assert_eq!(roles(&inherited)["roles"], json!(["Lead"]));
    assert_eq!(roles(&inherited)["overridden"], false);
    let guest = ok(&[
        "--json", "agency", "override", "--tenant", "studio", "--agency", "agency", "--user",
        "ada", "--role", "Guest",
    ]);
    assert_eq!(roles(&guest)["roles"], json!(["Guest"]));
    assert_eq!(roles(&guest)["overridden"], true);
    let none = ok(&[
        "--json",
        "agency",
        "override",
        "--tenant",
        "studio",
        "--agency",
        "agency",
        "--user",
        "ada",
        "--no-access",
    ]);
    assert_eq!(roles(&none)["roles"], json!([]));
    let back = ok(&[
        "--json",
        "agency",
        "override",
        "--tenant",
        "studio",
        "--agency",
        "agency",
        "--user",
        "ada",
        "--inherit",
    ]);
    assert_eq!(roles(&back)["roles"], json!(["Lead"]));
    ok(&["tenant", "set-parent", "studio", "--none"]);
    assert!(
        !run(&[
            "agency", "roles", "--tenant", "studio", "--agency", "agency", "--user", "ada"
        ])
        .status
        .success()
    );
}

#[tokio::test]
async fn the_admin_api_shows_where_agency_users_reach_and_sets_overrides() {
    let app = spawn_app().await;
    let now = now_micros();
    let (operator, _) = crate::admin::operator_token(&app).await;
    let supervise = ["users:view".to_string()];
    roles::create_role(
        &app.store,
        TENANT,
        "Supervisor",
        &supervise,
        None,
        false,
        now,
    )
    .await
    .unwrap();
    let mut ids = Vec::new();
    for name in ["ada", "bob"] {
        let created: Value = app.post("/Users", &user(name)).await.json().await.unwrap();
        ids.push(created["id"].as_str().unwrap().to_string());
    }
    roles::assign_role(&app.store, TENANT, "ada", "Supervisor", false, now)
        .await
        .unwrap();
    environment(&app, "studio-a", Some(TENANT)).await.unwrap();
    environment(&app, "studio-b", Some(TENANT)).await.unwrap();
    environment(&app, "studio-a-staging", Some("studio-a"))
        .await
        .unwrap();
    let send = |method: reqwest::Method, path: String, body: Option<Value>| {
        let mut request = app
            .client
            .request(method, format!("{}/admin/v1{path}", app.root))
            .bearer_auth(&operator);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send()
    };
    let ada = &ids[0];

    // The agency's admin sees which environments ada reaches, and with which roles.
    let reached = send(
        reqwest::Method::GET,
        format!("/tenants/{TENANT}/users/{ada}/environments"),
        None,
    )
    .await
    .unwrap();
    assert_eq!(reached.status(), StatusCode::OK);
    let reached: Value = reached.json().await.unwrap();
    let summary: Vec<(String, i64, Value)> = reached
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["tenant"].as_str().unwrap().to_string(),
                e["level"].as_i64().unwrap(),
                e["roles"].clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("studio-a".to_string(), 1, json!(["Supervisor"])),
            ("studio-b".to_string(), 1, json!(["Supervisor"])),
            ("studio-a-staging".to_string(), 2, json!(["Supervisor"])),
        ]
    );

    // studio-b's admin takes her access there away; the agency's view shows it.
    let cut = send(
        reqwest::Method::PUT,
        format!("/tenants/studio-b/agency-users/{ada}/roles"),
        Some(json!({"roles": []})),
    )
    .await
    .unwrap();
    assert_eq!(cut.status(), StatusCode::NO_CONTENT);
    let reached: Value = send(
        reqwest::Method::GET,
        format!("/tenants/{TENANT}/users/{ada}/environments"),
        None,
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(reached[1]["tenant"], "studio-b");
    assert_eq!(reached[1]["roles"], json!([]));
    assert_eq!(reached[1]["overridden"], true);

    // An environment's admin lists the agency's users, marked as inherited, page by page.
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..4 {
        let query = after
            .as_ref()
            .map_or(String::new(), |a| format!("&after={a}"));
        let page: Value = send(
            reqwest::Method::GET,
            format!("/tenants/studio-a-staging/agency-users?limit=1{query}"),
            None,
        )
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        for listed in page["users"].as_array().unwrap() {
            assert_eq!(listed["agency"], TENANT);
            seen.push((
                listed["userName"].as_str().unwrap().to_string(),
                listed["roles"].clone(),
            ));
        }
        after = page["nextAfter"].as_str().map(str::to_string);
        if after.is_none() {
            break;
        }
    }
    let mut expected = vec![
        ("ada".to_string(), json!(["Supervisor"])),
        ("bob".to_string(), json!([])),
    ];
    if ids[1] < ids[0] {
        expected.reverse();
    }
    assert_eq!(seen, expected);
    let bad = send(
        reqwest::Method::GET,
        "/tenants/studio-a/agency-users?after=nonsense".to_string(),
        None,
    )
    .await
    .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);

    // Operators create environments and move tenants through the API too.
    let created = send(
        reqwest::Method::POST,
        "/tenants".to_string(),
        Some(json!({"slug": "studio-c", "parent": TENANT})),
    )
    .await
    .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(created.json::<Value>().await.unwrap()["parent"], TENANT);
    let shown: Value = send(reqwest::Method::GET, "/tenants/studio-c".to_string(), None)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(shown["parent"], TENANT);
    let cycle = send(
        reqwest::Method::PUT,
        format!("/tenants/{TENANT}/parent"),
        Some(json!({"parent": "studio-c"})),
    )
    .await
    .unwrap();
    assert_eq!(cycle.status(), StatusCode::BAD_REQUEST);
    let alone = send(
        reqwest::Method::PUT,
        "/tenants/studio-c/parent".to_string(),
        Some(json!({"parent": null})),
    )
    .await
    .unwrap();
    assert_eq!(alone.status(), StatusCode::OK);
    assert_eq!(alone.json::<Value>().await.unwrap()["parent"], Value::Null);

    // Lifting the override lets her inherit again; there is nothing left to lift after.
    let path = format!("/tenants/studio-b/agency-users/{ada}/roles");
    let lifted = send(reqwest::Method::DELETE, path.clone(), None)
        .await
        .unwrap();
    assert_eq!(lifted.status(), StatusCode::NO_CONTENT);
    let again = send(reqwest::Method::DELETE, path, None).await.unwrap();
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
}
