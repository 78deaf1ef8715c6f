//! Provisioning use-cases for users: create, replace, delete, read and list, applying the tenant
//! rules (uniqueness, locked attributes, statuses, seat limits, soft deletion) and writing each
//! change with its audit event in one transaction.

use serde_json::{Map, Value};

use super::audit::{self, WriteContext};
use super::document::{changed_attributes, check_version, string_at};
use super::events::{self, UserEventType};
use super::immutables::{self, Omitted};
use super::invitations;
use super::query::{Listing, list_query};
use super::role_changes;
use super::roles::{Catalog, Effective, effective, role_template_of, scim_role_values};
use super::status::{self, UserStatus};
use super::{Caller, TenantError};
use crate::clock::datetime_of;
use crate::scim::filter::FilterLimits;
use crate::scim::list::{ListLimits, ListRequest};
use crate::scim::patch::{apply_patch, parse_patch_request};
use crate::scim::resource::{Meta, Parsed, Tolerance, fold_case, parse_resource, render};
use crate::scim::schema::ResourceSchemas;
use crate::scim::{ScimError, TENANT_USER_URN};
use crate::store::{
    AuditRecord, Constraint, EmailRow, EventRows, FilterSubject, IndexedChanges, InvitationRecord,
    ListQuery, MembershipRow, Micros, NewUserRows, SeatReservation, SideTableChanges, Store,
    StoreError, TenantId, Tx, UserId, UserIndex, UserRecord, fold,
};

/// User types that administer a tenant: they always keep CRM access (SPEC §4).
pub const ADMIN_USER_TYPES: [&str; 2] = ["tenant_admin", "bot_admin"];

/// The tenant extension's integer attributes and their allowed range (SPEC §4).
const BOUNDED_INTEGERS: [(&str, i64, i64); 2] = [("maxChats", 0, 10), ("maxEmails", 0, 10)];

/// A user as read from the store, ready to render.
pub type User = UserRecord;

/// Splits the client's `active` from the document (the status column carries it) and checks the
/// tenant extension's own rules.
pub(super) fn take_active_and_check(parsed: &mut Parsed) -> Result<Option<bool>, ScimError> {
    let active = parsed.doc.remove("active").and_then(|v| v.as_bool());
    let user_type = parsed
        .doc
        .get("userType")
        .and_then(Value::as_str)
        .map(str::to_string);
    let is_admin = user_type
        .as_deref()
        .is_some_and(|t| ADMIN_USER_TYPES.iter().any(|a| a.eq_ignore_ascii_case(t)));
    if let Some(ext) = parsed.doc.get(TENANT_USER_URN).and_then(Value::as_object) {
        for (name, min, max) in BOUNDED_INTEGERS {
            if let Some(n) = ext.get(name).and_then(Value::as_i64)
                && !(min..=max).contains(&n)
            {
                return Err(ScimError::invalid_value(format!(
                    "'{name}' must be between {min} and {max}, not {n}"
                )));
            }
        }
        if is_admin && ext.get("crmAccess") == Some(&Value::Bool(false)) {
            return Err(ScimError::invalid_value(
                "admin users always have CRM access: 'crmAccess' cannot be false",
            ));
        }
    }
    if is_admin {
        // An admin has CRM access whether or not the identity provider says so: stored, so that
        // reads, filters and the host product all see it.
        let ext = parsed
            .doc
            .entry(TENANT_USER_URN)
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(ext) = ext.as_object_mut() {
            ext.entry("crmAccess").or_insert(Value::Bool(true));
        }
    }
    Ok(active)
}

/// The queryable forms of a user's document, written beside it.
pub fn index_of(schemas: ResourceSchemas<'_>, doc: &Map<String, Value>) -> UserIndex {
    let mut role_values: Vec<String> = scim_role_values(doc)
        .iter()
        .map(|v| v.to_lowercase())
        .collect();
    role_values.sort();
    role_values.dedup();
    UserIndex {
        emails: email_rows(doc),
        folded: fold_case(schemas, doc),
        role_values,
        user_type_key: string_at(doc, "userType").map(|t| fold(&t)),
        role_template_key: role_template_of(doc).map(fold),
    }
}

