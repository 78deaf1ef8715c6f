//! `serve [--listen ADDR] [--public-url URL] [--demo]`: migrate, build the app, serve until
//! SIGINT/SIGTERM, then drain in-flight requests.

use crate::tenant::invitations::{DEFAULT_INVITATION_TTL_HOURS, InvitationPolicy};
use std::net::SocketAddr;
use std::time::Duration;

use clap::Args;
use clap::builder::TypedValueParser;

use super::demo;
use crate::app::App;
use crate::config::{DEFAULT_TOKEN_RATE_LIMIT, Limits, Settings, SsoSettings};
use crate::scim::filter::FilterLimits;
use crate::scim::limits::AttributeLimits;
use crate::sso::secret_key::SecretKey;
use crate::store::{RateLimit, Store};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "SCIM_GATEWAY_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// URL clients reach the gateway at (default: http:// + the listen address).
    #[arg(long, env = "SCIM_GATEWAY_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Hours an invitation link lasts.
    #[arg(long, env = "SCIM_GATEWAY_INVITATION_TTL_HOURS", default_value_t = DEFAULT_INVITATION_TTL_HOURS)]
    pub invitation_ttl_hours: u64,
    /// Create a `demo` tenant with a token and print how to use it.
    #[arg(long)]
    pub demo: bool,
    /// Largest request body in bytes (413 beyond).
    #[arg(long, env = "SCIM_GATEWAY_MAX_BODY_BYTES", default_value_t = Limits::default().max_body_bytes)]
    pub max_body_bytes: usize,
    /// Deepest JSON nesting accepted in a body.
    #[arg(long, env = "SCIM_GATEWAY_MAX_JSON_DEPTH", default_value_t = Limits::default().max_json_depth)]
    pub max_json_depth: usize,
    /// Page size when a list request gives no `count`.
    #[arg(long, env = "SCIM_GATEWAY_DEFAULT_PAGE_SIZE", default_value_t = Limits::default().default_page_size)]
    pub default_page_size: i64,
    /// Largest `count` served; advertised as `filter.maxResults`.
    #[arg(long, env = "SCIM_GATEWAY_MAX_PAGE_SIZE", default_value_t = Limits::default().max_page_size)]
    pub max_page_size: i64,
    /// Longest filter accepted, in characters.
    #[arg(long, env = "SCIM_GATEWAY_MAX_FILTER_LENGTH", default_value_t = FilterLimits::default().max_length)]
    pub max_filter_length: usize,
    /// Deepest nesting of parentheses, `not` and value filters in a filter.
    #[arg(long, env = "SCIM_GATEWAY_MAX_FILTER_DEPTH", default_value_t = FilterLimits::default().max_depth)]
    pub max_filter_depth: usize,
    /// Most operations in one Bulk request.
    #[arg(long, env = "SCIM_GATEWAY_BULK_MAX_OPERATIONS", default_value_t = Limits::default().bulk_max_operations)]
    pub bulk_max_operations: usize,
    /// Largest Bulk request body in bytes.
    #[arg(long, env = "SCIM_GATEWAY_BULK_MAX_PAYLOAD_BYTES", default_value_t = Limits::default().bulk_max_payload_bytes)]
    pub bulk_max_payload_bytes: usize,
    /// Largest CSV file an admin may upload to import (413 beyond).
    #[arg(long, env = "SCIM_GATEWAY_MAX_IMPORT_BYTES", default_value_t = Limits::default().max_import_bytes)]
    pub max_import_bytes: usize,
    /// Longest string value of an attribute, in characters (400 invalidValue beyond).
    #[arg(long, env = "SCIM_GATEWAY_MAX_STRING_CHARS", default_value_t = AttributeLimits::default().max_string_chars, value_parser = clap::value_parser!(u32).range(1..).map(|n| n as usize))]
    pub max_string_chars: usize,
    /// Most values of one multi-valued attribute (emails, skills, roles, …; not group members).
    #[arg(long, env = "SCIM_GATEWAY_MAX_VALUES", default_value_t = AttributeLimits::default().max_values, value_parser = clap::value_parser!(u32).range(1..).map(|n| n as usize))]
    pub max_values: usize,
    /// Most members one group PATCH operation adds, removes or replaces (400 tooMany beyond).
    #[arg(long, env = "SCIM_GATEWAY_MAX_MEMBERS_PER_OPERATION", default_value_t = AttributeLimits::default().max_members_per_operation, value_parser = clap::value_parser!(u32).range(1..).map(|n| n as usize))]
    pub max_members_per_operation: usize,
    /// Seconds a pagination cursor stays valid.
    #[arg(long, env = "SCIM_GATEWAY_CURSOR_TIMEOUT_SECS", default_value_t = Limits::default().cursor_timeout_secs)]
    pub cursor_timeout_secs: i64,
    /// Milliseconds a looked-up SCIM token may be reused (0: look it up every time). Every write
    /// checks its token inside its transaction; a revoked token can read this much longer, never
    /// write.
    #[arg(long, env = "SCIM_GATEWAY_TOKEN_CACHE_MS", default_value_t = 1000)]
    pub token_cache_ms: u64,
    /// Lifetime of an SSO session in seconds.
    #[arg(long, env = "SCIM_GATEWAY_SESSION_TTL_SECS", default_value_t = SsoSettings::default().session_ttl_secs)]
    pub session_ttl_secs: i64,
    /// An HTTP proxy for requests to identity providers (default: HTTPS_PROXY/HTTP_PROXY).
    #[arg(long, env = "SCIM_GATEWAY_SSO_PROXY")]
    pub sso_proxy: Option<String>,
    /// Seconds after which a request still running is answered 408.
    #[arg(long, env = "SCIM_GATEWAY_REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    pub request_timeout_secs: u64,
    /// Let webhook endpoints be plain http:// or loopback and private addresses (tests and
    /// local development only: otherwise a tenant could aim the gateway at internal hosts).
    #[arg(long, env = "SCIM_GATEWAY_ALLOW_INSECURE_WEBHOOKS")]
    pub allow_insecure_webhooks: bool,
    /// `/metrics` reports seats used and the seat limit of each tenant, one series per tenant
    /// (off by default: the totals only, so the metrics' size does not grow with tenants).
    #[arg(long, env = "SCIM_GATEWAY_METRICS_TENANT_LABELS")]
    pub metrics_tenant_labels: bool,
    /// Requests per second each SCIM token may make on average, for tenants without a limit of
    /// their own (`tenant update --rate-limit`); 0 for no limit. Beyond it: 429 with Retry-After.
    #[arg(long, env = "SCIM_GATEWAY_TOKEN_RATE_LIMIT", default_value_t = DEFAULT_TOKEN_RATE_LIMIT.per_second)]
    pub token_rate_limit: u32,
    /// Requests a SCIM token may make at once before the average applies.
    #[arg(long, env = "SCIM_GATEWAY_TOKEN_RATE_BURST", default_value_t = DEFAULT_TOKEN_RATE_LIMIT.burst, value_parser = clap::value_parser!(u32).range(1..))]
    pub token_rate_burst: u32,
    /// Seconds a process holds a webhook endpoint while it delivers; another process carries on
    /// after a crash once this has run out.
    #[arg(long, env = "SCIM_GATEWAY_WEBHOOK_LEASE_SECS", default_value_t = 60)]
    pub webhook_lease_secs: u64,
}

