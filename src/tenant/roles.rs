//! Roles and permissions (SPEC §2, §4): the tenant's role catalog, group-to-role and
//! user-type-to-role mappings, admin assignments, and a user's effective roles and permissions —
//! the union of the SCIM `roles` values that name catalog roles, the roles mapped from the user's
//! groups and from their `userType`, the role template their `roleTemplate` names, and the roles
//! an admin assigned. Unknown role values and templates grant nothing; a role that is not
//! assignable comes only from mappings and templates. The store computes the same union in SQL
//! (`Tx::effective_role_names`, the users table's role filter): a change to one side belongs in
//! the other.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

use super::audit;
use super::events::{self, RoleChange};
use super::role_changes;
use super::tenants::tenant_in;
use super::{Caller, TenantError};
use crate::scim::TENANT_USER_URN;
use crate::store::{
    Constraint, EventRecord, GroupRoleMapping, MembershipRow, Micros, RoleId, RoleRecord, Store,
    StoreError, TenantId, Tx, UserId, UserRecord, UserTypeRoleMapping, fold,
};

pub const PERMISSION_CATEGORIES: [&str; 6] = [
    "conversations",
    "settings",
    "users",
    "analytics",
    "integrations",
    "experiments",
];
pub const PERMISSION_ACTIONS: [&str; 5] = ["view", "create", "edit", "delete", "manage"];

/// Reads `category:action` permissions (`category:*` for every action), canonical and sorted.
pub fn parse_permissions(list: &[String]) -> Result<Vec<String>, TenantError> {
    let mut out = BTreeSet::new();
    for raw in list
        .iter()
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
    {
        let (category, action) = raw
            .split_once(':')
            .ok_or_else(|| invalid_permission(&raw))?;
        if !PERMISSION_CATEGORIES.contains(&category) {
            return Err(invalid_permission(&raw));
        }
        match action {
            "*" => out.extend(PERMISSION_ACTIONS.iter().map(|a| format!("{category}:{a}"))),
            a if PERMISSION_ACTIONS.contains(&a) => {
                out.insert(raw.clone());
            }
            _ => return Err(invalid_permission(&raw)),
        }
    }
    Ok(out.into_iter().collect())
}

fn invalid_permission(raw: &str) -> TenantError {
    TenantError::InvalidArgument(format!(
        "'{raw}' is not a permission: use CATEGORY:ACTION with a category of {} and an action of {} (or *)",
        PERMISSION_CATEGORIES.join(", "),
        PERMISSION_ACTIONS.join(", ")
    ))
}

/// Everything needed to work out effective roles: read once per request.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub roles: Vec<RoleRecord>,
    pub mappings: Vec<GroupRoleMapping>,
    pub user_type_mappings: Vec<UserTypeRoleMapping>,
}

impl Catalog {
    pub async fn load(store: &Store, tenant_id: &TenantId) -> Result<Self, TenantError> {
        Ok(Self {
            roles: store.roles(tenant_id).await?,
            mappings: store.group_role_mappings(tenant_id).await?,
            user_type_mappings: store.user_type_role_mappings(tenant_id).await?,
        })
    }

    /// The catalog as a write transaction sees it (no second connection while it holds one).
    pub async fn load_in(tx: &mut Tx, tenant_id: &TenantId) -> Result<Self, TenantError> {
        Ok(Self {
            roles: tx.roles(tenant_id).await?,
            mappings: tx.group_role_mappings(tenant_id).await?,
            user_type_mappings: tx.user_type_role_mappings(tenant_id).await?,
        })
    }

    pub(super) fn by_name(&self, name: &str) -> Option<&RoleRecord> {
        let key = name.to_lowercase();
        self.roles.iter().find(|r| r.name.to_lowercase() == key)
    }

    fn by_id(&self, id: &RoleId) -> Option<&RoleRecord> {
        self.roles.iter().find(|r| &r.id == id)
    }
}