/// Fills in the folded documents of users written before they existed (a no-op afterwards).
pub async fn backfill_folded_documents(
    store: &Store,
    schemas: ResourceSchemas<'_>,
) -> Result<u64, TenantError> {
    let mut done = 0;
    loop {
        let batch = store.users_without_folded_doc(1000).await?;
        if batch.is_empty() {
            return Ok(done);
        }
        let mut tx = store.begin().await?;
        for user in &batch {
            tx.set_folded_doc(&user.id, &fold_case(schemas, &user.doc))
                .await?;
        }
        tx.commit().await?;
        done += batch.len() as u64;
    }
}

/// The side-table rows of a document's emails.
fn email_rows(doc: &Map<String, Value>) -> Vec<EmailRow> {
    let Some(emails) = doc.get("emails").and_then(Value::as_array) else {
        return Vec::new();
    };
    emails
        .iter()
        .filter_map(|e| {
            let value = e.get("value")?.as_str()?.to_string();
            Some(EmailRow {
                type_key: e.get("type").and_then(Value::as_str).map(str::to_lowercase),
                value_key: value.to_lowercase(),
                value,
                primary: e.get("primary").and_then(Value::as_bool).unwrap_or(false),
            })
        })
        .collect()
}

fn user_name_of(doc: &Map<String, Value>) -> Result<String, ScimError> {
    string_at(doc, "userName").ok_or_else(|| ScimError::invalid_value("'userName' is required"))
}

pub(super) fn map_conflict(err: StoreError, user_name: &str) -> TenantError {
    match err {
        StoreError::Conflict(Constraint::UserName) => {
            TenantError::UserNameTaken(user_name.to_string())
        }
        other => TenantError::Store(other),
    }
}

/// The warning an audit event carries when role values or the role template name no catalog
/// role or template (they grant nothing). Read in the write's own transaction.
pub(super) async fn unknown_roles_warning(
    tx: &mut Tx,
    tenant_id: &TenantId,
    doc: &Map<String, Value>,
) -> Result<Option<String>, TenantError> {
    if !names_roles(doc) {
        return Ok(None);
    }
    let catalog = Catalog::load_in(tx, tenant_id).await?;
    Ok(unknown_roles_in(&catalog, doc))
}

/// The warning of `unknown_roles_warning`, against a catalog already read.
pub(super) fn unknown_roles_in(catalog: &Catalog, doc: &Map<String, Value>) -> Option<String> {
    let ignored = effective(catalog, doc, &[], &[]);
    let (unassignable, unknown): (Vec<String>, Vec<String>) = ignored
        .unknown_role_values
        .into_iter()
        .partition(|value| catalog.by_name(value).is_some());
    let mut warnings = Vec::new();
    if !unknown.is_empty() {
        warnings.push(format!(
            "role values that name no role of the catalog grant nothing: {}",
            unknown.join(", ")
        ));
    }
    if !unassignable.is_empty() {
        warnings.push(format!(
            "role values that name roles given only by mappings (not assignable) grant nothing: {}",
            unassignable.join(", ")
        ));
    }
    if let Some(template) = ignored.unknown_role_template {
        warnings.push(format!(
            "roleTemplate '{template}' names no role template of the catalog: it grants nothing"
        ));
    }
    (!warnings.is_empty()).then(|| warnings.join("; "))
}

/// Whether the document names roles by hand: SCIM `roles` values or a role template.
pub(super) fn names_roles(doc: &Map<String, Value>) -> bool {
    !scim_role_values(doc).is_empty() || role_template_of(doc).is_some()
}

