//! The sign-in flow end to end, without HTTP: start a login (state, nonce and PKCE verifier kept
//! server-side, single-use and expiring), finish it (verify, apply the tenant's sign-in rules,
//! open a session, sign its token), and check or end a session.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::SsoError;
use super::config::{OwnTargets, SsoConfig, UserClaim};
use super::oidc::OidcClient;
use super::secret_key::{SecretKey, random_token};
use super::session::{self, SessionClaims, Signer};
use crate::scim::schema::Registry;
use crate::store::UserStatus;
use crate::store::{LoginStateRecord, Micros, Store, TenantId, TenantRecord, UserRecord};
use crate::tenant::Caller;
use crate::tenant::agencies::inherited_access;
use crate::tenant::operators::AdminActor;
use crate::tenant::roles::{Effective, effective_of_user};
use crate::tenant::sign_in::{self, NewSession, SignInError, SignInRequest};
use crate::tenant::tenants::find_tenant;

const MICROS: i64 = 1_000_000;

/// SSO's share of the application: settings, the secret key and the relying party's client.
pub struct Sso {
    /// Sessions and client secrets need it; without it SSO answers 503.
    pub secret: Option<SecretKey>,
    pub oidc: OidcClient,
    /// The gateway's public URL: session tokens' issuer and audience, callback URLs' base.
    pub public_url: String,
    pub session_ttl_secs: i64,
    pub login_ttl_secs: i64,
}

/// A started login: where to send the browser, the state to bind to it (cookie), and the tenant
/// whose callback finishes it (an agency's, for an environment's agency sign-in).
pub struct StartedLogin {
    pub redirect: String,
    pub state: String,
    pub callback_slug: String,
}

/// A finished login: the session token and where to go now.
pub struct FinishedLogin {
    pub token: String,
    pub return_to: String,
}

/// A session that is still good, with its user as they are now.
pub struct LiveSession {
    pub claims: SessionClaims,
    pub tenant: TenantRecord,
    pub user: UserRecord,
    pub effective: Effective,
}

fn state_hash(state: &str) -> String {
    base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        Sha256::digest(state.as_bytes()),
    )
}

impl Sso {
    fn secret(&self) -> Result<&SecretKey, SsoError> {
        self.secret.as_ref().ok_or(SsoError::NoSecretKey)
    }

    pub fn callback_url(&self, slug: &str) -> String {
        format!("{}/sso/{slug}/callback", self.public_url)
    }

    pub fn me_url(&self, slug: &str) -> String {
        format!("{}/sso/{slug}/me", self.public_url)
    }

    /// Where a sign-in to `slug` may return without the tenant listing it.
    fn own_targets(&self, slug: &str) -> OwnTargets {
        OwnTargets {
            me: self.me_url(slug),
            pages: format!("{}/ui/t/{slug}", self.public_url),
        }
    }

    async fn tenant_config(
        &self,
        store: &Store,
        slug: &str,
    ) -> Result<(TenantRecord, SsoConfig), SsoError> {
        self.secret()?;
        let tenant = find_tenant(store, slug).await?;
        let config = store
            .sso_config(&tenant.id)
            .await?
            .ok_or(SsoError::NotConfigured)?;
        Ok((tenant, config))
    }

    /// The nearest tenant above `environment` with SSO settings: where its agency users sign in.
    async fn agency_config(
        &self,
        store: &Store,
        environment: &TenantRecord,
    ) -> Result<(TenantRecord, SsoConfig), SsoError> {
        for id in store.tenant_ancestors(&environment.id).await? {
            if let Some(config) = store.sso_config(&id).await?
                && let Some(agency) = store.tenant_by_id(&id).await?
            {
                return Ok((agency, config));
            }
        }
        Err(SsoError::NotConfigured)
    }

