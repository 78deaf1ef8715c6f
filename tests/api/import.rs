//! CSV import (`scim-gateway import`), run as the real binary against a running gateway's
//! database: what spreadsheets write, per-row outcomes, idempotent re-runs and dry runs.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::{Value, json};

use scim_gateway::store::FeedScope;

use crate::helpers::{TENANT, TestApp, set_seat_limit, spawn_app};
use crate::process::get_json;

const TENANT_EXT: &str = "urn:ietf:params:scim:schemas:extension:gateway:2.0:User";

fn temp_file(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join("scim-gateway-tests");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(format!("{}-{name}", uuid::Uuid::new_v4().simple()));
    std::fs::write(&path, bytes).expect("write file");
    path
}

/// Runs `import` on `csv`; returns the process output and the JSON report.
fn import(app: &TestApp, csv: &[u8], extra: &[&str]) -> (Output, Vec<Value>) {
    let file = temp_file("users.csv", csv);
    let report = temp_file("report.json", b"");
    let output = Command::new(env!("CARGO_BIN_EXE_scim-gateway"))
        .arg("--database")
        .arg(&app.database_url)
        .args(["import", "--tenant", TENANT, "--report"])
        .arg(&report)
        .args(extra)
        .arg(&file)
        .env_remove("DATABASE_URL")
        .output()
        .expect("run scim-gateway import");
    let text = std::fs::read_to_string(&report).expect("report");
    std::fs::remove_file(&file).ok();
    std::fs::remove_file(&report).ok();
    let rows = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    (output, rows)
}

