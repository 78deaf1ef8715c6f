//! The admin API (`/admin/v1`): operator tokens, problem details, tenants, connections and their
//! sync state, and the OpenAPI document that describes every route. Tenant admins' sessions are
//! tested with the real OpenID Provider in `sso.rs`.

use std::process::Command;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TENANT, TestApp, spawn_app, spawn_app_with, user};
use scim_gateway::clock::now_micros;
use scim_gateway::store::TokenPrefix;
use scim_gateway::tenant::operators;

/// A new operator token of the app's database, and its visible prefix.
pub async fn operator_token(app: &TestApp) -> (String, TokenPrefix) {
    let (secret, record) = operators::create_operator_token(&app.store, "ops", None, now_micros())
        .await
        .unwrap();
    (secret.expose().to_string(), record.prefix)
}

/// GET of an admin path with a bearer token.
pub async fn admin_get(app: &TestApp, path: &str, token: &str) -> reqwest::Response {
    app.client
        .get(format!("{}/admin/v1{path}", app.root))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

/// POST of an admin path (no body) with a bearer token.
pub async fn admin_post(app: &TestApp, path: &str, token: &str) -> reqwest::Response {
    app.client
        .post(format!("{}/admin/v1{path}", app.root))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

/// Asserts an RFC 9457 problem with this status; returns its body.
pub async fn assert_problem(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(response.status().as_u16(), status);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/problem+json"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], status, "{body}");
    assert_eq!(body["type"], "about:blank");
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()));
    body
}

#[tokio::test]
async fn an_operator_token_lists_every_tenant_and_is_refused_at_once_when_revoked() {
    let app = spawn_app().await;
    let (token, prefix) = operator_token(&app).await;

    let response = admin_get(&app, "/tenants", &token).await;
    assert_eq!(response.status(), StatusCode::OK);
    let tenants: Value = response.json().await.unwrap();
    assert_eq!(tenants[0]["slug"], TENANT);
    assert_eq!(tenants[0]["seatsUsed"], 0);
    assert_eq!(
        tenants[0]["lockedAttributes"],
        json!(["userName", "userType"])
    );

    operators::revoke_operator_token(&app.store, &prefix, now_micros())
        .await
        .unwrap();
    assert_problem(admin_get(&app, "/tenants", &token).await, 401).await;
}

#[tokio::test]
async fn scim_tokens_never_reach_the_admin_api_nor_operator_tokens_scim() {
    let app = spawn_app().await;
    let (operator, _) = operator_token(&app).await;
    assert_problem(admin_get(&app, "/tenants", &app.token).await, 401).await;
    assert_problem(
        admin_get(&app, &format!("/tenants/{TENANT}"), &app.token).await,
        401,
    )
    .await;
    let response = app
        .get_with(&format!("{}/Users", app.base), &operator)
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // No credential, a garbage one, a truncated operator token: the same 401, no hint.
    let none = app
        .client
        .get(format!("{}/admin/v1/tenants", app.root))
        .send()
        .await
        .unwrap();
    let body = assert_problem(none, 401).await;
    assert_problem(admin_get(&app, "/tenants", "garbage").await, 401).await;
    let truncated = &operator[..operator.len() - 1];
    let other = assert_problem(admin_get(&app, "/tenants", truncated).await, 401).await;
    assert_eq!(body["detail"], other["detail"]);
}

#[tokio::test]
async fn unknown_tenants_connections_and_paths_are_problem_404s() {
    let app = spawn_app().await;
    let (token, _) = operator_token(&app).await;
    assert_problem(admin_get(&app, "/tenants/nobody", &token).await, 404).await;
    assert_problem(
        admin_get(
            &app,
            &format!("/tenants/{TENANT}/connections/okta/sync"),
            &token,
        )
        .await,
        404,
    )
    .await;
    assert_problem(admin_get(&app, "/no/such/thing", &token).await, 404).await;
}

#[tokio::test]
async fn connections_show_their_live_tokens_and_last_request() {
    let app = spawn_app().await;
    let (token, _) = operator_token(&app).await;
    let path = format!("/tenants/{TENANT}/connections");
    let before: Value = admin_get(&app, &path, &token).await.json().await.unwrap();
    assert_eq!(before[0]["name"], "entra");
    assert_eq!(before[0]["liveTokens"], 1);
    assert_eq!(before[0]["lastRequestAt"], Value::Null);

    app.create_user("first").await;
    let after: Value = admin_get(&app, &path, &token).await.json().await.unwrap();
    assert!(after[0]["lastRequestAt"].is_string(), "{after}");
}

/// The sync state of the app's `entra` connection.
async fn sync_state(app: &TestApp, token: &str) -> Value {
    let response = admin_get(
        app,
        &format!("/tenants/{TENANT}/connections/entra/sync"),
        token,
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

#[tokio::test]
async fn seat_limit_and_locked_attribute_rejections_show_in_sync_state_and_flip_its_verdict() {
    let app = spawn_app_with(Some(1)).await;
    let (token, _) = operator_token(&app).await;
    let idle = sync_state(&app, &token).await;
    assert_eq!(idle["verdict"], "idle", "{idle}");

    let created = app.create_user("first").await;
    let healthy = sync_state(&app, &token).await;
    assert_eq!(healthy["verdict"], "healthy", "{healthy}");
    assert_eq!(healthy["lastHour"]["creates"], 1);
    assert_eq!(healthy["lastDay"]["creates"], 1);
    assert!(healthy["lastWriteAt"].is_string());

    // Over the seat limit: refused, counted, and shown with what was asked.
    let refused = app.post("/Users", &user("second")).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let failing = sync_state(&app, &token).await;
    assert_eq!(failing["verdict"], "failing", "{failing}");
    assert_eq!(failing["lastHour"]["rejections"], 1);
    let seat = &failing["lastRejections"][0];
    assert_eq!(seat["status"], 403);
    assert_eq!(seat["scimType"], Value::Null);
    assert_eq!(seat["action"], "user.create");
    assert_eq!(seat["request"], format!("POST /scim/v2/{TENANT}/Users"));
    assert!(
        seat["detail"]
            .as_str()
            .unwrap()
            .contains("seat limit 1 reached"),
        "{seat}"
    );

    // A locked attribute (userName is locked by default): refused whole, shown first.
    let id = created["id"].as_str().unwrap();
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "userName", "value": "renamed"}]});
    let locked = app
        .client
        .patch(app.url(&format!("/Users/{id}")))
        .bearer_auth(&app.token)
        .json(&patch)
        .send()
        .await
        .unwrap();
    assert_eq!(locked.status(), StatusCode::BAD_REQUEST);
    let state = sync_state(&app, &token).await;
    assert_eq!(state["lastHour"]["rejections"], 2);
    let newest = &state["lastRejections"][0];
    assert_eq!(newest["action"], "user.patch");
    assert_eq!(newest["status"], 400);
    assert_eq!(newest["scimType"], "mutability");
    assert_eq!(newest["targetId"], id);
    assert_eq!(
        newest["request"],
        format!("PATCH /scim/v2/{TENANT}/Users/{id}")
    );
    assert!(
        newest["detail"].as_str().unwrap().contains("'userName'"),
        "{newest}"
    );
    assert_eq!(state["lastRejections"][1]["action"], "user.create");

    // Accepted writes outnumber the refusals again: degraded, not failing.
    for title in ["a", "b"] {
        let change = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "title", "value": title}]});
        let ok = app
            .client
            .patch(app.url(&format!("/Users/{id}")))
            .bearer_auth(&app.token)
            .json(&change)
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), StatusCode::OK);
    }
    let degraded = sync_state(&app, &token).await;
    assert_eq!(degraded["lastHour"]["updates"], 2);
    assert_eq!(degraded["verdict"], "degraded", "{degraded}");
}

