//! Provisioning use-cases for groups: create, replace, patch, delete, read and list. A group's
//! document and its membership are written in one transaction with the audit event; membership
//! changes cost what they change.

use std::collections::{BTreeSet, HashSet};

use serde_json::{Map, Value};

use super::audit::{self, WriteContext};
use super::document::{changed_attributes, check_version, string_at};
use super::events::{self, GroupEventType, RoleChange};
use super::query::{Listing, list_query};
use super::role_changes;
use super::{Caller, TenantError};
use crate::clock::datetime_of;
use crate::scim::ScimError;
use crate::scim::filter::FilterLimits;
use crate::scim::list::{ListLimits, ListRequest};
use crate::scim::members::{MemberChange, member_ids, split_group_patch};
use crate::scim::patch::{apply_patch, parse_patch_request};
use crate::scim::resource::{Meta, parse_resource, render};
use crate::scim::schema::ResourceSchemas;
use crate::store::{
    Constraint, GroupId, GroupRecord, MemberRow, Micros, Store, StoreError, TenantId, Tx, UserId,
};
use crate::store::{FilterSubject, fold};
use crate::tenant::users::MAX_PATCH_OPERATIONS;

pub type Group = GroupRecord;

/// Most member ids reported by name in an audit event.
const REPORTED_IDS: usize = 20;

fn display_name_of(doc: &Map<String, Value>) -> Result<String, ScimError> {
    string_at(doc, "displayName")
        .ok_or_else(|| ScimError::invalid_value("'displayName' is required"))
}

fn map_conflict(err: StoreError, name: &str) -> TenantError {
    match err {
        StoreError::Conflict(Constraint::GroupName) => {
            TenantError::GroupNameTaken(name.to_string())
        }
        other => TenantError::Store(other),
    }
}

/// What a write did to the member list, for the audit trail.
#[derive(Debug, Default)]
struct MembershipOutcome {
    added: Vec<UserId>,
    removed: Vec<UserId>,
    /// Ids that name no user of the tenant, or nested groups: skipped, the rest applied.
    skipped: Vec<String>,
}

impl MembershipOutcome {
    fn changed(&self) -> bool {
        !self.added.is_empty() || !self.removed.is_empty()
    }

