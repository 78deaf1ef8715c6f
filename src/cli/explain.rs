//! `scim-gateway explain`: how the database runs a SCIM list request, for an operator asking why
//! a filter is slow (and for the tests that pin each indexed lookup's plan).

use clap::{Args, ValueEnum};

use crate::clock::now_micros;
use crate::config::Limits;
use crate::scim::list::ListRequest;
use crate::scim::schema::Registry;
use crate::store::Store;
use crate::tenant::{groups, tenants, users};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Resource {
    Users,
    Groups,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The tenant whose list is explained.
    #[arg(long)]
    tenant: String,
    /// Which list: `GET /Users` or `GET /Groups`.
    #[arg(long, value_enum, default_value = "users")]
    resource: Resource,
    /// `sortBy`, as a client would send it.
    #[arg(long)]
    sort_by: Option<String>,
    /// `startIndex`, as a client would send it.
    #[arg(long)]
    start_index: Option<i64>,
    /// The SCIM filter, as a client would send it; none lists the whole tenant.
    filter: Option<String>,
}

/// Prints one line per step of each statement the list runs (its page, then its count).
pub async fn run(store: &Store, args: ExplainArgs, as_json: bool) -> anyhow::Result<()> {
    let tenant = tenants::find_tenant(store, &args.tenant).await?;
    let registry = Registry::load()?;
    let request = ListRequest {
        filter: args.filter,
        sort_by: args.sort_by,
        start_index: args.start_index,
        ..ListRequest::default()
    };
    let limits = Limits::default().list_limits();
    let now = now_micros();
    let schemas_of = |id: &str| {
        registry
            .resource_schemas(id)
            .ok_or_else(|| anyhow::anyhow!("the {id} schema is missing"))
    };
    let lines = match args.resource {
        Resource::Users => {
            let schemas = schemas_of("User")?;
            users::explain_list_users(store, schemas, &tenant.id, &request, limits, now).await?
        }
        Resource::Groups => {
            let schemas = schemas_of("Group")?;
            groups::explain_list_groups(store, schemas, &tenant.id, &request, limits, now).await?
        }
    };
    if as_json {
        println!("{}", serde_json::to_string_pretty(&lines)?);
    } else {
        for line in lines {
            println!("{line}");
        }
    }
    Ok(())
}
