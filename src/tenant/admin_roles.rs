//! The role catalog through the admin API: roles and templates, group mappings (catalog
//! settings: `settings:*`) and admin assignments to users (`users:manage`), each the CLI's rule
//! audited with the admin's name.

use super::TenantError;
use super::operators::{AdminActor, AdminPermission, tenant_for};
use super::roles::{self, RoleSpec, RoleUpdate};
use crate::store::{GroupRoleMapping, Micros, RoleRecord, Store, UserId};

/// The tenant's catalog, each role with the names of the groups mapped to it. Needs
/// `settings:view`.
pub async fn catalog(
    store: &Store,
    actor: &AdminActor,
    slug: &str,
) -> Result<Vec<(RoleRecord, Vec<String>)>, TenantError> {
    let tenant = tenant_for(store, actor, slug, AdminPermission::SettingsView).await?;
    let mappings: Vec<GroupRoleMapping> = store.group_role_mappings(&tenant.id).await?;
    Ok(store
        .roles(&tenant.id)
        .await?
        .into_iter()
        .map(|role| {
            let groups = mappings
                .iter()
                .filter(|m| m.role_id == role.id)
                .map(|m| m.group_name.clone())
                .collect();
            (role, groups)
        })
        .collect())
}

/// The names of the catalog's roles, for filtering users by role. Needs `users:view` (a user's
/// roles show by name wherever the user does).
pub async fn role_names(
    store: &Store,
    actor: &AdminActor,
    slug: &str,
) -> Result<Vec<String>, TenantError> {
    let tenant = tenant_for(store, actor, slug, AdminPermission::UsersView).await?;
    Ok(store
        .roles(&tenant.id)
        .await?
        .into_iter()
        .map(|r| r.name)
        .collect())
}

/// Adds a role (or template) to the catalog. Needs `settings:manage`.
pub async fn create_role(
    store: &Store,
    actor: &AdminActor,
    slug: &str,
    spec: RoleSpec<'_>,
    now: Micros,
) -> Result<RoleRecord, TenantError> {
    let tenant = tenant_for(store, actor, slug, AdminPermission::SettingsManage).await?;
    roles::create_role_by(store, &actor.label(), &tenant.slug, spec, now).await
}

/// Changes a role of the catalog. Needs `settings:manage`.
pub async fn update_role(
    store: &Store,
    actor: &AdminActor,
    slug: &str,
    name: &str,
    update: RoleUpdate<'_>,
    now: Micros,
) -> Result<RoleRecord, TenantError> {
    let tenant = tenant_for(store, actor, slug, AdminPermission::SettingsManage).await?;
    roles::update_role_by(store, &actor.label(), &tenant.slug, name, update, now).await
}

/// Maps (or unmaps) the group named `group` to a role. Needs `settings:manage`.
pub async fn map_group(
    store: &Store,
    actor: &AdminActor,
    slug: &str,
    group: &str,
    role: &str,
    unmap: bool,
    now: Micros,
) -> Result<(), TenantError> {
    let tenant = tenant_for(store, actor, slug, AdminPermission::SettingsManage).await?;
    roles::map_group_by(store, &actor.label(), &tenant.slug, group, role, unmap, now).await
}

/// Assigns (or takes back) a role to the user `id`. Needs `users:manage`.
pub async fn assign(
    store: &Store,
    actor: &AdminActor,
    slug: &str,
    id: &UserId,
    role: &str,
    unassign: bool,
    now: Micros,
) -> Result<(), TenantError> {
    let tenant = tenant_for(store, actor, slug, AdminPermission::UsersManage).await?;
    let user = store
        .user_by_id(&tenant.id, id)
        .await?
        .ok_or_else(|| TenantError::NotFound(format!("User {id}")))?;
    roles::assign_role_by(
        store,
        &actor.label(),
        &tenant.slug,
        &user.user_name,
        role,
        unassign,
        now,
    )
    .await
}