/// The role names a user's SCIM `roles` carry. Entra sends each as a JSON-encoded string
/// (`{"id":…,"value":"Admin",…}`, IDP-QUIRKS Q11): its `value` (or `displayName`) is the name.
pub fn scim_role_values(doc: &serde_json::Map<String, Value>) -> Vec<String> {
    let Some(roles) = doc.get("roles").and_then(Value::as_array) else {
        return Vec::new();
    };
    roles
        .iter()
        .filter_map(|r| r.get("value").and_then(Value::as_str))
        .map(|value| match serde_json::from_str::<Value>(value) {
            Ok(Value::Object(inner)) => inner
                .get("value")
                .or_else(|| inner.get("displayName"))
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| value.to_string()),
            _ => value.to_string(),
        })
        .collect()
}

/// The role template a user's tenant extension names (`roleTemplate`), if any.
pub fn role_template_of(doc: &serde_json::Map<String, Value>) -> Option<&str> {
    doc.get(TENANT_USER_URN)?
        .get("roleTemplate")?
        .as_str()
        .filter(|name| !name.is_empty())
}

/// A user's effective roles and permissions, and the role values and template that named no
/// catalog role.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Effective {
    pub roles: Vec<String>,
    pub permissions: Vec<String>,
    pub unknown_role_values: Vec<String>,
    pub unknown_role_template: Option<String>,
}

/// Where a role a user holds comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleSource {
    /// A value of the user's SCIM `roles` that names the role.
    ScimValue,
    /// A group of the user (by displayName) that the tenant maps to the role.
    Group(String),
    /// The user's `userType`, which the tenant maps to the role.
    UserType(String),
    /// The role template the user's `roleTemplate` names.
    Template,
    /// An admin assigned it.
    Admin,
}

/// A role a user holds, and why. A role held for several reasons appears once per reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleGrant<'c> {
    pub role: &'c RoleRecord,
    pub source: RoleSource,
}

/// Every role a user holds with its source, and what the user names that grants nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleGrants<'c> {
    pub grants: Vec<RoleGrant<'c>>,
    /// Role values that name no catalog role, or a role that is not assignable by hand.
    pub unknown_role_values: Vec<String>,
    /// A `roleTemplate` that names no role template of the catalog.
    pub unknown_role_template: Option<String>,
}

/// Every role the user holds with its source (`doc` is the user's document: its `roles`,
/// `userType` and `roleTemplate`), and what grants nothing.
pub fn role_grants<'c>(
    catalog: &'c Catalog,
    doc: &serde_json::Map<String, Value>,
    group_names: &[String],
    assigned_role_ids: &[RoleId],
) -> RoleGrants<'c> {
    let mut held = RoleGrants::default();
    let grants = &mut held.grants;
    for value in scim_role_values(doc) {
        match catalog.by_name(&value) {
            Some(role) if role.assignable => grants.push(RoleGrant {
                role,
                source: RoleSource::ScimValue,
            }),
            // No such role, or one that only a mapping gives: the value grants nothing.
            _ => held.unknown_role_values.push(value),
        }
    }
    for mapping in &catalog.mappings {
        let key = mapping.group_name.to_lowercase();
        if let Some(group) = group_names.iter().find(|g| g.to_lowercase() == key)
            && let Some(role) = catalog.by_id(&mapping.role_id)
        {
            grants.push(RoleGrant {
                role,
                source: RoleSource::Group(group.clone()),
            });
        }
    }
    if let Some(user_type) = doc.get("userType").and_then(Value::as_str) {
        let key = fold(user_type);
        grants.extend(
            catalog
                .user_type_mappings
                .iter()
                .filter(|mapping| fold(&mapping.user_type) == key)
                .filter_map(|mapping| catalog.by_id(&mapping.role_id))
                .map(|role| RoleGrant {
                    role,
                    source: RoleSource::UserType(user_type.to_string()),
                }),
        );
    }
    if let Some(template) = role_template_of(doc) {
        match catalog.by_name(template) {
            Some(role) if role.is_template => grants.push(RoleGrant {
                role,
                source: RoleSource::Template,
            }),
            _ => held.unknown_role_template = Some(template.to_string()),
        }
    }
    grants.extend(
        assigned_role_ids
            .iter()
            .filter_map(|id| catalog.by_id(id))
            .filter(|role| role.assignable)
            .map(|role| RoleGrant {
                role,
                source: RoleSource::Admin,
            }),
    );
    held
}