/// Creates a user from a SCIM document: takes a seat, inserts, audits; all or nothing.
pub async fn create_user(ctx: &WriteContext<'_>, body: &Value) -> Result<User, TenantError> {
    let requested = body.get("userName").and_then(Value::as_str);
    ctx.audited_create("user.create", requested, async {
        let (user, tolerances) = new_user_record(ctx.schemas, ctx.caller, body, ctx.now)?;
        // Rendered before the write begins: the database's one writer waits for nothing else.
        let mut records = new_user_records(ctx, &user, &tolerances);
        let tenant_id = &ctx.caller.tenant.id;
        let mut tx = ctx.begin_refusing_first().await?;
        records.audit.reason = unknown_roles_warning(&mut tx, tenant_id, &user.doc).await?;
        let seat = tx.seat_in_advance(tenant_id).await?;
        if let Some(SeatReservation::Refused { limit }) = seat {
            // A taken userName is told first, as when the insert meets it.
            if tx
                .user_by_name_for_update(tenant_id, &user.user_name)
                .await?
                .is_some()
            {
                return Err(TenantError::UserNameTaken(user.user_name.clone()));
            }
            return Err(TenantError::SeatLimitReached { limit });
        }
        insert_new_user(&mut tx, ctx, &user, records, seat).await?;
        tx.commit().await?;
        Ok(user)
    })
    .await
}

/// Takes a seat for a new user (the one `seat_decided` in advance, if any: `Tx::seat_in_advance`)
/// and inserts it with its records (`new_user_records`), in `tx`.
/// Every way a user is created (SCIM, Bulk, just-in-time sign-in, one row of an import) comes
/// through here; an import's batch writes the same records many at a time.
pub(super) async fn insert_new_user(
    tx: &mut Tx,
    ctx: &WriteContext<'_>,
    user: &User,
    mut records: NewUserRecords,
    seat_decided: Option<SeatReservation>,
) -> Result<(), TenantError> {
    tx.insert_new_users(&records.rows)
        .await
        .map_err(|e| map_conflict(e, &user.user_name))?;
    tx.insert_audit(&records.audit).await?;
    if let Some(invitation) = &records.invitation {
        tx.insert_invitations(std::slice::from_ref(invitation))
            .await?;
    }
    // The seat last: on PostgreSQL taking it locks the tenant's row until the commit, and every
    // other create of the tenant waits for that lock, so it is held for one statement and the
    // commit rather than for the whole create.
    let tenant_id = &ctx.caller.tenant.id;
    let seat = match seat_decided {
        Some(decided) => {
            tx.take_decided_seat(tenant_id, user.status, decided)
                .await?
        }
        None => tx.reserve_seat(tenant_id, user.status).await?,
    };
    match seat {
        SeatReservation::Refused { limit } => return Err(TenantError::SeatLimitReached { limit }),
        SeatReservation::Taken { filled_limit } => {
            if let Some(limit) = filled_limit {
                records.seat_filled(ctx, limit);
            }
        }
    }
    tx.insert_event_rows(&records.events).await?;
    Ok(())
}

/// What creating a user writes: its rows (with its queryable forms: the index rows and folded
/// document), the `user.create` audit event, the events it tells (`user.created`;
/// `tenant.seat_limit_reached` when it took the last seat; an invited user's
/// `invitation.issued`), and the invitation (the hash of its secret, and its record). The rows
/// and events are bound for the database ahead of the write.
pub(super) struct NewUserRecords {
    pub rows: NewUserRows,
    pub audit: AuditRecord,
    pub events: EventRows,
    pub invitation: Option<(String, InvitationRecord)>,
}

impl NewUserRecords {
    /// Tells `tenant.seat_limit_reached` (right after `user.created`): the user's seat was the
    /// last one of `limit`.
    pub(super) fn seat_filled(&mut self, ctx: &WriteContext<'_>, limit: i64) {
        self.events.insert(
            1,
            &events::seat_limit_reached_event(ctx.caller, limit, ctx.now),
        );
    }
}

/// The records of creating `user`, made before its seat is taken (`seat_filled` adds what
/// taking the last seat tells); the audit event's `reason` is for the caller to fill.
pub(super) fn new_user_records(
    ctx: &WriteContext<'_>,
    user: &User,
    tolerances: &[Tolerance],
) -> NewUserRecords {
    let WriteContext {
        schemas,
        caller,
        now,
        ..
    } = *ctx;
    let mut audit = audit::event(caller, "user.create", now);
    audit.http_status = 201;
    audit.target_type = Some("User".into());
    audit.target_id = Some(user.id.to_string());
    audit.target_name = Some(user.user_name.clone());
    audit.changed_attributes = user.doc.keys().cloned().collect();
    audit.tolerances = tolerances.iter().map(|t| t.as_str().to_string()).collect();
    let mut events = vec![events::user_event(
        caller,
        schemas,
        UserEventType::Created,
        user,
        &audit.changed_attributes,
        now,
    )];
    let mut invitation = None;
    if user.status == UserStatus::Invited
        && let Some(policy) = ctx.invitations
    {
        let prepared = invitations::prepare(caller, policy, user, now);
        events.push(prepared.event);
        invitation = Some((prepared.lookup_key, prepared.record));
    }
    NewUserRecords {
        rows: NewUserRows::of(user, &index_of(schemas, &user.doc)),
        audit,
        events: EventRows::of(&events),
        invitation,
    }
}

