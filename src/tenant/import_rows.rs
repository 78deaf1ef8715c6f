//! Writing one transaction's rows of an import. A row for a user that exists, or that names
//! groups, is written alone inside a savepoint (the replace path of SCIM, then the group
//! joins); the new users of the batch are created together, a few statements for all of them,
//! through the same records a single create writes. Seats are taken in file order, and the rows
//! beyond the seat limit are refused. Should the batch's creates collide with a concurrent
//! write (PostgreSQL: another process created one of the userNames a moment ago), they are
//! written again one by one, so each row gets its own outcome.
//!
//! What a new user is written as (its record, index rows, audit and outbox events, invitation)
//! depends on nothing the transaction reads, so `prepare_batch` makes it ready beforehand, on
//! another thread while the batch before is written (`import::import_users`).

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::audit::{self, WriteContext};
use super::document::changed_attributes;
use super::groups::add_member_by_group_name;
use super::import::{FileCheck, ReportRow, RowOutcome, name_hash};
use super::import_csv::CsvRow;
use super::invitations::InvitationPolicy;
use super::roles::Catalog;
use super::users::{
    Change, ChangeKind, NewUserRecords, User, insert_new_user, map_conflict, names_roles,
    new_user_record, new_user_records, take_active_and_check, unknown_roles_in,
    unknown_roles_warning, write_change,
};
use super::{Caller, TenantError};
use crate::scim::resource::parse_resource;
use crate::scim::schema::ResourceSchemas;
use crate::scim::{ScimError, TENANT_USER_URN};
use crate::store::{AuditRecord, EventRows, Micros, NewUserRows, Store, Tx, UserId, fold};

/// Writes `rows` in `tx`, in file order; what became of each. `seen` holds the userNames of
/// earlier rows: a name seen before is refused.
pub(super) async fn import_batch(
    tx: &mut Tx,
    ctx: &RowContext<'_>,
    batch: PreparedBatch,
    seen: &mut SeenNames,
) -> Result<Vec<ReportRow>, TenantError> {
    let PreparedBatch {
        rows,
        mut new_users,
    } = batch;
    let rows = rows.as_slice();
    let tenant_id = &ctx.caller.tenant.id;
    // The batch takes the tenant's seat turn before anything else: it may take many seats, and a
    // transaction holding a connection's seat quota must never wait for the turn (a create
    // topping quotas up holds the turn and waits for the quotas' rows: see `Tx::reserve_seat`).
    tx.seats_for_update(tenant_id).await?;
    let names: Vec<&str> = rows.iter().filter_map(CsvRow::user_name).collect();
    let mut existing: HashMap<String, User> = tx
        .users_by_names_for_update(tenant_id, &names)
        .await?
        .into_iter()
        .map(|u| (fold(&u.user_name), u))
        .collect();
    let mut catalog: Option<Catalog> = None;
    let mut refused = Refused::default();
    let mut outcomes: Vec<Option<ReportRow>> = rows.iter().map(|_| None).collect();
    let mut fresh = Vec::new();
    for (index, row) in rows.iter().enumerate() {
        let caller = ctx.caller_for(row);
        let user_name = row.user_name().unwrap_or_default();
        let outcome = if user_name.is_empty() {
            let err = TenantError::InvalidArgument("userName is empty".into());
            refused.row(&caller, row, err, ctx.now)
        } else if let Some(first) = seen.first_line_of(user_name, row.line) {
            let err = TenantError::InvalidArgument(format!(
                "userName '{user_name}' is already on line {first} of this file"
            ));
            refused.row(&caller, row, err, ctx.now)
        } else if let Some(stored) = existing.get(&fold(user_name))
            && row.groups().is_empty()
            && changes_nothing(ctx.schemas, stored, row)
        {
            // A re-run's row: nothing to write, nothing to audit.
            ReportRow {
                line: row.line,
                user_name: user_name.to_string(),
                outcome: RowOutcome::Unchanged,
                reason: None,
            }
        } else if let Some(stored) = existing.remove(&fold(user_name)) {
            import_row(tx, ctx, row, Stored::Found(Box::new(stored))).await?
        } else if !row.groups().is_empty() {
            import_row(tx, ctx, row, Stored::Absent).await?
        } else {
            let prepared = new_users.get_mut(index).and_then(Option::take);
            match prepared.unwrap_or_else(|| NewUser::of(&ctx.write(&caller), row)) {
                Ok(mut new_user) => {
                    if names_roles(&new_user.user.doc) {
                        let catalog = match &mut catalog {
                            Some(catalog) => catalog,
                            empty => empty.insert(Catalog::load_in(tx, tenant_id).await?),
                        };
                        new_user.records.audit.reason =
                            unknown_roles_in(catalog, &new_user.user.doc);
                    }
                    fresh.push(Fresh {
                        index,
                        caller,
                        new_user,
                    });
                    continue;
                }
                Err(err) if err.is_rejection() => refused.row(&caller, row, err, ctx.now),
                Err(err) => return Err(err),
            }
        };
        if let Some(slot) = outcomes.get_mut(index) {
            *slot = Some(outcome);
        }
    }
    for (index, outcome) in create_fresh(tx, ctx, rows, fresh, &mut refused).await? {
        if let Some(slot) = outcomes.get_mut(index) {
            *slot = Some(outcome);
        }
    }
    tx.insert_audits(&refused.audits).await?;
    Ok(outcomes.into_iter().flatten().collect())
}