pub fn effective(
    catalog: &Catalog,
    doc: &serde_json::Map<String, Value>,
    group_names: &[String],
    assigned_role_ids: &[RoleId],
) -> Effective {
    let held = role_grants(catalog, doc, group_names, assigned_role_ids);
    let names: BTreeSet<String> = held.grants.iter().map(|g| g.role.name.clone()).collect();
    let permissions: BTreeSet<String> = held
        .grants
        .iter()
        .flat_map(|g| g.role.permissions.iter().cloned())
        .collect();
    Effective {
        roles: names.into_iter().collect(),
        permissions: permissions.into_iter().collect(),
        unknown_role_values: held.unknown_role_values,
        unknown_role_template: held.unknown_role_template,
    }
}

/// The effective roles of one user: its SCIM groups, plus `extra_groups` (what the identity
/// provider named at sign-in), through `effective_of_users`.
pub async fn effective_of_user(
    store: &Store,
    tenant_id: &TenantId,
    user: &UserRecord,
    extra_groups: &[String],
) -> Result<Effective, TenantError> {
    let memberships = store
        .groups_of_members(std::slice::from_ref(&user.id))
        .await?;
    let mut all = effective_of_users(
        store,
        tenant_id,
        std::slice::from_ref(user),
        &memberships,
        extra_groups,
    )
    .await?;
    Ok(all.remove(&user.id).unwrap_or_default())
}

/// The effective roles of several users at once, by user id: the catalog and the admin
/// assignments are read once for all of them; `memberships` are their groups, as already read
/// with the users; `extra_groups` count for every one of them.
pub async fn effective_of_users(
    store: &Store,
    tenant_id: &TenantId,
    users: &[UserRecord],
    memberships: &[MembershipRow],
    extra_groups: &[String],
) -> Result<HashMap<UserId, Effective>, TenantError> {
    let catalog = Catalog::load(store, tenant_id).await?;
    let ids: Vec<UserId> = users.iter().map(|u| u.id.clone()).collect();
    let assignments = store.role_assignments(&ids).await?;
    Ok(users
        .iter()
        .map(|user| {
            let mut group_names: Vec<String> = memberships
                .iter()
                .filter(|m| m.member_id == user.id)
                .map(|m| m.group_display_name.clone())
                .collect();
            group_names.extend(extra_groups.iter().cloned());
            let assigned: Vec<RoleId> = assignments
                .iter()
                .filter(|(u, _)| *u == user.id)
                .map(|(_, r)| r.clone())
                .collect();
            let roles = effective(&catalog, &user.doc, &group_names, &assigned);
            (user.id.clone(), roles)
        })
        .collect())
}

/// The audit event of an admin act on a role.
fn role_event(
    tenant: crate::store::TenantRecord,
    actor: &str,
    action: &str,
    role: &RoleRecord,
    now: Micros,
) -> crate::store::AuditRecord {
    let mut event = audit::event(&cli_caller(tenant), action, now);
    event.actor = actor.to_string();
    event.target_type = Some("Role".into());
    event.target_id = Some(role.id.to_string());
    event.target_name = Some(role.name.clone());
    event
}

fn cli_caller(tenant: crate::store::TenantRecord) -> Caller {
    Caller {
        tenant: tenant.into(),
        connection_id: None,
        actor: "cli",
        request_summary: None,
        token_id: None,
    }
}

/// A new role of a catalog.
#[derive(Debug, Clone, Copy)]
pub struct RoleSpec<'a> {
    pub name: &'a str,
    /// `category:action` (or `category:*`).
    pub permissions: &'a [String],
    pub description: Option<&'a str>,
    pub is_template: bool,
    /// Whether it may be given by hand (SCIM `roles` values, admin assignments); otherwise only
    /// mappings (groups, user types) and templates grant it.
    pub assignable: bool,
}

/// Creates a role (or a role template) in a tenant's catalog, as the CLI.
pub async fn create_role(
    store: &Store,
    tenant_slug: &str,
    name: &str,
    permissions: &[String],
    description: Option<&str>,
    is_template: bool,
    now: Micros,
) -> Result<RoleRecord, TenantError> {
    let spec = RoleSpec {
        name,
        permissions,
        description,
        is_template,
        assignable: true,
    };
    create_role_by(store, "cli", tenant_slug, spec, now).await
}