    /// `GET /sso/{tenant}/login`: checks `return_to`, asks the provider for an authorization
    /// URL and keeps what the callback will need. With `via_agency` (`?via=agency`), or for a
    /// tenant without SSO settings of its own, the user signs in as a user of the nearest agency
    /// above it with SSO settings, through that agency's provider and callback, and the session
    /// is for this tenant.
    pub async fn start_login(
        &self,
        store: &Store,
        slug: &str,
        return_to: Option<&str>,
        login_hint: Option<&str>,
        via_agency: bool,
        now: Micros,
    ) -> Result<StartedLogin, SsoError> {
        self.secret()?;
        let tenant = find_tenant(store, slug).await?;
        let own = match via_agency {
            true => None,
            false => store.sso_config(&tenant.id).await?,
        };
        let (signing, config, environment_id) = match own {
            Some(config) => (tenant, config, None),
            None => {
                let (agency, config) = self.agency_config(store, &tenant).await?;
                let environment = Some(tenant.id);
                (agency, config, environment)
            }
        };
        let return_to = config.return_target(return_to, &self.own_targets(slug))?;
        let authorization = self
            .oidc
            .authorize(&config, &self.callback_url(&signing.slug), login_hint)
            .await?;
        store
            .insert_login_state(&LoginStateRecord {
                state_hash: state_hash(&authorization.state),
                tenant_id: signing.id,
                nonce: authorization.nonce,
                pkce_verifier: authorization.pkce_verifier,
                return_to,
                environment_id,
                created_at: now,
                expires_at: now + self.login_ttl_secs * MICROS,
            })
            .await?;
        Ok(StartedLogin {
            redirect: authorization.url,
            state: authorization.state,
            callback_slug: signing.slug,
        })
    }

    /// `GET /sso/{tenant}/callback`: the state must be the one bound to this browser (its
    /// cookie), known, unused and unexpired, and of this tenant; then the code is exchanged, the
    /// ID token verified and the tenant's sign-in rules applied.
    pub async fn finish_login(
        &self,
        store: &Store,
        registry: &Registry,
        slug: &str,
        callback: &Callback,
        now: Micros,
    ) -> Result<FinishedLogin, SsoError> {
        let (tenant, config) = self.tenant_config(store, slug).await?;
        let caller = Caller {
            tenant: tenant.clone().into(),
            connection_id: None,
            actor: "sso",
            request_summary: Some(format!("GET /sso/{slug}/callback")),
            token_id: None,
        };
        let state = callback.state.as_deref().ok_or(SsoError::InvalidState)?;
        let bound = callback
            .bound_state
            .as_deref()
            .is_some_and(|cookie| constant_time_eq(cookie.as_bytes(), state.as_bytes()));
        if !bound {
            return Err(SsoError::InvalidState);
        }
        let login = store
            .take_login_state(&state_hash(state))
            .await?
            .filter(|l| l.tenant_id == tenant.id && l.expires_at > now)
            .ok_or(SsoError::InvalidState)?;
        let outcome = self.verify_identity(&config, slug, callback, &login).await;
        let claims = match outcome {
            Ok(claims) => claims,
            Err(err) => {
                sign_in::record_failed_sign_in(store, &caller, &err.to_string(), err.status(), now)
                    .await;
                return Err(err);
            }
        };
        let schemas = registry
            .user()
            .ok_or_else(|| SsoError::Config("the User schema is missing".into()))?;
        let signer = Signer::current(store, self.secret()?).await?;
        let session = NewSession {
            id: random_token(18)?,
            kid: signer.kid.clone(),
            idp_groups: config
                .groups_claim
                .as_deref()
                .map(|name| strings_at(&claims, name))
                .unwrap_or_default(),
            environment_id: login.environment_id.clone(),
            expires_at: now + self.session_ttl_secs * MICROS,
        };
        let request = sign_in_request(&config, claims);
        let user = sign_in::sign_in(store, schemas, &caller, &request, &session, now)
            .await
            .map_err(|e| match e {
                SignInError::Refused(refusal) => SsoError::Refused(refusal),
                SignInError::Tenant(e) => SsoError::Tenant(e),
            })?;
        let (tenant, effective) = match &login.environment_id {
            Some(environment) => {
                let reached = self
                    .environment_access(store, environment, &user)
                    .await
                    .and_then(|reached| reached.ok_or(SsoError::NoEnvironmentAccess));
                match reached {
                    Ok(reached) => reached,
                    Err(err) => {
                        store.end_session(&session.id, now).await?;
                        let reason = err.to_string();
                        sign_in::record_failed_sign_in(store, &caller, &reason, err.status(), now)
                            .await;
                        return Err(err);
                    }
                }
            }
            None => {
                let effective =
                    effective_of_user(store, &tenant.id, &user, &session.idp_groups).await?;
                (tenant, effective)
            }
        };
        let token = signer.sign(&SessionClaims {
            iss: self.public_url.clone(),
            aud: self.public_url.clone(),
            sub: user.id.to_string(),
            sid: session.id,
            tenant: tenant.slug.clone(),
            tenant_id: tenant.id.to_string(),
            user_name: user.user_name.clone(),
            roles: effective.roles,
            permissions: effective.permissions,
            iat: now / MICROS,
            exp: session.expires_at / MICROS,
        })?;
        Ok(FinishedLogin {
            token,
            return_to: login.return_to,
        })
    }

