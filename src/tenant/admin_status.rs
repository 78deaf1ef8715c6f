//! An admin's suspension and reactivation of a user. The suspension holds whatever the identity
//! provider sends afterwards (see `status`); lifting it returns the user to what the provider
//! last said, so an admin cannot reactivate a user the provider itself suspended.

use super::TenantError;
use super::audit;
use super::events::{self, UserEventType};
use super::operators::{AdminActor, AdminPermission, tenant_for};
use super::status::{self, UserStatus};
use super::users::index_of;
use crate::scim::schema::ResourceSchemas;
use crate::store::{IndexedChanges, Micros, SideTableChanges, Store, UserId, UserRecord};

/// What an admin does to a user's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminStatusChange {
    Suspend,
    Reactivate,
}

/// Suspends or reactivates the user `id` of the tenant, with its audit event naming the admin.
/// Needs `users:manage`. Asking for the state the user is already in changes nothing.
pub async fn change_status(
    store: &Store,
    schemas: ResourceSchemas<'_>,
    actor: &AdminActor,
    slug: &str,
    id: &UserId,
    change: AdminStatusChange,
    now: Micros,
) -> Result<UserRecord, TenantError> {
    let tenant = tenant_for(store, actor, slug, AdminPermission::UsersManage).await?;
    let (action, verb) = match change {
        AdminStatusChange::Suspend => ("user.suspend", "suspend"),
        AdminStatusChange::Reactivate => ("user.reactivate", "reactivate"),
    };
    let summary = format!("POST /admin/v1/tenants/{slug}/users/{id}/{verb}");
    let caller = actor.caller_in(tenant, summary);
    let mut tx = store.begin().await?;
    let old = tx
        .user_for_update(&caller.tenant.id, id)
        .await?
        .ok_or_else(|| TenantError::NotFound(format!("User {id}")))?;
    let (held, status, reason) = match change {
        AdminStatusChange::Suspend if old.admin_suspended_at.is_some() => return Ok(old),
        AdminStatusChange::Suspend => (
            Some(now),
            UserStatus::Suspended,
            "suspended by an admin; the identity provider cannot lift it",
        ),
        AdminStatusChange::Reactivate if old.admin_suspended_at.is_none() => {
            if old.status == UserStatus::Suspended {
                return Err(TenantError::InvalidArgument(
                    "the identity provider suspended this user (active: false); reactivate them there"
                        .into(),
                ));
            }
            return Ok(old);
        }
        AdminStatusChange::Reactivate => (
            None,
            status::after_admin_reactivation(&old),
            "an admin lifted their suspension; the user is as the identity provider last said",
        ),
    };
    let user = UserRecord {
        admin_suspended_at: held,
        status,
        version: old.version + 1,
        modified_at: now,
        ..old.clone()
    };
    // Only the status changes: no indexed column, no side table.
    tx.update_user(
        &user,
        &index_of(schemas, &user.doc),
        IndexedChanges::default(),
        SideTableChanges::default(),
    )
    .await?;
    tx.move_status(&caller.tenant.id, old.status, status)
        .await?;
    let mut event = audit::event(&caller, action, now);
    event.actor = actor.label();
    event.target_type = Some("User".into());
    event.target_id = Some(user.id.to_string());
    event.target_name = Some(user.user_name.clone());
    event.changed_attributes = vec!["status".into()];
    event.reason = Some(reason.into());
    tx.insert_audit(&event).await?;
    let event_type = match (old.status.scim_active(), user.status.scim_active()) {
        (true, false) => UserEventType::Suspended,
        (false, true) => UserEventType::Reactivated,
        _ => UserEventType::Updated,
    };
    let mut told = events::user_event(
        &caller,
        schemas,
        event_type,
        &user,
        &event.changed_attributes,
        now,
    );
    told.actor = event.actor;
    tx.insert_event(&told).await?;
    tx.commit().await?;
    Ok(user)
}