/// Creates a role, audited as `actor`'s act.
pub async fn create_role_by(
    store: &Store,
    actor: &str,
    tenant_slug: &str,
    spec: RoleSpec<'_>,
    now: Micros,
) -> Result<RoleRecord, TenantError> {
    let RoleSpec {
        name,
        permissions,
        description,
        is_template,
        assignable,
    } = spec;
    let name = name.trim();
    if name.is_empty() || name.len() > 100 {
        return Err(TenantError::InvalidArgument(
            "a role name has 1 to 100 characters".into(),
        ));
    }
    let permissions = parse_permissions(permissions)?;
    let mut tx = store.begin().await?;
    let tenant = tenant_in(&mut tx, tenant_slug).await?;
    let role = RoleRecord {
        id: RoleId::generate(),
        tenant_id: tenant.id.clone(),
        name: name.to_string(),
        description: description.map(str::to_string),
        permissions,
        is_template,
        assignable,
        created_at: now,
        updated_at: now,
    };
    tx.insert_role(&role).await.map_err(|e| match e {
        StoreError::Conflict(Constraint::RoleName) => {
            TenantError::InvalidArgument(format!("role '{name}' already exists"))
        }
        other => TenantError::Store(other),
    })?;
    let mut event = role_event(tenant, actor, "role.create", &role, now);
    event.changed_attributes = role.permissions.clone();
    tx.insert_audit(&event).await?;
    tx.commit().await?;
    Ok(role)
}

/// What a change of a role changes; `None` keeps.
#[derive(Debug, Clone, Copy, Default)]
pub struct RoleUpdate<'a> {
    pub permissions: Option<&'a [String]>,
    pub description: Option<&'a str>,
    pub is_template: Option<bool>,
    pub assignable: Option<bool>,
}

/// Changes a role, audited as `actor`'s act.
pub async fn update_role_by(
    store: &Store,
    actor: &str,
    tenant_slug: &str,
    name: &str,
    update: RoleUpdate<'_>,
    now: Micros,
) -> Result<RoleRecord, TenantError> {
    let RoleUpdate {
        permissions,
        description,
        is_template,
        assignable,
    } = update;
    let mut tx = store.begin().await?;
    let tenant = tenant_in(&mut tx, tenant_slug).await?;
    let mut role = tx
        .role_by_name(&tenant.id, name)
        .await?
        .ok_or_else(|| TenantError::NotFound(format!("role '{name}'")))?;
    if let Some(list) = permissions {
        role.permissions = parse_permissions(list)?;
    }
    if let Some(d) = description {
        role.description = Some(d.to_string());
    }
    // Who holds the role by hand gains or loses it when that stops or starts counting, and so
    // do the users whose roleTemplate names it when it becomes or stops being a template.
    let mut touched = match assignable {
        Some(a) if a != role.assignable => tx.role_holders_by_hand(&tenant.id, &role).await?,
        _ => Vec::new(),
    };
    if let Some(t) = is_template
        && t != role.is_template
    {
        touched.extend(tx.role_template_holders(&tenant.id, &role).await?);
        touched.sort();
        touched.dedup();
    }
    let before = role_changes::role_names(&mut tx, &tenant.id, &touched, None).await?;
    if let Some(t) = is_template {
        role.is_template = t;
    }
    if let Some(a) = assignable {
        role.assignable = a;
    }
    role.updated_at = now;
    tx.update_role(&role).await?;
    let caller = cli_caller(tenant.clone());
    for user_id in &touched {
        let held = before.get(user_id).cloned().unwrap_or_default();
        let reason = format!(
            "role '{}' assignable: {}, template: {} by {actor}",
            role.name, role.assignable, role.is_template
        );
        if let Some(mut told) =
            role_changes::user_change(&mut tx, &caller, user_id, None, &held, &reason, now).await?
        {
            told.actor = actor.to_string();
            role_changes::tell(&mut tx, &caller, told).await?;
        }
    }
    let mut event = role_event(tenant, actor, "role.update", &role, now);
    event.changed_attributes = role.permissions.clone();
    tx.insert_audit(&event).await?;
    tx.commit().await?;
    Ok(role)
}

