//! SSO end to end, against the real OpenID Provider (`oidc_provider`): the browser is a reqwest
//! client with a cookie store that follows every redirect itself; the gateway reaches the
//! provider through a proxy that can alter ID tokens.

use reqwest::redirect::Policy;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TENANT, TestApp, spawn_app_configured, spawn_sibling};
use crate::oidc_provider::{Interceptor, Provider, Tamper};
use scim_gateway::clock::now_micros;
use scim_gateway::config::Settings;
use scim_gateway::sso::config::{SsoChange, set_config};
use scim_gateway::sso::secret_key::SecretKey;

const RETURN_TO: &str = "https://app.example/after-login";

struct Sso {
    app: TestApp,
    op: Provider,
    proxy: Interceptor,
    secret: SecretKey,
}

/// What the browser ended with.
struct Attempt {
    status: StatusCode,
    location: Option<String>,
    body: String,
    session: Option<String>,
    /// The provider's redirect back to the gateway, to replay it.
    callback: Option<String>,
}

async fn sso(seats: Option<i64>, jit: bool) -> Sso {
    sso_with(seats, jit, |_| {}).await
}

/// A gateway with SSO set up for `acme` against a provider of its own; `configure` adjusts the
/// gateway's settings.
async fn sso_with(seats: Option<i64>, jit: bool, configure: impl FnOnce(&mut Settings)) -> Sso {
    let proxy = Interceptor::start().await;
    let secret = SecretKey::parse(&SecretKey::generate().unwrap()).unwrap();
    let (key, proxy_url) = (secret.clone(), proxy.url.clone());
    let app = spawn_app_configured(seats, move |settings| {
        settings.sso.secret_key = Some(key);
        settings.sso.http_proxy = Some(proxy_url);
        configure(settings);
    })
    .await;
    let op = Provider::start(&format!("{}/sso/{TENANT}/callback", app.root)).await;
    proxy.use_provider_key(op.ec_signing_key());
    let change = SsoChange {
        issuer: Some(op.issuer.clone()),
        client_id: Some("scim-sp".into()),
        client_secret: Some("scim-sp-secret".into()),
        jit: Some(jit),
        groups_claim: Some(Some("groups".into())),
        scopes: Some(
            ["openid", "email", "profile", "groups"]
                .map(String::from)
                .to_vec(),
        ),
        redirect_allow: Some(vec![RETURN_TO.into()]),
        ..SsoChange::default()
    };
    set_config(&app.store, &secret, TENANT, change, now_micros())
        .await
        .unwrap();
    Sso {
        app,
        op,
        proxy,
        secret,
    }
}

/// The gateway's published session keys.
async fn jwks(root: &str) -> Value {
    reqwest::get(format!("{root}/.well-known/jwks.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn browser() -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .unwrap()
}

fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("scgw_session="))
        .map(|c| c.split(';').next().unwrap_or("").to_string())
        .filter(|c| !c.is_empty())
}

async fn finish(response: reqwest::Response, callback: Option<String>) -> Attempt {
    Attempt {
        status: response.status(),
        location: response
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_string()),
        session: session_cookie(&response),
        body: response.text().await.unwrap(),
        callback,
    }
}

impl Sso {
    /// Signs `user` in at the provider (its `login_hint` logs them in without a form) in a
    /// fresh browser.
    async fn sign_in(&self, user: &str, return_to: Option<&str>) -> Attempt {
        self.sign_in_with(&browser(), user, return_to).await
    }

    async fn sign_in_with(&self, browser: &Client, user: &str, return_to: Option<&str>) -> Attempt {
        let mut query = vec![("login_hint", user)];
        if let Some(r) = return_to {
            query.push(("return_to", r));
        }
        let response = browser
            .get(format!("{}/sso/{TENANT}/login", self.app.root))
            .query(&query)
            .send()
            .await
            .unwrap();
        self.complete(browser, response).await
    }

    /// Follows the gateway's answer to a login through the provider and back, and visits the
    /// callback: what the browser ends with.
    async fn complete(&self, browser: &Client, response: reqwest::Response) -> Attempt {
        match self.to_callback(browser, response).await {
            Ok(callback) => {
                let answer = browser.get(&callback).send().await.unwrap();
                finish(answer, Some(callback)).await
            }
            Err(answer) => finish(answer, None).await,
        }
    }

    /// Follows the redirects from the gateway's answer to `/login` through the provider until
    /// they lead back to the gateway, and returns that callback URL unvisited; `Err` holds an
    /// answer that was no redirect.
    async fn to_callback(
        &self,
        browser: &Client,
        response: reqwest::Response,
    ) -> Result<String, reqwest::Response> {
        crate::oidc_provider::follow_to_gateway(browser, &self.op.issuer, &self.app.root, response)
            .await
    }

    async fn introspect(&self, token: &str) -> Value {
        self.introspect_at(&self.app.root, token).await
    }

