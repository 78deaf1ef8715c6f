//! The real OpenID Provider of `../shared/tools/oidc` (node oidc-provider), started per test on
//! its own port, and an HTTP proxy the gateway reaches it through, which can alter the ID token
//! of a token response (tampered, wrong audience, expired, unknown key) and counts key-set
//! fetches.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Map, Value};

/// The provider's start script; `OIDC_OP_SCRIPT` overrides where it is.
fn script() -> PathBuf {
    std::env::var_os("OIDC_OP_SCRIPT").map_or_else(
        || {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../shared/tools/oidc/start-oidc-op.sh"
            ))
        },
        PathBuf::from,
    )
}

/// Runs the start script once with `--help`, which installs the provider's npm package when it
/// is missing; tests starting providers in parallel must not each run `npm install`.
fn ensure_installed() {
    static INSTALLED: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    INSTALLED.get_or_init(|| {
        let output = Command::new("bash")
            .arg(script())
            .arg("--help")
            .output()
            .expect("run the OpenID provider's start script (needs bash, node and npm)");
        assert!(
            output.status.success(),
            "installing the OpenID provider failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    });
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// Follows a browser's redirects from the gateway at `gateway_root` through the provider at
/// `issuer` until they lead back to the gateway, and returns that URL unvisited (the callback);
/// `Err` holds an answer that was no redirect.
pub async fn follow_to_gateway(
    browser: &reqwest::Client,
    issuer: &str,
    gateway_root: &str,
    mut response: reqwest::Response,
) -> Result<String, reqwest::Response> {
    for _ in 0..12 {
        let status = response.status();
        if status != reqwest::StatusCode::SEE_OTHER && status != reqwest::StatusCode::FOUND {
            return Err(response);
        }
        let location = response.headers()["location"].to_str().unwrap().to_string();
        let next = if location.starts_with('/') {
            format!("{issuer}{location}")
        } else {
            location
        };
        if next.starts_with(gateway_root) {
            return Ok(next);
        }
        response = browser.get(&next).send().await.unwrap();
    }
    panic!("too many redirects");
}

pub struct Provider {
    pub issuer: String,
    redirect_uri: String,
    dir: PathBuf,
    child: Option<Child>,
}

impl Provider {
    /// Starts a provider whose clients (`scim-sp` / `scim-sp-secret`, …) accept `redirect_uri`.
    pub async fn start(redirect_uri: &str) -> Provider {
        ensure_installed();
        let dir = std::env::temp_dir()
            .join("scim-gateway-tests")
            .join(format!("op-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("provider dir");
        let mut provider = Provider {
            issuer: String::new(),
            redirect_uri: redirect_uri.to_string(),
            dir,
            child: None,
        };
        // A port found free can be taken before node binds it (the kernel hands the same range to
        // other tests' listeners and outgoing connections): then try another one.
        for attempt in 1.. {
            provider.issuer = format!("http://127.0.0.1:{}", free_port());
            match provider.spawn().await {
                Ok(()) => break,
                Err(log) if log.contains("EADDRINUSE") && attempt < 5 => continue,
                Err(log) => panic!("the OpenID provider exited:\n{log}"),
            }
        }
        provider
    }

    fn keys_file(&self) -> PathBuf {
        self.dir.join("keys.json")
    }

    /// Starts the provider at `issuer` and waits until it answers; the provider's log if it exits.
    async fn spawn(&mut self) -> Result<(), String> {
        let log = std::fs::File::create(self.dir.join("op.log")).expect("log file");
        let child = Command::new("bash")
            .arg(script())
            .arg(&self.issuer)
            .arg("--redirect-uri")
            .arg(&self.redirect_uri)
            .arg("--keys")
            .arg(self.keys_file())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start the OpenID provider (needs node and ../shared/tools/oidc)");
        self.child = Some(child);
        let discovery = format!("{}/.well-known/openid-configuration", self.issuer);
        let client = reqwest::Client::new();
        for _ in 0..600 {
            if let Ok(r) = client.get(&discovery).send().await
                && r.status().is_success()
            {
                return Ok(());
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                self.child = None;
                let log = std::fs::read_to_string(self.dir.join("op.log")).unwrap_or_default();
                return Err(format!("{status}\n{log}"));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the OpenID provider did not answer at {discovery}");
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().ok();
            child.wait().ok();
        }
    }

    /// Restarts the provider on the same issuer with new signing keys (a key rotation).
    pub async fn rotate_keys(&mut self) {
        self.stop();
        std::fs::remove_file(self.keys_file()).expect("remove keys");
        if let Err(log) = self.spawn().await {
            panic!("the OpenID provider did not restart:\n{log}");
        }
    }

    /// The provider's own ES256 signing key, read from its keys file: a token signed with it is
    /// as genuine as one the provider issued.
    pub fn ec_signing_key(&self) -> (String, EncodingKey) {
        let text = std::fs::read_to_string(self.keys_file()).expect("keys file");
        let keys: Value = serde_json::from_str(&text).expect("keys json");
        let ec = keys["keys"]
            .as_array()
            .and_then(|k| k.iter().find(|k| k["kty"] == "EC"))
            .expect("an EC key");
        let part = |name: &str| {
            URL_SAFE_NO_PAD
                .decode(ec[name].as_str().expect(name))
                .expect(name)
        };
        let mut public = vec![4u8];
        public.extend(part("x"));
        public.extend(part("y"));
        let pair = EcdsaKeyPair::from_private_key_and_public_key(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            &part("d"),
            &public,
        )
        .expect("EC key");
        let pkcs8 = pair.to_pkcs8v1().expect("pkcs8");
        (
            ec["kid"].as_str().expect("kid").to_string(),
            EncodingKey::from_ec_der(pkcs8.as_ref()),
        )
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        self.stop();
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

/// How the proxy alters the ID token of the next token responses.
#[derive(Debug, Clone)]
pub enum Tamper {
    Nothing,
    /// Change claims but keep the provider's signature (a forgery).
    KeepSignature(Value),
    /// Change claims and sign again with the provider's own key (a genuine-looking token whose
    /// claims are wrong for this client: audience, expiry, nonce, issuer).
    Resign(Value),
    /// Sign with a key the provider never published.
    UnknownKey,
}

struct ProxyState {
    client: reqwest::Client,
    tamper: Mutex<Tamper>,
    provider_key: Mutex<Option<(String, EncodingKey)>>,
    jwks_fetches: AtomicUsize,
}

/// An HTTP forward proxy for the gateway's requests to the provider.
pub struct Interceptor {
    pub url: String,
    state: Arc<ProxyState>,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl Interceptor {
    pub async fn start() -> Interceptor {
        let state = Arc::new(ProxyState {
            client: reqwest::Client::builder()
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            tamper: Mutex::new(Tamper::Nothing),
            provider_key: Mutex::new(None),
            jwks_fetches: AtomicUsize::new(0),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let router = axum::Router::new()
            .fallback(forward)
            .with_state(state.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    rx.await.ok();
                })
                .await
                .ok();
        });
        Interceptor {
            url,
            state,
            _shutdown: tx,
        }
    }

    pub fn tamper(&self, tamper: Tamper) {
        *self.state.tamper.lock().expect("lock") = tamper;
    }

    /// The key `Tamper::Resign` signs with.
    pub fn use_provider_key(&self, key: (String, EncodingKey)) {
        *self.state.provider_key.lock().expect("lock") = Some(key);
    }

    /// How often the gateway fetched the provider's key set.
    pub fn jwks_fetches(&self) -> usize {
        self.state.jwks_fetches.load(Ordering::SeqCst)
    }
}

async fn forward(State(state): State<Arc<ProxyState>>, request: Request) -> Response {
    let uri = request.uri().clone();
    let method = request.method().clone();
    let headers = request.headers().clone();
    let body = axum::body::to_bytes(request.into_body(), 1 << 20)
        .await
        .expect("body");
    if uri.path().ends_with("/jwks") {
        state.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    }
    let mut outbound = state
        .client
        .request(method, uri.to_string())
        .body(body.to_vec());
    for (name, value) in &headers {
        if !["host", "connection", "proxy-connection", "content-length"].contains(&name.as_str()) {
            outbound = outbound.header(name, value);
        }
    }
    let answer = outbound.send().await.expect("forward to the provider");
    let status = answer.status();
    let answer_headers = answer.headers().clone();
    let mut bytes = answer.bytes().await.expect("answer").to_vec();
    if uri.path().ends_with("/token") && status.is_success() {
        let tamper = state.tamper.lock().expect("lock").clone();
        bytes = alter_token_response(&state, &tamper, &bytes);
    }
    let mut response = (status, bytes).into_response();
    for (name, value) in &answer_headers {
        if !["content-length", "transfer-encoding", "connection"].contains(&name.as_str()) {
            response.headers_mut().insert(name, value.clone());
        }
    }
    response
}

fn alter_token_response(state: &ProxyState, tamper: &Tamper, bytes: &[u8]) -> Vec<u8> {
    if matches!(tamper, Tamper::Nothing) {
        return bytes.to_vec();
    }
    let mut answer: Value = serde_json::from_slice(bytes).expect("token response");
    let token = answer["id_token"].as_str().expect("id_token").to_string();
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims: Map<String, Value> =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("payload"))
            .expect("claims");
    let patch = |claims: &mut Map<String, Value>, patch: &Value| {
        for (k, v) in patch.as_object().expect("patch object") {
            claims.insert(k.clone(), v.clone());
        }
    };
    let altered = match tamper {
        Tamper::Nothing => token,
        Tamper::KeepSignature(changes) => {
            patch(&mut claims, changes);
            let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).expect("json"));
            format!("{}.{payload}.{}", parts[0], parts[2])
        }
        Tamper::Resign(changes) => {
            patch(&mut claims, changes);
            let guard = state.provider_key.lock().expect("lock");
            let (kid, key) = guard.as_ref().expect("provider key for Resign");
            let mut header = Header::new(Algorithm::ES256);
            header.kid = Some(kid.clone());
            jsonwebtoken::encode(&header, &claims, key).expect("sign")
        }
        Tamper::UnknownKey => {
            let pkcs8 = EcdsaKeyPair::generate_pkcs8(
                &ECDSA_P256_SHA256_FIXED_SIGNING,
                &aws_lc_rs::rand::SystemRandom::new(),
            )
            .expect("key");
            let mut header = Header::new(Algorithm::ES256);
            header.kid = Some("never-published".into());
            jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ec_der(pkcs8.as_ref()))
                .expect("sign")
        }
    };
    answer["id_token"] = Value::String(altered);
    serde_json::to_vec(&answer).expect("json")
}
