//! `tenant create|update|list|show`.

use clap::Subcommand;
use serde_json::json;

use crate::clock::now_micros;
use crate::scim::schema::Registry;
use crate::store::{RateLimit, Store, TenantRecord};
use crate::tenant::TenantSlug;
use crate::tenant::agencies;
use crate::tenant::tenants::{self, PolicyChange, SeatChange};

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant.
    Create {
        slug: String,
        /// Seat limit (default: unlimited).
        #[arg(long)]
        seats: Option<i64>,
        /// Display name (default: the slug).
        #[arg(long)]
        name: Option<String>,
        /// The agency (a tenant's slug) this tenant is an environment of: the roles the
        /// agency's users hold there ripple down to it.
        #[arg(long)]
        parent: Option<String>,
    },
    /// Make a tenant an environment of an agency (--parent), or a tenant of its own (--none).
    SetParent {
        slug: String,
        #[arg(long, required_unless_present = "none", conflicts_with = "none")]
        parent: Option<String>,
        #[arg(long)]
        none: bool,
    },
    /// Change a tenant's seat limit, locked attributes or request rate.
    Update {
        slug: String,
        #[arg(long, conflicts_with = "unlimited_seats")]
        seats: Option<i64>,
        #[arg(long)]
        unlimited_seats: bool,
        /// Comma-separated attributes locked once set, e.g. userName,userType,name.givenName,emails.
        #[arg(long, value_delimiter = ',', num_args = 0..)]
        immutable: Option<Vec<String>>,
        /// Requests per second each of the tenant's SCIM tokens may make (0: no limit).
        #[arg(long, conflicts_with = "default_rate_limit", requires = "rate_burst")]
        rate_limit: Option<u32>,
        /// Requests a token may make at once before the average applies (with --rate-limit).
        #[arg(long, requires = "rate_limit")]
        rate_burst: Option<u32>,
        /// Back to the gateway's default rate (`serve --token-rate-limit`).
        #[arg(long)]
        default_rate_limit: bool,
    },
    /// List tenants.
    List,
    /// Show one tenant.
    Show { slug: String },
}

fn to_json(t: &TenantRecord) -> serde_json::Value {
    json!({
        "id": t.id, "slug": t.slug, "displayName": t.display_name, "seatLimit": t.seat_limit,
        "seatsUsed": t.seats_used, "immutableAttributes": t.immutable_attributes,
        "rateLimit": t.rate_limit.map(|l| json!({"perSecond": l.per_second, "burst": l.burst})),
        "parentId": t.parent_id,
    })
}

fn describe(t: &TenantRecord) -> String {
    let seats = match t.seat_limit {
        Some(limit) => format!("{} of {limit} seats used", t.seats_used),
        None => format!("{} seats used, no limit", t.seats_used),
    };
    let rate = match t.rate_limit {
        Some(RateLimit { per_second: 0, .. }) => "no rate limit".to_string(),
        Some(l) => format!("{}/s per token, burst {}", l.per_second, l.burst),
        None => "default rate".to_string(),
    };
    format!(
        "{}\t{}\t{seats}\tlocked: {}\t{rate}",
        t.slug,
        t.display_name,
        t.immutable_attributes.join(",")
    )
}

pub async fn run(store: &Store, cmd: TenantCommand, as_json: bool) -> anyhow::Result<()> {
    let print = |t: &TenantRecord| {
        if as_json {
            println!("{}", to_json(t));
        } else {
            println!("{}", describe(t));
        }
    };
    match cmd {
        TenantCommand::Create {
            slug,
            seats,
            name,
            parent,
        } => {
            let slug = TenantSlug::parse(&slug)?;
            let tenant = tenants::create_tenant_by(
                store,
                "cli",
                &slug,
                name.as_deref(),
                seats,
                parent.as_deref(),
                now_micros(),
            )
            .await?;
            print(&tenant);
        }
        TenantCommand::SetParent { slug, parent, .. } => {
            let tenant =
                agencies::set_parent_by(store, "cli", &slug, parent.as_deref(), now_micros())
                    .await?;
            print(&tenant);
        }
        TenantCommand::Update {
            slug,
            seats,
            unlimited_seats,
            immutable,
            rate_limit,
            rate_burst,
            default_rate_limit,
        } => {
            let slug = TenantSlug::parse(&slug)?;
            let seats = match (seats, unlimited_seats) {
                (Some(n), _) => SeatChange::Limit(n),
                (None, true) => SeatChange::Unlimited,
                (None, false) => SeatChange::Keep,
            };
            let rate_limit = match (rate_limit, rate_burst, default_rate_limit) {
                (Some(per_second), Some(burst), _) => Some(Some(RateLimit { per_second, burst })),
                (_, _, true) => Some(None),
                _ => None,
            };
            let change = PolicyChange {
                seats,
                immutable_attributes: immutable,
                rate_limit,
                ..PolicyChange::default()
            };
            let registry = Registry::load()?;
            let schemas = registry
                .user()
                .ok_or_else(|| anyhow::anyhow!("the User schema is missing"))?;
            let tenant =
                tenants::update_tenant_by(store, "cli", schemas, &slug, change, now_micros())
                    .await?;
            print(&tenant);
        }
        TenantCommand::List => {
            let all = store.list_tenants().await?;
            if as_json {
                println!(
                    "{}",
                    serde_json::Value::from(all.iter().map(to_json).collect::<Vec<_>>())
                );
            } else {
                all.iter().for_each(print);
            }
        }
        TenantCommand::Show { slug } => print(&tenants::find_tenant(store, &slug).await?),
    }
    Ok(())
}