/// Maps (or with `unmap`, unmaps) the group named `group_name` to a role, as the CLI.
pub async fn map_group(
    store: &Store,
    tenant_slug: &str,
    group_name: &str,
    role_name: &str,
    unmap: bool,
    now: Micros,
) -> Result<(), TenantError> {
    map_group_by(store, "cli", tenant_slug, group_name, role_name, unmap, now).await
}

/// Maps or unmaps a group to a role, audited as `actor`'s act.
pub async fn map_group_by(
    store: &Store,
    actor: &str,
    tenant_slug: &str,
    group_name: &str,
    role_name: &str,
    unmap: bool,
    now: Micros,
) -> Result<(), TenantError> {
    let grantee = Grantee::Group(group_name);
    map_role_by(store, actor, tenant_slug, grantee, role_name, unmap, now).await
}

/// Maps (or with `unmap`, unmaps) users of `user_type` to a role, audited as `actor`'s act.
/// Users of that type (in any case) hold the role, assignable or not.
pub async fn map_user_type_by(
    store: &Store,
    actor: &str,
    tenant_slug: &str,
    user_type: &str,
    role_name: &str,
    unmap: bool,
    now: Micros,
) -> Result<(), TenantError> {
    let user_type = user_type.trim();
    if user_type.is_empty() || user_type.chars().count() > 100 {
        return Err(TenantError::InvalidArgument(
            "a user type has 1 to 100 characters".into(),
        ));
    }
    let grantee = Grantee::UserType(user_type);
    map_role_by(store, actor, tenant_slug, grantee, role_name, unmap, now).await
}

/// Whom a mapping gives a role: the members of a group (by displayName), or the users of a
/// `userType`; either named before any exists.
#[derive(Debug, Clone, Copy)]
enum Grantee<'a> {
    Group(&'a str),
    UserType(&'a str),
}

impl Grantee<'_> {
    fn describe(self) -> String {
        match self {
            Grantee::Group(name) => format!("group '{name}'"),
            Grantee::UserType(user_type) => format!("user type '{user_type}'"),
        }
    }

    fn action(self, unmap: bool) -> &'static str {
        match (self, unmap) {
            (Grantee::Group(_), false) => "role.map_group",
            (Grantee::Group(_), true) => "role.unmap_group",
            (Grantee::UserType(_), false) => "role.map_user_type",
            (Grantee::UserType(_), true) => "role.unmap_user_type",
        }
    }

    /// The roles the tenant gives the grantee now.
    async fn mapped(
        self,
        tx: &mut Tx,
        tenant_id: &TenantId,
    ) -> Result<BTreeSet<String>, TenantError> {
        match self {
            Grantee::Group(name) => role_changes::mapped_roles(tx, tenant_id, name).await,
            Grantee::UserType(user_type) => {
                role_changes::mapped_to_user_type(tx, tenant_id, user_type).await
            }
        }
    }

    /// Maps (or unmaps) the grantee to `role`; `false` when there was no mapping to undo.
    async fn map(
        self,
        tx: &mut Tx,
        tenant_id: &TenantId,
        role: &RoleId,
        unmap: bool,
        now: Micros,
    ) -> Result<bool, TenantError> {
        Ok(match (self, unmap) {
            (Grantee::Group(name), false) => {
                tx.map_group_to_role(tenant_id, name.trim(), role, now)
                    .await?;
                true
            }
            (Grantee::Group(name), true) => {
                tx.unmap_group_from_role(tenant_id, name, role).await? > 0
            }
            (Grantee::UserType(user_type), false) => {
                tx.map_user_type_to_role(tenant_id, user_type, role, now)
                    .await?;
                true
            }
            (Grantee::UserType(user_type), true) => {
                tx.unmap_user_type_from_role(tenant_id, user_type, role)
                    .await?
                    > 0
            }
        })
    }

    /// The event telling what the grantee's users hold changed: one for the group or the user
    /// type, not one per user; none while no such group, or no user of the type, exists.
    async fn told(
        self,
        tx: &mut Tx,
        caller: &Caller,
        change: RoleChange<'_>,
        now: Micros,
    ) -> Result<Option<EventRecord>, TenantError> {
        let tenant_id = &caller.tenant.id;
        Ok(match self {
            Grantee::Group(name) => tx
                .group_id_by_name(tenant_id, name)
                .await?
                .and_then(|group| {
                    events::group_roles_changed_event(caller, &group, name, change, now)
                }),
            Grantee::UserType(user_type) => {
                if tx.has_users_of_type(tenant_id, user_type).await? {
                    events::user_type_roles_changed_event(caller, user_type, change, now)
                } else {
                    None
                }
            }
        })
    }
}