/// Whether the row, laid over the stored user, leaves every attribute as it is. Only a quick
/// answer for re-runs: a row it is not sure of goes the single-row way, which decides for
/// certain (locked attributes, statuses).
fn changes_nothing(schemas: ResourceSchemas<'_>, stored: &User, row: &CsvRow) -> bool {
    replacement(schemas, stored, row)
        .is_ok_and(|change| changed_attributes(&stored.doc, &change.doc).is_empty())
}

/// What a row makes of a stored user: its cells laid over the user's document, read as a PUT.
fn replacement(
    schemas: ResourceSchemas<'_>,
    stored: &User,
    row: &CsvRow,
) -> Result<Change, TenantError> {
    let merged = merged_document(&stored.doc, scim_body(row)?);
    let mut parsed = parse_resource(schemas, &Value::Object(merged))?;
    let active = take_active_and_check(&mut parsed)?;
    Ok(Change {
        doc: parsed.doc,
        active,
        tolerances: parsed.tolerances,
        kind: ChangeKind::Replace,
    })
}

/// The SCIM document a row stands for, or why a cell cannot be used.
fn scim_body(row: &CsvRow) -> Result<Value, TenantError> {
    row.to_scim()
        .map_err(|reason| TenantError::Scim(ScimError::invalid_value(reason)))
}

/// What the single-row path knows of the row's user before it starts.
enum Stored {
    /// Read (and locked) by the batch.
    Found(Box<User>),
    /// The batch found no user of that name.
    Absent,
    /// Not known: read it.
    LookUp,
}

/// Rows of the file and, beside each, what the row's new user would be written as: made ready
/// in case the batch finds no user of that name (none for a row without a userName or one
/// that names groups: those go the single-row way).
pub(super) struct PreparedBatch {
    pub rows: Vec<CsvRow>,
    new_users: Vec<Option<Result<NewUser, TenantError>>>,
}

impl PreparedBatch {
    pub(super) fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// `rows` with nothing made ready: the batch makes each new user as it writes it.
    pub(super) fn unprepared(rows: Vec<CsvRow>) -> Self {
        let new_users = rows.iter().map(|_| None).collect();
        PreparedBatch { rows, new_users }
    }
}

/// Makes the new users of `rows` ready to be written, as `caller` (the import's) at `now`.
/// Reads nothing from the store: it runs beside the writing of the batch before.
pub(super) fn prepare_batch(
    store: &Store,
    schemas: ResourceSchemas<'_>,
    caller: &Caller,
    invitations: &InvitationPolicy,
    now: Micros,
    rows: Vec<CsvRow>,
) -> PreparedBatch {
    let new_users = rows
        .iter()
        .map(|row| {
            if row.user_name().is_none_or(str::is_empty) || !row.groups().is_empty() {
                return None;
            }
            let caller = caller_for(caller, row);
            let write = WriteContext {
                store,
                schemas,
                caller: &caller,
                now,
                invitations: Some(invitations),
            };
            Some(NewUser::of(&write, row))
        })
        .collect();
    PreparedBatch { rows, new_users }
}

/// A row's new user as it will be written, not yet stored.
struct NewUser {
    user: User,
    /// Its index rows, its audit event (whose `reason` the batch fills with a warning about
    /// unknown roles), its events and invitation.
    records: NewUserRecords,
}

impl NewUser {
    fn of(ctx: &WriteContext<'_>, row: &CsvRow) -> Result<Self, TenantError> {
        let (user, tolerances) =
            new_user_record(ctx.schemas, ctx.caller, &scim_body(row)?, ctx.now)?;
        let records = new_user_records(ctx, &user, &tolerances);
        Ok(NewUser { user, records })
    }
}

