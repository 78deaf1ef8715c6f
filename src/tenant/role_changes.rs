//! Whose effective roles a write changed: the `user.roles_changed`, `group.roles_changed` and
//! `user_type.roles_changed` events the write appends in its own transaction. Reads only the
//! users the write touched: a group that maps to no role (the usual case) costs one indexed
//! read per member change.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::events::{self, RoleChange};
use super::{Caller, TenantError};
use crate::store::{EventRecord, GroupId, Micros, TenantId, Tx, UserId};

/// Role names per user.
pub type RoleNames = BTreeMap<UserId, BTreeSet<String>>;

/// The effective role names of `users` as the transaction sees them, leaving out what
/// `except_group` gives; every user has an entry.
pub async fn role_names(
    tx: &mut Tx,
    tenant_id: &TenantId,
    users: &[UserId],
    except_group: Option<&GroupId>,
) -> Result<RoleNames, TenantError> {
    let mut names: RoleNames = users.iter().map(|u| (u.clone(), BTreeSet::new())).collect();
    for (user, role) in tx
        .effective_role_names(tenant_id, users, except_group)
        .await?
    {
        names.entry(user).or_default().insert(role);
    }
    Ok(names)
}

/// The roles the group named `display_name` gives its members.
pub async fn mapped_roles(
    tx: &mut Tx,
    tenant_id: &TenantId,
    display_name: &str,
) -> Result<BTreeSet<String>, TenantError> {
    Ok(tx
        .roles_mapped_to_group(tenant_id, display_name)
        .await?
        .into_iter()
        .collect())
}

/// The roles the tenant gives its users of `user_type`.
pub async fn mapped_to_user_type(
    tx: &mut Tx,
    tenant_id: &TenantId,
    user_type: &str,
) -> Result<BTreeSet<String>, TenantError> {
    Ok(tx
        .roles_mapped_to_user_type(tenant_id, user_type)
        .await?
        .into_iter()
        .collect())
}

/// The event of a change of one user's roles, read after the change against `before`; none
/// when they did not change.
pub async fn user_change(
    tx: &mut Tx,
    caller: &Caller,
    user_id: &UserId,
    version: Option<i64>,
    before: &BTreeSet<String>,
    cause: &str,
    now: Micros,
) -> Result<Option<EventRecord>, TenantError> {
    let after = role_names(tx, &caller.tenant.id, std::slice::from_ref(user_id), None)
        .await?
        .remove(user_id)
        .unwrap_or_default();
    let change = RoleChange {
        before,
        after: &after,
        cause,
    };
    Ok(events::user_roles_changed_event(
        caller, user_id, version, change, now,
    ))
}

/// After members were added to or removed from a group (already written in `tx`): an event for
/// each of them whose effective roles the group's mapped roles changed.
pub async fn membership_change(
    tx: &mut Tx,
    caller: &Caller,
    group_id: &GroupId,
    display_name: &str,
    added: &[UserId],
    removed: &[UserId],
    now: Micros,
) -> Result<Vec<EventRecord>, TenantError> {
    let mut told = Vec::new();
    if added.is_empty() && removed.is_empty() {
        return Ok(told);
    }
    let mapped = mapped_roles(tx, &caller.tenant.id, display_name).await?;
    if mapped.is_empty() {
        return Ok(told);
    }
    let touched: Vec<UserId> = added.iter().chain(removed).cloned().collect();
    let elsewhere = role_names(tx, &caller.tenant.id, &touched, Some(group_id)).await?;
    let cause = format!("group '{display_name}'");
    for (user, joined) in added
        .iter()
        .map(|u| (u, true))
        .chain(removed.iter().map(|u| (u, false)))
    {
        let without = elsewhere.get(user).cloned().unwrap_or_default();
        let with: BTreeSet<String> = without.union(&mapped).cloned().collect();
        let (before, after) = if joined {
            (&without, &with)
        } else {
            (&with, &without)
        };
        let change = RoleChange {
            before,
            after,
            cause: &cause,
        };
        told.extend(events::user_roles_changed_event(
            caller, user, None, change, now,
        ));
    }
    Ok(told)
}

/// Appends a role-change event of `caller`'s tenant, and the same change to the feed of each
/// environment below that tenant (see `agencies`) whose agency users inherit it: a user's event
/// where no override decides the user's roles there; a group's or a user type's event in every
/// environment below (their users inherit it, unless an override says otherwise). Each copy is
/// an event of its own (its own id), naming the `agency` it comes from.
pub async fn tell(tx: &mut Tx, caller: &Caller, event: EventRecord) -> Result<(), TenantError> {
    tx.insert_event(&event).await?;
    let below = tx.tenant_descendants(&caller.tenant.id).await?;
    let user = match event.event_type.as_str() {
        "user.roles_changed" => event.resource_id.as_deref().map(UserId::new),
        _ => None,
    };
    for (environment, _, _) in below {
        if let Some(user) = &user {
            let inherits = tx
                .inherited_roles(&environment, user)
                .await?
                .is_some_and(|held| !held.overridden);
            if !inherits {
                continue;
            }
        }
        let mut copy = event.clone();
        copy.id = format!("evt_{}", uuid::Uuid::now_v7().simple());
        copy.tenant_id = environment;
        copy.connection_id = None;
        copy.data
            .insert("agency".into(), Value::String(caller.tenant.slug.clone()));
        tx.insert_event(&copy).await?;
    }
    Ok(())
}
