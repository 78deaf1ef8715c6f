//! The OpenID Connect relying party: discovery (cached per issuer), the authorization request
//! with state, nonce and PKCE S256, the code exchange, and ID-token verification with one JWKS
//! refetch when the token names a key the cached set does not have (the provider rotated).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreClientAuthMethod, CoreJwsSigningAlgorithm,
    CoreProviderMetadata,
};
use openidconnect::{
    AsyncHttpClient, AuthType, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret,
    CsrfToken, HttpRequest, HttpResponse, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, Scope, SignatureVerificationError, TokenResponse,
};
use serde_json::{Map, Value};

use super::SsoError;
use super::config::SsoConfig;

/// How long a provider's discovery document and keys are trusted before they are fetched again.
const METADATA_TTL: Duration = Duration::from_secs(3600);
/// The most a provider's answer may weigh; discovery, keys and tokens are a few KiB.
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// An authorization request ready to send the browser to, and what the callback needs to check.
pub struct Authorization {
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

struct Discovered {
    metadata: CoreProviderMetadata,
    fetched: Instant,
}

/// The relying party's HTTP client and its per-issuer cache; one per process.
pub struct OidcClient {
    http: reqwest::Client,
    providers: Mutex<HashMap<String, Arc<Discovered>>>,
}

impl OidcClient {
    /// `proxy`: an HTTP(S) proxy for every request to providers (otherwise the environment's
    /// `HTTPS_PROXY`/`HTTP_PROXY` apply). Redirects are never followed (OpenID Connect's advice
    /// against SSRF through a provider's answers).
    pub fn new(proxy: Option<&str>) -> Result<Self, SsoError> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(15));
        if let Some(proxy) = proxy {
            let proxy = reqwest::Proxy::all(proxy)
                .map_err(|e| SsoError::Config(format!("invalid SSO proxy '{proxy}': {e}")))?;
            builder = builder.proxy(proxy);
        }
        let http = builder
            .build()
            .map_err(|e| SsoError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            http,
            providers: Mutex::new(HashMap::new()),
        })
    }

    /// Starts a login: the URL of the provider's authorization endpoint with a fresh state,
    /// nonce and PKCE challenge.
    pub async fn authorize(
        &self,
        config: &SsoConfig,
        redirect_uri: &str,
        login_hint: Option<&str>,
    ) -> Result<Authorization, SsoError> {
        let discovered = self.discovered(&config.issuer, false).await?;
        let client = CoreClient::from_provider_metadata(
            discovered.metadata.clone(),
            ClientId::new(config.client_id.clone()),
            None,
        )
        .set_redirect_uri(redirect_url(redirect_uri)?);
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for scope in config.scopes.iter().filter(|s| s.as_str() != "openid") {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        if let Some(hint) = login_hint.filter(|h| !h.is_empty()) {
            request = request.add_extra_param("login_hint", hint.to_string());
        }
        let (url, state, nonce) = request.url();
        Ok(Authorization {
            url: url.to_string(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        })
    }

    /// Finishes a login: exchanges the code (with the PKCE verifier), verifies the ID token
    /// (signature against the provider's keys, `iss`, `aud`, `exp`, `nonce`) and returns all of
    /// its claims.
    pub async fn finish(
        &self,
        config: &SsoConfig,
        client_secret: String,
        redirect_uri: &str,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
    ) -> Result<Map<String, Value>, SsoError> {
        let discovered = self.discovered(&config.issuer, false).await?;
        let client = self.client(config, &discovered, &client_secret, redirect_uri)?;
        let token_response = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| SsoError::Provider(format!("the provider has no token endpoint: {e}")))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_string()))
            .request_async(&Adapter(&self.http))
            .await
            .map_err(|e| SsoError::ProviderRefused(format!("the code exchange failed: {e}")))?;
        let id_token = token_response
            .id_token()
            .ok_or_else(|| SsoError::IdToken("the token response has no ID token".into()))?;
        let nonce = Nonce::new(nonce.to_string());
        let verified = {
            let verifier = client
                .id_token_verifier()
                .set_allowed_algs(allowed_algs(&discovered.metadata));
            id_token.claims(&verifier, &nonce).map(|_| ())
        };
        match verified {
            Ok(()) => {}
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) => {
                // The provider may have rotated its keys since they were cached: fetch them once
                // more, and verify against the new set.
                let refreshed = self.discovered(&config.issuer, true).await?;
                let client = self.client(config, &refreshed, &client_secret, redirect_uri)?;
                let verifier = client
                    .id_token_verifier()
                    .set_allowed_algs(allowed_algs(&refreshed.metadata));
                id_token
                    .claims(&verifier, &nonce)
                    .map_err(|e| SsoError::IdToken(e.to_string()))?;
            }
            Err(e) => return Err(SsoError::IdToken(e.to_string())),
        }
        // The signature covers exactly these bytes, so every claim in them is the provider's,
        // including those openidconnect has no field for (`oid`, `groups`).
        unverified_payload(&id_token.to_string())
            .ok_or_else(|| SsoError::IdToken("the ID token's claims are not a JSON object".into()))
    }

    fn client(
        &self,
        config: &SsoConfig,
        discovered: &Discovered,
        client_secret: &str,
        redirect_uri: &str,
    ) -> Result<
        CoreClient<
            openidconnect::EndpointSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointMaybeSet,
            openidconnect::EndpointMaybeSet,
        >,
        SsoError,
    > {
        let basic_supported = discovered
            .metadata
            .token_endpoint_auth_methods_supported()
            .is_none_or(|methods| methods.contains(&CoreClientAuthMethod::ClientSecretBasic));
        Ok(CoreClient::from_provider_metadata(
            discovered.metadata.clone(),
            ClientId::new(config.client_id.clone()),
            Some(ClientSecret::new(client_secret.to_string())),
        )
        .set_redirect_uri(redirect_url(redirect_uri)?)
        .set_auth_type(if basic_supported {
            AuthType::BasicAuth
        } else {
            AuthType::RequestBody
        }))
    }

    /// The provider's discovery document and keys, from the cache unless stale or `refresh`.
    async fn discovered(&self, issuer: &str, refresh: bool) -> Result<Arc<Discovered>, SsoError> {
        if !refresh {
            let cached = self
                .providers
                .lock()
                .ok()
                .and_then(|map| map.get(issuer).cloned());
            if let Some(found) = cached.filter(|d| d.fetched.elapsed() < METADATA_TTL) {
                return Ok(found);
            }
        }
        let issuer_url = IssuerUrl::new(issuer.to_string())
            .map_err(|e| SsoError::Config(format!("invalid issuer '{issuer}': {e}")))?;
        let adapter = Adapter(&self.http);
        let metadata = CoreProviderMetadata::discover_async(issuer_url, &adapter)
            .await
            .map_err(|e| SsoError::Provider(format!("discovery of {issuer} failed: {e}")))?;
        // Discovery fetches the key set too, so a refresh has the provider's current keys.
        Ok(self.remember(issuer, metadata))
    }

    fn remember(&self, issuer: &str, metadata: CoreProviderMetadata) -> Arc<Discovered> {
        let discovered = Arc::new(Discovered {
            metadata,
            fetched: Instant::now(),
        });
        if let Ok(mut map) = self.providers.lock() {
            map.insert(issuer.to_string(), discovered.clone());
        }
        discovered
    }
}