/// Maps or unmaps `grantee` to a role, audited as `actor`'s act, and tells who it reaches.
async fn map_role_by(
    store: &Store,
    actor: &str,
    tenant_slug: &str,
    grantee: Grantee<'_>,
    role_name: &str,
    unmap: bool,
    now: Micros,
) -> Result<(), TenantError> {
    let mut tx = store.begin().await?;
    let tenant = tenant_in(&mut tx, tenant_slug).await?;
    let role = tx
        .role_by_name(&tenant.id, role_name)
        .await?
        .ok_or_else(|| TenantError::NotFound(format!("role '{role_name}'")))?;
    let before = grantee.mapped(&mut tx, &tenant.id).await?;
    if !grantee
        .map(&mut tx, &tenant.id, &role.id, unmap, now)
        .await?
    {
        return Err(TenantError::NotFound(format!(
            "mapping of {} to role '{role_name}'",
            grantee.describe()
        )));
    }
    let after = grantee.mapped(&mut tx, &tenant.id).await?;
    let action = grantee.action(unmap);
    let caller = cli_caller(tenant.clone());
    let mut event = role_event(tenant, actor, action, &role, now);
    event.reason = Some(grantee.describe());
    tx.insert_audit(&event).await?;
    let change = RoleChange {
        before: &before,
        after: &after,
        cause: &format!("{action} by {actor}"),
    };
    if let Some(mut told) = grantee.told(&mut tx, &caller, change, now).await? {
        told.actor = actor.to_string();
        role_changes::tell(&mut tx, &caller, told).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Assigns (or with `unassign`, takes back) a role to the user with that userName, as the CLI.
pub async fn assign_role(
    store: &Store,
    tenant_slug: &str,
    user_name: &str,
    role_name: &str,
    unassign: bool,
    now: Micros,
) -> Result<(), TenantError> {
    assign_role_by(
        store,
        "cli",
        tenant_slug,
        user_name,
        role_name,
        unassign,
        now,
    )
    .await
}

/// Assigns or takes back a role, audited as `actor`'s act.
pub async fn assign_role_by(
    store: &Store,
    actor: &str,
    tenant_slug: &str,
    user_name: &str,
    role_name: &str,
    unassign: bool,
    now: Micros,
) -> Result<(), TenantError> {
    let mut tx = store.begin().await?;
    let tenant = tenant_in(&mut tx, tenant_slug).await?;
    let role = tx
        .role_by_name(&tenant.id, role_name)
        .await?
        .ok_or_else(|| TenantError::NotFound(format!("role '{role_name}'")))?;
    if !role.assignable && !unassign {
        return Err(TenantError::InvalidArgument(format!(
            "role '{}' is not assignable: it comes only from mappings (groups, user types) and templates",
            role.name
        )));
    }
    let user_id = tx
        .user_id_by_name(&tenant.id, user_name)
        .await?
        .ok_or_else(|| TenantError::NotFound(format!("user '{user_name}'")))?;
    let before =
        role_changes::role_names(&mut tx, &tenant.id, std::slice::from_ref(&user_id), None)
            .await?
            .remove(&user_id)
            .unwrap_or_default();
    if unassign {
        tx.unassign_role(&user_id, &role.id).await?;
    } else {
        tx.assign_role(&tenant.id, &user_id, &role.id, now).await?;
    }
    let caller = cli_caller(tenant);
    let action = if unassign {
        "role.unassign"
    } else {
        "role.assign"
    };
    let told = role_changes::user_change(
        &mut tx,
        &caller,
        &user_id,
        None,
        &before,
        &format!("{action} by {actor}"),
        now,
    )
    .await?;
    if let Some(mut told) = told {
        told.actor = actor.to_string();
        role_changes::tell(&mut tx, &caller, told).await?;
    }
    let mut event = audit::event(&caller, action, now);
    event.actor = actor.to_string();
    event.target_type = Some("User".into());
    event.target_id = Some(user_id.into_string());
    event.target_name = Some(user_name.to_string());
    event.reason = Some(format!("role '{}'", role.name));
    tx.insert_audit(&event).await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn role(id: &str, name: &str, permissions: &[&str]) -> RoleRecord {
        RoleRecord {
            id: RoleId::new(id),
            tenant_id: TenantId::new("t"),
            name: name.into(),
            description: None,
            permissions: permissions.iter().map(|s| s.to_string()).collect(),
            is_template: false,
            assignable: true,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn permissions_are_categories_times_actions() {
        let list = ["Users:View", "users:*", " analytics:view "].map(String::from);
        let parsed = parse_permissions(&list).expect("valid");
        assert_eq!(parsed.len(), 6);
        assert!(
            parsed.contains(&"users:manage".to_string())
                && parsed.contains(&"analytics:view".to_string())
        );
        for bad in ["users", "users:fly", "billing:view"] {
            assert!(parse_permissions(&[bad.to_string()]).is_err(), "{bad}");
        }
    }

    #[test]
    fn effective_roles_are_the_union_of_scim_roles_groups_and_assignments() {
        let catalog = Catalog {
            roles: vec![
                role("r1", "Supervisor", &["conversations:view", "users:view"]),
                role("r2", "Analyst", &["analytics:view"]),
                role("r3", "Admin", &["settings:manage"]),
            ],
            mappings: vec![GroupRoleMapping {
                group_name: "Data Team".into(),
                role_id: RoleId::new("r2"),
            }],
            user_type_mappings: Vec::new(),
        };
        let doc = json!({"roles": [
            {"value": "supervisor"},
            {"value": "{\"id\":\"x\",\"value\":\"Ghost\",\"displayName\":\"Ghost\"}"}
        ]});
        let result = effective(
            &catalog,
            doc.as_object().unwrap(),
            &["data team".into()],
            &[RoleId::new("r3")],
        );
        assert_eq!(result.roles, ["Admin", "Analyst", "Supervisor"]);
        assert_eq!(
            result.permissions,
            [
                "analytics:view",
                "conversations:view",
                "settings:manage",
                "users:view"
            ]
        );
        assert_eq!(result.unknown_role_values, ["Ghost"]);
    }

    #[test]
    fn a_user_type_and_a_role_template_grant_their_roles_in_any_case() {
        let mut basics = role("r2", "Basics", &["analytics:view"]);
        basics.is_template = true;
        let mut lead = role("r1", "Lead", &["users:view"]);
        lead.assignable = false;
        let catalog = Catalog {
            roles: vec![lead, basics, role("r3", "Plain", &["settings:view"])],
            mappings: Vec::new(),
            user_type_mappings: vec![UserTypeRoleMapping {
                user_type: "supervisor".into(),
                role_id: RoleId::new("r1"),
            }],
        };
        let doc = json!({"userType": "SUPERVISOR", TENANT_USER_URN: {"roleTemplate": "basics"}});
        let held = role_grants(&catalog, doc.as_object().unwrap(), &[], &[]);
        let sources: Vec<_> = held
            .grants
            .iter()
            .map(|g| (g.role.name.as_str(), g.source.clone()))
            .collect();
        assert_eq!(
            sources,
            [
                ("Lead", RoleSource::UserType("SUPERVISOR".into())),
                ("Basics", RoleSource::Template)
            ]
        );
        // A role that is not a template grants nothing as one.
        let doc = json!({TENANT_USER_URN: {"roleTemplate": "Plain"}});
        let result = effective(&catalog, doc.as_object().unwrap(), &[], &[]);
        assert!(result.roles.is_empty());
        assert_eq!(result.unknown_role_template.as_deref(), Some("Plain"));
    }
}