/// A new user's record from a SCIM document, not yet stored; with the tolerances applied.
pub(super) fn new_user_record(
    schemas: ResourceSchemas<'_>,
    caller: &Caller,
    body: &Value,
    now: Micros,
) -> Result<(UserRecord, Vec<Tolerance>), TenantError> {
    let mut parsed = parse_resource(schemas, body)?;
    let active = take_active_and_check(&mut parsed)?;
    let doc = parsed.doc;
    let user = UserRecord {
        id: UserId::generate(),
        tenant_id: caller.tenant.id.clone(),
        user_name: user_name_of(&doc)?,
        external_id: string_at(&doc, "externalId"),
        display_name: string_at(&doc, "displayName"),
        user_type: string_at(&doc, "userType"),
        status: UserStatus::on_create(active),
        last_login_at: None,
        version: 1,
        created_at: now,
        modified_at: now,
        created_by_connection: caller.connection_id.clone(),
        modified_by_connection: caller.connection_id.clone(),
        admin_suspended_at: None,
        idp_active: active.unwrap_or(true),
        doc,
    };
    Ok((user, parsed.tolerances))
}

/// Replaces a user with a full SCIM document (PUT). Locked attributes must keep their values.
pub async fn replace_user(
    ctx: &WriteContext<'_>,
    id: &UserId,
    body: &Value,
    if_match: Option<&str>,
) -> Result<UpdatedUser, TenantError> {
    ctx.audited("user.replace", Some(id.as_str()), async {
        let mut parsed = parse_resource(ctx.schemas, body)?;
        let active = take_active_and_check(&mut parsed)?;
        let mut tx = ctx.begin_refusing_first().await?;
        let old = lock_user(&mut tx, ctx.caller, id, if_match).await?;
        let change = Change {
            doc: parsed.doc,
            active,
            tolerances: parsed.tolerances,
            kind: ChangeKind::Replace,
        };
        let user = write_change(&mut tx, ctx, old, change).await?;
        let groups = tx.groups_of_member(&user.id).await?;
        tx.commit().await?;
        Ok(UpdatedUser { user, groups })
    })
    .await
}

/// A user as an update left them, and the groups they belong to as of that update: read in its
/// transaction for the answer, where a read of its own would cost more (issue #21).
#[derive(Debug)]
pub struct UpdatedUser {
    pub user: User,
    pub groups: Vec<MembershipRow>,
}

/// Applies a PATCH request to a user: every operation or none (RFC 7644 §3.5.2).
pub async fn patch_user(
    ctx: &WriteContext<'_>,
    id: &UserId,
    body: &Value,
    if_match: Option<&str>,
    limits: FilterLimits,
) -> Result<UpdatedUser, TenantError> {
    ctx.audited("user.patch", Some(id.as_str()), async {
        let request = parse_patch_request(body, MAX_PATCH_OPERATIONS)?;
        let mut tx = ctx.begin_refusing_first().await?;
        let old = lock_user(&mut tx, ctx.caller, id, if_match).await?;
        // The engine sees `active` as the client does; the status column carries it in storage.
        let mut working = old.doc.clone();
        working.insert("active".into(), Value::Bool(old.status.scim_active()));
        let mut parsed = apply_patch(ctx.schemas, &working, old.id.as_str(), &request, limits)?;
        let active = take_active_and_check(&mut parsed)?;
        let change = Change {
            doc: parsed.doc,
            active,
            tolerances: parsed.tolerances,
            kind: ChangeKind::Patch,
        };
        let user = write_change(&mut tx, ctx, old, change).await?;
        let groups = tx.groups_of_member(&user.id).await?;
        tx.commit().await?;
        Ok(UpdatedUser { user, groups })
    })
    .await
}