/// A new user of the batch, waiting for its seat.
struct Fresh {
    /// Where its row is in the batch.
    index: usize,
    caller: Caller,
    new_user: NewUser,
}

/// Creates the batch's new users, as many as there are seats, in a few statements; the rest
/// are refused. Returns the outcome of each by its place in the batch.
async fn create_fresh(
    tx: &mut Tx,
    ctx: &RowContext<'_>,
    rows: &[CsvRow],
    fresh: Vec<Fresh>,
    refused: &mut Refused,
) -> Result<Vec<(usize, ReportRow)>, TenantError> {
    if fresh.is_empty() {
        return Ok(Vec::new());
    }
    let (used, limit) = tx.seats_for_update(&ctx.caller.tenant.id).await?;
    let room = limit.map_or(usize::MAX, |limit| {
        usize::try_from(limit.saturating_sub(used)).unwrap_or(0)
    });
    let mut outcomes = Vec::with_capacity(fresh.len());
    let mut fitting = fresh;
    let over = fitting.split_off(room.min(fitting.len()));
    for late in over {
        let Some(row) = rows.get(late.index) else {
            continue;
        };
        let err = TenantError::SeatLimitReached {
            limit: limit.unwrap_or(0),
        };
        outcomes.push((late.index, refused.row(&late.caller, row, err, ctx.now)));
    }
    if fitting.is_empty() {
        return Ok(outcomes);
    }
    let written: Vec<(usize, String)> = fitting
        .iter()
        .map(|f| (f.index, f.new_user.user.user_name.clone()))
        .collect();
    tx.savepoint().await?;
    match write_fresh(tx, ctx, fitting, used, limit).await {
        Ok(()) => {
            tx.release_savepoint().await?;
            for (index, user_name) in written {
                outcomes.push((
                    index,
                    ReportRow {
                        line: rows.get(index).map_or(0, |r| r.line),
                        user_name,
                        outcome: RowOutcome::Created,
                        reason: None,
                    },
                ));
            }
        }
        Err(err) if err.is_rejection() => {
            // Another writer took one of the names meanwhile: each row again, on its own.
            tx.rollback_to_savepoint().await?;
            for (index, _) in written {
                if let Some(row) = rows.get(index) {
                    let stored = Stored::LookUp;
                    outcomes.push((index, import_row(tx, ctx, row, stored).await?));
                }
            }
        }
        Err(err) => return Err(err),
    }
    Ok(outcomes)
}

/// Inserts the users, their audit events, their events and invitations, many to a statement.
/// `used` seats were taken before them, of `limit`.
async fn write_fresh(
    tx: &mut Tx,
    ctx: &RowContext<'_>,
    fresh: Vec<Fresh>,
    used: i64,
    limit: Option<i64>,
) -> Result<(), TenantError> {
    let mut users = NewUserRows::default();
    let mut audits = Vec::with_capacity(fresh.len());
    let mut events = EventRows::default();
    let mut invitations = Vec::with_capacity(fresh.len());
    for (taken, f) in (used + 1..).zip(fresh) {
        let Fresh {
            caller, new_user, ..
        } = f;
        let mut records = new_user.records;
        if let Some(limit) = limit.filter(|limit| *limit == taken) {
            records.seat_filled(&ctx.write(&caller), limit);
        }
        users.append(records.rows);
        audits.push(records.audit);
        events.append(records.events);
        invitations.extend(records.invitation);
    }
    tx.insert_users_batch(&users)
        .await
        .map_err(|e| map_conflict(e, "one of the batch's userNames"))?;
    tx.insert_audits(&audits).await?;
    tx.insert_event_rows(&events).await?;
    tx.insert_invitations(&invitations).await?;
    Ok(())
}

/// What a batch's rows are written with.
pub(super) struct RowContext<'a> {
    pub store: &'a Store,
    pub schemas: ResourceSchemas<'a>,
    /// The import's caller: the tenant and the import's connection.
    pub caller: &'a Caller,
    pub now: Micros,
    pub invitations: &'a InvitationPolicy,
}

impl RowContext<'_> {
    /// The caller a row is written as: the import's, naming the row's line.
    fn caller_for(&self, row: &CsvRow) -> Caller {
        caller_for(self.caller, row)
    }

    /// What a write of a row runs with, as `caller`.
    fn write<'a>(&'a self, caller: &'a Caller) -> WriteContext<'a> {
        WriteContext {
            store: self.store,
            schemas: self.schemas,
            caller,
            now: self.now,
            invitations: Some(self.invitations),
        }
    }
}

