//! Runtime settings: where to listen, the public URL, SSO, and every limit in one struct.

use std::net::SocketAddr;
use std::time::Duration;

use crate::scim::filter::FilterLimits;
use crate::scim::limits::AttributeLimits;
use crate::scim::list::ListLimits;
use crate::sso::secret_key::SecretKey;
use crate::store::RateLimit;
use crate::tenant::invitations::{DEFAULT_INVITATION_TTL_HOURS, InvitationPolicy};
use crate::webhooks::worker::WorkerSettings;

/// Every limit the gateway enforces. Each is configurable on `serve` and advertised where SCIM
/// has a place for it (ServiceProviderConfig `filter.maxResults`), the README lists the rest.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request body accepted; larger is 413.
    pub max_body_bytes: usize,
    /// Deepest JSON nesting accepted in a body; deeper is 400 `invalidSyntax`.
    pub max_json_depth: usize,
    /// Page size when `count` is absent.
    pub default_page_size: i64,
    /// Largest `count` served (larger requests are served this many).
    pub max_page_size: i64,
    pub filter: FilterLimits,
    /// A request still running after this long is answered 408.
    pub request_timeout: Duration,
    /// Most operations in one Bulk request (advertised as `bulk.maxOperations`).
    pub bulk_max_operations: usize,
    /// Largest Bulk request body (advertised as `bulk.maxPayloadSize`).
    pub bulk_max_payload_bytes: usize,
    /// Largest CSV file the admin API's import takes (413 beyond); the command line streams
    /// files of any size.
    pub max_import_bytes: usize,
    /// Seconds a pagination cursor stays valid (advertised as `pagination.cursorTimeout`).
    pub cursor_timeout_secs: i64,
    /// Sizes of attribute values: string length, values per attribute, members per operation.
    pub attributes: AttributeLimits,
}

impl Limits {
    pub fn list_limits(&self) -> ListLimits {
        ListLimits {
            filter: self.filter,
            default_page_size: self.default_page_size,
            max_page_size: self.max_page_size,
            cursor_timeout_secs: self.cursor_timeout_secs,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            max_json_depth: 32,
            default_page_size: 100,
            max_page_size: 1000,
            filter: FilterLimits::default(),
            request_timeout: Duration::from_secs(30),
            bulk_max_operations: 1000,
            bulk_max_payload_bytes: 4 * 1024 * 1024,
            max_import_bytes: 64 * 1024 * 1024,
            cursor_timeout_secs: 3600,
            attributes: AttributeLimits::default(),
        }
    }
}

/// Single sign-on settings (SPEC §5).
#[derive(Debug, Clone)]
pub struct SsoSettings {
    /// Seals client secrets and signing keys; SSO is off without it.
    pub secret_key: Option<SecretKey>,
    /// Lifetime of a gateway session (its token's `exp`).
    pub session_ttl_secs: i64,
    /// How long a started login may take before its state expires.
    pub login_ttl_secs: i64,
    /// An HTTP proxy for requests to identity providers.
    pub http_proxy: Option<String>,
}

impl Default for SsoSettings {
    fn default() -> Self {
        Self {
            secret_key: None,
            session_ttl_secs: 30 * 60,
            login_ttl_secs: 10 * 60,
            http_proxy: None,
        }
    }
}

/// A revoked token may keep reading this long in a running gateway (issue #2: a few seconds).
pub const DEFAULT_TOKEN_CACHE_TTL: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    /// The URL clients reach the gateway at, without a trailing slash; `meta.location` and
    /// `Location` headers are built from it.
    pub public_url: String,
    pub limits: Limits,
    pub sso: SsoSettings,
    /// How long a looked-up token may be reused (zero: never); see `GrantCache`.
    pub token_cache_ttl: Duration,
    /// Webhook endpoints may be plain `http://` or name loopback and private addresses (tests
    /// and local development only: otherwise a tenant could aim the gateway at internal hosts).
    pub allow_insecure_webhooks: bool,
    /// How webhook deliveries are paced and retried.
    pub webhook_delivery: WorkerSettings,
    /// Where invitation links point (the public URL) and how long they last.
    pub invitations: InvitationPolicy,
    /// `/metrics` reports seats per tenant (a series per tenant) besides the totals.
    pub metrics_tenant_labels: bool,
    /// The request rate of a SCIM token whose tenant has no limit of its own.
    pub token_rate_limit: RateLimit,
}

/// The default request rate per SCIM token: well above Entra ID's 25 requests a second per
/// tenant and Okta's pace, with room for a burst, and a sixth of what one process writes.
pub const DEFAULT_TOKEN_RATE_LIMIT: RateLimit = RateLimit {
    per_second: 500,
    burst: 1_000,
};

impl Settings {
    pub fn new(listen: SocketAddr, public_url: Option<String>) -> Self {
        let public_url = public_url.unwrap_or_else(|| format!("http://{listen}"));
        Self {
            listen,
            public_url: public_url.trim_end_matches('/').to_string(),
            limits: Limits::default(),
            sso: SsoSettings::default(),
            token_cache_ttl: DEFAULT_TOKEN_CACHE_TTL,
            allow_insecure_webhooks: false,
            webhook_delivery: WorkerSettings::default(),
            invitations: InvitationPolicy::new(&public_url, DEFAULT_INVITATION_TTL_HOURS),
            metrics_tenant_labels: false,
            token_rate_limit: DEFAULT_TOKEN_RATE_LIMIT,
        }
    }

    /// The SCIM base URL of a tenant.
    pub fn scim_base_url(&self, tenant_slug: &str) -> String {
        format!("{}/scim/v2/{tenant_slug}", self.public_url)
    }
}