#[tokio::test]
async fn the_client_quirk_tolerances_a_connection_needed_are_counted() {
    let app = spawn_app().await;
    let (token, _) = operator_token(&app).await;
    assert_eq!(sync_state(&app, &token).await["tolerances"], json!([]));
    let created = app.create_user("quirky").await;
    let id = created["id"].as_str().unwrap();
    // Entra's capitalised op names, twice; once with a boolean sent as a string too.
    for body in [
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "Replace", "path": "title", "value": "a"}]}),
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "Replace", "path": "active", "value": "False"}]}),
    ] {
        let response = app
            .client
            .patch(app.url(&format!("/Users/{id}")))
            .bearer_auth(&app.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    let state = sync_state(&app, &token).await;
    let audited: Vec<String> = app
        .audit()
        .await
        .into_iter()
        .flat_map(|e| e.tolerances)
        .collect();
    let count = |name: &str| audited.iter().filter(|t| *t == name).count();
    assert_eq!(count("capitalised_operation"), 2, "{audited:?}");
    assert_eq!(
        state["tolerances"][0],
        json!({"tolerance": "capitalised_operation", "lastHour": 2, "lastDay": 2}),
        "{state}"
    );
    let listed: Vec<&str> = state["tolerances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tolerance"].as_str().unwrap())
        .collect();
    let mut expected: Vec<&str> = audited.iter().map(String::as_str).collect();
    expected.sort();
    expected.dedup();
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(sorted, expected);
}

#[tokio::test]
async fn deactivations_and_deletes_are_counted_apart() {
    let app = spawn_app().await;
    let (token, _) = operator_token(&app).await;
    let created = app.create_user("leaver").await;
    let id = created["id"].as_str().unwrap();
    let mut suspended = user("leaver");
    suspended["active"] = json!(false);
    assert_eq!(
        app.put(&format!("/Users/{id}"), &suspended).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.delete(&format!("/Users/{id}")).await.status(),
        StatusCode::NO_CONTENT
    );
    let state = sync_state(&app, &token).await;
    let day = &state["lastDay"];
    assert_eq!(
        (
            day["creates"].clone(),
            day["updates"].clone(),
            day["deactivations"].clone(),
            day["deletes"].clone()
        ),
        (json!(1), json!(0), json!(1), json!(1)),
        "{state}"
    );
}

#[tokio::test]
async fn the_openapi_document_describes_every_admin_route_and_each_answers() {
    let app = spawn_app().await;
    let (token, _) = operator_token(&app).await;
    let someone = app.create_user("someone").await;
    let now = now_micros();
    let viewer = ["users:view".to_string()];
    scim_gateway::tenant::roles::create_role(
        &app.store, TENANT, "Viewer", &viewer, None, false, now,
    )
    .await
    .unwrap();
    scim_gateway::tenant::roles::map_group(&app.store, TENANT, "Leads", "Viewer", false, now)
        .await
        .unwrap();
    let response = app
        .client
        .get(format!("{}/admin/v1/openapi.json", app.root))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let document: Value = response.json().await.unwrap();
    assert_eq!(document["openapi"], "3.1.0");
    assert_eq!(document["servers"][0]["url"], "/admin/v1");
    // Every reference names a schema the document holds.
    let text = document.to_string();
    for piece in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = piece.split('"').next().unwrap();
        assert!(
            document["components"]["schemas"][name].is_object(),
            "{name} is referred to but not in the document"
        );
    }
    // Webhook endpoints to name, the tenant's and an operator-wide one (their secrets cannot be
    // opened: this gateway has no secret key).
    let endpoint = "whe_openapi";
    let operator_endpoint = "whe_operator";
    let tenant = app.store.tenant_by_slug(TENANT).await.unwrap().unwrap();
    let mut tx = app.store.begin().await.unwrap();
    for (id, tenant_id) in [(endpoint, Some(tenant.id)), (operator_endpoint, None)] {
        tx.insert_webhook_endpoint(&scim_gateway::store::WebhookEndpointRecord {
            id: id.into(),
            tenant_id,
            url: "https://hooks.example.com/".into(),
            secret_sealed: "sealed".into(),
            event_types: vec!["*".into()],
            description: None,
            disabled_at: None,
            disabled_reason: None,
            created_at: now,
            updated_at: now,
            delivery: scim_gateway::store::DeliveryState::default(),
        })
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    // An import job to name.
    let import: Value = app
        .client
        .post(format!("{}/admin/v1/tenants/{TENANT}/imports", app.root))
        .bearer_auth(&token)
        .header("content-type", "text/csv")
        .body("userName\nimported@example.com\n")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let job = import["id"].as_str().unwrap().to_string();
    let paths = document["paths"].as_object().unwrap();
    // Deletes last: they take away what other routes name.
    let mut calls: Vec<(&String, &String, &Value)> = paths
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .iter()
                .map(move |(method, operation)| (path, method, operation))
        })
        .collect();
    calls.sort_by_key(|(_, method, _)| method.as_str() == "delete");
    let mut operations = 0;
    for (path, method, operation) in calls {
        operations += 1;
        assert!(
            operation["responses"]["401"].is_object(),
            "{method} {path} documents no 401"
        );
        let concrete = path
            .replace("{tenant}", TENANT)
            .replace("{connection}", "entra")
            .replace("{id}", someone["id"].as_str().unwrap())
            .replace("{prefix}", &app.token[..12])
            .replace("{role}", "Viewer")
            .replace("{group}", "Leads")
            .replace("{job}", &job)
            .replace(
                "{endpoint}",
                if path.starts_with("/webhooks/") {
                    operator_endpoint
                } else {
                    endpoint
                },
            );
        let url = format!("{}/admin/v1{concrete}", app.root);
        let request = match method.as_str() {
            "get" => app.client.get(url),
            "post" => app.client.post(url),
            "patch" => app.client.patch(url),
            "put" => app.client.put(url),
            "delete" => app.client.delete(url),
            other => panic!("no test request for {other} {path}"),
        };
        let answer = request.bearer_auth(&token).send().await.unwrap();
        let status = answer.status();
        if method == "get" {
            assert_eq!(status, StatusCode::OK, "{method} {path}");
        } else {
            // Served (no 404 or 405), and a request without a body is either enough or
            // refused as the client's.
            assert!(
                status.is_success()
                    || status == StatusCode::BAD_REQUEST
                    || status == StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "{method} {path}: {status}"
            );
        }
    }
    // Every annotated handler is in the document, and no route bypasses the annotations: the
    // only plain `.route(` of the admin router serves the document itself.
    let sources = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/src/http/admin"))
        .unwrap()
        .map(|entry| std::fs::read_to_string(entry.unwrap().path()).unwrap())
        .collect::<Vec<_>>()
        .join("\n");
    assert_eq!(sources.matches("#[utoipa::path(").count(), operations);
    assert_eq!(sources.matches(".route(").count(), 1);
}

