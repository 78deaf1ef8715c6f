//! Agencies (SPEC §2, issue #20): a tenant may be an environment of a parent tenant, its
//! agency. The roles a user holds at the agency ripple down to every environment below it,
//! computed when asked (`Store::inherited_roles`: one statement up the chain) and never copied,
//! so a change at the agency reaches every environment at once; an environment can override
//! them for one agency user (the roles it names replace the inherited ones there and below, none
//! takes the user's access there away). Chains are free of cycles and at most
//! `MAX_AGENCY_LEVELS` long.

use std::collections::BTreeSet;

use super::audit;
use super::events::{self, RoleChange};
use super::operators::{AdminActor, AdminPermission, tenant_for};
use super::tenants::{tenant_event, tenant_in};
use super::{Caller, TenantError};
use crate::store::{Micros, RoleId, Store, TenantId, TenantRecord, Tx, UserId, UserRecord};

/// The most tenants in a chain of agencies: an agency, and three levels of environments below.
pub const MAX_AGENCY_LEVELS: usize = 4;

/// What an agency user holds in an environment below their tenant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InheritedAccess {
    /// Role names, sorted.
    pub roles: Vec<String>,
    /// `category:action`, sorted.
    pub permissions: Vec<String>,
    /// Whether an override (in the environment or one between it and the agency) decides them.
    pub overridden: bool,
}

/// What user `user_id` of a tenant above environment `environment` holds there; `None` when
/// their tenant is not above it.
pub async fn inherited_access(
    store: &Store,
    environment: &TenantId,
    user_id: &UserId,
) -> Result<Option<InheritedAccess>, TenantError> {
    let Some(held) = store.inherited_roles(environment, user_id).await? else {
        return Ok(None);
    };
    let roles: BTreeSet<String> = held.roles.iter().map(|r| r.name.clone()).collect();
    let permissions: BTreeSet<String> = held
        .roles
        .iter()
        .flat_map(|r| r.permissions.iter().cloned())
        .collect();
    Ok(Some(InheritedAccess {
        roles: roles.into_iter().collect(),
        permissions: permissions.into_iter().collect(),
        overridden: held.overridden,
    }))
}

/// The id of the user named `user_name` at the tenant `agency`.
pub async fn agency_user_id(
    store: &Store,
    agency: &str,
    user_name: &str,
) -> Result<UserId, TenantError> {
    let mut tx = store.begin().await?;
    let agency = tenant_in(&mut tx, agency).await?;
    let id = tx
        .user_id_by_name(&agency.id, user_name)
        .await?
        .ok_or_else(|| TenantError::NotFound(format!("user '{user_name}' of '{}'", agency.slug)))?;
    tx.rollback().await?;
    Ok(id)
}

/// Refuses to hang `tenant` (none: a tenant being created) under `parent` when that would make
/// a cycle or a chain longer than `MAX_AGENCY_LEVELS`.
async fn check_parent(
    tx: &mut Tx,
    tenant: Option<&TenantRecord>,
    parent: &TenantRecord,
) -> Result<(), TenantError> {
    let above = tx.tenant_ancestors(&parent.id).await?;
    if let Some(tenant) = tenant
        && (tenant.id == parent.id || above.contains(&tenant.id))
    {
        return Err(TenantError::InvalidArgument(format!(
            "'{}' is '{}' or one of its environments: a tenant cannot be its own agency",
            parent.slug, tenant.slug
        )));
    }
    let below = match tenant {
        Some(tenant) => usize::try_from(tx.tenant_levels_below(&tenant.id).await?).unwrap_or(0),
        None => 0,
    };
    let levels = above.len() + 2 + below;
    if levels > MAX_AGENCY_LEVELS {
        return Err(TenantError::InvalidArgument(format!(
            "a chain of agencies has at most {MAX_AGENCY_LEVELS} tenants: this one would have {levels}"
        )));
    }
    Ok(())
}

/// The parent a new tenant may have: `slug`'s tenant, checked.
pub(super) async fn parent_for_new_tenant(
    tx: &mut Tx,
    slug: &str,
) -> Result<TenantRecord, TenantError> {
    let parent = tenant_in(tx, slug).await?;
    check_parent(tx, None, &parent).await?;
    Ok(parent)
}