    /// The environment an agency user's session is for, and what they hold there as of now:
    /// `None` when they reach it no more (their tenant is no longer above it, or an override
    /// took their access there away).
    async fn environment_access(
        &self,
        store: &Store,
        environment: &TenantId,
        user: &UserRecord,
    ) -> Result<Option<(TenantRecord, Effective)>, SsoError> {
        let Some(tenant) = store.tenant_by_id(environment).await? else {
            return Ok(None);
        };
        let Some(access) = inherited_access(store, environment, &user.id).await? else {
            return Ok(None);
        };
        if access.roles.is_empty() && access.overridden {
            return Ok(None);
        }
        let effective = Effective {
            roles: access.roles,
            permissions: access.permissions,
            ..Effective::default()
        };
        Ok(Some((tenant, effective)))
    }

    async fn verify_identity(
        &self,
        config: &SsoConfig,
        slug: &str,
        callback: &Callback,
        login: &LoginStateRecord,
    ) -> Result<Map<String, Value>, SsoError> {
        if let Some(error) = &callback.error {
            let detail = callback.error_description.as_deref().unwrap_or("");
            return Err(SsoError::ProviderRefused(
                format!("{error} {detail}").trim().to_string(),
            ));
        }
        let code = callback
            .code
            .as_deref()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| SsoError::ProviderRefused("the callback carries no code".into()))?;
        let secret = self.secret()?.open(
            &config.client_secret_sealed,
            &SsoConfig::secret_context(&config.tenant_id),
        )?;
        let secret = String::from_utf8(secret)
            .map_err(|_| SsoError::SecretKey("the stored client secret is not text".into()))?;
        self.oidc
            .finish(
                config,
                secret,
                &self.callback_url(slug),
                code,
                &login.pkce_verifier,
                &login.nonce,
            )
            .await
    }

    /// A live session of the tenant named `slug`: a session of another tenant is as invalid as
    /// none, so one tenant's sign-in never reaches another's users.
    pub async fn session_of_tenant(
        &self,
        store: &Store,
        slug: &str,
        token: Option<&str>,
        now: Micros,
    ) -> Result<LiveSession, SsoError> {
        let token = token.ok_or(SsoError::InvalidSession)?;
        let live = self.live_session(store, token, now).await?;
        if live.tenant.slug != slug {
            return Err(SsoError::InvalidSession);
        }
        Ok(live)
    }

    /// The admin a session token stands for: the signed-in user, with the permissions their
    /// roles give them now (a suspension or a role taken away counts at once), in their tenant.
    pub async fn admin_of_session(
        &self,
        store: &Store,
        token: &str,
        now: Micros,
    ) -> Result<AdminActor, SsoError> {
        let live = self.live_session(store, token, now).await?;
        Ok(AdminActor::TenantAdmin {
            tenant: std::sync::Arc::new(live.tenant),
            user_id: live.user.id,
            user_name: live.user.user_name,
            permissions: live.effective.permissions,
        })
    }

    /// A session token that is still good: signed by a published key, unexpired, not ended,
    /// and its user neither suspended nor deleted — as of now, not as of the login.
    pub async fn live_session(
        &self,
        store: &Store,
        token: &str,
        now: Micros,
    ) -> Result<LiveSession, SsoError> {
        let claims =
            session::verify(store, token, &self.public_url, now, self.session_ttl_secs).await?;
        let record = store
            .session(&claims.sid)
            .await?
            .filter(|s| {
                s.ended_at.is_none() && s.expires_at > now && s.user_id.as_str() == claims.sub
            })
            .ok_or(SsoError::InvalidSession)?;
        let user = store
            .user_by_id(&record.tenant_id, &record.user_id)
            .await?
            .filter(|u| u.status != UserStatus::Suspended)
            .ok_or(SsoError::InvalidSession)?;
        let (tenant, effective) = match &record.environment_id {
            Some(environment) => self
                .environment_access(store, environment, &user)
                .await?
                .ok_or(SsoError::InvalidSession)?,
            None => {
                let tenant = store
                    .tenant_by_id(&record.tenant_id)
                    .await?
                    .ok_or(SsoError::InvalidSession)?;
                let effective =
                    effective_of_user(store, &tenant.id, &user, &record.idp_groups).await?;
                (tenant, effective)
            }
        };
        if tenant.slug != claims.tenant {
            return Err(SsoError::InvalidSession);
        }
        Ok(LiveSession {
            claims,
            tenant,
            user,
            effective,
        })
    }

    /// Logout: ends the session the token names if it is one of this tenant's (an invalid
    /// token ends nothing), and says where to go next: `return_to` if the tenant allows it.
    pub async fn logout(
        &self,
        store: &Store,
        slug: &str,
        token: Option<&str>,
        return_to: Option<&str>,
        now: Micros,
    ) -> Result<(bool, Option<String>), SsoError> {
        let redirect = match return_to {
            Some(url) => {
                let (_, config) = self.tenant_config(store, slug).await?;
                Some(config.return_target(Some(url), &self.own_targets(slug))?)
            }
            None => None,
        };
        let verified = match token {
            Some(token) => {
                session::verify(store, token, &self.public_url, now, self.session_ttl_secs).await
            }
            None => Err(SsoError::InvalidSession),
        };
        let ended = match verified {
            Ok(claims) if claims.tenant == slug => store.end_session(&claims.sid, now).await?,
            Ok(_) | Err(SsoError::InvalidSession) => false,
            Err(err) => return Err(err),
        };
        Ok((ended, redirect))
    }
}

/// The callback's query, and the state bound to the browser by the login's cookie.
#[derive(Debug, Clone, Default)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
    pub bound_state: Option<String>,
}

/// How the tenant's configured claim finds the user.
fn sign_in_request(config: &SsoConfig, claims: Map<String, Value>) -> SignInRequest {
    let claim = config.user_claim;
    SignInRequest {
        claim: claim.as_str().to_string(),
        value: claims
            .get(claim.as_str())
            .and_then(Value::as_str)
            .map(str::to_string),
        by_email: !claim.is_identifier(),
        by_external_id: claim.is_identifier(),
        jit: config.jit && !matches!(claim, UserClaim::Sub | UserClaim::Oid),
        claims,
    }
}

/// A claim holding a list of strings (a groups claim), or a single string.
fn strings_at(claims: &Map<String, Value>, name: &str) -> Vec<String> {
    match claims.get(name) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        Some(Value::String(one)) => vec![one.clone()],
        _ => Vec::new(),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
}