    fn describe(&self) -> Option<String> {
        let mut parts = Vec::new();
        if self.changed() {
            parts.push(format!(
                "members: {} added, {} removed",
                self.added.len(),
                self.removed.len()
            ));
        }
        if !self.skipped.is_empty() {
            let shown: Vec<&str> = self
                .skipped
                .iter()
                .take(REPORTED_IDS)
                .map(String::as_str)
                .collect();
            let more = self.skipped.len().saturating_sub(REPORTED_IDS);
            let tail = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            parts.push(format!(
                "skipped {} unknown member(s): {}{tail}",
                self.skipped.len(),
                shown.join(", ")
            ));
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

/// Applies one membership change: unknown user ids are skipped (and reported), the rest applied.
async fn apply_member_change(
    tx: &mut Tx,
    tenant_id: &TenantId,
    group_id: &GroupId,
    change: &MemberChange,
    now: Micros,
    outcome: &mut MembershipOutcome,
) -> Result<(), TenantError> {
    match change {
        MemberChange::Add(ids) => {
            let ids = user_ids(ids);
            let existing = tx.existing_user_ids(tenant_id, &ids).await?;
            skip_unknown(outcome, &ids, &existing);
            let added = tx.add_members(tenant_id, group_id, &existing, now).await?;
            outcome.added.extend(added);
        }
        MemberChange::Remove(ids) => {
            let removed = tx.remove_members(group_id, &user_ids(ids)).await?;
            outcome.removed.extend(removed);
        }
        MemberChange::RemoveAll => {
            let removed = tx.remove_all_members(group_id).await?;
            outcome.removed.extend(removed);
        }
        MemberChange::Replace(ids) => {
            let ids = user_ids(ids);
            let wanted: HashSet<&UserId> = ids.iter().collect();
            let current = tx.member_ids_of(group_id).await?;
            let current_set: HashSet<&UserId> = current.iter().collect();
            let to_remove: Vec<UserId> = current
                .iter()
                .filter(|id| !wanted.contains(id))
                .cloned()
                .collect();
            let to_add: Vec<UserId> = ids
                .iter()
                .filter(|id| !current_set.contains(id))
                .cloned()
                .collect();
            let removed = tx.remove_members(group_id, &to_remove).await?;
            outcome.removed.extend(removed);
            let existing = tx.existing_user_ids(tenant_id, &to_add).await?;
            skip_unknown(outcome, &to_add, &existing);
            let added = tx.add_members(tenant_id, group_id, &existing, now).await?;
            outcome.added.extend(added);
        }
    }
    Ok(())
}

/// Member ids as the request named them: ids of users, if they name anything.
fn user_ids(ids: &[String]) -> Vec<UserId> {
    ids.iter().map(UserId::new).collect()
}

/// Reports the `ids` that are not among the `existing` users as skipped.
fn skip_unknown(outcome: &mut MembershipOutcome, ids: &[UserId], existing: &[UserId]) {
    if ids.len() == existing.len() {
        return;
    }
    let existing: HashSet<&UserId> = existing.iter().collect();
    outcome.skipped.extend(
        ids.iter()
            .filter(|id| !existing.contains(id))
            .map(UserId::to_string),
    );
}

/// A group's document and, apart, the members a POST or PUT lists.
struct GroupInput {
    doc: Map<String, Value>,
    member_ids: Vec<String>,
    /// Member references that are not user ids.
    ignored: Vec<String>,
}

/// Reads a POST or PUT body.
fn read_group(schemas: ResourceSchemas<'_>, body: &Value) -> Result<GroupInput, ScimError> {
    let mut ignored = Vec::new();
    let member_ids = match body
        .as_object()
        .and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case("members")))
    {
        Some((_, members)) => member_ids(members, &mut ignored)?,
        None => Vec::new(),
    };
    let mut doc = parse_resource(schemas, body)?.doc;
    doc.remove("members");
    Ok(GroupInput {
        doc,
        member_ids,
        ignored,
    })
}

pub async fn create_group(ctx: &WriteContext<'_>, body: &Value) -> Result<Group, TenantError> {
    let requested = body.get("displayName").and_then(Value::as_str);
    ctx.audited_create("group.create", requested, async {
        let GroupInput {
            doc,
            member_ids: ids,
            ignored,
        } = read_group(ctx.schemas, body)?;
        let display_name = display_name_of(&doc)?;
        let group = GroupRecord {
            id: GroupId::generate(),
            tenant_id: ctx.caller.tenant.id.clone(),
            display_name: display_name.clone(),
            external_id: string_at(&doc, "externalId"),
            doc,
            version: 1,
            created_at: ctx.now,
            modified_at: ctx.now,
            created_by_connection: ctx.caller.connection_id.clone(),
            modified_by_connection: ctx.caller.connection_id.clone(),
        };
        let mut tx = ctx.begin().await?;
        tx.insert_group(&group)
            .await
            .map_err(|e| map_conflict(e, &display_name))?;
        let mut outcome = MembershipOutcome {
            skipped: ignored,
            ..MembershipOutcome::default()
        };
        apply_member_change(
            &mut tx,
            &ctx.caller.tenant.id,
            &group.id,
            &MemberChange::Add(ids),
            ctx.now,
            &mut outcome,
        )
        .await?;
        let mut event = group_event(ctx.caller, "group.create", &group, ctx.now);
        event.http_status = 201;
        event.changed_attributes = group.doc.keys().cloned().collect();
        if !outcome.added.is_empty() {
            event.changed_attributes.push("members".into());
        }
        event.reason = outcome.describe();
        tx.insert_audit(&event).await?;
        let created = events::group_event(
            ctx.caller,
            GroupEventType::Created,
            &group,
            &event.changed_attributes,
            ctx.now,
        );
        tx.insert_event(&created).await?;
        if let Some(members) =
            events::members_event(ctx.caller, &group, &outcome.added, &[], ctx.now)
        {
            tx.insert_event(&members).await?;
        }
        for told in role_changes::membership_change(
            &mut tx,
            ctx.caller,
            &group.id,
            &group.display_name,
            &outcome.added,
            &[],
            ctx.now,
        )
        .await?
        {
            role_changes::tell(&mut tx, ctx.caller, told).await?;
        }
        tx.commit().await?;
        Ok(group)
    })
    .await
}

fn group_event(
    caller: &Caller,
    action: &str,
    group: &Group,
    now: Micros,
) -> crate::store::AuditRecord {
    let mut event = audit::event(caller, action, now);
    event.target_type = Some("Group".into());
    event.target_id = Some(group.id.to_string());
    event.target_name = Some(group.display_name.clone());
    event
}

async fn lock_group(
    tx: &mut Tx,
    caller: &Caller,
    id: &GroupId,
    if_match: Option<&str>,
) -> Result<Group, TenantError> {
    let group = tx
        .group_for_update(&caller.tenant.id, id)
        .await?
        .ok_or_else(|| TenantError::NotFound(format!("Group {id}")))?;
    check_version(group.version, if_match)?;
    Ok(group)
}

/// What a PUT or PATCH did to a group.
struct GroupChange {
    doc: Map<String, Value>,
    membership: MembershipOutcome,
    action: &'static str,
    tolerances: Vec<String>,
}

/// Writes a group's new document and version after its membership changed (or not).
async fn finish_update(
    tx: &mut Tx,
    ctx: &WriteContext<'_>,
    old: Group,
    change: GroupChange,
) -> Result<Group, TenantError> {
    let WriteContext { caller, now, .. } = *ctx;
    let GroupChange {
        doc,
        membership: outcome,
        action,
        tolerances,
    } = change;
    let mut changed = changed_attributes(&old.doc, &doc);
    if outcome.changed() {
        changed.push("members".into());
    }
    if changed.is_empty() {
        // Nothing changed; a skipped member is still worth a record.
        if outcome.skipped.is_empty() {
            return Ok(old);
        }
    }
    let display_name = display_name_of(&doc)?;
    let old_name = old.display_name.clone();
    let group = if changed.is_empty() {
        old
    } else {
        let group = GroupRecord {
            display_name: display_name.clone(),
            external_id: string_at(&doc, "externalId"),
            doc,
            version: old.version + 1,
            modified_at: now,
            modified_by_connection: caller.connection_id.clone(),
            ..old
        };
        tx.update_group(&group)
            .await
            .map_err(|e| map_conflict(e, &display_name))?;
        group
    };
    let mut event = group_event(caller, action, &group, now);
    event.tolerances = tolerances;
    event.reason = outcome.describe();
    let document_changed: Vec<String> = changed
        .iter()
        .filter(|a| *a != "members")
        .cloned()
        .collect();
    event.changed_attributes = changed;
    tx.insert_audit(&event).await?;
    if !document_changed.is_empty() {
        let updated = events::group_event(
            caller,
            GroupEventType::Updated,
            &group,
            &document_changed,
            now,
        );
        tx.insert_event(&updated).await?;
    }
    if let Some(members) =
        events::members_event(caller, &group, &outcome.added, &outcome.removed, now)
    {
        tx.insert_event(&members).await?;
    }
    if fold(&old_name) != fold(&group.display_name) {
        // Roles are mapped to group names: a renamed group may give its members others.
        let before = role_changes::mapped_roles(tx, &caller.tenant.id, &old_name).await?;
        let after = role_changes::mapped_roles(tx, &caller.tenant.id, &group.display_name).await?;
        let change = RoleChange {
            before: &before,
            after: &after,
            cause: &format!("group renamed from '{old_name}'"),
        };
        if let Some(told) =
            events::group_roles_changed_event(caller, &group.id, &group.display_name, change, now)
        {
            role_changes::tell(tx, caller, told).await?;
        }
    }
    for told in role_changes::membership_change(
        tx,
        caller,
        &group.id,
        &group.display_name,
        &outcome.added,
        &outcome.removed,
        now,
    )
    .await?
    {
        role_changes::tell(tx, caller, told).await?;
    }
    Ok(group)
}

/// Adds a user to the group named `display_name` (ignoring case) in `tx`, audited as a
/// `group.patch`; whether the user was not a member before. An import's `groups` column comes
/// through here.
pub(super) async fn add_member_by_group_name(
    tx: &mut Tx,
    ctx: &WriteContext<'_>,
    display_name: &str,
    user_id: &UserId,
) -> Result<bool, TenantError> {
    let tenant_id = &ctx.caller.tenant.id;
    let group_id = tx
        .group_id_by_name(tenant_id, display_name)
        .await?
        .ok_or_else(|| {
            TenantError::InvalidArgument(format!("no group named '{display_name}' in this tenant"))
        })?;
    let old = lock_group(tx, ctx.caller, &group_id, None).await?;
    let mut outcome = MembershipOutcome::default();
    let added = tx
        .add_members(tenant_id, &group_id, std::slice::from_ref(user_id), ctx.now)
        .await?;
    if added.is_empty() {
        return Ok(false);
    }
    outcome.added = added;
    let doc = old.doc.clone();
    let change = GroupChange {
        doc,
        membership: outcome,
        action: "group.patch",
        tolerances: Vec::new(),
    };
    finish_update(tx, ctx, old, change).await?;
    Ok(true)
}

/// Replaces a group (PUT): its document, and its member list by difference.
pub async fn replace_group(
    ctx: &WriteContext<'_>,
    id: &GroupId,
    body: &Value,
    if_match: Option<&str>,
) -> Result<Group, TenantError> {
    ctx.audited("group.replace", Some(id.as_str()), async {
        let GroupInput {
            doc,
            member_ids: ids,
            ignored,
        } = read_group(ctx.schemas, body)?;
        let mut tx = ctx.begin().await?;
        let old = lock_group(&mut tx, ctx.caller, id, if_match).await?;
        let mut outcome = MembershipOutcome {
            skipped: ignored,
            ..MembershipOutcome::default()
        };
        apply_member_change(
            &mut tx,
            &ctx.caller.tenant.id,
            id,
            &MemberChange::Replace(ids),
            ctx.now,
            &mut outcome,
        )
        .await?;
        let group = finish_update(
            &mut tx,
            ctx,
            old,
            GroupChange {
                doc,
                membership: outcome,
                action: "group.replace",
                tolerances: Vec::new(),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(group)
    })
    .await
}

/// Applies a PATCH to a group: its attributes through the PATCH engine, its membership as
/// single-row changes; all of it or none.
pub async fn patch_group(
    ctx: &WriteContext<'_>,
    id: &GroupId,
    body: &Value,
    if_match: Option<&str>,
    limits: FilterLimits,
) -> Result<Group, TenantError> {
    ctx.audited("group.patch", Some(id.as_str()), async {
        let request = parse_patch_request(body, MAX_PATCH_OPERATIONS)?;
        let split = split_group_patch(request, limits, ctx.schemas.limits)?;
        let mut tx = ctx.begin().await?;
        let old = lock_group(&mut tx, ctx.caller, id, if_match).await?;
        let mut tolerances: Vec<String> = split
            .attributes
            .tolerances
            .iter()
            .map(|t| t.as_str().to_string())
            .collect();
        let doc = if split.attributes.operations.is_empty() {
            old.doc.clone()
        } else {
            let parsed = apply_patch(
                ctx.schemas,
                &old.doc,
                old.id.as_str(),
                &split.attributes,
                limits,
            )?;
            tolerances = parsed
                .tolerances
                .iter()
                .map(|t| t.as_str().to_string())
                .collect();
            let mut doc = parsed.doc;
            doc.remove("members");
            doc
        };
        let mut outcome = MembershipOutcome {
            skipped: split.ignored,
            ..MembershipOutcome::default()
        };
        for change in &split.members {
            apply_member_change(
                &mut tx,
                &ctx.caller.tenant.id,
                id,
                change,
                ctx.now,
                &mut outcome,
            )
            .await?;
        }
        let group = finish_update(
            &mut tx,
            ctx,
            old,
            GroupChange {
                doc,
                membership: outcome,
                action: "group.patch",
                tolerances,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(group)
    })
    .await
}

pub async fn delete_group(
    ctx: &WriteContext<'_>,
    id: &GroupId,
    if_match: Option<&str>,
) -> Result<(), TenantError> {
    ctx.audited("group.delete", Some(id.as_str()), async {
        let mut tx = ctx.begin().await?;
        let old = lock_group(&mut tx, ctx.caller, id, if_match).await?;
        tx.delete_group(&ctx.caller.tenant.id, id).await?;
        let mut event = group_event(ctx.caller, "group.delete", &old, ctx.now);
        event.http_status = 204;
        tx.insert_audit(&event).await?;
        let mut deleted =
            events::group_event(ctx.caller, GroupEventType::Deleted, &old, &[], ctx.now);
        deleted.resource_version = Some(old.version + 1);
        tx.insert_event(&deleted).await?;
        let before =
            role_changes::mapped_roles(&mut tx, &ctx.caller.tenant.id, &old.display_name).await?;
        let change = RoleChange {
            before: &before,
            after: &BTreeSet::new(),
            cause: "group deleted",
        };
        if let Some(told) = events::group_roles_changed_event(
            ctx.caller,
            &old.id,
            &old.display_name,
            change,
            ctx.now,
        ) {
            role_changes::tell(&mut tx, ctx.caller, told).await?;
        }
        tx.commit().await?;
        Ok(())
    })
    .await
}

pub async fn get_group(store: &Store, caller: &Caller, id: &GroupId) -> Result<Group, TenantError> {
    store
        .group_by_id(&caller.tenant.id, id)
        .await?
        .ok_or_else(|| TenantError::NotFound(format!("Group {id}")))
}

/// The tenant's groups matching a list request, evaluated in SQL: a page by index or by cursor.
pub async fn list_groups(
    store: &Store,
    schemas: ResourceSchemas<'_>,
    caller: &Caller,
    request: &ListRequest,
    limits: ListLimits,
    now: Micros,
) -> Result<Listing<Group>, TenantError> {
    let tenant_id = &caller.tenant.id;
    let query = list_query(schemas, tenant_id, request, limits, now)?;
    let plan = store.plan_list(FilterSubject::Groups, schemas, &query)?;
    let found = store.list_groups(tenant_id, &plan).await?;
    Ok(Listing::of_page(
        &query.paging,
        found.total,
        found.groups,
        |g| g.id.as_str(),
        now,
    ))
}

/// How the database runs the statements of `list_groups` for this request, one line per step.
pub async fn explain_list_groups(
    store: &Store,
    schemas: ResourceSchemas<'_>,
    tenant_id: &TenantId,
    request: &ListRequest,
    limits: ListLimits,
    now: Micros,
) -> Result<Vec<String>, TenantError> {
    let query = list_query(schemas, tenant_id, request, limits, now)?;
    let plan = store.plan_list(FilterSubject::Groups, schemas, &query)?;
    Ok(store.explain_list_groups(tenant_id, &plan).await?)
}

/// Renders a group; `members` are given when the answer includes them (a large group's members
/// are read only when asked for), each with its `display` name as Microsoft's reference tests and
/// admins reading a group expect.
pub fn to_scim(
    schemas: ResourceSchemas<'_>,
    group: &Group,
    members: Option<&[MemberRow]>,
    base_url: &str,
) -> Value {
    let mut doc = group.doc.clone();
    if let Some(members) = members.filter(|m| !m.is_empty()) {
        let list: Vec<Value> = members
            .iter()
            .map(|m| {
                let mut member = Map::new();
                member.insert("value".into(), Value::String(m.member_id.clone()));
                member.insert(
                    "$ref".into(),
                    Value::String(format!("{base_url}/{}s/{}", m.member_type, m.member_id)),
                );
                member.insert("type".into(), Value::String(m.member_type.clone()));
                if let Some(display) = &m.display {
                    member.insert("display".into(), Value::String(display.clone()));
                }
                Value::Object(member)
            })
            .collect();
        doc.insert("members".into(), Value::Array(list));
    }
    let meta = Meta {
        resource_type: schemas.resource_type.name.clone(),
        created: datetime_of(group.created_at),
        last_modified: datetime_of(group.modified_at),
        location: format!("{base_url}/Groups/{}", group.id),
        version: group.version,
    };
    render(schemas, group.id.as_str(), doc, &meta)
}
