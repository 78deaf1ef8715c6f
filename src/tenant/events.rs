//! The events a change tells the host product (the outbox of migration 0016): built from what the
//! change wrote, and appended in its transaction beside its audit event, so that an event exists
//! if and only if its change committed.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::Caller;
use super::groups::Group;
use super::users::{User, UserExtras, to_scim};
use crate::clock::datetime_of;
use crate::scim::resource::format_datetime;
use crate::scim::schema::ResourceSchemas;
use crate::store::{EventRecord, GroupId, Micros, UserId};

/// What a change of a user tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserEventType {
    Created,
    Updated,
    Suspended,
    Reactivated,
    Deleted,
    SignedIn,
}

impl UserEventType {
    pub fn as_str(self) -> &'static str {
        match self {
            UserEventType::Created => "user.created",
            UserEventType::Updated => "user.updated",
            UserEventType::Suspended => "user.suspended",
            UserEventType::Reactivated => "user.reactivated",
            UserEventType::Deleted => "user.deleted",
            UserEventType::SignedIn => "user.signed_in",
        }
    }
}

/// Every event type the gateway emits, for filters and the API document.
pub const EVENT_TYPES: [&str; 15] = [
    "user.created",
    "user.updated",
    "user.suspended",
    "user.reactivated",
    "user.deleted",
    "user.signed_in",
    "user.sign_in_refused",
    "user.roles_changed",
    "group.created",
    "group.updated",
    "group.deleted",
    "group.members_changed",
    "group.roles_changed",
    "tenant.seat_limit_reached",
    "invitation.issued",
];

pub(super) fn new_event(caller: &Caller, event_type: &str, now: Micros) -> EventRecord {
    EventRecord {
        id: format!("evt_{}", uuid::Uuid::now_v7().simple()),
        tenant_id: caller.tenant.id.clone(),
        event_type: event_type.to_string(),
        at: now,
        actor: caller.actor.to_string(),
        connection_id: caller.connection_id.clone(),
        resource_type: None,
        resource_id: None,
        resource_version: None,
        changed: Vec::new(),
        data: Map::new(),
    }
}

/// A user's event, with the user as SCIM shows it after the change. `meta.location` is left
/// out: it depends on the URL a client reached the gateway by; the event names the tenant and id.
pub fn user_event(
    caller: &Caller,
    schemas: ResourceSchemas<'_>,
    event_type: UserEventType,
    user: &User,
    changed: &[String],
    now: Micros,
) -> EventRecord {
    let mut event = new_event(caller, event_type.as_str(), now);
    event.resource_type = Some("User".into());
    event.resource_id = Some(user.id.to_string());
    event.resource_version = Some(user.version);
    event.changed = changed.to_vec();
    if let Value::Object(mut resource) = to_scim(schemas, user.clone(), &UserExtras::default(), "")
    {
        if let Some(Value::Object(meta)) = resource.get_mut("meta") {
            meta.remove("location");
        }
        event.data = resource;
    }
    event
}

/// A deleted user's event: what stays of them (the tombstone).
pub fn user_deleted_event(caller: &Caller, user: &User, now: Micros) -> EventRecord {
    let mut event = new_event(caller, UserEventType::Deleted.as_str(), now);
    event.resource_type = Some("User".into());
    event.resource_id = Some(user.id.to_string());
    event.resource_version = Some(user.version + 1);
    let mut data = Map::new();
    data.insert("id".into(), Value::String(user.id.to_string()));
    data.insert("userName".into(), Value::String(user.user_name.clone()));
    if let Some(name) = &user.display_name {
        data.insert("displayName".into(), Value::String(name.clone()));
    }
    if let Some(external_id) = &user.external_id {
        data.insert("externalId".into(), Value::String(external_id.clone()));
    }
    data.insert(
        "deleted".into(),
        Value::String(format_datetime(datetime_of(now))),
    );
    event.data = data;
    event
}

/// A sign-in the gateway refused (an unknown, suspended or deleted user, an ambiguous claim,
/// a failed token check): why, and the identifier the identity provider sent, if any.
pub fn sign_in_refused_event(
    caller: &Caller,
    reason: &str,
    claim_value: Option<&str>,
    now: Micros,
) -> EventRecord {
    let mut event = new_event(caller, "user.sign_in_refused", now);
    event
        .data
        .insert("reason".into(), Value::String(reason.to_string()));
    if let Some(value) = claim_value {
        event
            .data
            .insert("identifier".into(), Value::String(value.to_string()));
    }
    event
}

/// Role names before and after a change, and why they changed (`an admin's assignment`,
/// `group 'Leads'`, …).
#[derive(Debug, Clone, Copy)]
pub struct RoleChange<'a> {
    pub before: &'a BTreeSet<String>,
    pub after: &'a BTreeSet<String>,
    pub cause: &'a str,
}