/// Most operations one PATCH request may carry.
pub const MAX_PATCH_OPERATIONS: usize = 1000;

/// The user, locked for this transaction, if `If-Match` allows.
async fn lock_user(
    tx: &mut Tx,
    caller: &Caller,
    id: &UserId,
    if_match: Option<&str>,
) -> Result<User, TenantError> {
    let old = tx
        .user_for_update(&caller.tenant.id, id)
        .await?
        .ok_or_else(|| TenantError::NotFound(format!("User {id}")))?;
    check_version(old.version, if_match)?;
    Ok(old)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ChangeKind {
    Replace,
    Patch,
}

/// A new document for a user, from a PUT or a PATCH.
pub(super) struct Change {
    pub doc: Map<String, Value>,
    pub active: Option<bool>,
    pub tolerances: Vec<Tolerance>,
    pub kind: ChangeKind,
}

/// Checks the locked attributes (the policy as it stands in `tx`), moves the status, and writes
/// the new version with its audit event in `tx`; an unchanged user keeps its version (and
/// `meta.lastModified`).
pub(super) async fn write_change(
    tx: &mut Tx,
    ctx: &WriteContext<'_>,
    old: User,
    change: Change,
) -> Result<User, TenantError> {
    let WriteContext {
        schemas,
        caller,
        now,
        ..
    } = *ctx;
    let mut doc = change.doc;
    let omitted = match change.kind {
        // A PUT that leaves a locked attribute out keeps it; a PATCH that removes it changes it.
        ChangeKind::Replace => Omitted::Keep,
        ChangeKind::Patch => Omitted::IsChange,
    };
    let locked = tx.locked_attributes(&caller.tenant.id).await?;
    immutables::enforce(schemas, &locked, &old.doc, &mut doc, omitted)
        .map_err(|attribute| TenantError::Locked { attribute })?;
    let old_status = old.status;
    let (status, idp_active) = status::after_provider_update(&old, change.active);
    let mut changed = changed_attributes(&old.doc, &doc);
    let changed_role_values = changed.iter().any(|a| a == "roles");
    // What the user holds roles by: their values, their type and their template.
    let role_attributes: Vec<&str> = [
        ("roles", changed_role_values),
        (
            "userType",
            string_at(&old.doc, "userType").map(|t| fold(&t))
                != string_at(&doc, "userType").map(|t| fold(&t)),
        ),
        (
            "roleTemplate",
            role_template_of(&old.doc).map(fold) != role_template_of(&doc).map(fold),
        ),
    ]
    .into_iter()
    .filter_map(|(name, changed)| changed.then_some(name))
    .collect();
    let changed_roles = !role_attributes.is_empty();
    if status.scim_active() != old_status.scim_active() {
        changed.push("active".into());
    }
    if changed.is_empty() && status == old_status && idp_active == old.idp_active {
        return Ok(old);
    }
    // The provider asked to reactivate a user an admin suspended: kept suspended, and said so.
    let held = (old.admin_suspended_at.is_some() && change.active == Some(true)).then(|| {
        "suspended by an admin: the identity provider's active:true is kept until an admin reactivates the user".to_string()
    });
    let user_name = user_name_of(&doc)?;
    let external_id = string_at(&doc, "externalId");
    let display_name = string_at(&doc, "displayName");
    let indexed = IndexedChanges {
        user_name: fold(&user_name) != fold(&old.user_name),
        external_id: external_id != old.external_id,
        display_name: display_name.as_deref().map(fold) != old.display_name.as_deref().map(fold),
        user_type: role_attributes.contains(&"userType"),
        role_template: role_attributes.contains(&"roleTemplate"),
    };
    let user = UserRecord {
        user_name: user_name.clone(),
        external_id,
        display_name,
        user_type: string_at(&doc, "userType"),
        status,
        idp_active,
        version: old.version + 1,
        modified_at: now,
        modified_by_connection: caller.connection_id.clone(),
        doc,
        ..old
    };
    let side_tables = SideTableChanges {
        emails: changed.iter().any(|a| a == "emails"),
        role_values: changed_role_values,
    };
    let roles_before = if changed_roles {
        role_changes::role_names(tx, &caller.tenant.id, std::slice::from_ref(&user.id), None)
            .await?
            .remove(&user.id)
    } else {
        None
    };
    tx.update_user(&user, &index_of(schemas, &user.doc), indexed, side_tables)
        .await
        .map_err(|e| map_conflict(e, &user_name))?;
    tx.move_status(&caller.tenant.id, old_status, status)
        .await?;
    let (action, event_type) = match (old_status.scim_active(), status.scim_active(), change.kind) {
        (true, false, _) => ("user.suspend", UserEventType::Suspended),
        (false, true, _) => ("user.reactivate", UserEventType::Reactivated),
        (_, _, ChangeKind::Replace) => ("user.replace", UserEventType::Updated),
        (_, _, ChangeKind::Patch) => ("user.patch", UserEventType::Updated),
    };
    let mut event = audit::event(caller, action, now);
    event.target_type = Some("User".into());
    event.target_id = Some(user.id.to_string());
    event.target_name = Some(user.user_name.clone());
    event.changed_attributes = changed;
    event.tolerances = change
        .tolerances
        .iter()
        .map(|t| t.as_str().to_string())
        .collect();
    event.reason = held;
    if changed_roles
        && let Some(warning) = unknown_roles_warning(tx, &caller.tenant.id, &user.doc).await?
    {
        event.reason = Some(match event.reason {
            Some(held) => format!("{held}; {warning}"),
            None => warning,
        });
    }
    tx.insert_audit(&event).await?;
    let told = events::user_event(
        caller,
        schemas,
        event_type,
        &user,
        &event.changed_attributes,
        now,
    );
    tx.insert_event(&told).await?;
    if let Some(before) = roles_before {
        let told = role_changes::user_change(
            tx,
            caller,
            &user.id,
            Some(user.version),
            &before,
            &format!("{} attribute", role_attributes.join(" and ")),
            now,
        )
        .await?;
        if let Some(told) = told {
            role_changes::tell(tx, caller, told).await?;
        }
    }
    Ok(user)
}

/// Soft-deletes a user: a tombstone stays for history; the seat and the userName are freed.
pub async fn delete_user(
    ctx: &WriteContext<'_>,
    id: &UserId,
    if_match: Option<&str>,
) -> Result<(), TenantError> {
    ctx.audited("user.delete", Some(id.as_str()), async {
        let mut tx = ctx.begin_refusing_first().await?;
        let old = lock_user(&mut tx, ctx.caller, id, if_match).await?;
        tx.tombstone_user(
            &ctx.caller.tenant.id,
            id,
            ctx.now,
            ctx.caller.connection_id.as_ref(),
        )
        .await?;
        tx.remove_from_all_groups(id, ctx.now).await?;
        tx.release_seat(&ctx.caller.tenant.id, old.status).await?;
        let mut event = audit::event(ctx.caller, "user.delete", ctx.now);
        event.http_status = 204;
        event.target_type = Some("User".into());
        event.target_id = Some(old.id.to_string());
        event.target_name = Some(old.user_name.clone());
        tx.insert_audit(&event).await?;
        tx.insert_event(&events::user_deleted_event(ctx.caller, &old, ctx.now))
            .await?;
        tx.commit().await?;
        Ok(())
    })
    .await
}

pub async fn get_user(store: &Store, caller: &Caller, id: &UserId) -> Result<User, TenantError> {
    store
        .user_by_id(&caller.tenant.id, id)
        .await?
        .ok_or_else(|| TenantError::NotFound(format!("User {id}")))
}

/// A user and the groups they belong to, read together.
pub async fn get_user_with_groups(
    store: &Store,
    caller: &Caller,
    id: &UserId,
) -> Result<(User, Vec<MembershipRow>), TenantError> {
    store
        .user_with_groups(&caller.tenant.id, id)
        .await?
        .ok_or_else(|| TenantError::NotFound(format!("User {id}")))
}

/// The tenant's users matching a list request, evaluated in SQL: a page by index or by cursor;
/// with the groups of those users when `with_groups`.
pub async fn list_users(
    store: &Store,
    schemas: ResourceSchemas<'_>,
    caller: &Caller,
    request: &ListRequest,
    limits: ListLimits,
    with_groups: bool,
    now: Micros,
) -> Result<(Listing<User>, Vec<MembershipRow>), TenantError> {
    let query = list_query(schemas, &caller.tenant.id, request, limits, now)?;
    run_user_list(store, schemas, &caller.tenant.id, &query, with_groups, now).await
}

/// How the database runs the statements of `list_users` for this request, one line per step
/// (`scim-gateway explain`, and the tests that pin each indexed lookup's plan).
pub async fn explain_list_users(
    store: &Store,
    schemas: ResourceSchemas<'_>,
    tenant_id: &TenantId,
    request: &ListRequest,
    limits: ListLimits,
    now: Micros,
) -> Result<Vec<String>, TenantError> {
    let query = list_query(schemas, tenant_id, request, limits, now)?;
    let plan = store.plan_list(FilterSubject::Users, schemas, &query)?;
    Ok(store.explain_list_users(tenant_id, &plan, true).await?)
}

/// Runs a users list read into `query`.
pub(super) async fn run_user_list(
    store: &Store,
    schemas: ResourceSchemas<'_>,
    tenant_id: &TenantId,
    query: &ListQuery,
    with_groups: bool,
    now: Micros,
) -> Result<(Listing<User>, Vec<MembershipRow>), TenantError> {
    let plan = store.plan_list(FilterSubject::Users, schemas, query)?;
    // Without a filter every user that holds a seat matches: the seat counter is the count.
    let count_is_seats = query.filter.is_none() && query.narrowing.is_empty();
    let found = store
        .list_users(tenant_id, &plan, count_is_seats, with_groups)
        .await?;
    Ok((
        Listing::of_page(
            &query.paging,
            found.total,
            found.users,
            |u| u.id.as_str(),
            now,
        ),
        found.groups,
    ))
}

/// What a user's answer shows beyond its own row: its groups (when the answer shows them) and its
/// effective roles (when asked for).
#[derive(Debug, Clone, Default)]
pub struct UserExtras<'a> {
    pub groups: &'a [MembershipRow],
    pub effective: Option<&'a Effective>,
}