    /// Introspection at the gateway listening at `root` (this one or a sibling).
    async fn introspect_at(&self, root: &str, token: &str) -> Value {
        self.app
            .client
            .post(format!("{root}/sso/introspect"))
            .form(&[("token", token)])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn me(&self, token: &str) -> reqwest::Response {
        self.app
            .get_with(&format!("{}/sso/{TENANT}/me", self.app.root), token)
            .await
    }

    /// The newest `sso.login` event.
    async fn last_login_event(&self) -> scim_gateway::store::AuditRecord {
        self.app
            .audit()
            .await
            .into_iter()
            .find(|e| e.action == "sso.login")
            .expect("a sign-in event")
    }

    async fn provision(&self, user_name: &str) -> Value {
        self.app.create_user(user_name).await
    }

    async fn assert_refused(&self, attempt: &Attempt, status: u16, reason: &str) {
        assert_eq!(attempt.status.as_u16(), status, "{}", attempt.body);
        assert!(attempt.body.contains(reason), "{}", attempt.body);
        assert!(attempt.session.is_none());
        let event = self.last_login_event().await;
        assert_eq!(event.outcome, "rejected");
        assert!(
            event.reason.as_deref().is_some_and(|r| r.contains(reason)),
            "{event:?}"
        );
        // The host product hears of it too.
        let told = self
            .outbox_events("user.sign_in_refused", |e| {
                e.data["reason"]
                    .as_str()
                    .is_some_and(|r| r.contains(reason))
            })
            .await;
        assert!(
            !told.is_empty(),
            "no user.sign_in_refused event for {reason}"
        );
    }

    async fn outbox_events(
        &self,
        event_type: &str,
        wanted: impl Fn(&scim_gateway::store::EventRecord) -> bool,
    ) -> Vec<scim_gateway::store::EventRecord> {
        self.app.outbox_events(event_type, wanted).await
    }
}

#[tokio::test]
async fn an_invited_user_becomes_active_at_first_sign_in() {
    let sso = sso(None, false).await;
    let user = sso.provision("alice@example.com").await;
    assert_eq!(sso.app.status_of(&user).await, "invited");

    let attempt = sso.sign_in("alice", Some(RETURN_TO)).await;

    assert_eq!(attempt.status, StatusCode::SEE_OTHER, "{}", attempt.body);
    assert_eq!(attempt.location.as_deref(), Some(RETURN_TO));
    let token = attempt.session.expect("a session cookie");
    assert_eq!(sso.app.status_of(&user).await, "active");
    let id = user["id"].as_str().unwrap();
    let stored = sso.app.get(&format!("/Users/{id}?attributes=urn:ietf:params:scim:schemas:extension:gateway:2.0:User:lastLogin")).await;
    let stored: Value = stored.json().await.unwrap();
    assert!(
        stored["urn:ietf:params:scim:schemas:extension:gateway:2.0:User"]["lastLogin"].is_string()
    );
    let event = sso.last_login_event().await;
    assert_eq!(
        (event.outcome.as_str(), event.target_id.as_deref()),
        ("success", Some(id))
    );
    assert_eq!(event.changed_attributes, vec!["status", "lastLogin"]);
    let signed_in = sso.outbox_events("user.signed_in", |_| true).await;
    assert_eq!(signed_in.len(), 1);
    assert_eq!(signed_in[0].resource_id.as_deref(), Some(id));
    assert_eq!(signed_in[0].resource_version, Some(2));
    assert_eq!(signed_in[0].changed, vec!["status", "lastLogin"]);
    assert_eq!(
        signed_in[0].data["urn:ietf:params:scim:schemas:extension:gateway:2.0:User"]["status"],
        "active"
    );

    let me = sso.me(&token).await;
    assert_eq!(me.status(), StatusCode::OK);
    let me: Value = me.json().await.unwrap();
    assert_eq!(me["user"]["id"], json!(id));
    assert_eq!(me["tenant"], json!(TENANT));
    let scim_me = sso
        .app
        .get_with(&format!("{}/Me", sso.app.base), &token)
        .await;
    assert_eq!(scim_me.status(), StatusCode::OK);
    assert!(
        scim_me.headers()["location"]
            .to_str()
            .unwrap()
            .ends_with(id)
    );
    let scim_me: Value = scim_me.json().await.unwrap();
    assert_eq!(scim_me["userName"], json!("alice@example.com"));
}

#[tokio::test]
async fn the_session_token_verifies_with_the_published_jwks_alone() {
    let sso = sso(None, false).await;
    let now = now_micros();
    scim_gateway::tenant::roles::create_role(
        &sso.app.store,
        TENANT,
        "Admin",
        &["users:manage".into(), "settings:view".into()],
        None,
        false,
        now,
    )
    .await
    .unwrap();
    // The provider says alice is in "admins"; the tenant maps that group to a role.
    scim_gateway::tenant::roles::map_group(&sso.app.store, TENANT, "admins", "Admin", false, now)
        .await
        .unwrap();
    let user = sso.provision("alice@example.com").await;
    let token = sso.sign_in("alice", None).await.session.expect("session");

    let jwks: jsonwebtoken::jwk::JwkSet =
        serde_json::from_value(jwks(&sso.app.root).await).unwrap();
    let header = jsonwebtoken::decode_header(&token).unwrap();
    let jwk = jwks
        .find(header.kid.as_deref().unwrap())
        .expect("the signing key is published");
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.set_audience(&[&sso.app.root]);
    validation.set_issuer(&[&sso.app.root]);
    let claims = jsonwebtoken::decode::<Value>(
        &token,
        &jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap(),
        &validation,
    )
    .unwrap()
    .claims;
    assert_eq!(claims["sub"], user["id"]);
    assert_eq!(claims["tenant"], json!(TENANT));
    assert_eq!(claims["roles"], json!(["Admin"]));
    assert_eq!(
        claims["permissions"],
        json!(["settings:view", "users:manage"])
    );
    assert!(claims["exp"].as_i64().unwrap() > claims["iat"].as_i64().unwrap());
    // Introspection and /me count the provider's groups of this session too.
    let introspected = sso.introspect(&token).await;
    assert_eq!(introspected["roles"], claims["roles"]);
    assert_eq!(introspected["permissions"], claims["permissions"]);
    let me: Value = sso.me(&token).await.json().await.unwrap();
    assert_eq!(me["roles"], json!(["Admin"]));

    // A token changed by its holder no longer verifies.
    let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
    parts[1] = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        serde_json::to_vec(&json!({"sub": "someone-else", "exp": claims["exp"]})).unwrap(),
    );
    let forged = parts.join(".");
    assert!(
        jsonwebtoken::decode::<Value>(
            &forged,
            &jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap(),
            &validation
        )
        .is_err()
    );
    assert_eq!(sso.introspect(&forged).await, json!({"active": false}));
}