impl RoleChange<'_> {
    fn data(&self) -> Option<Map<String, Value>> {
        if self.before == self.after {
            return None;
        }
        let list = |names: &mut dyn Iterator<Item = &String>| {
            Value::from(names.cloned().collect::<Vec<String>>())
        };
        let mut data = Map::new();
        data.insert("roles".into(), list(&mut self.after.iter()));
        data.insert(
            "added".into(),
            list(&mut self.after.difference(self.before)),
        );
        data.insert(
            "removed".into(),
            list(&mut self.before.difference(self.after)),
        );
        data.insert("cause".into(), Value::String(self.cause.to_string()));
        Some(data)
    }
}

/// A user's effective roles changed: the roles they hold now, those gained and lost, and why;
/// none when they did not change. `version` is the user's when the change wrote the user.
pub fn user_roles_changed_event(
    caller: &Caller,
    user_id: &UserId,
    version: Option<i64>,
    change: RoleChange<'_>,
    now: Micros,
) -> Option<EventRecord> {
    let mut data = change.data()?;
    data.insert("id".into(), Value::String(user_id.to_string()));
    let mut event = new_event(caller, "user.roles_changed", now);
    event.resource_type = Some("User".into());
    event.resource_id = Some(user_id.to_string());
    event.resource_version = version;
    event.changed = vec!["roles".into()];
    event.data = data;
    Some(event)
}

/// The roles a group's members hold through it changed (a mapping made or undone, the group
/// renamed or deleted): so did every member's effective roles. One event for the group, not one
/// per member: the write costs the same for a group of ten or of a hundred thousand.
pub fn group_roles_changed_event(
    caller: &Caller,
    group_id: &GroupId,
    display_name: &str,
    change: RoleChange<'_>,
    now: Micros,
) -> Option<EventRecord> {
    let mut data = change.data()?;
    data.insert("id".into(), Value::String(group_id.to_string()));
    data.insert(
        "displayName".into(),
        Value::String(display_name.to_string()),
    );
    let mut event = new_event(caller, "group.roles_changed", now);
    event.resource_type = Some("Group".into());
    event.resource_id = Some(group_id.to_string());
    event.changed = vec!["roles".into()];
    event.data = data;
    Some(event)
}

/// What the tenant's users of a `userType` hold through it changed (a mapping made or undone):
/// one event for the type, whatever the number of its users.
pub fn user_type_roles_changed_event(
    caller: &Caller,
    user_type: &str,
    change: RoleChange<'_>,
    now: Micros,
) -> Option<EventRecord> {
    let mut data = change.data()?;
    data.insert("userType".into(), Value::String(user_type.to_string()));
    let mut event = new_event(caller, "user_type.roles_changed", now);
    event.changed = vec!["roles".into()];
    event.data = data;
    Some(event)
}

/// What a change of a group tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupEventType {
    Created,
    Updated,
    Deleted,
}

impl GroupEventType {
    fn as_str(self) -> &'static str {
        match self {
            GroupEventType::Created => "group.created",
            GroupEventType::Updated => "group.updated",
            GroupEventType::Deleted => "group.deleted",
        }
    }
}

/// A group's event: the group without its members (a big group's list would make every event
/// as big; member changes have their own event).
pub fn group_event(
    caller: &Caller,
    event_type: GroupEventType,
    group: &Group,
    changed: &[String],
    now: Micros,
) -> EventRecord {
    let mut event = new_event(caller, event_type.as_str(), now);
    event.resource_type = Some("Group".into());
    event.resource_id = Some(group.id.to_string());
    event.resource_version = Some(group.version);
    event.changed = changed.to_vec();
    event.data = group_summary(group);
    event
}

fn group_summary(group: &Group) -> Map<String, Value> {
    let mut data = Map::new();
    data.insert("id".into(), Value::String(group.id.to_string()));
    data.insert(
        "displayName".into(),
        Value::String(group.display_name.clone()),
    );
    if let Some(external_id) = &group.external_id {
        data.insert("externalId".into(), Value::String(external_id.clone()));
    }
    data
}

/// The members one request added to and removed from a group, by id; none when it changed none.
pub fn members_event(
    caller: &Caller,
    group: &Group,
    added: &[UserId],
    removed: &[UserId],
    now: Micros,
) -> Option<EventRecord> {
    if added.is_empty() && removed.is_empty() {
        return None;
    }
    let mut event = new_event(caller, "group.members_changed", now);
    event.resource_type = Some("Group".into());
    event.resource_id = Some(group.id.to_string());
    event.resource_version = Some(group.version);
    event.changed = vec!["members".into()];
    let mut data = group_summary(group);
    let ids = |list: &[UserId]| Value::from(list.iter().map(UserId::to_string).collect::<Vec<_>>());
    data.insert("added".into(), ids(added));
    data.insert("removed".into(), ids(removed));
    event.data = data;
    Some(event)
}

/// The tenant's last free seat was taken: the next create will be refused.
pub fn seat_limit_reached_event(caller: &Caller, limit: i64, now: Micros) -> EventRecord {
    let mut event = new_event(caller, "tenant.seat_limit_reached", now);
    event.resource_type = Some("Tenant".into());
    event.resource_id = Some(caller.tenant.slug.clone());
    let mut data = Map::new();
    data.insert("tenant".into(), Value::String(caller.tenant.slug.clone()));
    data.insert("seatLimit".into(), Value::from(limit));
    event.data = data;
    event
}