fn outcomes(report: &[Value]) -> Vec<(u64, String, String)> {
    report
        .iter()
        .map(|r| {
            (
                r["line"].as_u64().unwrap(),
                r["userName"].as_str().unwrap().to_string(),
                r["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn reason_of(report: &[Value], line: u64) -> String {
    report
        .iter()
        .find(|r| r["line"] == line)
        .and_then(|r| r["reason"].as_str())
        .unwrap_or_default()
        .to_string()
}

async fn user_named(app: &TestApp, user_name: &str) -> Value {
    let found = app.filter(&format!("userName eq \"{user_name}\"")).await;
    assert_eq!(found["totalResults"], 1, "{user_name}: {found}");
    let id = found["Resources"][0]["id"].as_str().unwrap().to_string();
    app.get(&format!("/Users/{id}?attributes=userName,{TENANT_EXT}:status,name,emails,roles,phoneNumbers,userType,{TENANT_EXT}:skills,{TENANT_EXT}:maxChats,{TENANT_EXT}:voiceCalls,groups,meta"))
        .await
        .json()
        .await
        .unwrap()
}

/// A European-locale Excel export: BOM, `;`, CRLF, header names in their own case, an unknown
/// column, trailing empty columns, quoted fields holding the delimiter and a line break, a
/// blank line; and rows each wrong in its own way among good ones.
const SPREADSHEET: &str = "\u{feff}USERNAME;Email;GivenName;familyname;Roles;Skills;maxChats;voiceCalls;Phone;UserType;Notes;groups;;\r\n\
ada@example.com;ada@example.com;Ada;\"Lovelace; Countess\";agent;\"billing;french\";3;yes;+44 20 7946 0000;;first;sales;;\r\n\
\r\n\
bob@example.com;bob@example.com;\"Bob\r\nRobert\";Smith;;;11;;;;bad maxChats;;;\r\n\
cy@example.com;;Cy;;;;;maybe;;;bad boolean;;;\r\n\
ADA@EXAMPLE.COM;;Ada;Again;;;;;;;duplicate in another case;;;\r\n\
dee@example.com;dee@example.com;Dee;;;;;;;;;missing-group;;\r\n\
locked@example.com;;;;;;;;;viewer;locked userType;;;\r\n\
eve@example.com;eve@example.com;Eve;;;;2;no;;;;SALES;;\r\n\
fay@example.com;;Fay;;;;;;;;;;;\r\n\
gus@example.com;;Gus;;;;;;;;seat overflow;;;\r\n";

/// Reads the tenant's outbox until `wanted` events of `event_type` are there (on PostgreSQL the
/// feed holds an event back while an older transaction of another test is still open).
async fn events_of_type(app: &TestApp, event_type: &str, wanted: usize) -> usize {
    let tenant = app.store.tenant_by_slug(TENANT).await.unwrap().unwrap();
    let mut found = 0;
    for _ in 0..50 {
        let feed = app
            .store
            .event_feed(FeedScope::Tenant(&tenant.id), None, 100)
            .await
            .unwrap();
        found = feed
            .iter()
            .filter(|e| e.event.event_type == event_type)
            .count();
        if found >= wanted {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    found
}

#[tokio::test]
async fn a_spreadsheet_lands_row_by_row_and_a_rerun_changes_nothing() {
    let app = spawn_app().await;
    let sales = app
        .post(
            "/Groups",
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Sales"}),
        )
        .await;
    assert_eq!(sales.status(), 201);
    let sales: Value = sales.json().await.unwrap();
    // A user the IdP already pushed, whose locked userType the file would change.
    let mut pushed = crate::helpers::user("locked@example.com");
    pushed["userType"] = json!("agent");
    assert_eq!(app.post("/Users", &pushed).await.status(), 201);
    let pushed_version = user_named(&app, "locked@example.com").await["meta"]["version"].clone();
    // Room for the pushed user and three more.
    set_seat_limit(&app, Some(4)).await;
    let spreadsheet = SPREADSHEET;

    let (output, report) = import(&app, spreadsheet.as_bytes(), &[]);
    assert!(
        !output.status.success(),
        "rows were rejected: exit non-zero"
    );
    assert_eq!(
        outcomes(&report),
        vec![
            (2, "ada@example.com".into(), "created".into()),
            (4, "bob@example.com".into(), "rejected".into()),
            (6, "cy@example.com".into(), "rejected".into()),
            (7, "ADA@EXAMPLE.COM".into(), "rejected".into()),
            (8, "dee@example.com".into(), "rejected".into()),
            (9, "locked@example.com".into(), "rejected".into()),
            (10, "eve@example.com".into(), "created".into()),
            (11, "fay@example.com".into(), "created".into()),
            (12, "gus@example.com".into(), "rejected".into()),
        ],
        "{report:#?}"
    );
    assert!(reason_of(&report, 4).contains("'maxChats' must be between 0 and 10"));
    assert!(reason_of(&report, 6).contains("voiceCalls must be true or false"));
    assert!(reason_of(&report, 7).contains("already on line 2"));
    assert!(reason_of(&report, 8).contains("no group named 'missing-group'"));
    assert!(reason_of(&report, 9).contains("'userType' is locked"));
    assert_eq!(reason_of(&report, 12), "seat limit 4 reached");
    let summary = String::from_utf8(output.stdout.clone()).unwrap();
    assert!(
        summary.contains("9 rows: 3 created, 0 updated, 0 unchanged, 6 rejected"),
        "{summary}"
    );

    // The good rows hold what the cells said; new users start invited.
    let ada = user_named(&app, "ada@example.com").await;
    assert_eq!(ada["name"]["familyName"], "Lovelace; Countess");
    assert_eq!(ada["emails"][0]["value"], "ada@example.com");
    assert_eq!(ada["roles"][0]["value"], "agent");
    assert_eq!(ada["phoneNumbers"][0]["value"], "+44 20 7946 0000");
    assert_eq!(ada[TENANT_EXT]["skills"], json!(["billing", "french"]));
    assert_eq!(ada[TENANT_EXT]["maxChats"], 3);
    assert_eq!(ada[TENANT_EXT]["voiceCalls"], true);
    assert_eq!(ada[TENANT_EXT]["status"], "invited");
    assert_eq!(ada["groups"][0]["value"], sales["id"]);
    let eve = user_named(&app, "eve@example.com").await;
    assert_eq!(
        eve["groups"][0]["display"], "Sales",
        "group named in another case"
    );
    assert_eq!(
        app.filter("userName eq \"bob@example.com\"").await["totalResults"],
        0,
        "a rejected row writes nothing"
    );
    assert_eq!(
        user_named(&app, "locked@example.com").await["meta"]["version"],
        pushed_version
    );
    assert_eq!(app.tenant_seats_used().await, 4);

    // Each write is audited under the import's connection with its line; each created user
    // went to the outbox.
    let audit = app.audit().await;
    let created: Vec<_> = audit
        .iter()
        .filter(|e| e.action == "user.create" && e.outcome == "success")
        .filter(|e| {
            e.request_summary
                .as_deref()
                .is_some_and(|s| s.starts_with("CSV import"))
        })
        .collect();
    assert_eq!(created.len(), 3);
    assert!(created.iter().any(
        |e| e.request_summary.as_deref() == Some("CSV import, line 10")
            && e.target_name.as_deref() == Some("eve@example.com")
    ));
    let import_connection = created[0].connection_id.clone();
    assert!(import_connection.is_some());
    let rejected: Vec<_> = audit
        .iter()
        .filter(|e| e.action == "user.import" && e.outcome == "rejected")
        .collect();
    assert_eq!(rejected.len(), 6, "every refused row is audited");
    assert!(
        rejected
            .iter()
            .all(|e| e.connection_id == import_connection)
    );
    assert_eq!(
        events_of_type(&app, "user.created", 4).await,
        1 + 3,
        "the pushed user and the three imported"
    );

    // The same file again: nothing changes, the rows that failed fail again.
    let audit_before = app.audit().await.len();
    let (again, report) = import(&app, spreadsheet.as_bytes(), &[]);
    assert!(!again.status.success());
    let outcomes_again: Vec<String> = outcomes(&report).into_iter().map(|(_, _, o)| o).collect();
    assert_eq!(
        outcomes_again,
        vec![
            "unchanged",
            "rejected",
            "rejected",
            "rejected",
            "rejected",
            "rejected",
            "unchanged",
            "unchanged",
            "rejected"
        ]
    );
    assert_eq!(
        app.audit().await.len(),
        audit_before + 6,
        "only the rejections are recorded again"
    );
}

#[tokio::test]
async fn a_changed_row_updates_and_a_full_tenant_reports_the_rows_that_did_not_fit() {
    let app = spawn_app().await;
    set_seat_limit(&app, Some(2)).await;
    let first = "userName,givenName,maxChats\r\na@example.com,A,1\r\nb@example.com,B,1\r\n";
    let (output, _) = import(&app, first.as_bytes(), &[]);
    assert!(output.status.success(), "{output:?}");
    let before = user_named(&app, "a@example.com").await;

    let second = "userName,givenName,maxChats\r\na@example.com,Anne,1\r\nB@example.com,B,1\r\nc@example.com,C,1\r\nd@example.com,D,1\r\n";
    let (output, report) = import(&app, second.as_bytes(), &[]);
    assert!(!output.status.success());
    assert_eq!(
        outcomes(&report)
            .into_iter()
            .map(|(_, _, o)| o)
            .collect::<Vec<_>>(),
        vec!["updated", "unchanged", "rejected", "rejected"]
    );
    assert_eq!(reason_of(&report, 4), "seat limit 2 reached");
    assert_eq!(reason_of(&report, 5), "seat limit 2 reached");
    let after = user_named(&app, "a@example.com").await;
    assert_eq!(after["name"]["givenName"], "Anne");
    assert_ne!(after["meta"]["version"], before["meta"]["version"]);
    assert_eq!(
        user_named(&app, "b@example.com").await["userName"],
        "b@example.com",
        "matched ignoring case, the stored userName is kept"
    );
}

#[tokio::test]
async fn a_dry_run_reports_the_same_and_writes_nothing() {
    let app = spawn_app().await;
    set_seat_limit(&app, Some(600)).await;
    // More rows than one transaction holds, so the seat limit must carry across batches.
    let mut csv = String::from("userName,givenName\n");
    for i in 0..700 {
        csv.push_str(&format!("user{i}@example.com,U{i}\n"));
    }
    let audit_before = app.audit().await.len();
    let (dry, dry_report) = import(&app, csv.as_bytes(), &["--dry-run"]);
    assert!(!dry.status.success(), "100 rows do not fit");
    assert_eq!(app.tenant_seats_used().await, 0);
    assert_eq!(app.filter("userName sw \"user\"").await["totalResults"], 0);
    assert_eq!(app.audit().await.len(), audit_before, "nothing recorded");

    let (real, real_report) = import(&app, csv.as_bytes(), &[]);
    assert!(!real.status.success());
    assert_eq!(outcomes(&dry_report), outcomes(&real_report));
    assert_eq!(
        real_report
            .iter()
            .filter(|r| r["outcome"] == "created")
            .count(),
        600
    );
    assert_eq!(app.tenant_seats_used().await, 600);
}

#[tokio::test]
async fn a_file_that_is_not_utf8_is_refused_naming_its_line_and_nothing_lands() {
    let app = spawn_app().await;
    let mut csv = b"userName\r\nfirst@example.com\r\nsecond@example.com\r\n".to_vec();
    csv.extend_from_slice(b"caf\xe9@example.com\r\n");
    let file = temp_file("latin1.csv", &csv);
    let output = Command::new(env!("CARGO_BIN_EXE_scim-gateway"))
        .arg("--database")
        .arg(&app.database_url)
        .args(["import", "--tenant", TENANT])
        .arg(&file)
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    std::fs::remove_file(&file).ok();
    assert!(!output.status.success());
    let err = String::from_utf8(output.stderr).unwrap();
    assert!(err.contains("line 4 is not UTF-8"), "{err}");
    assert_eq!(app.tenant_seats_used().await, 0, "refused before any row");
}

/// Uploads `csv` to the admin API's import; returns the answer.
async fn upload(
    app: &TestApp,
    token: &str,
    query: &str,
    csv: &[u8],
    media: &str,
) -> reqwest::Response {
    app.client
        .post(format!(
            "{}/admin/v1/tenants/{TENANT}/imports{query}",
            app.root
        ))
        .bearer_auth(token)
        .header("content-type", media)
        .body(csv.to_vec())
        .send()
        .await
        .unwrap()
}

/// Follows a job until it has ended.
async fn finished_job(app: &TestApp, token: &str, location: &str) -> Value {
    for _ in 0..200 {
        let job = get_json(&app.client, &format!("{}{location}", app.root), token).await;
        if job["state"] != "running" {
            return job;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the import did not end");
}

#[tokio::test]
async fn the_admin_api_runs_an_upload_as_a_job_with_a_per_row_report() {
    let app = spawn_app().await;
    let (token, _) = crate::admin::operator_token(&app).await;
    let sales =
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Sales"});
    assert_eq!(app.post("/Groups", &sales).await.status(), 201);
    let mut pushed = crate::helpers::user("locked@example.com");
    pushed["userType"] = json!("agent");
    assert_eq!(app.post("/Users", &pushed).await.status(), 201);
    set_seat_limit(&app, Some(4)).await;

    // A dry run first: the same report, nothing written.
    let dry = upload(
        &app,
        &token,
        "?dryRun=true",
        SPREADSHEET.as_bytes(),
        "text/csv; charset=utf-8",
    )
    .await;
    assert_eq!(dry.status(), 202);
    let location = dry.headers()["location"].to_str().unwrap().to_string();
    let dry_job = finished_job(&app, &token, &location).await;
    assert_eq!(dry_job["state"], "finished", "{dry_job}");
    assert_eq!(dry_job["dryRun"], true);
    assert_eq!(app.tenant_seats_used().await, 1);

    let started = upload(
        &app,
        &token,
        "?connection=hr-export",
        SPREADSHEET.as_bytes(),
        "application/vnd.ms-excel",
    )
    .await;
    assert_eq!(started.status(), 202);
    let location = started.headers()["location"].to_str().unwrap().to_string();
    let started: Value = started.json().await.unwrap();
    assert_eq!(started["totalRows"], 9);
    assert_eq!(started["connection"], "hr-export");
    assert!(started["actor"].as_str().unwrap().starts_with("operator:"));
    let job = finished_job(&app, &token, &location).await;
    assert_eq!(job["state"], "finished", "{job}");
    assert_eq!(
        (
            job["rowsDone"].clone(),
            job["created"].clone(),
            job["rejected"].clone()
        ),
        (json!(9), json!(3), json!(6))
    );
    assert_eq!(
        (dry_job["created"].clone(), dry_job["rejected"].clone()),
        (job["created"].clone(), job["rejected"].clone()),
        "the dry run said what the import did"
    );
    assert_eq!(app.tenant_seats_used().await, 4);

    // The report in pages, then all of it as CSV.
    let report = job["report"]
        .as_str()
        .unwrap()
        .trim_start_matches("/admin/v1");
    let first: Value = crate::admin::admin_get(&app, &format!("{report}?limit=5"), &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first["rows"].as_array().unwrap().len(), 5);
    assert_eq!(first["rows"][0]["line"], 2);
    assert_eq!(first["rows"][0]["userName"], "ada@example.com");
    assert_eq!(first["rows"][0]["outcome"], "created");
    assert_eq!(first["nextAfter"], 8);
    let rest: Value = crate::admin::admin_get(&app, &format!("{report}?limit=5&after=8"), &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rest["rows"].as_array().unwrap().len(), 4);
    assert_eq!(rest["nextAfter"], Value::Null);
    assert_eq!(rest["rows"][3]["reason"], "seat limit 4 reached");
    let csv = crate::admin::admin_get(&app, &format!("{report}?format=csv"), &token).await;
    assert_eq!(csv.status(), 200);
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = csv.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 9);
    assert_eq!(&rows[1][0], "4");
    assert_eq!(&rows[1][2], "rejected");
    assert!(rows[1][3].contains("'maxChats' must be between 0 and 10"));

    let listed: Value =
        crate::admin::admin_get(&app, &format!("/tenants/{TENANT}/imports"), &token)
            .await
            .json()
            .await
            .unwrap();
    assert_eq!(listed["jobs"].as_array().unwrap().len(), 2);
    assert!(app.audit().await.iter().any(|e| e.action == "import.start"));
}

#[tokio::test]
async fn the_admin_api_refuses_an_unreadable_file_at_once() {
    let app = spawn_app().await;
    let (token, _) = crate::admin::operator_token(&app).await;
    let latin1 = b"userName\r\nfirst@example.com\r\ncaf\xe9@example.com\r\n";
    let refused = upload(&app, &token, "", latin1, "text/csv").await;
    let problem = crate::admin::assert_problem(refused, 400).await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("line 3 is not UTF-8"),
        "{problem}"
    );
    // A NUL in a userName once failed the whole job on PostgreSQL (its batch lookup could not
    // hold it); it is refused with its line before anything runs, on both engines.
    let nul = b"userName,givenName\nfirst@example.com,Ada\nsecond\x00@example.com,Bob\n";
    let refused = upload(&app, &token, "", nul, "text/csv").await;
    let problem = crate::admin::assert_problem(refused, 400).await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("line 3 holds a NUL character"),
        "{problem}"
    );
    let no_user_name = upload(&app, &token, "", b"email\nx@example.com\n", "text/csv").await;
    crate::admin::assert_problem(no_user_name, 400).await;
    let json_body = upload(&app, &token, "", b"{}", "application/json").await;
    crate::admin::assert_problem(json_body, 415).await;
    let unknown =
        crate::admin::admin_get(&app, &format!("/tenants/{TENANT}/imports/imp_nope"), &token).await;
    crate::admin::assert_problem(unknown, 404).await;
    assert_eq!(app.tenant_seats_used().await, 0);
}