#[tokio::test]
async fn admin_token_commands_print_the_secret_alone_and_list_prefixes_only() {
    let app = spawn_app().await;
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_scim-gateway"))
            .arg("--database")
            .arg(&app.database_url)
            .args(args)
            .output()
            .unwrap()
    };
    let created = run(&["admin-token", "create", "--name", "deploy"]);
    assert!(created.status.success(), "{created:?}");
    let secret = String::from_utf8(created.stdout)
        .unwrap()
        .trim()
        .to_string();
    assert!(secret.starts_with("scgwadm_") && !secret.contains(char::is_whitespace));
    assert_eq!(
        admin_get(&app, "/tenants", &secret).await.status(),
        StatusCode::OK
    );

    let listed = run(&["--json", "admin-token", "list"]);
    let list: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(list[0]["name"], "deploy");
    assert_eq!(list[0]["state"], "live");
    assert!(list[0]["lastUsedAt"].is_string(), "{list}");
    let prefix = list[0]["prefix"].as_str().unwrap().to_string();
    assert!(secret.starts_with(&prefix) && prefix.len() < secret.len() / 2);
    assert!(!String::from_utf8_lossy(&listed.stdout).contains(&secret));

    let revoked = run(&["admin-token", "revoke", &prefix]);
    assert!(revoked.status.success(), "{revoked:?}");
    assert_eq!(
        admin_get(&app, "/tenants", &secret).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let again = run(&["admin-token", "revoke", &prefix]);
    assert!(!again.status.success());
}

/// Follows `nextCursor` from `path` (which carries its own query) to the last page.
async fn every_page(app: &TestApp, path: &str, token: &str) -> Vec<Value> {
    let mut events = Vec::new();
    let mut url = path.to_string();
    loop {
        let response = admin_get(app, &url, token).await;
        assert_eq!(response.status(), StatusCode::OK, "{url}");
        let page: Value = response.json().await.unwrap();
        events.extend(page["events"].as_array().unwrap().iter().cloned());
        match page["nextCursor"].as_str() {
            Some(cursor) => url = format!("{path}&cursor={cursor}"),
            None => return events,
        }
    }
}