/// Makes tenant `slug` an environment of `parent` (none: a tenant of its own), audited as
/// `actor`'s act.
pub async fn set_parent_by(
    store: &Store,
    actor: &str,
    slug: &str,
    parent: Option<&str>,
    now: Micros,
) -> Result<TenantRecord, TenantError> {
    let mut tx = store.begin().await?;
    let mut tenant = tenant_in(&mut tx, slug).await?;
    let parent = match parent {
        Some(parent_slug) => {
            let parent = tenant_in(&mut tx, parent_slug).await?;
            check_parent(&mut tx, Some(&tenant), &parent).await?;
            Some(parent)
        }
        None => None,
    };
    tenant.parent_id = parent.as_ref().map(|p| p.id.clone());
    tenant.updated_at = now;
    tx.set_tenant_parent(&tenant.id, tenant.parent_id.as_ref(), now)
        .await?;
    let mut event = tenant_event(&tenant, actor, "tenant.set_parent", now);
    event.reason = Some(match &parent {
        Some(parent) => format!("an environment of '{}'", parent.slug),
        None => "no agency".to_string(),
    });
    tx.insert_audit(&event).await?;
    // Which agency users reach the tenant (and those below it) changed with it.
    let mut told = events::new_event(&agency_caller(tenant.clone()), "tenant.parent_changed", now);
    told.actor = actor.to_string();
    told.resource_type = Some("Tenant".into());
    told.resource_id = Some(tenant.id.to_string());
    told.data.insert(
        "parent".into(),
        parent.map_or(serde_json::Value::Null, |p| {
            serde_json::Value::String(p.slug)
        }),
    );
    tx.insert_event(&told).await?;
    tx.commit().await?;
    Ok(tenant)
}

/// Sets what agency user `user_id` holds in environment `slug` to the roles of its catalog
/// named in `roles` (empty: no access there), or with `None` lets them inherit again; audited
/// as `actor`'s act.
pub async fn override_by(
    store: &Store,
    actor: &str,
    slug: &str,
    user_id: &UserId,
    roles: Option<&[String]>,
    now: Micros,
) -> Result<(), TenantError> {
    let mut tx = store.begin().await?;
    let environment = tenant_in(&mut tx, slug).await?;
    let home = tx
        .tenant_of_user(user_id)
        .await?
        .ok_or_else(|| TenantError::NotFound(format!("User {user_id}")))?;
    if !tx.tenant_ancestors(&environment.id).await?.contains(&home) {
        return Err(TenantError::InvalidArgument(format!(
            "user {user_id} is not of an agency above '{slug}'"
        )));
    }
    // What the user holds in the environment and below it, before and after: each place whose
    // roles the change changed tells it in its own feed.
    let mut reached = vec![environment.clone()];
    for (_, below, _) in tx.tenant_descendants(&environment.id).await? {
        reached.push(tenant_in(&mut tx, &below).await?);
    }
    let before = held_in(&mut tx, &reached, user_id).await?;
    let action = match roles {
        Some(names) => {
            let mut ids: Vec<RoleId> = Vec::with_capacity(names.len());
            for name in names {
                let role = tx
                    .role_by_name(&environment.id, name)
                    .await?
                    .ok_or_else(|| TenantError::NotFound(format!("role '{name}' of '{slug}'")))?;
                ids.push(role.id);
            }
            tx.set_inherited_override(&environment.id, user_id, &ids, now)
                .await?;
            "agency.override"
        }
        None => {
            if !tx
                .clear_inherited_override(&environment.id, user_id)
                .await?
            {
                return Err(TenantError::NotFound(format!(
                    "override for user {user_id} in '{slug}'"
                )));
            }
            "agency.clear_override"
        }
    };
    let after = held_in(&mut tx, &reached, user_id).await?;
    let cause = format!("{action} by {actor} in '{slug}'");
    for ((place, before), after) in reached.into_iter().zip(&before).zip(&after) {
        let change = RoleChange {
            before,
            after,
            cause: &cause,
        };
        if let Some(mut told) =
            events::user_roles_changed_event(&agency_caller(place), user_id, None, change, now)
        {
            told.actor = actor.to_string();
            tx.insert_event(&told).await?;
        }
    }
    let mut event = audit::event(&agency_caller(environment), action, now);
    event.actor = actor.to_string();
    event.target_type = Some("User".into());
    event.target_id = Some(user_id.to_string());
    event.reason = roles.map(|names| format!("roles: {}", names.join(", ")));
    tx.insert_audit(&event).await?;
    tx.commit().await?;
    Ok(())
}

/// The role names agency user `user_id` holds in each of `places`, as `tx` sees them.
async fn held_in(
    tx: &mut Tx,
    places: &[TenantRecord],
    user_id: &UserId,
) -> Result<Vec<BTreeSet<String>>, TenantError> {
    let mut held = Vec::with_capacity(places.len());
    for place in places {
        let names = tx
            .inherited_roles(&place.id, user_id)
            .await?
            .map(|inherited| inherited.roles.into_iter().map(|r| r.name).collect())
            .unwrap_or_default();
        held.push(names);
    }
    Ok(held)
}

