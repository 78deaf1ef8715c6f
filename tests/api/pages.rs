//! The admin pages (`/ui`): driven in a real headless Chromium through chromedriver (WebDriver)
//! as an operator does the job, with a screenshot of each page; and their safeguards checked
//! over plain HTTP (forged forms, ended sessions, escaped markup, security headers).
//!
//! The browser test needs `chromedriver` and `chromium` (Debian's `chromium-driver` and
//! `chromium`, which `.ci/run` installs); `CHROMEDRIVER` and `CHROMIUM` name other binaries.
//! Without them it fails, saying so: it is never skipped quietly.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use futures_util::FutureExt;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::admin::operator_token;
use crate::helpers::{TENANT, TestApp, spawn_app_with, user};

/// A user whose name is markup: the pages must show it as text.
const MARKUP: &str = "<img src=x onerror=alert(1)>";

/// Seeds the tenant the way an identity provider and an operator would: users and a group over
/// SCIM, a role mapped to the group and to a user type through the admin API, a create the seat
/// limit refuses, and an environment below the tenant.
async fn seed(app: &TestApp, operator: &str) -> (String, String) {
    let mut ada = user("ada@acme.test");
    ada["displayName"] = json!("Ada Lovelace");
    ada["name"] = json!({"givenName": "Ada", "familyName": "Lovelace"});
    ada["userType"] = json!("supervisor");
    let ada: Value = app.post("/Users", &ada).await.json().await.unwrap();
    let ada = ada["id"].as_str().unwrap().to_string();
    // Markup as the userName and as the displayName, as a hostile or careless IdP might push it.
    let mut markup = user(MARKUP);
    markup["displayName"] = json!(MARKUP);
    assert_eq!(
        app.post("/Users", &markup).await.status(),
        StatusCode::CREATED
    );
    let mut bob = user("bob@acme.test");
    bob["displayName"] = json!("Bob Marley");
    assert_eq!(app.post("/Users", &bob).await.status(), StatusCode::CREATED);
    // The fourth is refused: the tenant has three seats.
    let refused = app.post("/Users", &user("dave@acme.test")).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let admin = |method: reqwest::Method, path: String, body: Value| {
        app.client
            .request(method, format!("{}/admin/v1{path}", app.root))
            .bearer_auth(operator)
            .json(&body)
            .send()
    };
    let role = json!({"name": "Supervisor", "permissions": ["users:view", "users:manage", "conversations:*"]});
    let created = admin(
        reqwest::Method::POST,
        format!("/tenants/{TENANT}/roles"),
        role,
    )
    .await
    .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let mapped = admin(
        reqwest::Method::PUT,
        format!("/tenants/{TENANT}/roles/Supervisor/groups/Leads"),
        Value::Null,
    )
    .await
    .unwrap();
    assert!(mapped.status().is_success());
    let mapped = admin(
        reqwest::Method::PUT,
        format!("/tenants/{TENANT}/roles/Supervisor/user-types/supervisor"),
        Value::Null,
    )
    .await
    .unwrap();
    assert!(mapped.status().is_success());
    // An environment of the tenant (an agency), where its users' roles ripple down.
    let studio = scim_gateway::tenant::TenantSlug::parse("studio").unwrap();
    scim_gateway::tenant::tenants::create_tenant_by(
        &app.store,
        "cli",
        &studio,
        None,
        None,
        Some(TENANT),
        scim_gateway::clock::now_micros(),
    )
    .await
    .unwrap();
    let leads = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Leads", "members": [{"value": ada}]});
    assert_eq!(
        app.post("/Groups", &leads).await.status(),
        StatusCode::CREATED
    );
    (ada, "entra".into())
}

/// Where screenshots go: `UI_SCREENSHOTS`, else `target/ui-screenshots`.
fn screenshot_dir() -> PathBuf {
    std::env::var_os("UI_SCREENSHOTS").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/ui-screenshots"),
        PathBuf::from,
    )
}

/// chromedriver on a free loopback port, and a headless Chromium session through it.
struct Browser {
    driver: Child,
    client: Client,
    /// The temporary directory of chromedriver and Chromium (Chromium leaves directories in it).
    scratch: PathBuf,
}