#[tokio::test]
async fn audit_pages_walk_events_of_the_same_microsecond_once_each() {
    use scim_gateway::store::AuditRecord;
    let app = spawn_app().await;
    let (token, _) = operator_token(&app).await;
    let tenant = app.store.tenant_by_slug(TENANT).await.unwrap().unwrap();
    let at = now_micros() + 60_000_000;
    let mut tx = app.store.begin().await.unwrap();
    for i in 0..5 {
        tx.insert_audit(&AuditRecord {
            tenant_id: Some(tenant.id.clone()),
            at,
            actor: "cli".into(),
            action: "tie.test".into(),
            target_name: Some(format!("tie-{i}")),
            outcome: "success".into(),
            http_status: 200,
            ..AuditRecord::default()
        })
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let events = every_page(
        &app,
        &format!("/tenants/{TENANT}/audit?action=tie.test&count=2"),
        &token,
    )
    .await;
    let names: Vec<&str> = events
        .iter()
        .map(|e| e["targetName"].as_str().unwrap())
        .collect();
    // Newest first: among events of one microsecond, the later appended first.
    assert_eq!(names, ["tie-4", "tie-3", "tie-2", "tie-1", "tie-0"]);
}

#[tokio::test]
async fn the_audit_log_pages_newest_first_through_filters_and_cursors() {
    let app = spawn_app_with(Some(3)).await;
    let (token, _) = operator_token(&app).await;
    let mut ids = Vec::new();
    for name in ["u1", "u2", "u3"] {
        ids.push(
            app.create_user(name).await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    assert_eq!(
        app.post("/Users", &user("u4")).await.status(),
        StatusCode::FORBIDDEN
    );
    let base = format!("/tenants/{TENANT}/audit?count=2");
    let all = every_page(&app, &base, &token).await;
    // The three creates, the refusal, and the tenant and token the test harness made.
    assert_eq!(all.len(), 6, "{all:?}");
    assert_eq!(all[4]["action"], "token.create");
    assert_eq!(all[5]["action"], "tenant.create");
    assert_eq!(all[0]["outcome"], "rejected");
    assert_eq!(all[0]["request"], format!("POST /scim/v2/{TENANT}/Users"));
    let created: Vec<&str> = all[1..4]
        .iter()
        .map(|e| e["targetName"].as_str().unwrap())
        .collect();
    assert_eq!(created, ["u3", "u2", "u1"]);

    let rejected = every_page(&app, &format!("{base}&outcome=rejected"), &token).await;
    assert_eq!(rejected.len(), 1);
    let about_u2 = every_page(&app, &format!("{base}&target={}", ids[1]), &token).await;
    assert_eq!(about_u2.len(), 1);
    assert_eq!(about_u2[0]["action"], "user.create");
    let through_entra = every_page(
        &app,
        &format!("{base}&connection=entra&action=user.create&outcome=success"),
        &token,
    )
    .await;
    assert_eq!(through_entra.len(), 3);
    let later = every_page(&app, &format!("{base}&since=2999-01-01T00:00:00Z"), &token).await;
    assert!(later.is_empty());
    let earlier = every_page(&app, &format!("{base}&until=2999-01-01T00:00:00Z"), &token).await;
    assert_eq!(earlier.len(), 6);

    for bad in [
        "cursor=nope",
        "count=0",
        "count=501",
        "since=yesterday",
        "outcome=maybe",
        "count=x",
    ] {
        let path = format!("/tenants/{TENANT}/audit?{bad}");
        assert_problem(admin_get(&app, &path, &token).await, 400).await;
    }
    assert_problem(
        admin_get(
            &app,
            &format!("/tenants/{TENANT}/audit?connection=okta"),
            &token,
        )
        .await,
        404,
    )
    .await;
}

#[tokio::test]
async fn the_audit_export_streams_json_lines_and_csv_without_running_formulas() {
    let app = spawn_app().await;
    let (token, _) = operator_token(&app).await;
    for name in ["=HYPERLINK(\"http://x\")", "plain"] {
        app.create_user(name).await;
    }
    let export = |format: &'static str| {
        let (app, token) = (&app, &token);
        async move {
            let response = admin_get(
                app,
                &format!("/tenants/{TENANT}/audit/export?format={format}"),
                token,
            )
            .await;
            assert_eq!(response.status(), StatusCode::OK);
            let kind = response.headers()["content-type"]
                .to_str()
                .unwrap()
                .to_string();
            (kind, response.text().await.unwrap())
        }
    };
    let (kind, lines) = export("jsonl").await;
    assert_eq!(kind, "application/x-ndjson");
    let events: Vec<Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // The two creates, newest first, and the harness's token and tenant.
    assert_eq!(events.len(), 4);
    assert_eq!(events[0]["targetName"], "plain");
    assert_eq!(events[2]["action"], "token.create");

    let (kind, csv) = export("csv").await;
    assert!(kind.starts_with("text/csv"), "{kind}");
    let mut rows = csv.lines();
    assert!(
        rows.next()
            .unwrap()
            .starts_with("at,actor,action,outcome,status,scimType,")
    );
    let formula = rows.nth(1).unwrap();
    assert!(
        formula.contains("\"'=HYPERLINK(\"\"http://x\"\")\""),
        "{formula}"
    );
    assert!(rows.next().unwrap().contains("token.create"));
    assert!(rows.next().unwrap().contains("tenant.create"));
    assert!(rows.next().is_none());
}

#[tokio::test]
async fn stat_cards_follow_creates_suspensions_reactivations_and_deletes() {
    let app = spawn_app_with(Some(10)).await;
    let (token, _) = operator_token(&app).await;
    async fn stats(app: &TestApp, token: &str) -> (Value, Value, Value, Value) {
        let response = admin_get(app, &format!("/tenants/{TENANT}/users/stats"), token).await;
        assert_eq!(response.status(), StatusCode::OK);
        let s: Value = response.json().await.unwrap();
        (
            s["total"].clone(),
            s["invited"].clone(),
            s["active"].clone(),
            s["suspended"].clone(),
        )
    }
    let mut ids = Vec::new();
    for name in ["a", "b", "c"] {
        ids.push(
            app.create_user(name).await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    assert_eq!(
        stats(&app, &token).await,
        (json!(3), json!(3), json!(0), json!(0))
    );

    let mut off = user("a");
    off["active"] = json!(false);
    assert_eq!(
        app.put(&format!("/Users/{}", ids[0]), &off).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        stats(&app, &token).await,
        (json!(3), json!(2), json!(0), json!(1))
    );
    // Sent again: no change of status, no change of count.
    assert_eq!(
        app.put(&format!("/Users/{}", ids[0]), &off).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        stats(&app, &token).await,
        (json!(3), json!(2), json!(0), json!(1))
    );

    // Created suspended, then deleted while suspended.
    let mut born_off = user("d");
    born_off["active"] = json!(false);
    let d: Value = app.post("/Users", &born_off).await.json().await.unwrap();
    assert_eq!(
        stats(&app, &token).await,
        (json!(4), json!(2), json!(0), json!(2))
    );
    let d_id = d["id"].as_str().unwrap();
    assert_eq!(
        app.delete(&format!("/Users/{d_id}")).await.status(),
        StatusCode::NO_CONTENT
    );

    // Reactivated (never signed in: invited again), then another user deleted.
    let mut on = user("a");
    on["active"] = json!(true);
    assert_eq!(
        app.put(&format!("/Users/{}", ids[0]), &on).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.delete(&format!("/Users/{}", ids[1])).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        stats(&app, &token).await,
        (json!(2), json!(2), json!(0), json!(0))
    );
    let tenant: Value = admin_get(&app, &format!("/tenants/{TENANT}/users/stats"), &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (tenant["seatsUsed"].clone(), tenant["seatLimit"].clone()),
        (json!(2), json!(10))
    );
}

#[tokio::test]
async fn a_users_detail_says_where_each_role_comes_from_and_what_it_allows() {
    use scim_gateway::tenant::roles;
    let app = spawn_app().await;
    let (token, _) = operator_token(&app).await;
    let now = now_micros();
    for (name, permissions) in [
        ("Agent", vec!["conversations:view", "conversations:edit"]),
        ("Supervisor", vec!["analytics:view", "conversations:view"]),
        ("Admin", vec!["users:*"]),
    ] {
        let permissions: Vec<String> = permissions.into_iter().map(String::from).collect();
        roles::create_role(&app.store, TENANT, name, &permissions, None, false, now)
            .await
            .unwrap();
    }
    roles::map_group(&app.store, TENANT, "Leads", "Supervisor", false, now)
        .await
        .unwrap();
    let mut body = user("ada@example.com");
    body["roles"] = json!([{"value": "Agent"}, {"value": "Nope"}]);
    let created: Value = app.post("/Users", &body).await.json().await.unwrap();
    let id = created["id"].as_str().unwrap();
    let group = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Leads", "members": [{"value": id}]});
    assert_eq!(
        app.post("/Groups", &group).await.status(),
        StatusCode::CREATED
    );
    roles::assign_role(&app.store, TENANT, "ada@example.com", "Admin", false, now)
        .await
        .unwrap();

    let response = admin_get(&app, &format!("/tenants/{TENANT}/users/{id}"), &token).await;
    assert_eq!(response.status(), StatusCode::OK);
    let detail: Value = response.json().await.unwrap();
    assert_eq!(detail["userName"], "ada@example.com");
    assert_eq!(detail["email"], "ada@example.com@example.com");
    assert_eq!(detail["status"], "invited");
    assert_eq!(detail["createdBy"], "entra");
    assert_eq!(detail["groups"][0]["displayName"], "Leads");
    assert_eq!(
        detail["roles"],
        json!([
            {"name": "Admin", "sources": [{"kind": "admin", "group": null}]},
            {"name": "Agent", "sources": [{"kind": "scim", "group": null}]},
            {"name": "Supervisor", "sources": [{"kind": "group", "group": "Leads"}]},
        ])
    );
    assert_eq!(detail["unknownRoleValues"], json!(["Nope"]));
    let grid = detail["permissions"].as_array().unwrap();
    assert_eq!(grid.len(), 6);
    let row = |category: &str| {
        grid.iter()
            .find(|r| r["category"] == category)
            .unwrap()
            .clone()
    };
    assert_eq!(
        row("conversations"),
        json!({"category": "conversations", "view": true, "create": false, "edit": true, "delete": false, "manage": false})
    );
    assert_eq!(row("users")["manage"], true);
    assert_eq!(row("analytics")["view"], true);
    assert_eq!(row("settings")["view"], false);

    assert_problem(
        admin_get(&app, &format!("/tenants/{TENANT}/users/no-such-id"), &token).await,
        404,
    )
    .await;
}

#[tokio::test]
async fn an_admin_suspension_holds_against_the_providers_active_true_until_an_admin_lifts_it() {
    let app = spawn_app().await;
    let (token, prefix) = operator_token(&app).await;
    let created = app.create_user("held").await;
    let id = created["id"].as_str().unwrap();
    let path = format!("/tenants/{TENANT}/users/{id}");

    let suspended = admin_post(&app, &format!("{path}/suspend"), &token).await;
    assert_eq!(suspended.status(), StatusCode::OK);
    let suspended: Value = suspended.json().await.unwrap();
    assert_eq!(suspended["status"], "suspended");
    assert_eq!(app.status_of(&created).await, "suspended");
    let scim: Value = app.get(&format!("/Users/{id}")).await.json().await.unwrap();
    assert_eq!(scim["active"], false);
    let event = app
        .audit()
        .await
        .into_iter()
        .find(|e| e.action == "user.suspend")
        .unwrap();
    assert_eq!(event.actor, format!("operator:{prefix}"));
    assert_eq!(
        event.request_summary,
        Some(format!(
            "POST /admin/v1/tenants/{TENANT}/users/{id}/suspend"
        ))
    );

    // Okta's full PUT carries active: true with every profile change: applied, but still held.
    let mut okta = user("held");
    okta["active"] = json!(true);
    okta["displayName"] = json!("Renamed");
    assert_eq!(
        app.put(&format!("/Users/{id}"), &okta).await.status(),
        StatusCode::OK
    );
    assert_eq!(app.status_of(&created).await, "suspended");
    let detail: Value = admin_get(&app, &path, &token).await.json().await.unwrap();
    assert_eq!(detail["displayName"], "Renamed");
    let kept = app
        .audit()
        .await
        .into_iter()
        .find(|e| e.action == "user.replace")
        .unwrap();
    assert!(
        kept.reason
            .unwrap()
            .contains("kept until an admin reactivates")
    );

    // The provider then suspends the user itself; lifting the admin's suspension leaves the
    // user as the provider said: suspended.
    let mut off = user("held");
    off["active"] = json!(false);
    assert_eq!(
        app.put(&format!("/Users/{id}"), &off).await.status(),
        StatusCode::OK
    );
    let lifted: Value = admin_post(&app, &format!("{path}/reactivate"), &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(lifted["status"], "suspended");
    // Suspended by the provider alone: an admin cannot reactivate, the provider can.
    assert_problem(
        admin_post(&app, &format!("{path}/reactivate"), &token).await,
        400,
    )
    .await;
    assert_eq!(
        app.put(&format!("/Users/{id}"), &okta).await.status(),
        StatusCode::OK
    );
    assert_eq!(app.status_of(&created).await, "invited");

    // Suspend, then lift with the provider saying active: back to invited.
    admin_post(&app, &format!("{path}/suspend"), &token).await;
    let back: Value = admin_post(&app, &format!("{path}/reactivate"), &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(back["status"], "invited");
    let stats: Value = admin_get(&app, &format!("/tenants/{TENANT}/users/stats"), &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (stats["invited"].clone(), stats["suspended"].clone()),
        (json!(1), json!(0))
    );
}

#[tokio::test]
async fn the_users_table_searches_filters_sorts_and_walks_by_cursor() {
    let app = spawn_app().await;
    let (token, _) = operator_token(&app).await;
    let person = |user_name: &str, given: &str, family: &str, user_type: &str, active: bool| {
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": user_name, "displayName": format!("{given} {family}"),
            "name": {"givenName": given, "familyName": family}, "userType": user_type,
            "emails": [{"value": format!("{given}@corp.example").to_lowercase(), "primary": true}],
            "active": active})
    };
    for body in [
        person("u-ada", "Ada", "Lovelace", "agent", true),
        person("u-bob", "Bob", "Stone", "supervisor", true),
        person("u-carol", "Carol", "Shaw", "agent", false),
        person("u-dan", "Dan", "Lovell", "agent", true),
        person("u-eve", "Eve", "Adams", "analyst", true),
    ] {
        assert_eq!(
            app.post("/Users", &body).await.status(),
            StatusCode::CREATED
        );
    }
    let names = |page: &Value| -> Vec<String> {
        page["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["userName"].as_str().unwrap().to_string())
            .collect()
    };
    let page = |query: String| {
        let (app, token) = (&app, &token);
        async move {
            let response = admin_get(app, &format!("/tenants/{TENANT}/users?{query}"), token).await;
            assert_eq!(response.status(), StatusCode::OK, "{query}");
            response.json::<Value>().await.unwrap()
        }
    };
    // Search: the start of a userName, or of an email with an @, without regard to case.
    let by_name = page("search=U-D&sortBy=userName".into()).await;
    assert_eq!(names(&by_name), ["u-dan"]);
    assert_eq!(by_name["totalResults"], 1);
    assert_eq!(
        names(&page("search=u-&status=invited&sortBy=userName".into()).await),
        ["u-ada", "u-bob", "u-dan", "u-eve"]
    );
    assert_eq!(
        names(&page("search=eve%40corp&sortBy=userName".into()).await),
        ["u-eve"]
    );
    assert_eq!(names(&page("status=suspended".into()).await), ["u-carol"]);
    assert_eq!(
        names(&page("userType=agent&status=invited&sortBy=userName".into()).await),
        ["u-ada", "u-dan"]
    );
    let row = &page("search=u-bob".into()).await["users"][0];
    assert_eq!(
        (row["email"].clone(), row["status"].clone()),
        (json!("bob@corp.example"), json!("invited"))
    );
    assert_eq!(
        names(&page("sortBy=userName&sortOrder=descending&count=2&startIndex=2".into()).await),
        ["u-dan", "u-carol"]
    );

    // The unsorted walk: every user once, a cursor per page.
    let mut seen = Vec::new();
    let mut query = "count=2".to_string();
    loop {
        let p = page(query.clone()).await;
        seen.extend(names(&p));
        match p["nextCursor"].as_str() {
            Some(cursor) => query = format!("count=2&cursor={cursor}"),
            None => break,
        }
    }
    seen.sort();
    assert_eq!(seen, ["u-ada", "u-bob", "u-carol", "u-dan", "u-eve"]);

    for bad in [
        "status=gone",
        "sortBy=password",
        "sortOrder=sideways",
        "count=x",
        "cursor=forged",
    ] {
        let path = format!("/tenants/{TENANT}/users?{bad}");
        assert_problem(admin_get(&app, &path, &token).await, 400).await;
    }
}

#[tokio::test]
async fn the_users_table_filters_by_role_from_any_source_and_by_connection() {
    use scim_gateway::tenant::{roles, tokens};
    let app = spawn_app().await;
    let (token, _) = operator_token(&app).await;
    let now = now_micros();
    for name in ["Agent", "Supervisor"] {
        roles::create_role(
            &app.store,
            TENANT,
            name,
            &["conversations:view".into()],
            None,
            false,
            now,
        )
        .await
        .unwrap();
    }
    roles::map_group(&app.store, TENANT, "Night Shift", "Agent", false, now)
        .await
        .unwrap();
    let with_roles = |name: &str, roles: Value| {
        let mut body = user(name);
        body["roles"] = roles;
        body
    };
    // By a SCIM value (any case), by Entra's JSON-encoded value, by group, by assignment.
    let scim: Value = app
        .post("/Users", &with_roles("u-scim", json!([{"value": "agent"}])))
        .await
        .json()
        .await
        .unwrap();
    let entra_value = r#"{"id":"5f2b","value":"Agent","displayName":"Agent"}"#;
    app.post(
        "/Users",
        &with_roles(
            "u-entra",
            json!([{"value": entra_value, "primary": "True"}]),
        ),
    )
    .await;
    app.post(
        "/Users",
        &with_roles("u-super", json!([{"value": "Supervisor"}])),
    )
    .await;
    let grouped = app.create_user("u-group").await;
    app.create_user("u-admin").await;
    app.create_user("u-none").await;
    let group = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "night shift", "members": [{"value": grouped["id"]}]});
    assert_eq!(
        app.post("/Groups", &group).await.status(),
        StatusCode::CREATED
    );
    roles::assign_role(&app.store, TENANT, "u-admin", "Agent", false, now)
        .await
        .unwrap();
    // Another connection of the tenant provisions one more agent.
    let (okta, _) = tokens::create_token(&app.store, TENANT, "okta", None, now)
        .await
        .unwrap();
    let created = app
        .client
        .post(app.url("/Users"))
        .bearer_auth(okta.expose())
        .json(&with_roles("u-okta", json!([{"value": "Agent"}])))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);

    let page = |query: &'static str| {
        let (app, token) = (&app, &token);
        async move {
            let response = admin_get(app, &format!("/tenants/{TENANT}/users?{query}"), token).await;
            assert_eq!(response.status(), StatusCode::OK, "{query}");
            response.json::<Value>().await.unwrap()
        }
    };
    let names = |page: &Value| -> Vec<String> {
        let mut names: Vec<String> = page["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["userName"].as_str().unwrap().to_string())
            .collect();
        names.sort();
        names
    };
    let agents = page("role=AGENT").await;
    assert_eq!(
        names(&agents),
        ["u-admin", "u-entra", "u-group", "u-okta", "u-scim"]
    );
    assert_eq!(agents["totalResults"], 5);
    assert_eq!(names(&page("role=Supervisor").await), ["u-super"]);
    assert_eq!(names(&page("role=Agent&connection=okta").await), ["u-okta"]);
    assert_eq!(page("connection=entra").await["totalResults"], 6);
    // Each row names its roles and the connection that created the user.
    let row = &page("search=u-group").await["users"][0];
    assert_eq!(
        (row["roles"].clone(), row["connection"].clone()),
        (json!(["Agent"]), json!("entra"))
    );
    // The role filter follows changes: a PATCH that drops the value, a group that loses the
    // member, a deleted user.
    let id = scim["id"].as_str().unwrap();
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "roles", "value": [{"value": "Supervisor"}]}]});
    assert_eq!(
        app.client
            .patch(app.url(&format!("/Users/{id}")))
            .bearer_auth(&app.token)
            .json(&patch)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(names(&page("role=Supervisor").await), ["u-scim", "u-super"]);
    let entra = app.filter("userName eq \"u-entra\"").await;
    let entra_id = entra["Resources"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(
        app.delete(&format!("/Users/{entra_id}")).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        names(&page("role=Agent").await),
        ["u-admin", "u-group", "u-okta"]
    );
    // A cursor walk of the role's holders: each once.
    let first = page("role=Agent&count=2").await;
    let cursor = first["nextCursor"].as_str().unwrap();
    let rest = admin_get(
        &app,
        &format!("/tenants/{TENANT}/users?role=Agent&count=2&cursor={cursor}"),
        &token,
    )
    .await
    .json::<Value>()
    .await
    .unwrap();
    let mut walked = [names(&first), names(&rest)].concat();
    walked.sort();
    assert_eq!(walked, ["u-admin", "u-group", "u-okta"]);
    let group = app.get("/Groups").await.json::<Value>().await.unwrap();
    let group_id = group["Resources"][0]["id"].as_str().unwrap().to_string();
    let remove = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "remove", "path": format!("members[value eq \"{}\"]", grouped["id"].as_str().unwrap())}]});
    assert!(
        app.client
            .patch(app.url(&format!("/Groups/{group_id}")))
            .bearer_auth(&app.token)
            .json(&remove)
            .send()
            .await
            .unwrap()
            .status()
            .is_success()
    );
    assert_eq!(names(&page("role=Agent").await), ["u-admin", "u-okta"]);

    for bad in ["role=Nobody", "connection=nowhere"] {
        let path = format!("/tenants/{TENANT}/users?{bad}");
        let problem = assert_problem(admin_get(&app, &path, &token).await, 400).await;
        assert!(
            problem["detail"].as_str().unwrap().contains("no "),
            "{problem}"
        );
    }
}

