//! The role catalog through the admin API: roles and templates, group and user-type mappings
//! (catalog settings: `settings:*`) and admin assignments to users (`users:manage`), each the
//! CLI's rule audited with the admin's name.

use super::TenantError;
use super::operators::{AdminActor, AdminPermission, tenant_for};
use super::roles::{self, Catalog, RoleSpec, RoleUpdate};
use crate::store::{Micros, RoleRecord, Store, UserId};

/// A role of the catalog and what grants it besides a value or an assignment.
#[derive(Debug, Clone)]
pub struct CatalogRole {
    pub role: RoleRecord,
    /// Groups (by displayName) whose members hold it.
    pub groups: Vec<String>,
    /// User types whose users hold it.
    pub user_types: Vec<String>,
}

/// The tenant's catalog, each role with the groups and user types mapped to it. Needs
/// `settings:view`.
pub async fn catalog(
    store: &Store,
    actor: &AdminActor,
    slug: &str,
) -> Result<Vec<CatalogRole>, TenantError> {
    let tenant = tenant_for(store, actor, slug, AdminPermission::SettingsView).await?;
    let Catalog {
        roles,
        mappings,
        user_type_mappings,
    } = Catalog::load(store, &tenant.id).await?;
    Ok(roles
        .into_iter()
        .map(|role| CatalogRole {
            groups: mappings
                .iter()
                .filter(|m| m.role_id == role.id)
                .map(|m| m.group_name.clone())
                .collect(),
            user_types: user_type_mappings
                .iter()
                .filter(|m| m.role_id == role.id)
                .map(|m| m.user_type.clone())
                .collect(),
            role,
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

/// Maps (or unmaps) users of `user_type` to a role. Needs `settings:manage`.
pub async fn map_user_type(
    store: &Store,
    actor: &AdminActor,
    slug: &str,
    user_type: &str,
    role: &str,
    unmap: bool,
    now: Micros,
) -> Result<(), TenantError> {
    let tenant = tenant_for(store, actor, slug, AdminPermission::SettingsManage).await?;
    roles::map_user_type_by(
        store,
        &actor.label(),
        &tenant.slug,
        user_type,
        role,
        unmap,
        now,
    )
    .await
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