/// Signature algorithms accepted for ID tokens: what the provider says it uses, never `none` and
/// never a MAC keyed with the client secret.
fn allowed_algs(metadata: &CoreProviderMetadata) -> Vec<CoreJwsSigningAlgorithm> {
    let algs: Vec<CoreJwsSigningAlgorithm> = metadata
        .id_token_signing_alg_values_supported()
        .iter()
        .filter(|alg| {
            !matches!(
                alg,
                CoreJwsSigningAlgorithm::None
                    | CoreJwsSigningAlgorithm::HmacSha256
                    | CoreJwsSigningAlgorithm::HmacSha384
                    | CoreJwsSigningAlgorithm::HmacSha512
            )
        })
        .cloned()
        .collect();
    if algs.is_empty() {
        vec![CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256]
    } else {
        algs
    }
}

fn redirect_url(uri: &str) -> Result<RedirectUrl, SsoError> {
    RedirectUrl::new(uri.to_string())
        .map_err(|e| SsoError::Config(format!("invalid redirect URI '{uri}': {e}")))
}

/// openidconnect's HTTP seam on our reqwest 0.13 client (its own default would pull reqwest 0.12).
struct Adapter<'a>(&'a reqwest::Client);

#[derive(Debug, thiserror::Error)]
enum AdapterError {
    #[error(transparent)]
    Reqwest(#[from] reqwest::Error),
    #[error(transparent)]
    Http(#[from] openidconnect::http::Error),
    #[error("the answer is larger than {MAX_RESPONSE_BYTES} bytes")]
    TooLarge,
}

impl<'c> AsyncHttpClient<'c> for Adapter<'_> {
    type Error = AdapterError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, AdapterError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let request = reqwest::Request::try_from(request)?;
            let mut response = self.0.execute(request).await?;
            let mut builder = openidconnect::http::Response::builder().status(response.status());
            for (name, value) in response.headers() {
                builder = builder.header(name, value);
            }
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await? {
                if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                    return Err(AdapterError::TooLarge);
                }
                body.extend_from_slice(&chunk);
            }
            Ok(builder.body(body)?)
        })
    }
}

/// The claims part of a JWT, not verified: for reading claims of a token whose signature was
/// checked by other means.
fn unverified_payload(token: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        serde_json::Value::Object(map) => Some(map),
        _ => None,
    }
}
