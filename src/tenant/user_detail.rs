//! One user as a tenant admin audits them: their groups, each role they hold and where it comes
//! from (a SCIM `roles` value, a mapped group, their user type, their role template, an admin),
//! what those roles let them do, and which connection created and last changed them.

use std::collections::BTreeMap;

use super::TenantError;
use super::operators::{AdminActor, AdminPermission, tenant_for};
use super::roles::{Catalog, RoleSource, role_grants};
use crate::store::{ConnectionId, MembershipRow, Micros, Store, UserId, UserRecord};

/// A user and everything an admin reads about them.
#[derive(Debug, Clone)]
pub struct UserDetail {
    pub user: UserRecord,
    pub groups: Vec<MembershipRow>,
    /// Each role by name, with every reason the user holds it.
    pub roles: BTreeMap<String, Vec<RoleSource>>,
    /// `category:action`, sorted: the union of the roles' permissions.
    pub permissions: Vec<String>,
    /// SCIM `roles` values that name no role of the catalog: they grant nothing.
    pub unknown_role_values: Vec<String>,
    /// A `roleTemplate` that names no role template of the catalog: it grants nothing.
    pub unknown_role_template: Option<String>,
    /// The names of the connections that created and last changed the user (none: the CLI,
    /// sign-in, or a connection since deleted).
    pub created_by: Option<String>,
    pub modified_by: Option<String>,
}

/// The user `id` of the tenant. Needs `users:view`.
pub async fn user_detail(
    store: &Store,
    actor: &AdminActor,
    slug: &str,
    id: &UserId,
    now: Micros,
) -> Result<UserDetail, TenantError> {
    let tenant = tenant_for(store, actor, slug, AdminPermission::UsersView).await?;
    let (user, groups) = store
        .user_with_groups(&tenant.id, id)
        .await?
        .ok_or_else(|| TenantError::NotFound(format!("User {id}")))?;
    let catalog = Catalog::load(store, &tenant.id).await?;
    let assigned: Vec<_> = store
        .role_assignments(std::slice::from_ref(&user.id))
        .await?
        .into_iter()
        .map(|(_, role)| role)
        .collect();
    let group_names: Vec<String> = groups
        .iter()
        .map(|g| g.group_display_name.clone())
        .collect();
    let held = role_grants(&catalog, &user.doc, &group_names, &assigned);
    let mut roles: BTreeMap<String, Vec<RoleSource>> = BTreeMap::new();
    let mut permissions = std::collections::BTreeSet::new();
    for grant in held.grants {
        permissions.extend(grant.role.permissions.iter().cloned());
        let sources = roles.entry(grant.role.name.clone()).or_default();
        if !sources.contains(&grant.source) {
            sources.push(grant.source);
        }
    }
    let connections = store.connections(&tenant.id, now).await?;
    let name_of = |id: &Option<ConnectionId>| {
        id.as_ref().and_then(|id| {
            connections
                .iter()
                .find(|c| &c.connection.id == id)
                .map(|c| c.connection.name.clone())
        })
    };
    Ok(UserDetail {
        created_by: name_of(&user.created_by_connection),
        modified_by: name_of(&user.modified_by_connection),
        user,
        groups,
        roles,
        permissions: permissions.into_iter().collect(),
        unknown_role_values: held.unknown_role_values,
        unknown_role_template: held.unknown_role_template,
    })
}
