//! Every tenant rule, in one place: tenants and their policies, tokens, user provisioning with
//! uniqueness, locked attributes, statuses, seat limits and soft deletion, and the audit trail
//! those rules write. Handlers and the CLI call these use-cases; they never touch the store.

pub mod admin_roles;
pub mod admin_settings;
pub mod admin_status;
pub mod agencies;
pub mod audit;
pub mod audit_log;
pub mod bulk;
pub mod cursor;
pub mod document;
pub mod event_feed;
pub mod events;
pub mod groups;
pub mod immutables;
pub mod import;
pub mod import_csv;
pub mod import_jobs;
mod import_rows;
pub mod invitations;
pub mod operators;
pub mod page_sessions;
pub mod purge;
pub mod query;
pub mod role_changes;
pub mod roles;
pub mod sign_in;
pub mod stats;
pub mod status;
pub mod sync;
pub mod tenants;
pub mod tokens;
pub mod user_detail;
pub mod user_list;
pub mod users;

use std::sync::Arc;

use crate::scim::{ScimError, ScimType};
use crate::store::{ConnectionId, StoreError, TenantRecord, TokenId};

/// Attributes locked once set unless a tenant's policy says otherwise (SPEC §4).
pub const DEFAULT_IMMUTABLE_ATTRIBUTES: [&str; 2] = ["userName", "userType"];

/// What a tenant rule can refuse, or what went wrong underneath.
#[derive(Debug, thiserror::Error)]
pub enum TenantError {
    #[error(transparent)]
    Scim(#[from] ScimError),
    #[error("{0} not found")]
    NotFound(String),
    #[error("userName '{0}' is already taken in this tenant")]
    UserNameTaken(String),
    #[error("displayName '{0}' is already taken by another group of this tenant")]
    GroupNameTaken(String),
    #[error("seat limit {limit} reached")]
    SeatLimitReached { limit: i64 },
    #[error("{user_name} is {status}: only an invited user has an invitation to send")]
    NotInvited {
        user_name: String,
        status: &'static str,
    },
    #[error("'{attribute}' is locked in this tenant and cannot be changed")]
    Locked { attribute: String },
    #[error("the resource has changed: its version is no longer {expected}")]
    PreconditionFailed { expected: String },
    #[error("tenant '{0}' already exists")]
    TenantExists(String),
    #[error("unknown tenant '{0}'")]
    UnknownTenant(String),
    #[error("connection '{0}' already exists in this tenant")]
    ConnectionExists(String),
    #[error("{0}")]
    InvalidArgument(String),
    /// No credential, or one that is not (or no longer) valid.
    #[error("a valid operator token or admin session is required")]
    Unauthenticated,
    /// The SCIM token a write came with was revoked or expired after its grant was looked up
    /// (found in the write's own transaction).
    #[error("the request's SCIM token is no longer valid")]
    TokenNoLongerValid,
    /// A valid credential without the permission, or for another tenant.
    #[error("{0}")]
    Forbidden(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The HTTP status of a storage failure: a busy pool asks the client to retry, text the engine
/// cannot hold is the client's, anything else is ours.
pub fn store_error_status(err: &StoreError) -> u16 {
    match err {
        retry if retry.is_retryable() => 503,
        StoreError::UnstorableText(_) => 400,
        _ => 500,
    }
}

impl TenantError {
    /// The HTTP status this error is answered with: the one table both the answer (`http::error`)
    /// and the audit record of a rejection read.
    pub fn status(&self) -> u16 {
        match self {
            TenantError::Scim(e) => e.status,
            TenantError::NotFound(_) | TenantError::UnknownTenant(_) => 404,
            TenantError::UserNameTaken(_)
            | TenantError::GroupNameTaken(_)
            | TenantError::TenantExists(_)
            | TenantError::ConnectionExists(_)
            | TenantError::NotInvited { .. } => 409,
            TenantError::SeatLimitReached { .. } | TenantError::Forbidden(_) => 403,
            TenantError::Unauthenticated | TenantError::TokenNoLongerValid => 401,
            TenantError::PreconditionFailed { .. } => 412,
            TenantError::Locked { .. } | TenantError::InvalidArgument(_) => 400,
            TenantError::Store(err) => store_error_status(err),
        }
    }

    /// The SCIM error type this error is answered with, beside its status: the one table the
    /// answer and the audit record of a rejection read.
    pub fn scim_type(&self) -> Option<ScimType> {
        match self {
            TenantError::Scim(e) => e.scim_type,
            TenantError::UserNameTaken(_)
            | TenantError::GroupNameTaken(_)
            | TenantError::TenantExists(_)
            | TenantError::ConnectionExists(_) => Some(ScimType::Uniqueness),
            TenantError::Locked { .. } => Some(ScimType::Mutability),
            TenantError::InvalidArgument(_) | TenantError::Store(StoreError::UnstorableText(_)) => {
                Some(ScimType::InvalidValue)
            }
            _ => None,
        }
    }

    /// Whether the client caused it (and it belongs in the audit trail as a rejection). A token
    /// found dead inside a write is not: the authentication middleware records it as a refused
    /// authentication, as it does a token it refuses itself.
    pub fn is_rejection(&self) -> bool {
        !matches!(
            self,
            TenantError::Store(_) | TenantError::TokenNoLongerValid
        )
    }
}

/// A tenant slug: the URL segment of a tenant (`/scim/v2/{slug}`). Lower-case letters, digits and
/// hyphens, 1 to 63 characters, starting with a letter or digit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantSlug(String);

impl TenantSlug {
    pub fn parse(text: &str) -> Result<Self, TenantError> {
        let valid = !text.is_empty()
            && text.len() <= 63
            && text
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !text.starts_with('-');
        if valid {
            Ok(Self(text.to_string()))
        } else {
            Err(TenantError::InvalidArgument(format!(
                "'{text}' is not a valid tenant slug: use 1 to 63 lower-case letters, digits and hyphens"
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Who is acting: the tenant, and the directory connection whose token was presented (none for
/// the CLI).
#[derive(Debug, Clone)]
pub struct Caller {
    /// Shared: every request of a token clones its caller, and the tenant is read-only here.
    pub tenant: Arc<TenantRecord>,
    pub connection_id: Option<ConnectionId>,
    pub actor: &'static str,
    /// e.g. `POST /Users`, kept with audit events.
    pub request_summary: Option<String>,
    /// The SCIM token the request came with, if any. Its grant may come from `GrantCache`, so
    /// every write checks inside its own transaction that the token is still live
    /// (`WriteContext::begin`): a revoked or expired token never writes.
    pub token_id: Option<TokenId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_url_safe() {
        assert!(TenantSlug::parse("acme-2").is_ok());
        for bad in ["", "Acme", "a/b", "-a", "a b", &"x".repeat(64)] {
            assert!(TenantSlug::parse(bad).is_err(), "{bad}");
        }
    }
}