/// Renders a user as a SCIM resource: the stored document, `active`, `groups`, and the tenant
/// extension's read-only `status`, `lastLogin` and effective roles, with `schemas`, `id` and `meta`.
pub fn to_scim(
    schemas: ResourceSchemas<'_>,
    user: User,
    extras: &UserExtras<'_>,
    base_url: &str,
) -> Value {
    let mut doc = user.doc;
    let memberships: Vec<Value> = extras
        .groups
        .iter()
        .filter(|m| m.member_id == user.id)
        .map(|m| {
            serde_json::json!({
                "value": m.group_id,
                "$ref": format!("{base_url}/Groups/{}", m.group_id),
                "display": m.group_display_name,
                "type": "direct",
            })
        })
        .collect();
    if !memberships.is_empty() {
        doc.insert("groups".into(), Value::Array(memberships));
    }
    let status = user.status;
    doc.insert("active".into(), Value::Bool(status.scim_active()));
    let ext = doc
        .entry(TENANT_USER_URN.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if let Some(ext) = ext.as_object_mut() {
        ext.insert("status".into(), Value::String(status.as_str().into()));
        if let Some(at) = user.last_login_at {
            ext.insert(
                "lastLogin".into(),
                Value::String(crate::scim::resource::format_datetime(datetime_of(at))),
            );
        }
        if let Some(effective) = extras.effective {
            ext.insert(
                "effectiveRoles".into(),
                Value::from(effective.roles.clone()),
            );
            ext.insert(
                "effectivePermissions".into(),
                Value::from(effective.permissions.clone()),
            );
        }
    }
    let meta = Meta {
        resource_type: schemas.resource_type.name.clone(),
        created: datetime_of(user.created_at),
        last_modified: datetime_of(user.modified_at),
        location: format!("{base_url}/Users/{}", user.id),
        version: user.version,
    };
    render(schemas, user.id.as_str(), doc, &meta)
}