impl Browser {
    async fn start() -> Browser {
        let driver_binary = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let scratch = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("browser-{port}"));
        std::fs::create_dir_all(&scratch).unwrap();
        let driver = Command::new(&driver_binary)
            .arg(format!("--port={port}"))
            .env("TMPDIR", &scratch)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "the browser test needs '{driver_binary}' (Debian: apt-get install chromium chromium-driver; .ci/run installs them): {e}"
                )
            });
        let mut options = json!({
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1366,900"]
        });
        if let Ok(binary) = std::env::var("CHROMIUM") {
            options["binary"] = json!(binary);
        }
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("goog:chromeOptions".into(), options);
        let url = format!("http://127.0.0.1:{port}");
        let mut last_error = String::new();
        for _ in 0..100 {
            match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(capabilities.clone())
                .connect(&url)
                .await
            {
                Ok(client) => {
                    return Browser {
                        driver,
                        client,
                        scratch,
                    };
                }
                Err(e) => last_error = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no browser session through chromedriver: {last_error}");
    }

    async fn stop(mut self) {
        self.client.close().await.ok();
        self.driver.kill().ok();
        self.driver.wait().ok();
        std::fs::remove_dir_all(&self.scratch).ok();
    }
}

/// The text of the element `css` once the page shows it. An element of the page being left
/// can go stale between finding and reading it: it is then found again on the new page.
async fn text_of(browser: &Client, css: &str) -> String {
    let mut last_error = String::new();
    for _ in 0..20 {
        let element = browser
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no '{css}' on the page: {e}"));
        match element.text().await {
            Ok(text) => return text,
            Err(e) => last_error = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("'{css}' kept going stale: {last_error}");
}

async fn screenshot(browser: &Client, name: &str) {
    let png = browser.screenshot().await.unwrap();
    let dir = screenshot_dir();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

/// The first cell of each row of the users table.
async fn listed_names(browser: &Client) -> Vec<String> {
    let mut names = Vec::new();
    for cell in browser
        .find_all(Locator::Css("#users tbody td.name a"))
        .await
        .unwrap()
    {
        names.push(cell.text().await.unwrap());
    }
    names
}

async fn filter_users(browser: &Client, field: &str, value: &str) {
    filter_users_in(browser, "#users", field, value).await;
}

/// Chooses `value` in the filter `field` of the page's filter form, submits it, and waits for
/// the filtered page's table `table`.
async fn filter_users_in(browser: &Client, table: &str, field: &str, value: &str) {
    let select = browser
        .find(Locator::Css(&format!("form.filters select[name={field}]")))
        .await
        .unwrap();
    select.select_by_value(value).await.unwrap();
    browser
        .find(Locator::Css("form.filters button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // The filtered page is a new URL (bookmarkable): wait for it.
    let wanted = format!("{field}={value}");
    for _ in 0..100 {
        let url = browser.current_url().await.unwrap();
        if url.query().is_some_and(|q| q.contains(&wanted)) {
            text_of(browser, table).await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the filter {wanted} did not load");
}

#[tokio::test]
async fn an_operator_does_the_job_in_a_real_browser() {
    let app = spawn_app_with(Some(3)).await;
    let (operator, _) = operator_token(&app).await;
    let (ada, connection) = seed(&app, &operator).await;
    let browser = Browser::start().await;
    let run = std::panic::AssertUnwindSafe(async {
        let b = &browser.client;
        let root = &app.root;
        // Sign in with the operator token.
        b.goto(&format!("{root}/ui/login")).await.unwrap();
        screenshot(b, "01-sign-in").await;
        b.find(Locator::Css("#token"))
            .await
            .unwrap()
            .send_keys(&operator)
            .await
            .unwrap();
        b.find(Locator::Css("form[action='/ui/login'] button"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        assert_eq!(text_of(b, "main h1").await, "Tenants");
        let tenants = text_of(b, "table").await;
        assert!(tenants.contains("3 of 3"), "{tenants}");
        // The refused create made the connection's verdict degraded, here too.
        assert!(tenants.contains("entra degraded"), "{tenants}");
        screenshot(b, "02-tenants").await;
        // The tenant's dashboard: stat cards, the connection's verdict, the refused create.
        b.find(Locator::LinkText(TENANT))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let cards = text_of(b, ".cards").await;
        assert!(
            cards.contains("INVITED\n3") || cards.contains("Invited\n3"),
            "{cards}"
        );
        assert!(text_of(b, "main").await.contains("seat limit 3 reached"));
        screenshot(b, "03-dashboard").await;
        // The users table, filtered by role: only the member of the mapped group.
        b.find(Locator::Css("nav a[href$='/users']"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        text_of(b, "#users").await;
        let everyone = listed_names(b).await;
        assert_eq!(everyone.len(), 3, "{everyone:?}");
        // Markup pushed over SCIM is text: shown as written, and no image element exists.
        assert!(everyone.iter().any(|n| n == MARKUP), "{everyone:?}");
        assert!(
            b.find_all(Locator::Css("#users img"))
                .await
                .unwrap()
                .is_empty()
        );
        screenshot(b, "04-users").await;
        filter_users(b, "role", "Supervisor").await;
        assert_eq!(listed_names(b).await, vec!["Ada Lovelace".to_string()]);
        // Ada's page: the role's source and what it lets her do.
        b.find(Locator::LinkText("Ada Lovelace"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        assert_eq!(text_of(b, "#status").await, "invited");
        assert!(
            text_of(b, "#roles")
                .await
                .contains("Supervisor — through group Leads; as a supervisor")
        );
        let mut grid = Vec::new();
        for row in b
            .find_all(Locator::Css("#permissions tbody tr"))
            .await
            .unwrap()
        {
            let mut cells = Vec::new();
            for cell in row.find_all(Locator::Css("td")).await.unwrap() {
                cells.push(cell.text().await.unwrap());
            }
            grid.push(cells.join(" "));
        }
        assert!(grid.contains(&"users ✓ · · · ✓".to_string()), "{grid:?}");
        assert!(
            grid.contains(&"conversations ✓ ✓ ✓ ✓ ✓".to_string()),
            "{grid:?}"
        );
        assert!(grid.contains(&"settings · · · · ·".to_string()), "{grid:?}");
        // The environments she reaches as an agency user, with her roles there.
        let environments = text_of(b, "#environments").await;
        assert!(
            environments.contains("studio") && environments.contains("Supervisor"),
            "{environments}"
        );
        screenshot(b, "05-user").await;
        // She has not signed in yet: a new invitation link to copy, and back.
        let user_page = b.current_url().await.unwrap();
        b.find(Locator::Css("form[action$='/invitation'] button"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let link = b
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css("#link"))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap()
            .unwrap();
        assert!(
            link.starts_with(&format!("{root}/sso/{TENANT}/invite/inv_")),
            "{link}"
        );
        assert!(
            text_of(b, ".flash")
                .await
                .contains("earlier link no longer works")
        );
        b.goto(user_page.as_str()).await.unwrap();
        // Suspend her: the page comes back with the new status, and the table agrees.
        b.find(Locator::Css("form[action$='/status'] button"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        // The flash shows on the answer's page only: wait for it before reading the status, which
        // the page the button was on shows too (the status was once read before the answer came).
        assert!(text_of(b, ".flash").await.starts_with("Suspended"));
        assert_eq!(text_of(b, "#status").await, "suspended");
        screenshot(b, "06-user-suspended").await;
        b.goto(&format!("{root}/ui/t/{TENANT}/users"))
            .await
            .unwrap();
        filter_users(b, "status", "suspended").await;
        assert_eq!(listed_names(b).await, vec!["Ada Lovelace".to_string()]);
        // The connection: the refused create with its request summary.
        b.find(Locator::Css("nav a[href$='/connections']"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        b.find(Locator::LinkText(&connection))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let rejections = text_of(b, "#rejections").await;
        assert!(
            rejections.contains("POST /scim/v2/acme/Users"),
            "{rejections}"
        );
        assert!(rejections.contains("seat limit 3 reached"), "{rejections}");
        // Who was refused: the userName the create asked for.
        assert!(rejections.contains("dave@acme.test"), "{rejections}");
        screenshot(b, "07-connection").await;
        // A new token from the connection's page: shown once, and it works for SCIM; revoked
        // from the same page, it stops.
        b.find(Locator::Css("form[action$='/tokens'] button"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let secret_field = b
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css("#secret"))
            .await
            .unwrap();
        let secret = secret_field.prop("value").await.unwrap().unwrap();
        assert!(secret.starts_with("scgw_"), "{secret}");
        screenshot(b, "07b-new-token").await;
        let app = &app;
        let with_new = |token: String| async move {
            app.get_with(&app.url("/Users?count=1"), &token)
                .await
                .status()
        };
        assert_eq!(with_new(secret.clone()).await, StatusCode::OK);
        b.goto(&format!("{root}/ui/t/{TENANT}/connections/{connection}"))
            .await
            .unwrap();
        let prefix: String = secret.chars().take(12).collect();
        let revoke = format!("form[action$='/tokens/revoke'] input[value^='{prefix}']");
        let row_form = b
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(&revoke))
            .await
            .unwrap();
        let button = row_form
            .find(Locator::XPath("./following-sibling::button"))
            .await
            .unwrap();
        button.click().await.unwrap();
        assert!(text_of(b, ".flash").await.starts_with("Token revoked"));
        // A write looks the token up again at once (reads may reuse it for a second).
        let refused = app
            .client
            .post(app.url("/Users"))
            .bearer_auth(&secret)
            .json(&user("after-revocation"))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
        // The audit log, filtered to refusals: the seat-limit one, with its export links.
        b.find(Locator::Css("nav a[href$='/audit']"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        assert!(text_of(b, "#audit").await.contains("user.suspend"));
        filter_users_in(b, "#audit", "outcome", "rejected").await;
        let refusals = text_of(b, "#audit").await;
        assert!(refusals.contains("seat limit 3 reached"), "{refusals}");
        assert!(!refusals.contains("user.suspend"), "{refusals}");
        let csv = b.find(Locator::LinkText("CSV")).await.unwrap();
        let href = csv.attr("href").await.unwrap().unwrap();
        assert!(
            href.contains("outcome=rejected") && href.contains("format=csv"),
            "{href}"
        );
        screenshot(b, "08-audit").await;
        // The roles: the catalog and the groups and user types that grant each role.
        b.find(Locator::Css("nav a[href$='/roles']"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let roles = text_of(b, "#roles").await;
        assert!(
            roles.contains("Supervisor")
                && roles.contains("users:manage")
                && roles.contains("Leads"),
            "{roles}"
        );
        assert_eq!(
            text_of(b, "#roles tbody tr:first-child td:nth-child(4)").await,
            "supervisor"
        );
        screenshot(b, "09-roles").await;
        // The environment's users page lists the agency's users as inherited.
        b.goto(&format!("{root}/ui/t/studio/users")).await.unwrap();
        let inherited = text_of(b, "#inherited").await;
        assert!(
            inherited.contains(&format!("inherited from {TENANT}"))
                && inherited.contains("Supervisor"),
            "{inherited}"
        );
        screenshot(b, "10-inherited-users").await;
        assert_eq!(app.status_of(&json!({"id": ada})).await, "suspended");
    })
    .catch_unwind()
    .await;
    browser.stop().await;
    if let Err(panic) = run {
        std::panic::resume_unwind(panic);
    }
    println!("screenshots: {}", screenshot_dir().display());
}

/// A client that shows redirects instead of following them.
fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Signs in to the pages at `pages` (…/ui) with an operator token; the session cookie
/// (`name=value`) to send with page requests.
pub async fn page_session(pages: &str, operator: &str) -> String {
    let signed_in = no_redirects()
        .post(format!("{pages}/login"))
        .form(&[("token", operator)])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    signed_in.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

/// The form token of the page at `url` for the session `cookie`.
async fn csrf_of(client: &reqwest::Client, url: &str, cookie: &str) -> String {
    let page = client
        .get(url)
        .header(reqwest::header::COOKIE, cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    page.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn pages_refuse_forged_forms_and_ended_sessions_and_escape_markup() {
    let app = spawn_app_with(Some(3)).await;
    let (operator, prefix) = operator_token(&app).await;
    let (ada, _) = seed(&app, &operator).await;
    let client = no_redirects();
    let root = &app.root;

    // No session: to the sign-in page. A wrong token: refused, no cookie.
    let anonymous = client
        .get(format!("{root}/ui/tenants"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::SEE_OTHER);
    assert_eq!(anonymous.headers()["location"], "/ui/login");
    let wrong = client
        .post(format!("{root}/ui/login"))
        .form(&[("token", "scgwadm_not-a-token")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.headers().get("set-cookie").is_none());
    // A SCIM token is no operator token either.
    let scim = client
        .post(format!("{root}/ui/login"))
        .form(&[("token", app.token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(scim.status(), StatusCode::UNAUTHORIZED);

    // Signed in: an HttpOnly, SameSite cookie holding a session secret, not the token.
    let signed_in = client
        .post(format!("{root}/ui/login"))
        .form(&[("token", operator.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let set_cookie = signed_in.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"),
        "{set_cookie}"
    );
    assert!(!set_cookie.contains(&operator));
    let cookie = set_cookie.split(';').next().unwrap().to_string();

    // Every page: a policy without script or frames; markup pushed over SCIM escaped.
    let users = client
        .get(format!("{root}/ui/t/{TENANT}/users"))
        .header(reqwest::header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(users.status(), StatusCode::OK);
    let policy = users.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(policy.contains("default-src 'none'") && policy.contains("frame-ancestors 'none'"));
    // Script only from the gateway's own files: nothing inline, nothing evaluated.
    assert!(policy.contains("script-src 'self';"), "{policy}");
    assert!(!policy.contains("unsafe"), "{policy}");
    let html = users.text().await.unwrap();
    assert!(
        html.contains("&#60;img src=x onerror=alert(1)&#62;")
            || html.contains("&lt;img src=x onerror=alert(1)&gt;")
    );
    assert!(!html.contains(MARKUP));
    for missing in ["/ui/nothing-here", "/ui/t/acme/nothing-here"] {
        let page = client
            .get(format!("{root}{missing}"))
            .header(reqwest::header::COOKIE, &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::NOT_FOUND, "{missing}");
        assert!(page.text().await.unwrap().contains("<h1>Not found</h1>"));
    }
    let trailing = client
        .get(format!("{root}/ui/"))
        .header(reqwest::header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(trailing.headers()["location"], "/ui/tenants");
    let unknown = client
        .get(format!("{root}/ui/t/nobody"))
        .header(reqwest::header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);

    // A form without this session's token changes nothing.
    let user_page = format!("{root}/ui/t/{TENANT}/users/{ada}");
    let forged = client
        .post(format!("{user_page}/status"))
        .header(reqwest::header::COOKIE, &cookie)
        .form(&[("csrf", "forged"), ("change", "suspend")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.status_of(&json!({"id": ada})).await, "invited");
    let csrf = csrf_of(&client, &user_page, &cookie).await;
    let suspended = client
        .post(format!("{user_page}/status"))
        .header(reqwest::header::COOKIE, &cookie)
        .form(&[("csrf", csrf.as_str()), ("change", "suspend")])
        .send()
        .await
        .unwrap();
    assert_eq!(suspended.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.status_of(&json!({"id": ada})).await, "suspended");
    // The suspension is the operator's act in the audit trail.
    assert!(
        app.audit()
            .await
            .iter()
            .any(|e| e.action == "user.suspend" && e.actor == format!("operator:{prefix}"))
    );

    // The audit log's export link downloads what the filters select, as CSV.
    let export = client
        .get(format!(
            "{root}/ui/t/{TENANT}/audit/export?outcome=rejected&format=csv"
        ))
        .header(reqwest::header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(export.status(), StatusCode::OK);
    assert!(
        export.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = export.text().await.unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert!(rows[0].starts_with("at,actor,action,outcome"), "{csv}");
    assert_eq!(rows.len(), 2, "{csv}");
    assert!(rows[1].contains("seat limit 3 reached"), "{csv}");

    // Signing out ends the session on the server: the old cookie opens nothing.
    let signed_out = client
        .post(format!("{root}/ui/logout"))
        .header(reqwest::header::COOKIE, &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_out.status(), StatusCode::SEE_OTHER);
    let after = client
        .get(format!("{root}/ui/tenants"))
        .header(reqwest::header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), StatusCode::SEE_OTHER);

    // Revoking the operator token ends the sessions it opened.
    let cookie = page_session(&format!("{root}/ui"), &operator).await;
    let open = |cookie: String| {
        client
            .get(format!("{root}/ui/tenants"))
            .header(reqwest::header::COOKIE, cookie)
            .send()
    };
    assert_eq!(open(cookie.clone()).await.unwrap().status(), StatusCode::OK);
    scim_gateway::tenant::operators::revoke_operator_token(
        &app.store,
        &prefix,
        scim_gateway::clock::now_micros(),
    )
    .await
    .unwrap();
    assert_eq!(open(cookie).await.unwrap().status(), StatusCode::SEE_OTHER);
}
