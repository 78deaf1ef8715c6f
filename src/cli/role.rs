//! `role create|update|list|map|assign`: the tenant's role catalog and who gets which role.

use clap::Subcommand;
use serde_json::json;

use crate::clock::now_micros;
use crate::store::{RoleRecord, Store};
use crate::tenant::{roles, tenants};

#[derive(Debug, Subcommand)]
pub enum RoleCommand {
    /// Create a role (or, with --template, a role template) with its permissions.
    Create {
        #[arg(long)]
        tenant: String,
        name: String,
        /// Comma-separated CATEGORY:ACTION (or CATEGORY:*), e.g. users:view,analytics:*.
        #[arg(long, value_delimiter = ',', required = true)]
        permissions: Vec<String>,
        #[arg(long)]
        description: Option<String>,
        #[arg(long)]
        template: bool,
        /// Only group mappings give the role: SCIM `roles` values naming it grant nothing and
        /// it cannot be assigned by hand.
        #[arg(long)]
        not_assignable: bool,
    },
    /// Change a role's permissions, description, template flag or whether it is assignable.
    Update {
        #[arg(long)]
        tenant: String,
        name: String,
        #[arg(long, value_delimiter = ',')]
        permissions: Option<Vec<String>>,
        #[arg(long)]
        description: Option<String>,
        #[arg(long)]
        template: Option<bool>,
        /// false: only group mappings give the role from now on (its holders by hand lose it).
        #[arg(long)]
        assignable: Option<bool>,
    },
    /// List the tenant's roles and group mappings.
    List {
        #[arg(long)]
        tenant: String,
    },
    /// Grant a role to every member of the group with this displayName (--unmap to stop).
    Map {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        group: String,
        #[arg(long)]
        role: String,
        #[arg(long)]
        unmap: bool,
    },
    /// Assign a role to a user by userName (--unassign to take it back).
    Assign {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        user: String,
        #[arg(long)]
        role: String,
        #[arg(long)]
        unassign: bool,
    },
}

fn to_json(role: &RoleRecord, groups: &[String]) -> serde_json::Value {
    json!({"name": role.name, "description": role.description, "permissions": role.permissions,
           "template": role.is_template, "assignable": role.assignable, "mappedGroups": groups})
}

pub async fn run(store: &Store, cmd: RoleCommand, as_json: bool) -> anyhow::Result<()> {
    let now = now_micros();
    match cmd {
        RoleCommand::Create {
            tenant,
            name,
            permissions,
            description,
            template,
            not_assignable,
        } => {
            let spec = roles::RoleSpec {
                name: &name,
                permissions: &permissions,
                description: description.as_deref(),
                is_template: template,
                assignable: !not_assignable,
            };
            let role = roles::create_role_by(store, "cli", &tenant, spec, now).await?;
            println!(
                "{}",
                if as_json {
                    to_json(&role, &[]).to_string()
                } else {
                    format!("{}\t{}", role.name, role.permissions.join(","))
                }
            );
        }
        RoleCommand::Update {
            tenant,
            name,
            permissions,
            description,
            template,
            assignable,
        } => {
            let update = roles::RoleUpdate {
                permissions: permissions.as_deref(),
                description: description.as_deref(),
                is_template: template,
                assignable,
            };
            let role = roles::update_role_by(store, "cli", &tenant, &name, update, now).await?;
            println!(
                "{}",
                if as_json {
                    to_json(&role, &[]).to_string()
                } else {
                    format!("{}\t{}", role.name, role.permissions.join(","))
                }
            );
        }
        RoleCommand::List { tenant } => {
            let tenant = tenants::find_tenant(store, &tenant).await?;
            let catalog = roles::Catalog::load(store, &tenant.id).await?;
            let groups_of = |role: &RoleRecord| -> Vec<String> {
                catalog
                    .mappings
                    .iter()
                    .filter(|m| m.role_id == role.id)
                    .map(|m| m.group_name.clone())
                    .collect()
            };
            if as_json {
                let rows: Vec<_> = catalog
                    .roles
                    .iter()
                    .map(|r| to_json(r, &groups_of(r)))
                    .collect();
                println!("{}", serde_json::Value::from(rows));
            } else {
                for role in &catalog.roles {
                    let kind = if role.is_template { "template" } else { "role" };
                    println!(
                        "{}\t{kind}\t{}\tgroups: {}",
                        role.name,
                        role.permissions.join(","),
                        groups_of(role).join(",")
                    );
                }
            }
        }
        RoleCommand::Map {
            tenant,
            group,
            role,
            unmap,
        } => {
            roles::map_group(store, &tenant, &group, &role, unmap, now).await?;
            eprintln!(
                "group '{group}' {} role '{role}'",
                if unmap { "no longer grants" } else { "grants" }
            );
        }
        RoleCommand::Assign {
            tenant,
            user,
            role,
            unassign,
        } => {
            roles::assign_role(store, &tenant, &user, &role, unassign, now).await?;
            eprintln!(
                "role '{role}' {} '{user}'",
                if unassign {
                    "taken from"
                } else {
                    "assigned to"
                }
            );
        }
    }
    Ok(())
}