#[tokio::test]
async fn suspended_users_are_refused_and_their_sessions_stop_at_once() {
    let sso = sso(None, false).await;
    let user = sso.provision("alice@example.com").await;
    let token = sso.sign_in("alice", None).await.session.expect("session");
    assert_eq!(sso.introspect(&token).await["active"], json!(true));

    let id = user["id"].as_str().unwrap();
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "active", "value": false}]});
    let response = sso
        .app
        .client
        .patch(sso.app.url(&format!("/Users/{id}")))
        .bearer_auth(&sso.app.token)
        .header("content-type", "application/scim+json")
        .body(patch.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    assert_eq!(sso.introspect(&token).await, json!({"active": false}));
    assert_eq!(sso.me(&token).await.status(), StatusCode::UNAUTHORIZED);
    let attempt = sso.sign_in("alice", None).await;
    sso.assert_refused(&attempt, 403, "suspended").await;
    assert_eq!(sso.app.status_of(&user).await, "suspended");
}

#[tokio::test]
async fn deleted_users_are_refused_and_their_sessions_stop_at_once() {
    let sso = sso(None, true).await;
    let user = sso.provision("alice@example.com").await;
    let token = sso.sign_in("alice", None).await.session.expect("session");
    let id = user["id"].as_str().unwrap();
    assert_eq!(
        sso.app.delete(&format!("/Users/{id}")).await.status(),
        StatusCode::NO_CONTENT
    );

    assert_eq!(sso.introspect(&token).await, json!({"active": false}));
    // Even with just-in-time provisioning on, a deleted user does not come back by signing in.
    let seats = sso.app.tenant_seats_used().await;
    let attempt = sso.sign_in("alice", None).await;
    sso.assert_refused(&attempt, 403, "removed").await;
    assert_eq!(sso.app.tenant_seats_used().await, seats);
}

#[tokio::test]
async fn unknown_users_are_refused_without_jit() {
    let sso = sso(None, false).await;
    sso.provision("alice@example.com").await;
    let attempt = sso.sign_in("bob", None).await;
    sso.assert_refused(&attempt, 403, "bob@example.com").await;
    assert!(attempt.body.contains("has been provisioned"));
    assert_eq!(sso.app.tenant_seats_used().await, 1);
}

#[tokio::test]
async fn jit_admits_unknown_users_within_the_seat_limit_only() {
    let sso = sso(Some(1), true).await;
    let attempt = sso.sign_in("alice", None).await;
    assert_eq!(attempt.status, StatusCode::SEE_OTHER, "{}", attempt.body);
    assert!(attempt.session.is_some());
    let found = sso.app.filter("userName eq \"alice@example.com\"").await;
    assert_eq!(found["totalResults"], json!(1));
    let alice = &found["Resources"][0];
    assert_eq!(alice["name"]["givenName"], json!("Alice"));
    assert_eq!(alice["emails"][0]["value"], json!("alice@example.com"));
    assert_eq!(sso.app.status_of(alice).await, "active");
    assert_eq!(sso.app.tenant_seats_used().await, 1);

    let attempt = sso.sign_in("bob", None).await;
    sso.assert_refused(&attempt, 403, "seat limit 1 reached")
        .await;
    assert_eq!(sso.app.tenant_seats_used().await, 1);
    assert_eq!(
        sso.app.filter("userName eq \"bob@example.com\"").await["totalResults"],
        json!(0)
    );
}

#[tokio::test]
async fn a_wrong_or_replayed_state_is_refused() {
    let sso = sso(None, false).await;
    let user = sso.provision("alice@example.com").await;
    let browser = browser();
    let first = sso.sign_in_with(&browser, "alice", None).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.body);

    // Replayed: the same callback (code and state) a second time.
    let callback = first.callback.expect("callback");
    let replay = finish(browser.get(&callback).send().await.unwrap(), None).await;
    assert_eq!(replay.status, StatusCode::BAD_REQUEST, "{}", replay.body);
    assert!(replay.body.contains("state"));
    assert!(replay.session.is_none());

    // Wrong: a state this browser never got.
    let wrong = callback.replace("state=", "state=x");
    let wrong = finish(browser.get(&wrong).send().await.unwrap(), None).await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);

    // A state started in another browser (login CSRF) does not finish in this one.
    let other = self::browser();
    let started = other
        .get(format!(
            "{}/sso/{TENANT}/login?login_hint=alice",
            sso.app.root
        ))
        .send()
        .await
        .unwrap();
    let authorize = started.headers()["location"].to_str().unwrap().to_string();
    let state = reqwest::Url::parse(&authorize)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.to_string())
        .unwrap();
    let cross = finish(
        browser
            .get(format!(
                "{}/sso/{TENANT}/callback?code=x&state={state}",
                sso.app.root
            ))
            .send()
            .await
            .unwrap(),
        None,
    )
    .await;
    assert_eq!(cross.status, StatusCode::BAD_REQUEST);
    assert_eq!(sso.app.status_of(&user).await, "active");
}