/// A JSON request to an admin path.
pub async fn admin_send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Value,
) -> reqwest::Response {
    app.client
        .request(method, format!("{}/admin/v1{path}", app.root))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn operators_create_tenants_and_admins_change_policies_connections_and_tokens() {
    use reqwest::Method;
    let app = spawn_app().await;
    let (op, prefix) = operator_token(&app).await;
    let operator = format!("operator:{prefix}");

    let created = admin_send(
        &app,
        Method::POST,
        "/tenants",
        &op,
        json!({"slug": "globex", "seatLimit": 2}),
    )
    .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    assert_eq!(
        (created["slug"].clone(), created["seatLimit"].clone()),
        (json!("globex"), json!(2))
    );
    assert_problem(
        admin_send(
            &app,
            Method::POST,
            "/tenants",
            &op,
            json!({"slug": "globex"}),
        )
        .await,
        409,
    )
    .await;
    assert_problem(
        admin_send(
            &app,
            Method::POST,
            "/tenants",
            &op,
            json!({"slug": "Not Valid"}),
        )
        .await,
        400,
    )
    .await;
    assert_problem(
        admin_send(
            &app,
            Method::POST,
            "/tenants",
            &op,
            json!({"slug": "x", "owner": "me"}),
        )
        .await,
        400,
    )
    .await;
    let plain = app
        .client
        .post(format!("{}/admin/v1/tenants", app.root))
        .bearer_auth(&op)
        .header("content-type", "text/plain")
        .body("slug=x")
        .send()
        .await
        .unwrap();
    assert_problem(plain, 415).await;
    let oversized = app
        .client
        .post(format!("{}/admin/v1/tenants", app.root))
        .bearer_auth(&op)
        .header("content-type", "application/json")
        .body(json!({"slug": "x".repeat(2 * 1024 * 1024)}).to_string())
        .send()
        .await
        .unwrap();
    assert_problem(oversized, 413).await;
    let wrong_method = app
        .client
        .delete(format!("{}/admin/v1/tenants", app.root))
        .bearer_auth(&op)
        .send()
        .await
        .unwrap();
    assert!(wrong_method.headers().contains_key("allow"));
    assert_problem(wrong_method, 405).await;

    // Policies: null lifts the limit; attributes are checked and spelled canonically.
    let changed = admin_send(
        &app,
        Method::PATCH,
        "/tenants/globex",
        &op,
        json!({"seatLimit": null, "lockedAttributes": ["userName", "NAME.givenName"]}),
    )
    .await;
    assert_eq!(changed.status(), StatusCode::OK);
    let changed: Value = changed.json().await.unwrap();
    assert_eq!(changed["seatLimit"], Value::Null);
    assert_eq!(
        changed["lockedAttributes"],
        json!(["userName", "name.givenName"])
    );
    let kept: Value = admin_send(&app, Method::PATCH, "/tenants/globex", &op, json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        kept["lockedAttributes"],
        json!(["userName", "name.givenName"])
    );
    assert_problem(
        admin_send(
            &app,
            Method::PATCH,
            "/tenants/globex",
            &op,
            json!({"lockedAttributes": ["nonsense", "id"]}),
        )
        .await,
        400,
    )
    .await;

    // A connection, then its token: the secret is in that answer only, and works on SCIM.
    let connection = admin_send(
        &app,
        Method::POST,
        "/tenants/globex/connections",
        &op,
        json!({"name": "okta", "kind": "okta"}),
    )
    .await;
    assert_eq!(connection.status(), StatusCode::CREATED);
    assert_problem(
        admin_send(
            &app,
            Method::POST,
            "/tenants/globex/connections",
            &op,
            json!({"name": "okta"}),
        )
        .await,
        409,
    )
    .await;
    assert_problem(
        admin_send(
            &app,
            Method::POST,
            "/tenants/globex/connections",
            &op,
            json!({"name": "x", "kind": "ldap"}),
        )
        .await,
        400,
    )
    .await;
    assert_problem(
        admin_send(
            &app,
            Method::POST,
            "/tenants/globex/connections/none/tokens",
            &op,
            json!({}),
        )
        .await,
        404,
    )
    .await;
    let issued = admin_send(
        &app,
        Method::POST,
        "/tenants/globex/connections/okta/tokens",
        &op,
        json!({}),
    )
    .await;
    assert_eq!(issued.status(), StatusCode::CREATED);
    let issued: Value = issued.json().await.unwrap();
    let first = issued["token"].as_str().unwrap().to_string();
    assert!(first.starts_with(issued["prefix"].as_str().unwrap()));
    let scim = format!("{}/scim/v2/globex/Users", app.root);
    assert_eq!(app.get_with(&scim, &first).await.status(), StatusCode::OK);

    // Rotation without grace: the first token expires at once.
    let rotated: Value = admin_send(
        &app,
        Method::POST,
        "/tenants/globex/connections/okta/tokens",
        &op,
        json!({"rotateGraceHours": 0}),
    )
    .await
    .json()
    .await
    .unwrap();
    let second = rotated["token"].as_str().unwrap().to_string();
    let tokens: Value = admin_get(&app, "/tenants/globex/tokens", &op)
        .await
        .json()
        .await
        .unwrap();
    let states: Vec<&str> = tokens
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["expired", "live"]);
    assert!(!tokens.to_string().contains(&first) && !tokens.to_string().contains(&second));
    let write = app
        .client
        .post(&scim)
        .bearer_auth(&first)
        .json(&user("late"))
        .send()
        .await
        .unwrap();
    assert_eq!(write.status(), StatusCode::UNAUTHORIZED);

    let revoke = format!(
        "/tenants/globex/tokens/{}",
        rotated["prefix"].as_str().unwrap()
    );
    let revoked = app
        .client
        .delete(format!("{}/admin/v1{revoke}", app.root))
        .bearer_auth(&op)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    let write = app
        .client
        .post(&scim)
        .bearer_auth(&second)
        .json(&user("late"))
        .send()
        .await
        .unwrap();
    assert_eq!(write.status(), StatusCode::UNAUTHORIZED);

    // Every change is in globex's trail, with the operator as its actor.
    let trail: Value = admin_get(&app, "/tenants/globex/audit?count=50", &op)
        .await
        .json()
        .await
        .unwrap();
    let acts: Vec<(String, String)> = trail["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().into(),
                e["actor"].as_str().unwrap().into(),
            )
        })
        .collect();
    for action in [
        "tenant.create",
        "tenant.update",
        "connection.create",
        "token.create",
        "token.rotate",
        "token.revoke",
    ] {
        assert!(
            acts.contains(&(action.to_string(), operator.clone())),
            "{action}: {acts:?}"
        );
    }
    // The first change (the trail is newest first); the empty PATCH after it changed nothing.
    let update = trail["events"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|e| e["action"] == "tenant.update")
        .unwrap();
    assert_eq!(
        update["changedAttributes"],
        json!(["seatLimit", "lockedAttributes"])
    );
}