impl ServeArgs {
    fn settings(&self, secret_key: Option<&str>) -> anyhow::Result<Settings> {
        let mut settings = Settings::new(self.listen, self.public_url.clone());
        settings.token_cache_ttl = Duration::from_millis(self.token_cache_ms);
        settings.invitations =
            InvitationPolicy::new(&settings.public_url, self.invitation_ttl_hours);
        settings.allow_insecure_webhooks = self.allow_insecure_webhooks;
        settings.metrics_tenant_labels = self.metrics_tenant_labels;
        settings.token_rate_limit = RateLimit {
            per_second: self.token_rate_limit,
            burst: self.token_rate_burst,
        };
        settings.webhook_delivery.lease = Duration::from_secs(self.webhook_lease_secs.max(1));
        settings.sso = SsoSettings {
            secret_key: secret_key.map(SecretKey::parse).transpose()?,
            session_ttl_secs: self.session_ttl_secs.max(60),
            http_proxy: self.sso_proxy.clone(),
            ..SsoSettings::default()
        };
        settings.limits = Limits {
            max_body_bytes: self.max_body_bytes,
            max_json_depth: self.max_json_depth,
            default_page_size: self.default_page_size.max(0),
            max_page_size: self.max_page_size.max(1),
            filter: FilterLimits {
                max_length: self.max_filter_length,
                max_depth: self.max_filter_depth,
            },
            request_timeout: Duration::from_secs(self.request_timeout_secs.max(1)),
            bulk_max_operations: self.bulk_max_operations,
            bulk_max_payload_bytes: self.bulk_max_payload_bytes,
            max_import_bytes: self.max_import_bytes,
            cursor_timeout_secs: self.cursor_timeout_secs.max(1),
            attributes: AttributeLimits {
                max_string_chars: self.max_string_chars,
                max_values: self.max_values,
                max_members_per_operation: self.max_members_per_operation,
            },
        };
        Ok(settings)
    }
}

/// Serves on a migrated store (see `cli::prepare`).
pub async fn run(store: Store, args: ServeArgs, secret_key: Option<&str>) -> anyhow::Result<()> {
    let app = App::build(args.settings(secret_key)?, store.clone()).await?;
    tracing::info!(address = %app.local_addr(), public_url = %app.public_url(), "scim-gateway listening");
    if args.demo {
        let demo = demo::prepare(&store).await?;
        demo.announce(app.public_url());
        tokio::spawn(demo.seed(format!("http://{}", app.local_addr())));
    } else if !crate::telemetry::json_lines() {
        eprintln!(
            "scim-gateway listening on {} (SCIM base URL: {}/scim/v2/TENANT; admin pages: {}/ui, \
             sign in with an operator token from `scim-gateway admin-token create`)",
            app.local_addr(),
            app.public_url(),
            app.public_url()
        );
    }
    app.run_until(shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: draining in-flight requests");
}