/// The caller a row is written as: the import's, naming the row's line.
fn caller_for(import: &Caller, row: &CsvRow) -> Caller {
    let mut caller = import.clone();
    caller.request_summary = Some(format!("CSV import, line {}", row.line));
    caller
}

/// The userNames more than one row of the file may name (found by `check_file`), and the line
/// that named each first. Only those names are kept, so memory does not grow with the file.
pub(super) struct SeenNames {
    repeated: HashSet<u64>,
    lines: HashMap<String, u64>,
}

impl SeenNames {
    pub(super) fn new(check: FileCheck) -> Self {
        Self {
            repeated: check.repeated,
            lines: HashMap::new(),
        }
    }

    /// The line that named `user_name` (in any case) before `line`, or none (and `line` now
    /// names it).
    fn first_line_of(&mut self, user_name: &str, line: u64) -> Option<u64> {
        if !self.repeated.contains(&name_hash(user_name)) {
            return None;
        }
        let first = *self.lines.entry(fold(user_name)).or_insert(line);
        (first != line).then_some(first)
    }
}

/// Writes one row inside a savepoint of `tx`: created, updated or unchanged, or rejected with
/// its reason (and the rejection audited) while the transaction goes on.
async fn import_row(
    tx: &mut Tx,
    ctx: &RowContext<'_>,
    row: &CsvRow,
    stored: Stored,
) -> Result<ReportRow, TenantError> {
    let user_name = row.user_name().unwrap_or_default().to_string();
    let caller = ctx.caller_for(row);
    let write = ctx.write(&caller);
    tx.savepoint().await?;
    let written = write_row(tx, &write, row, stored).await;
    match &written {
        Ok(_) => tx.release_savepoint().await?,
        Err(err) if err.is_rejection() => tx.rollback_to_savepoint().await?,
        Err(_) => {}
    }
    match written {
        Ok(outcome) => Ok(ReportRow {
            line: row.line,
            user_name,
            outcome,
            reason: None,
        }),
        Err(err) if err.is_rejection() => {
            let mut refused = Refused::default();
            let report = refused.row(&caller, row, err, ctx.now);
            tx.insert_audits(&refused.audits).await?;
            Ok(report)
        }
        Err(err) => Err(err),
    }
}

/// Rejections of a batch, their audit events written together.
#[derive(Default)]
struct Refused {
    audits: Vec<AuditRecord>,
}

impl Refused {
    /// The report row of `row` refused with `err`, its audit event kept to be written.
    fn row(&mut self, caller: &Caller, row: &CsvRow, err: TenantError, now: Micros) -> ReportRow {
        let user_name = row.user_name().unwrap_or_default().to_string();
        self.audits.push(audit::rejection_event(
            caller,
            "user.import",
            None,
            Some(&user_name),
            now,
            &err,
        ));
        ReportRow {
            line: row.line,
            user_name,
            outcome: RowOutcome::Rejected,
            reason: Some(reason_of(err)),
        }
    }
}

/// A rejection as the report gives it: what was wrong, without the SCIM status and type.
fn reason_of(err: TenantError) -> String {
    match err {
        TenantError::Scim(scim) => scim.detail,
        other => other.to_string(),
    }
}

/// Creates or updates the row's user and adds it to the row's groups, in `tx`.
async fn write_row(
    tx: &mut Tx,
    ctx: &WriteContext<'_>,
    row: &CsvRow,
    stored: Stored,
) -> Result<RowOutcome, TenantError> {
    let tenant_id = &ctx.caller.tenant.id;
    let stored = match stored {
        Stored::Found(user) => Some(*user),
        Stored::Absent => None,
        Stored::LookUp => {
            let user_name = row.user_name().unwrap_or_default();
            tx.user_by_name_for_update(tenant_id, user_name).await?
        }
    };
    let (user_id, mut outcome): (UserId, RowOutcome) = match stored {
        None => {
            let (user, tolerances) =
                new_user_record(ctx.schemas, ctx.caller, &scim_body(row)?, ctx.now)?;
            let mut records = new_user_records(ctx, &user, &tolerances);
            records.audit.reason = unknown_roles_warning(tx, tenant_id, &user.doc).await?;
            insert_new_user(tx, ctx, &user, records, None).await?;
            (user.id, RowOutcome::Created)
        }
        Some(old) => {
            let change = replacement(ctx.schemas, &old, row)?;
            let version = old.version;
            let user = write_change(tx, ctx, old, change).await?;
            let outcome = if user.version == version {
                RowOutcome::Unchanged
            } else {
                RowOutcome::Updated
            };
            (user.id, outcome)
        }
    };
    for group in row.groups() {
        let joined = add_member_by_group_name(tx, ctx, &group, &user_id).await?;
        if joined && outcome == RowOutcome::Unchanged {
            outcome = RowOutcome::Updated;
        }
    }
    Ok(outcome)
}