#[tokio::test]
async fn just_in_time_provisioning_is_a_policy_that_needs_the_tenants_sso() {
    use reqwest::Method;
    use scim_gateway::sso::config::{SsoChange, set_config};
    use scim_gateway::sso::secret_key::SecretKey;
    let app = spawn_app().await;
    let (op, _) = operator_token(&app).await;
    let path = format!("/tenants/{TENANT}");
    // Without SSO settings JIT cannot be on, and the seat limit asked for with it is not
    // written either.
    let refused = admin_send(
        &app,
        Method::PATCH,
        &path,
        &op,
        json!({"jit": true, "seatLimit": 3}),
    )
    .await;
    let problem = assert_problem(refused, 400).await;
    assert!(
        problem["detail"].as_str().unwrap().contains("sso set"),
        "{problem}"
    );
    let tenant: Value = admin_get(&app, &path, &op).await.json().await.unwrap();
    assert_eq!(
        (
            tenant["seatLimit"].clone(),
            tenant["ssoConfigured"].clone(),
            tenant["jit"].clone()
        ),
        (Value::Null, json!(false), json!(false))
    );

    let key = SecretKey::parse(&SecretKey::generate().unwrap()).unwrap();
    let change = SsoChange {
        issuer: Some("https://idp.example.com".into()),
        client_id: Some("gateway".into()),
        client_secret: Some("s3cret".into()),
        ..SsoChange::default()
    };
    set_config(&app.store, &key, TENANT, change, now_micros())
        .await
        .unwrap();
    let on = admin_send(&app, Method::PATCH, &path, &op, json!({"jit": true})).await;
    assert_eq!(on.status(), StatusCode::OK);
    let on: Value = on.json().await.unwrap();
    assert_eq!(
        (on["ssoConfigured"].clone(), on["jit"].clone()),
        (json!(true), json!(true))
    );
    let tenant_id = app.store.tenant_by_slug(TENANT).await.unwrap().unwrap().id;
    assert!(app.store.sso_config(&tenant_id).await.unwrap().unwrap().jit);
    let listed: Value = admin_get(&app, "/tenants", &op).await.json().await.unwrap();
    assert_eq!(listed[0]["jit"], true);
    let trail: Value = admin_get(
        &app,
        &format!("/tenants/{TENANT}/audit?action=tenant.update"),
        &op,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(trail["events"][0]["changedAttributes"], json!(["jit"]));
    // Turning it off is allowed whatever the SSO settings.
    let off: Value = admin_send(&app, Method::PATCH, &path, &op, json!({"jit": false}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(off["jit"], false);
}

#[tokio::test]
async fn deleted_users_are_listed_apart_newest_first_with_who_deleted_them() {
    let app = spawn_app().await;
    let (token, _) = operator_token(&app).await;
    for name in ["d1", "d2", "d3", "stays"] {
        app.create_user(name).await;
    }
    let live: Value = app.filter("userName sw \"d\"").await;
    let mut ids: Vec<(String, String)> = live["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["userName"].as_str().unwrap().to_string(),
                u["id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    ids.sort();
    for (_, id) in &ids {
        assert_eq!(
            app.delete(&format!("/Users/{id}")).await.status(),
            StatusCode::NO_CONTENT
        );
    }
    let mut seen = Vec::new();
    let mut path = format!("/tenants/{TENANT}/users/deleted?count=2");
    loop {
        let page: Value = admin_get(&app, &path, &token).await.json().await.unwrap();
        for u in page["users"].as_array().unwrap() {
            assert_eq!(u["deletedBy"], "entra");
            seen.push(u["userName"].as_str().unwrap().to_string());
        }
        match page["nextCursor"].as_str() {
            Some(c) => path = format!("/tenants/{TENANT}/users/deleted?count=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, ["d3", "d2", "d1"]);
    // The live table does not show them, nor the deleted one the live ones.
    let table: Value = admin_get(&app, &format!("/tenants/{TENANT}/users"), &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(table["totalResults"], 1);
    assert_problem(
        admin_get(
            &app,
            &format!("/tenants/{TENANT}/users/deleted?cursor=bogus"),
            &token,
        )
        .await,
        400,
    )
    .await;
}

#[tokio::test]
async fn admins_keep_the_role_catalog_its_group_mappings_and_assignments() {
    use reqwest::Method;
    let app = spawn_app().await;
    let (op, prefix) = operator_token(&app).await;
    let created = admin_send(&app, Method::POST, &format!("/tenants/{TENANT}/roles"), &op,
        json!({"name": "Support Lead", "permissions": ["conversations:*", "users:view"], "description": "Leads"})).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    assert_eq!(created["permissions"].as_array().unwrap().len(), 6);
    assert_problem(
        admin_send(
            &app,
            Method::POST,
            &format!("/tenants/{TENANT}/roles"),
            &op,
            json!({"name": "Bad", "permissions": ["payroll:view"]}),
        )
        .await,
        400,
    )
    .await;

    let role = "/roles/Support%20Lead";
    let patched: Value = admin_send(
        &app,
        Method::PATCH,
        &format!("/tenants/{TENANT}{role}"),
        &op,
        json!({"permissions": ["users:view"], "template": true}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        (patched["permissions"].clone(), patched["template"].clone()),
        (json!(["users:view"]), json!(true))
    );

    let map = format!(
        "{}/admin/v1/tenants/{TENANT}{role}/groups/Night%20Shift",
        app.root
    );
    assert_eq!(
        app.client
            .put(&map)
            .bearer_auth(&op)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NO_CONTENT
    );
    let catalog: Value = admin_get(&app, &format!("/tenants/{TENANT}/roles"), &op)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(catalog[0]["groups"], json!(["Night Shift"]));

    // An admin assignment shows in the user's detail as the role's source, and goes again.
    let ada = app.create_user("ada").await;
    let id = ada["id"].as_str().unwrap();
    let assign = format!(
        "{}/admin/v1/tenants/{TENANT}/users/{id}/roles/Support%20Lead",
        app.root
    );
    assert_eq!(
        app.client
            .put(&assign)
            .bearer_auth(&op)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NO_CONTENT
    );
    let detail: Value = admin_get(&app, &format!("/tenants/{TENANT}/users/{id}"), &op)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        detail["roles"],
        json!([{"name": "Support Lead", "sources": [{"kind": "admin", "group": null}]}])
    );
    assert_eq!(
        app.client
            .delete(&assign)
            .bearer_auth(&op)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NO_CONTENT
    );
    let detail: Value = admin_get(&app, &format!("/tenants/{TENANT}/users/{id}"), &op)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(detail["roles"], json!([]));
    assert_eq!(
        app.client
            .delete(&map)
            .bearer_auth(&op)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_problem(
        app.client
            .delete(&map)
            .bearer_auth(&op)
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;

    let acts: Vec<(String, String)> = app
        .audit()
        .await
        .into_iter()
        .filter(|e| e.action.starts_with("role."))
        .map(|e| (e.action, e.actor))
        .collect();
    for action in [
        "role.create",
        "role.update",
        "role.map_group",
        "role.assign",
        "role.unassign",
        "role.unmap_group",
    ] {
        assert!(
            acts.contains(&(action.to_string(), format!("operator:{prefix}"))),
            "{action}: {acts:?}"
        );
    }
}
