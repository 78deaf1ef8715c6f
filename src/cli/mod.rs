//! The command line (SPEC §6): a fixed contract that scripts and deployment tooling rely on.

mod admin_token;
mod agency;
mod demo;
mod explain;
mod import;
mod invite;
mod purge;
mod role;
mod serve;
mod sso;
mod tenant;
mod token;

use clap::{Parser, Subcommand};

use crate::clock::{Micros, datetime_of};
use crate::scim::resource::format_datetime;
use crate::store::{PoolOptions, Store};
use crate::telemetry::LogFormat;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://scim-gateway.db";

#[derive(Debug, Parser)]
#[command(
    name = "scim-gateway",
    version,
    about = "Multi-tenant SCIM 2.0 provisioning gateway"
)]
pub struct Cli {
    /// Database URL: sqlite://PATH (created if missing) or postgres://USER:PASS@HOST/DB.
    #[arg(long, global = true, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database: String,
    /// Print listings as JSON.
    #[arg(long, global = true)]
    pub json: bool,
    /// The gateway's secret key (base64 of 32 bytes): seals SSO client secrets and session
    /// signing keys. Give it by environment rather than on the command line.
    #[arg(
        long,
        global = true,
        env = "SCIM_GATEWAY_SECRET_KEY",
        hide_env_values = true
    )]
    pub secret_key: Option<String>,
    /// PostgreSQL connections per process; a request holds at most one.
    #[arg(long, global = true, env = "SCIM_GATEWAY_DB_MAX_CONNECTIONS", default_value_t = PoolOptions::default().max_connections)]
    pub db_max_connections: u32,
    /// Milliseconds a request waits for a database connection (or SQLite's write lock) before it
    /// is answered 503 with Retry-After.
    #[arg(long, global = true, env = "SCIM_GATEWAY_DB_ACQUIRE_TIMEOUT_MS", default_value_t = PoolOptions::default().acquire_timeout.as_millis() as u64)]
    pub db_acquire_timeout_ms: u64,
    /// Log lines as readable text or as JSON objects (for log shippers).
    #[arg(long, global = true, env = "SCIM_GATEWAY_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply pending migrations and serve SCIM until SIGINT/SIGTERM.
    Serve(serve::ServeArgs),
    /// Apply pending database migrations.
    Migrate,
    /// Create, change and list tenants.
    #[command(subcommand)]
    Tenant(tenant::TenantCommand),
    /// Create, rotate, revoke and list SCIM bearer tokens.
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Manage the tenant's role catalog, group-to-role mappings and role assignments.
    #[command(subcommand)]
    Role(role::RoleCommand),
    /// What users of an agency hold in its environments, and overrides of it.
    #[command(subcommand)]
    Agency(agency::AgencyCommand),
    /// Import users from a CSV file, with a per-row report (README: "Importing users").
    Import(import::ImportArgs),
    /// Show how the database runs a SCIM list request (its query plan), e.g. for a slow filter.
    Explain(explain::ExplainArgs),
    /// Resend an invited user's invitation (a new link; the old one stops working).
    #[command(subcommand)]
    Invite(invite::InviteCommand),
    /// Delete tombstones older than the retention period, and ended SSO sessions.
    Purge(purge::PurgeArgs),
    /// Configure a tenant's single sign-on (OpenID Connect) and rotate session signing keys.
    #[command(subcommand)]
    Sso(sso::SsoCommand),
    /// Create, list and revoke operator tokens of the admin API (/admin/v1).
    #[command(subcommand)]
    AdminToken(admin_token::AdminTokenCommand),
}

impl Cli {
    pub fn is_serve(&self) -> bool {
        matches!(self.command, Command::Serve(_))
    }
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let pool = PoolOptions {
        max_connections: cli.db_max_connections,
        acquire_timeout: std::time::Duration::from_millis(cli.db_acquire_timeout_ms.max(1)),
    };
    let store = Store::connect_with(&cli.database, pool).await?;
    let result = async {
        // Every command applies pending migrations first, so the CLI works on a fresh database.
        prepare(&store).await?;
        match cli.command {
            Command::Serve(args) => {
                serve::run(store.clone(), args, cli.secret_key.as_deref()).await
            }
            Command::Migrate => {
                eprintln!("migrations applied");
                Ok(())
            }
            Command::Tenant(cmd) => tenant::run(&store, cmd, cli.json).await,
            Command::Token(cmd) => token::run(&store, cmd, cli.json).await,
            Command::Role(cmd) => role::run(&store, cmd, cli.json).await,
            Command::Agency(cmd) => agency::run(&store, cmd, cli.json).await,
            Command::Import(args) => import::run(&store, args, cli.json).await,
            Command::Explain(args) => explain::run(&store, args, cli.json).await,
            Command::Invite(cmd) => invite::run(&store, cmd, cli.json).await,
            Command::Purge(args) => purge::run(&store, args, cli.json).await,
            Command::Sso(cmd) => sso::run(&store, cmd, cli.secret_key.as_deref(), cli.json).await,
            Command::AdminToken(cmd) => admin_token::run(&store, cmd, cli.json).await,
        }
    }
    .await;
    store.close().await;
    result
}

/// Applies pending migrations, then fills in what a migration could not compute in SQL.
async fn prepare(store: &Store) -> anyhow::Result<()> {
    store.migrate().await?;
    let registry = crate::scim::schema::Registry::load()?;
    let schemas = registry
        .user()
        .ok_or_else(|| anyhow::anyhow!("the User schema is missing"))?;
    let filled = crate::tenant::users::backfill_folded_documents(store, schemas).await?;
    if filled > 0 {
        tracing::info!(users = filled, "filled in folded documents");
    }
    Ok(())
}

/// Where the links of invitations a command issues point, and how long they last: the same
/// settings (and environment) as `serve`'s.
#[derive(Debug, clap::Args)]
pub struct InvitationArgs {
    /// URL people reach the gateway at: invitation links start with it.
    #[arg(
        long,
        env = "SCIM_GATEWAY_PUBLIC_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    public_url: String,
    /// Hours an invitation link lasts.
    #[arg(long, env = "SCIM_GATEWAY_INVITATION_TTL_HOURS", default_value_t = crate::tenant::invitations::DEFAULT_INVITATION_TTL_HOURS)]
    invitation_ttl_hours: u64,
}

impl InvitationArgs {
    pub fn policy(&self) -> crate::tenant::invitations::InvitationPolicy {
        crate::tenant::invitations::InvitationPolicy::new(
            &self.public_url,
            self.invitation_ttl_hours,
        )
    }
}

/// A time in listings, `-` for none.
fn time_text(t: Option<Micros>) -> String {
    t.map(|t| format_datetime(datetime_of(t)))
        .unwrap_or_else(|| "-".into())
}

/// An error and its causes on one line.
pub fn one_line(err: &anyhow::Error) -> String {
    err.chain()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ")
}
