//! `agency roles|override`: what a user of an agency holds in one of its environments, and an
//! environment's override of it for that user.

use clap::Subcommand;
use serde_json::json;

use crate::clock::now_micros;
use crate::store::Store;
use crate::tenant::agencies::{self, InheritedAccess};
use crate::tenant::tenants;

#[derive(Debug, Subcommand)]
pub enum AgencyCommand {
    /// The roles and permissions a user of AGENCY holds in the environment --tenant.
    Roles {
        /// The environment.
        #[arg(long)]
        tenant: String,
        /// The agency (a tenant above the environment) the user belongs to.
        #[arg(long)]
        agency: String,
        /// The user's userName at the agency.
        #[arg(long)]
        user: String,
    },
    /// Replace what a user of AGENCY inherits in the environment --tenant with roles of the
    /// environment's catalog (--role, repeated), take their access there away (--no-access), or
    /// let them inherit again (--inherit).
    Override {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        agency: String,
        #[arg(long)]
        user: String,
        #[arg(long = "role", required_unless_present_any = ["no_access", "inherit"])]
        roles: Vec<String>,
        #[arg(long, conflicts_with_all = ["roles", "inherit"])]
        no_access: bool,
        #[arg(long, conflicts_with = "roles")]
        inherit: bool,
    },
}

pub async fn run(store: &Store, cmd: AgencyCommand, as_json: bool) -> anyhow::Result<()> {
    match cmd {
        AgencyCommand::Roles {
            tenant,
            agency,
            user,
        } => {
            let environment = tenants::find_tenant(store, &tenant).await?;
            let user_id = agencies::agency_user_id(store, &agency, &user).await?;
            let access = agencies::inherited_access(store, &environment.id, &user_id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("'{agency}' is not an agency above '{tenant}'"))?;
            print_access(&access, as_json);
        }
        AgencyCommand::Override {
            tenant,
            agency,
            user,
            roles,
            no_access,
            inherit,
        } => {
            let user_id = agencies::agency_user_id(store, &agency, &user).await?;
            let roles = (!inherit).then(|| if no_access { Vec::new() } else { roles });
            agencies::override_by(
                store,
                "cli",
                &tenant,
                &user_id,
                roles.as_deref(),
                now_micros(),
            )
            .await?;
            let environment = tenants::find_tenant(store, &tenant).await?;
            if let Some(access) =
                agencies::inherited_access(store, &environment.id, &user_id).await?
            {
                print_access(&access, as_json);
            }
        }
    }
    Ok(())
}

fn print_access(access: &InheritedAccess, as_json: bool) {
    if as_json {
        println!(
            "{}",
            json!({"roles": access.roles, "permissions": access.permissions,
                   "overridden": access.overridden})
        );
    } else {
        let how = if access.overridden {
            "overridden"
        } else {
            "inherited"
        };
        println!(
            "{}\t{}\t{how}",
            access.roles.join(","),
            access.permissions.join(",")
        );
    }
}
