//! Single sign-on (SPEC §5): the OpenID Connect relying party of each tenant, the gateway's own
//! session tokens, and the secret key that seals what both keep in the database. The rules of
//! who may sign in live in `tenant::sign_in`; the HTTP pages in `http::sso`.

pub mod config;
pub mod login;
pub mod oidc;
pub mod secret_key;
pub mod session;

use crate::store::StoreError;
use crate::tenant::sign_in::Refusal;
use crate::tenant::{TenantError, store_error_status};

/// What can stop a sign-in, a session check or an SSO setting.
#[derive(Debug, thiserror::Error)]
pub enum SsoError {
    #[error("single sign-on is off: the gateway has no secret key (set SCIM_GATEWAY_SECRET_KEY)")]
    NoSecretKey,
    #[error("{0}")]
    SecretKey(String),
    #[error("{0}")]
    Config(String),
    #[error("single sign-on is not configured for this tenant")]
    NotConfigured,
    #[error("'{0}' is not on this tenant's list of allowed return targets")]
    ReturnToNotAllowed(String),
    #[error(
        "this sign-in cannot be completed: its state is missing, unknown, expired or already used; please sign in again"
    )]
    InvalidState,
    #[error("the identity provider refused the sign-in: {0}")]
    ProviderRefused(String),
    #[error("the identity provider could not be used: {0}")]
    Provider(String),
    #[error("the identity provider's ID token was rejected: {0}")]
    IdToken(String),
    #[error("{0}")]
    Refused(Refusal),
    /// An agency user whose agency is not above the environment, or whom the environment's
    /// override gives no access.
    #[error(
        "your agency account has no access to this environment; ask the environment's administrator"
    )]
    NoEnvironmentAccess,
    #[error("the session is not valid")]
    InvalidSession,
    #[error(transparent)]
    Tenant(#[from] TenantError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl SsoError {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> u16 {
        match self {
            SsoError::NoSecretKey => 503,
            SsoError::NotConfigured => 404,
            SsoError::ReturnToNotAllowed(_) | SsoError::InvalidState | SsoError::Config(_) => 400,
            SsoError::ProviderRefused(_) | SsoError::IdToken(_) | SsoError::InvalidSession => 401,
            SsoError::Refused(_) | SsoError::NoEnvironmentAccess => 403,
            SsoError::Provider(_) => 502,
            // One table for the rules' errors, whichever path they came by.
            SsoError::Tenant(err) => err.status(),
            SsoError::Store(err) => store_error_status(err),
            SsoError::SecretKey(_) => 500,
        }
    }

    /// Whether no database connection came free in time: worth a retry shortly.
    pub fn is_busy(&self) -> bool {
        match self {
            SsoError::Store(err) | SsoError::Tenant(TenantError::Store(err)) => err.is_retryable(),
            _ => false,
        }
    }

    /// Whether the detail may be shown to the person signing in (internal failures are not).
    pub fn is_public(&self) -> bool {
        self.status() < 500
            || self.is_busy()
            || matches!(self, SsoError::NoSecretKey | SsoError::Provider(_))
    }
}