/// A stored user's document with what a row gives laid over it: the row's columns replace those
/// attributes (`name` and the tenant extension attribute by attribute), everything else stays.
/// The stored userName stays as written (the row matched it ignoring case). An email or phone
/// number the user already has leaves the list as it is, so a user an IdP gave several keeps
/// them.
fn merged_document(stored: &Map<String, Value>, row: Value) -> Map<String, Value> {
    let mut doc = stored.clone();
    let Value::Object(row) = row else {
        return doc;
    };
    for (key, value) in row {
        match key.as_str() {
            "schemas" | "userName" => {}
            "name" | TENANT_USER_URN => {
                let slot = doc.entry(key).or_insert_with(|| Value::Object(Map::new()));
                if let (Some(into), Value::Object(from)) = (slot.as_object_mut(), value) {
                    into.extend(from);
                }
            }
            "emails" | "phoneNumbers" => {
                if !lists_value(doc.get(&key), &value) {
                    doc.insert(key, value);
                }
            }
            _ => {
                doc.insert(key, value);
            }
        }
    }
    doc
}

/// Whether a stored multi-valued attribute already holds the (single) value a row gives,
/// ignoring case.
fn lists_value(stored: Option<&Value>, given: &Value) -> bool {
    let value_of = |entry: &Value| entry.get("value").and_then(Value::as_str).map(fold);
    let Some(wanted) = given.as_array().and_then(|a| a.first()).and_then(value_of) else {
        return false;
    };
    stored
        .and_then(Value::as_array)
        .is_some_and(|entries| entries.iter().filter_map(value_of).any(|v| v == wanted))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use serde_json::json;

    use super::*;

    #[test]
    fn a_row_lays_its_columns_over_the_stored_user() {
        let stored = json!({
            "userName": "Ada@Example.com",
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "emails": [{"value": "ada@example.com", "type": "work"}, {"value": "ada@home.example"}],
            "title": "Countess",
            TENANT_USER_URN: {"maxChats": 3, "skills": ["math"]},
        });
        let row = json!({
            "schemas": ["x"],
            "userName": "ada@example.com",
            "name": {"familyName": "King"},
            "emails": [{"value": "ADA@example.com", "type": "work", "primary": true}],
            TENANT_USER_URN: {"maxChats": 5},
        });
        let merged = merged_document(stored.as_object().unwrap(), row);
        assert_eq!(merged["userName"], "Ada@Example.com");
        assert_eq!(
            merged["name"],
            json!({"givenName": "Ada", "familyName": "King"})
        );
        assert_eq!(
            merged["emails"], stored["emails"],
            "the address is already there"
        );
        assert_eq!(merged["title"], "Countess");
        assert_eq!(
            merged[TENANT_USER_URN],
            json!({"maxChats": 5, "skills": ["math"]})
        );
        assert!(!merged.contains_key("schemas"));
    }

    #[test]
    fn a_new_address_replaces_the_list() {
        let stored = json!({"emails": [{"value": "old@example.com"}]});
        let row = json!({"emails": [{"value": "new@example.com", "type": "work"}]});
        let merged = merged_document(stored.as_object().unwrap(), row.clone());
        assert_eq!(merged["emails"], row["emails"]);
    }

    #[test]
    fn a_name_seen_before_in_any_case_names_its_first_line() {
        let file = "userName\nAda@example.com\nbob@example.com\ncy@example.com\nADA@EXAMPLE.COM\n";
        let check = crate::tenant::import::check_file(file.as_bytes()).unwrap();
        assert_eq!(check.rows, 4);
        let mut seen = SeenNames::new(check);
        assert_eq!(seen.first_line_of("Ada@example.com", 2), None);
        assert_eq!(seen.first_line_of("bob@example.com", 3), None);
        assert_eq!(seen.first_line_of("ADA@EXAMPLE.COM", 5), Some(2));
        assert_eq!(seen.lines.len(), 1, "only the repeated name is kept");
    }
}