#[tokio::test]
async fn forged_or_misdirected_id_tokens_are_refused() {
    let sso = sso(None, true).await;
    sso.provision("alice@example.com").await;
    let cases = [
        (
            Tamper::KeepSignature(json!({"email": "bob@example.com"})),
            "signature",
        ),
        (Tamper::Resign(json!({"aud": "another-client"})), "audience"),
        (
            Tamper::Resign(json!({"exp": now_micros() / 1_000_000 - 600})),
            "expired",
        ),
        (Tamper::Resign(json!({"nonce": "not-the-nonce"})), "nonce"),
        (
            Tamper::Resign(json!({"iss": "https://evil.example"})),
            "issuer",
        ),
    ];
    for (tamper, expected) in cases {
        sso.proxy.tamper(tamper.clone());
        let attempt = sso.sign_in("alice", None).await;
        assert_eq!(
            attempt.status,
            StatusCode::UNAUTHORIZED,
            "{tamper:?}: {}",
            attempt.body
        );
        assert!(
            attempt.body.to_lowercase().contains(expected),
            "{tamper:?}: {}",
            attempt.body
        );
        assert!(attempt.session.is_none());
        let event = sso.last_login_event().await;
        assert_eq!(event.outcome, "rejected");
        assert!(event.reason.unwrap().contains("ID token was rejected"));
    }
    // Nothing was created just in time for the forged email.
    assert_eq!(
        sso.app.filter("userName eq \"bob@example.com\"").await["totalResults"],
        json!(0)
    );
    // Re-signing with the provider's key is only refused for what was changed.
    sso.proxy.tamper(Tamper::Resign(json!({})));
    assert_eq!(
        sso.sign_in("alice", None).await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn an_unknown_key_is_looked_up_again_and_a_rotated_provider_key_is_accepted() {
    let mut sso = sso(None, false).await;
    sso.provision("alice@example.com").await;
    assert_eq!(
        sso.sign_in("alice", None).await.status,
        StatusCode::SEE_OTHER
    );
    let fetched = sso.proxy.jwks_fetches();
    assert!(fetched >= 1);

    // A key nobody published: the gateway fetches the key set again, then refuses.
    sso.proxy.tamper(Tamper::UnknownKey);
    let attempt = sso.sign_in("alice", None).await;
    assert_eq!(attempt.status, StatusCode::UNAUTHORIZED, "{}", attempt.body);
    assert_eq!(sso.proxy.jwks_fetches(), fetched + 1);

    // The provider rotates its keys: the next token names a key the cached set lacks.
    sso.proxy.tamper(Tamper::Nothing);
    sso.op.rotate_keys().await;
    let attempt = sso.sign_in("alice", None).await;
    assert_eq!(attempt.status, StatusCode::SEE_OTHER, "{}", attempt.body);
    assert_eq!(sso.proxy.jwks_fetches(), fetched + 2);
    // With the new keys cached, no further fetch is needed.
    assert_eq!(
        sso.sign_in("alice", None).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(sso.proxy.jwks_fetches(), fetched + 2);
}

#[tokio::test]
async fn return_to_must_be_on_the_allow_list() {
    let sso = sso(None, false).await;
    sso.provision("alice@example.com").await;
    for evil in [
        "https://evil.example/",
        "https://app.example.evil.example/after-login",
        "//evil.example",
        "https://app.example/after-login/../../evil",
        "javascript:alert(1)",
        "https://evil.example/<script>alert(1)</script>",
    ] {
        let attempt = sso.sign_in("alice", Some(evil)).await;
        assert_eq!(attempt.status, StatusCode::BAD_REQUEST, "{evil}");
        assert!(attempt.location.is_none());
        assert!(attempt.body.contains("allowed return targets"));
        // The refused URL is named on the page, escaped.
        assert!(!attempt.body.contains("<script"), "{}", attempt.body);
    }
    let attempt = sso
        .sign_in("alice", Some("https://evil.example/<script>"))
        .await;
    assert!(
        attempt.body.contains("https://evil.example/&lt;script&gt;"),
        "{}",
        attempt.body
    );
    // The tenant's own admin pages are a return target without being on the list (the pages'
    // single sign-on leads there); another tenant's are not.
    let pages = format!("{}/ui/t/{TENANT}", sso.app.root);
    let attempt = sso.sign_in("alice", Some(&pages)).await;
    assert_eq!(attempt.location, Some(pages.clone()));
    let foreign = format!("{}/ui/t/globex", sso.app.root);
    assert_eq!(
        sso.sign_in("alice", Some(&foreign)).await.status,
        StatusCode::BAD_REQUEST
    );
    let start = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{}/ui/sso?tenant={TENANT}", sso.app.root))
        .send()
        .await
        .unwrap();
    let encoded: String = form_urlencoded::byte_serialize(pages.as_bytes()).collect();
    assert_eq!(
        start.headers()["location"].to_str().unwrap(),
        format!("/sso/{TENANT}/login?return_to={encoded}")
    );
    // Without return_to the user lands on their own page at the gateway.
    let attempt = sso.sign_in("alice", None).await;
    assert_eq!(
        attempt.location,
        Some(format!("{}/sso/{TENANT}/me", sso.app.root))
    );
}

#[tokio::test]
async fn logout_ends_the_session_everywhere() {
    let sso = sso(None, false).await;
    sso.provision("alice@example.com").await;
    let browser = browser();
    let token = sso
        .sign_in_with(&browser, "alice", None)
        .await
        .session
        .expect("session");
    // The browser's cookie works for /me.
    let me = browser
        .get(format!("{}/sso/{TENANT}/me", sso.app.root))
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);

    let out = browser
        .post(format!(
            "{}/sso/{TENANT}/logout?return_to={RETURN_TO}",
            sso.app.root
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert_eq!(out.headers()["location"], RETURN_TO);
    assert_eq!(sso.introspect(&token).await, json!({"active": false}));
    assert_eq!(sso.me(&token).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn sessions_of_one_tenant_are_not_accepted_by_another() {
    let sso = sso(None, false).await;
    sso.provision("alice@example.com").await;
    let token = sso.sign_in("alice", None).await.session.expect("session");
    let other = scim_gateway::tenant::TenantSlug::parse("other").unwrap();
    scim_gateway::tenant::tenants::create_tenant(&sso.app.store, &other, None, None, now_micros())
        .await
        .unwrap();
    let response = sso
        .app
        .get_with(&format!("{}/sso/other/me", sso.app.root), &token)
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = sso
        .app
        .get_with(&format!("{}/scim/v2/other/Me", sso.app.root), &token)
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // A SCIM token is not a session.
    assert_eq!(
        sso.me(&sso.app.token).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn rotating_the_gateway_key_keeps_earlier_sessions_good() {
    let sso = sso(None, false).await;
    sso.provision("alice@example.com").await;
    let before = sso.sign_in("alice", None).await.session.expect("session");
    let new_kid =
        scim_gateway::sso::session::rotate_signing_key(&sso.app.store, &sso.secret, now_micros())
            .await
            .unwrap();
    let after = sso.sign_in("alice", None).await.session.expect("session");
    let kid = |t: &str| jsonwebtoken::decode_header(t).unwrap().kid.unwrap();
    assert_eq!(kid(&after), new_kid);
    assert_ne!(kid(&before), new_kid);
    let jwks = jwks(&sso.app.root).await;
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert!(kids.contains(&new_kid.as_str()) && kids.contains(&kid(&before).as_str()));
    assert!(jwks.to_string().find("\"d\"").is_none(), "no private parts");
    assert_eq!(sso.introspect(&before).await["active"], json!(true));
    assert_eq!(sso.introspect(&after).await["active"], json!(true));
}

#[tokio::test]
async fn without_a_secret_key_sso_is_off_and_says_so() {
    let app = spawn_app_configured(None, |_| {}).await;
    let response = browser()
        .get(format!("{}/sso/{TENANT}/login", app.root))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("SCIM_GATEWAY_SECRET_KEY")
    );
    assert_eq!(jwks(&app.root).await, json!({"keys": []}));
    // SCIM is unaffected.
    assert_eq!(app.get("/Users").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_tenant_without_sso_settings_or_an_unknown_tenant_is_404() {
    let sso = sso(None, false).await;
    let other = scim_gateway::tenant::TenantSlug::parse("other").unwrap();
    scim_gateway::tenant::tenants::create_tenant(&sso.app.store, &other, None, None, now_micros())
        .await
        .unwrap();
    for slug in ["other", "nobody"] {
        let response = browser()
            .get(format!("{}/sso/{slug}/login", sso.app.root))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{slug}");
    }
}

#[tokio::test]
async fn an_expired_login_state_is_refused() {
    // A login may take no time at all: its state has expired by the time the provider answers.
    let sso = sso_with(None, false, |settings| settings.sso.login_ttl_secs = 0).await;
    let user = sso.provision("alice@example.com").await;
    let attempt = sso.sign_in("alice", None).await;
    assert_eq!(attempt.status, StatusCode::BAD_REQUEST, "{}", attempt.body);
    assert!(attempt.body.contains("expired"));
    assert!(attempt.session.is_none());
    assert_eq!(sso.app.status_of(&user).await, "invited");
}

#[tokio::test]
async fn a_login_started_at_one_gateway_process_finishes_at_another() {
    let sso = sso(None, false).await;
    sso.provision("alice@example.com").await;
    let (key, proxy, public) = (
        sso.secret.clone(),
        sso.proxy.url.clone(),
        sso.app.root.clone(),
    );
    let (sibling, _stop) = spawn_sibling(&sso.app, move |settings| {
        settings.public_url = public;
        settings.sso.secret_key = Some(key);
        settings.sso.http_proxy = Some(proxy);
    })
    .await;
    // The browser starts at the first process; the load balancer sends the callback to the other.
    let browser = browser();
    let response = browser
        .get(format!(
            "{}/sso/{TENANT}/login?login_hint=alice",
            sso.app.root
        ))
        .send()
        .await
        .unwrap();
    let callback = sso
        .to_callback(&browser, response)
        .await
        .expect("a redirect back to the gateway")
        .replacen(&sso.app.root, &sibling, 1);
    // Cookies ignore ports (RFC 6265), so the state cookie set by the first process comes along.
    let done = finish(browser.get(&callback).send().await.unwrap(), None).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let token = done.session.expect("session");
    // Either process answers for the session.
    assert_eq!(sso.introspect(&token).await["active"], json!(true));
    let at_sibling = sso.introspect_at(&sibling, &token).await;
    assert_eq!(at_sibling["active"], json!(true));
}

#[tokio::test]
async fn cookies_are_secure_when_the_public_url_is_https() {
    let sso = sso_with(None, false, |s| s.public_url = "https://gw.example".into()).await;
    let response = browser()
        .get(format!("{}/sso/{TENANT}/login", sso.app.root))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(cookie.starts_with("scgw_sso_state="), "{cookie}");
    for attribute in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/sso/acme/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    let location = response.headers()["location"].to_str().unwrap();
    assert!(location.contains("redirect_uri=https%3A%2F%2Fgw.example%2Fsso%2Facme%2Fcallback"));
    assert!(location.contains("code_challenge_method=S256"));
}

#[tokio::test]
async fn the_claim_prefers_user_name_and_refuses_an_ambiguous_email() {
    let sso = sso(None, false).await;
    let with_email = |user_name: &str| {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": user_name,
            "emails": [{"value": "alice@example.com", "type": "work"}],
        })
    };
    for name in ["alice-1", "alice-2"] {
        assert_eq!(
            sso.app.post("/Users", &with_email(name)).await.status(),
            StatusCode::CREATED
        );
    }
    // Two users carry alice's email and neither is named by it: refused, nobody signed in.
    let attempt = sso.sign_in("alice", None).await;
    sso.assert_refused(&attempt, 403, "more than one user")
        .await;

    // A user whose userName is the email wins over those who merely carry it.
    let named: Value = sso
        .app
        .post("/Users", &with_email("ALICE@example.com"))
        .await
        .json()
        .await
        .unwrap();
    let token = sso.sign_in("alice", None).await.session.expect("session");
    assert_eq!(sso.introspect(&token).await["sub"], named["id"]);
}

/// A tenant admin's session on the admin API: their tenant only, with the permissions their roles
/// give them now; a suspension ends it at once.
#[tokio::test]
async fn an_admin_session_reaches_its_own_tenant_with_its_roles_permissions_only() {
    use crate::admin::{admin_get, admin_post, assert_problem};
    let sso = sso(None, false).await;
    let now = now_micros();
    scim_gateway::tenant::roles::create_role(
        &sso.app.store,
        TENANT,
        "Auditor",
        &["users:view".into()],
        None,
        false,
        now,
    )
    .await
    .unwrap();
    // The provider says alice is in "admins"; the tenant maps that group to the role.
    scim_gateway::tenant::roles::map_group(&sso.app.store, TENANT, "admins", "Auditor", false, now)
        .await
        .unwrap();
    let other = scim_gateway::tenant::TenantSlug::parse("globex").unwrap();
    scim_gateway::tenant::tenants::create_tenant(&sso.app.store, &other, None, None, now)
        .await
        .unwrap();
    let user = sso.provision("alice@example.com").await;
    let session = sso.sign_in("alice", None).await.session.expect("session");

    let own = admin_get(&sso.app, &format!("/tenants/{TENANT}"), &session).await;
    assert_eq!(own.status(), StatusCode::OK);
    let own: Value = own.json().await.unwrap();
    assert_eq!(own["seatsUsed"], 1);
    // The first sign-in made alice active; the stat cards moved with her.
    let stats: Value = admin_get(
        &sso.app,
        &format!("/tenants/{TENANT}/users/stats"),
        &session,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        (stats["invited"].clone(), stats["active"].clone()),
        (json!(0), json!(1))
    );
    // users:view is not settings:view, another tenant is refused however it is named, and
    // listing every tenant is an operator's.
    assert_problem(
        admin_get(
            &sso.app,
            &format!("/tenants/{TENANT}/connections"),
            &session,
        )
        .await,
        403,
    )
    .await;
    let foreign = assert_problem(admin_get(&sso.app, "/tenants/globex", &session).await, 403).await;
    let unknown = assert_problem(admin_get(&sso.app, "/tenants/nobody", &session).await, 403).await;
    assert_eq!(foreign["detail"], unknown["detail"]);
    assert_problem(admin_get(&sso.app, "/tenants", &session).await, 403).await;
    // The admin pages with the same session (its cookie): their own tenant, users:view only,
    // and another tenant's pages do not exist for them.
    let pages = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = |path: &str| {
        pages
            .get(format!("{}{path}", sso.app.root))
            .header(reqwest::header::COOKIE, format!("scgw_session={session}"))
            .send()
    };
    let home = page("/ui").await.unwrap();
    assert_eq!(home.headers()["location"], format!("/ui/t/{TENANT}"));
    let dashboard = page(&format!("/ui/t/{TENANT}")).await.unwrap();
    assert_eq!(dashboard.status(), StatusCode::OK);
    let dashboard = dashboard.text().await.unwrap();
    assert!(
        dashboard.contains("settings:view"),
        "connections are said to need it"
    );
    assert_eq!(
        page(&format!("/ui/t/{TENANT}/users"))
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    // Their own page: the audit timeline needs settings:view, and the page says so.
    let own_page = page(&format!(
        "/ui/t/{TENANT}/users/{}",
        user["id"].as_str().unwrap()
    ))
    .await
    .unwrap();
    assert_eq!(own_page.status(), StatusCode::OK);
    assert!(
        own_page
            .text()
            .await
            .unwrap()
            .contains("which the audit trail needs")
    );
    for foreign in ["/ui/t/globex", "/ui/t/globex/users", "/ui/t/nobody"] {
        assert_eq!(
            page(foreign).await.unwrap().status(),
            StatusCode::NOT_FOUND,
            "{foreign}"
        );
    }
    assert_eq!(
        page("/ui/tenants").await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    // Operator-wide webhook endpoints are operators' alone.
    assert_problem(admin_get(&sso.app, "/webhooks", &session).await, 403).await;
    assert_problem(admin_post(&sso.app, "/webhooks", &session).await, 403).await;
    // users:view changes nothing.
    let id = user["id"].as_str().unwrap();
    let suspend = format!("/tenants/{TENANT}/users/{id}/suspend");
    assert_problem(admin_post(&sso.app, &suspend, &session).await, 403).await;
    let connections = format!("/tenants/{TENANT}/connections");
    assert_problem(admin_post(&sso.app, &connections, &session).await, 403).await;
    assert_problem(admin_post(&sso.app, "/tenants", &session).await, 403).await;
    assert_eq!(sso.app.status_of(&user).await, "active");

    // Suspended by the identity provider: the session opens nothing any more.
    let mut suspended = user.clone();
    suspended["active"] = json!(false);
    suspended.as_object_mut().unwrap().remove("meta");
    assert_eq!(
        sso.app
            .put(&format!("/Users/{id}"), &suspended)
            .await
            .status(),
        StatusCode::OK
    );
    assert_problem(
        admin_get(&sso.app, &format!("/tenants/{TENANT}"), &session).await,
        401,
    )
    .await;
}

impl Sso {
    /// The link of the newest `invitation.issued` event for `user_name`, once more than `after`
    /// of them are in the feed (on PostgreSQL the newest can show a moment late).
    async fn invitation_link(&self, user_name: &str, after: usize) -> String {
        let mut links = Vec::new();
        for _ in 0..100 {
            links = self
                .outbox_events("invitation.issued", |e| e.data["userName"] == user_name)
                .await
                .iter()
                .filter(|e| e.data["userName"] == user_name)
                .filter_map(|e| e.data["link"].as_str().map(str::to_string))
                .collect::<Vec<String>>();
            if links.len() > after {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(links.len() > after, "{links:?}");
        links.last().unwrap().clone()
    }

    /// Opens an invitation link in a fresh browser and follows it through the provider.
    async fn follow_invitation(&self, link: &str) -> Attempt {
        let browser = browser();
        let opened = browser.get(link).send().await.unwrap();
        if opened.status() != StatusCode::SEE_OTHER {
            return finish(opened, None).await;
        }
        // The link leads to the gateway's own login, which leads to the provider.
        let login = opened.headers()["location"].to_str().unwrap().to_string();
        let started = browser.get(&login).send().await.unwrap();
        self.complete(&browser, started).await
    }
}

#[tokio::test]
async fn an_invitation_link_signs_its_user_in_once() {
    let sso = sso(None, false).await;
    // The provider signs in `alice` (email alice@example.com) when hinted; the gateway finds
    // the user by that email.
    let user = sso.provision("alice").await;
    let link = sso.invitation_link("alice", 0).await;
    assert!(
        link.starts_with(&format!("{}/sso/{TENANT}/invite/inv_", sso.app.root)),
        "{link}"
    );
    let issued = sso
        .outbox_events("invitation.issued", |_| true)
        .await
        .remove(0);
    assert_eq!(issued.data["email"], "alice@example.com");
    assert_eq!(issued.resource_id.as_deref(), user["id"].as_str());

    // Opening the link leads to the tenant's sign-in for that user.
    let opened = browser().get(&link).send().await.unwrap();
    assert_eq!(opened.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        opened.headers()["location"],
        format!("{}/sso/{TENANT}/login?login_hint=alice", sso.app.root).as_str()
    );
    let attempt = sso.follow_invitation(&link).await;
    assert_eq!(attempt.status, StatusCode::SEE_OTHER, "{}", attempt.body);
    assert!(attempt.session.is_some());
    assert_eq!(sso.app.status_of(&user).await, "active");

    // Used up: the same link again is a page saying so, never a sign-in.
    let again = sso.follow_invitation(&link).await;
    assert_eq!(again.status, StatusCode::GONE);
    assert!(again.body.contains("already been used"), "{}", again.body);
    assert!(again.session.is_none());

    // The same secret under another tenant's address, or a made-up one: not valid there.
    let slug = scim_gateway::tenant::TenantSlug::parse("globex").unwrap();
    scim_gateway::tenant::tenants::create_tenant(&sso.app.store, &slug, None, None, now_micros())
        .await
        .unwrap();
    let foreign = link.replace(&format!("/sso/{TENANT}/"), "/sso/globex/");
    // The secret begins with its issue time; another time is another secret.
    let (before_time, time_and_secret) = link.split_once("/inv_").unwrap();
    let mut digits = time_and_secret.chars();
    let other_digit = if digits.next() == Some('0') { '1' } else { '0' };
    let retimed = format!("{before_time}/inv_{other_digit}{}", digits.as_str());
    for wrong in [
        foreign,
        retimed,
        format!("{}/sso/{TENANT}/invite/inv_madeup", sso.app.root),
    ] {
        let answer = sso.follow_invitation(&wrong).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{wrong}");
        assert!(answer.body.contains("not valid"), "{}", answer.body);
        assert!(answer.session.is_none());
    }
}

/// Links issued before their secrets began with the issue time were stored under the secret's
/// hash alone (issue #21); they keep working until they expire.
#[tokio::test]
async fn a_link_issued_before_secrets_carried_their_time_still_signs_its_user_in() {
    let sso = sso(None, false).await;
    let user = sso.provision("alice").await;
    let store = &sso.app.store;
    let tenant = store.tenant_by_slug(TENANT).await.unwrap().unwrap();
    let secret = format!("inv_{}", "Q".repeat(43));
    let now = now_micros();
    let mut tx = store.begin().await.unwrap();
    let user_id = scim_gateway::store::UserId::new(user["id"].as_str().unwrap());
    assert!(
        tx.end_open_invitation(&user_id, "replaced", now)
            .await
            .unwrap()
    );
    let invitation = scim_gateway::store::InvitationRecord {
        tenant_id: tenant.id,
        user_id,
        issued_at: now,
        expires_at: now + 3_600_000_000,
        ended_at: None,
        ended_how: None,
    };
    let hash = scim_gateway::tenant::tokens::hash_token(&secret);
    tx.insert_invitations(&[(hash, invitation)]).await.unwrap();
    tx.commit().await.unwrap();

    let link = format!("{}/sso/{TENANT}/invite/{secret}", sso.app.root);
    let attempt = sso.follow_invitation(&link).await;
    assert_eq!(attempt.status, StatusCode::SEE_OTHER, "{}", attempt.body);
    assert!(attempt.session.is_some());
    assert_eq!(sso.app.status_of(&user).await, "active");
}

#[tokio::test]
async fn a_resent_invitation_replaces_the_old_link() {
    let sso = sso(None, false).await;
    let user = sso.provision("bob").await;
    let first = sso.invitation_link("bob", 0).await;

    // From the command line: the new link alone on stdout.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_scim-gateway"))
        .arg("--database")
        .arg(&sso.app.database_url)
        .args(["invite", "resend", "--tenant", TENANT, "--user", "BOB"])
        .args(["--public-url", &sso.app.root])
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let second = String::from_utf8(output.stdout).unwrap().trim().to_string();
    assert_eq!(second, sso.invitation_link("bob", 1).await);

    // From the admin API: the link to copy.
    let (operator, _) = crate::admin::operator_token(&sso.app).await;
    let id = user["id"].as_str().unwrap();
    let resend = format!("/tenants/{TENANT}/users/{id}/invitation");
    let resent = crate::admin::admin_post(&sso.app, &resend, &operator).await;
    assert_eq!(resent.status(), StatusCode::CREATED);
    let resent: Value = resent.json().await.unwrap();
    let third = resent["link"].as_str().unwrap().to_string();
    assert!(resent["expiresAt"].is_string());
    assert_eq!(third, sso.invitation_link("bob", 2).await);
    assert_eq!(
        sso.app
            .audit()
            .await
            .iter()
            .filter(|e| e.action == "user.invite")
            .count(),
        2
    );

    for replaced in [&first, &second] {
        let answer = sso.follow_invitation(replaced).await;
        assert_eq!(answer.status, StatusCode::GONE);
        assert!(
            answer.body.contains("replaced by a newer one"),
            "{}",
            answer.body
        );
        assert!(answer.session.is_none());
    }
    let signed_in = sso.follow_invitation(&third).await;
    assert!(signed_in.session.is_some(), "{}", signed_in.body);

    // Signed in: nothing left to resend.
    let again = crate::admin::admin_post(&sso.app, &resend, &operator).await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    let problem: Value = again.json().await.unwrap();
    assert!(
        problem["detail"].as_str().unwrap().contains("is active"),
        "{problem}"
    );
}

#[tokio::test]
async fn an_expired_invitation_is_refused_and_a_suspended_users_link_is_withdrawn() {
    let sso = sso_with(None, false, |settings| settings.invitations.ttl = 0).await;
    sso.provision("alice").await;
    let expired = sso.invitation_link("alice", 0).await;
    let answer = sso.follow_invitation(&expired).await;
    assert_eq!(answer.status, StatusCode::GONE);
    assert!(answer.body.contains("expired"), "{}", answer.body);
    assert!(answer.session.is_none());

    let sso = sso_with(None, false, |_| {}).await;
    let user = sso.provision("bob").await;
    let link = sso.invitation_link("bob", 0).await;
    let id = user["id"].as_str().unwrap();
    let suspended = sso
        .app
        .client
        .patch(sso.app.url(&format!("/Users/{id}")))
        .bearer_auth(&sso.app.token)
        .json(&json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "active", "value": false}]
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(suspended.status(), StatusCode::OK);
    let answer = sso.follow_invitation(&link).await;
    assert_eq!(answer.status, StatusCode::GONE);
    assert!(answer.body.contains("no longer valid"), "{}", answer.body);
}

/// Signs `user` in at `/sso/{slug}/login` with the extra `query`, in a fresh browser.
async fn sign_in_at(sso: &Sso, slug: &str, user: &str, query: &[(&str, &str)]) -> Attempt {
    let browser = browser();
    let mut all = vec![("login_hint", user)];
    all.extend_from_slice(query);
    let response = browser
        .get(format!("{}/sso/{slug}/login", sso.app.root))
        .query(&all)
        .send()
        .await
        .unwrap();
    sso.complete(&browser, response).await
}

#[tokio::test]
async fn an_agency_user_signs_in_to_an_environment_through_the_agencys_provider() {
    use scim_gateway::store::UserId;
    use scim_gateway::tenant::{TenantSlug, agencies, roles, tenants};
    let sso = sso(None, false).await;
    let store = &sso.app.store;
    let now = now_micros();
    let supervise = ["users:view".to_string(), "users:manage".to_string()];
    roles::create_role(store, TENANT, "Supervisor", &supervise, None, false, now)
        .await
        .unwrap();
    let user = sso.provision("alice@example.com").await;
    let alice = UserId::new(user["id"].as_str().unwrap());
    roles::assign_role(store, TENANT, "alice@example.com", "Supervisor", false, now)
        .await
        .unwrap();
    // An environment of the agency, with no identity provider of its own.
    let studio = TenantSlug::parse("studio").unwrap();
    tenants::create_tenant_by(store, "cli", &studio, None, None, Some(TENANT), now)
        .await
        .unwrap();

    // Its login sends the agency's user to the agency's provider, back to the agency's
    // callback, and the session is for the environment with the roles she holds there.
    let attempt = sign_in_at(&sso, "studio", "alice", &[("return_to", RETURN_TO)]).await;
    let callback = attempt.callback.clone().unwrap();
    assert!(
        callback.starts_with(&format!("{}/sso/{TENANT}/callback", sso.app.root)),
        "{callback}"
    );
    assert_eq!(attempt.status, StatusCode::SEE_OTHER, "{}", attempt.body);
    let token = attempt.session.expect("a session cookie");
    let live = sso.introspect(&token).await;
    assert_eq!(live["active"], true);
    assert_eq!(live["tenant"], "studio");
    assert_eq!(live["sub"], json!(alice.as_str()));
    assert_eq!(live["roles"], json!(["Supervisor"]));
    let me = sso
        .app
        .get_with(&format!("{}/sso/studio/me", sso.app.root), &token)
        .await;
    assert_eq!(me.status(), StatusCode::OK);
    assert_eq!(
        me.json::<Value>().await.unwrap()["roles"],
        json!(["Supervisor"])
    );
    assert_eq!(
        sso.me(&token).await.status(),
        StatusCode::UNAUTHORIZED,
        "a session for the environment is not one for the agency"
    );
    // She signed in at the agency: her status and last login are the agency's.
    assert_eq!(sso.app.status_of(&user).await, "active");

    // An override that takes her access away ends the session's reach at once, and a new
    // sign-in is refused with a page saying why.
    agencies::override_by(store, "cli", "studio", &alice, Some(&[]), now)
        .await
        .unwrap();
    assert_eq!(sso.introspect(&token).await["active"], false);
    let signed_in = |trail: Vec<scim_gateway::store::AuditRecord>| {
        trail
            .iter()
            .filter(|e| e.action == "sso.login" && e.outcome == "success")
            .count()
    };
    let before = signed_in(sso.app.audit().await);
    let refused = sign_in_at(&sso, "studio", "alice", &[]).await;
    sso.assert_refused(&refused, 403, "no access to this environment")
        .await;
    assert_eq!(
        signed_in(sso.app.audit().await),
        before,
        "nothing recorded at the agency"
    );

    // The agency's own login still signs her in to the agency, with its roles.
    let own = sso.sign_in("alice", None).await;
    let own_token = own.session.expect("a session at the agency");
    let at_agency = sso.introspect(&own_token).await;
    assert_eq!(at_agency["tenant"], TENANT);
    assert_eq!(at_agency["roles"], json!(["Supervisor"]));
}
