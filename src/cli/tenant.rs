//! `tenant create|update|list|show`.

use clap::Subcommand;
use serde_json::json;

use crate::clock::now_micros;
use crate::scim::schema::Registry;
use crate::store::{Store, TenantRecord};
use crate::tenant::TenantSlug;
use crate::tenant::tenants::{self, SeatChange};

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
    },
    /// Change a tenant's seat limit or locked attributes.
    Update {
        slug: String,
        #[arg(long, conflicts_with = "unlimited_seats")]
        seats: Option<i64>,
        #[arg(long)]
        unlimited_seats: bool,
        /// Comma-separated attributes locked once set, e.g. userName,userType,name.givenName,emails.
        #[arg(long, value_delimiter = ',', num_args = 0..)]
        immutable: Option<Vec<String>>,
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
    })
}

fn describe(t: &TenantRecord) -> String {
    let seats = match t.seat_limit {
        Some(limit) => format!("{} of {limit} seats used", t.seats_used),
        None => format!("{} seats used, no limit", t.seats_used),
    };
    format!(
        "{}\t{}\t{seats}\tlocked: {}",
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
        TenantCommand::Create { slug, seats, name } => {
            let slug = TenantSlug::parse(&slug)?;
            let tenant =
                tenants::create_tenant(store, &slug, name.as_deref(), seats, now_micros()).await?;
            print(&tenant);
        }
        TenantCommand::Update {
            slug,
            seats,
            unlimited_seats,
            immutable,
        } => {
            let slug = TenantSlug::parse(&slug)?;
            let change = match (seats, unlimited_seats) {
                (Some(n), _) => SeatChange::Limit(n),
                (None, true) => SeatChange::Unlimited,
                (None, false) => SeatChange::Keep,
            };
            let registry = Registry::load()?;
            let schemas = registry
                .user()
                .ok_or_else(|| anyhow::anyhow!("the User schema is missing"))?;
            let tenant =
                tenants::update_tenant(store, schemas, &slug, change, immutable, now_micros())
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