/// Who an agency act in `tenant` is recorded as (the actor's name is set on each record).
fn agency_caller(tenant: TenantRecord) -> Caller {
    Caller {
        tenant: tenant.into(),
        connection_id: None,
        actor: "cli",
        request_summary: None,
        token_id: None,
    }
}

/// An environment an agency user reaches, and what they hold there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvironmentAccess {
    pub slug: String,
    /// Levels below the user's tenant (1: one of its own environments).
    pub level: i64,
    pub access: InheritedAccess,
}

/// The environments below tenant `slug` that its user `user_id` reaches, each with what they
/// hold there (an environment whose override takes their access away is listed with no role).
/// Needs `users:view` in the user's tenant.
pub async fn environments_of_user(
    store: &Store,
    actor: &AdminActor,
    slug: &str,
    user_id: &UserId,
) -> Result<Vec<EnvironmentAccess>, TenantError> {
    let tenant = tenant_for(store, actor, slug, AdminPermission::UsersView).await?;
    store
        .user_by_id(&tenant.id, user_id)
        .await?
        .ok_or_else(|| TenantError::NotFound(format!("User {user_id}")))?;
    let mut reached = Vec::new();
    for (id, slug, level) in store.tenant_descendants(&tenant.id).await? {
        if let Some(access) = inherited_access(store, &id, user_id).await? {
            reached.push(EnvironmentAccess {
                slug,
                level,
                access,
            });
        }
    }
    Ok(reached)
}

/// A user of an agency above an environment, and what they hold there.
#[derive(Debug, Clone)]
pub struct AgencyUser {
    pub user: UserRecord,
    /// The agency the user belongs to.
    pub agency: String,
    pub access: InheritedAccess,
}

/// A page of the users of the agencies above environment `slug` (the nearest agency's first,
/// each agency's by id), with what each holds there; `after` is the previous page's
/// `next_after`. Needs `users:view` in the environment.
pub async fn agency_users(
    store: &Store,
    actor: &AdminActor,
    slug: &str,
    after: Option<&str>,
    limit: i64,
) -> Result<(Vec<AgencyUser>, Option<String>), TenantError> {
    let environment = tenant_for(store, actor, slug, AdminPermission::UsersView).await?;
    let limit = limit.clamp(1, 100);
    let (mut level, mut after_user) = match after.map(parse_cursor).transpose()? {
        Some((level, user)) => (level, Some(user)),
        None => (0, None),
    };
    let agencies = store.tenant_ancestors(&environment.id).await?;
    let mut page = Vec::new();
    while let Some(agency_id) = agencies.get(level) {
        let wanted = limit - i64::try_from(page.len()).unwrap_or(limit);
        if wanted <= 0 {
            break;
        }
        let users = store
            .live_users_after(agency_id, after_user.as_ref(), wanted)
            .await?;
        let agency = store
            .tenant_by_id(agency_id)
            .await?
            .map_or_else(String::new, |t| t.slug);
        let full = i64::try_from(users.len()).unwrap_or(0) == wanted;
        for user in users {
            let access = inherited_access(store, &environment.id, &user.id)
                .await?
                .unwrap_or_default();
            page.push(AgencyUser {
                user,
                agency: agency.clone(),
                access,
            });
        }
        if full {
            break;
        }
        level += 1;
        after_user = None;
    }
    let more = i64::try_from(page.len()).unwrap_or(0) == limit;
    let next = page
        .last()
        .filter(|_| more)
        .map(|last| format!("{level}.{}", last.user.id));
    Ok((page, next))
}

/// A cursor of `agency_users`: the agency's place above the environment, and the last user.
fn parse_cursor(cursor: &str) -> Result<(usize, UserId), TenantError> {
    let invalid =
        || TenantError::InvalidArgument(format!("'{cursor}' is not a cursor of this list"));
    let (level, user) = cursor.split_once('.').ok_or_else(invalid)?;
    let level = level.parse::<usize>().map_err(|_| invalid())?;
    Ok((level, UserId::new(user)))
}

/// `override_by` through the admin API. Needs `users:manage` in the environment.
pub async fn override_for(
    store: &Store,
    actor: &AdminActor,
    slug: &str,
    user_id: &UserId,
    roles: Option<&[String]>,
    now: Micros,
) -> Result<(), TenantError> {
    let environment = tenant_for(store, actor, slug, AdminPermission::UsersManage).await?;
    override_by(
        store,
        &actor.label(),
        &environment.slug,
        user_id,
        roles,
        now,
    )
    .await
}
