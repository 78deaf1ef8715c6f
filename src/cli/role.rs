//! `role create|update|list|map|assign`: the tenant's role catalog and who gets which role
//! (groups and user types mapped to roles, assignments by hand).

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
        /// Only mappings (groups, user types) and templates give the role: SCIM `roles` values
        /// naming it grant nothing and it cannot be assigned by hand.
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
        /// false: only mappings and templates give the role from now on (its holders by hand
        /// lose it).
        #[arg(long)]
        assignable: Option<bool>,
    },
    /// List the tenant's roles, with the groups and user types mapped to each.
    List {
        #[arg(long)]
        tenant: String,
    },
    /// Grant a role to every member of the group with this displayName, or to every user of
    /// this userType (--unmap to stop).
    Map {
        #[arg(long)]
        tenant: String,
        #[arg(
            long,
            required_unless_present = "user_type",
            conflicts_with = "user_type"
        )]
        group: Option<String>,
        /// A userType (e.g. supervisor), compared without regard to case.
        #[arg(long)]
        user_type: Option<String>,
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

fn to_json(role: &RoleRecord, groups: &[String], user_types: &[String]) -> serde_json::Value {
    json!({"name": role.name, "description": role.description, "permissions": role.permissions,
           "template": role.is_template, "assignable": role.assignable, "mappedGroups": groups,
           "mappedUserTypes": user_types})
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
                    to_json(&role, &[], &[]).to_string()
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
                    to_json(&role, &[], &[]).to_string()
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
            let user_types_of = |role: &RoleRecord| -> Vec<String> {
                catalog
                    .user_type_mappings
                    .iter()
                    .filter(|m| m.role_id == role.id)
                    .map(|m| m.user_type.clone())
                    .collect()
            };
            if as_json {
                let rows: Vec<_> = catalog
                    .roles
                    .iter()
                    .map(|r| to_json(r, &groups_of(r), &user_types_of(r)))
                    .collect();
                println!("{}", serde_json::Value::from(rows));
            } else {
                for role in &catalog.roles {
                    let kind = if role.is_template { "template" } else { "role" };
                    println!(
                        "{}\t{kind}\t{}\tgroups: {}\tuser types: {}",
                        role.name,
                        role.permissions.join(","),
                        groups_of(role).join(","),
                        user_types_of(role).join(",")
                    );
                }
            }
        }
        RoleCommand::Map {
            tenant,
            group,
            user_type,
            role,
            unmap,
        } => {
            let grants = if unmap { "no longer grants" } else { "grants" };
            match (group, user_type) {
                (Some(group), _) => {
                    roles::map_group(store, &tenant, &group, &role, unmap, now).await?;
                    eprintln!("group '{group}' {grants} role '{role}'");
                }
                (None, Some(user_type)) => {
                    roles::map_user_type_by(store, "cli", &tenant, &user_type, &role, unmap, now)
                        .await?;
                    eprintln!("user type '{user_type}' {grants} role '{role}'");
                }
                (None, None) => anyhow::bail!("name a --group or a --user-type"),
            }
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
