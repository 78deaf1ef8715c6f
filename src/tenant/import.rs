//! Importing users from an onboarding CSV (SPEC §6): every row goes through the rules a SCIM
//! write meets (uniqueness, locked attributes, tenant-extension ranges, seat limit, statuses,
//! audit and outbox events), idempotent by userName. Rows are written a few hundred to a
//! transaction with a savepoint around each, so a bad row fails alone and the good ones land;
//! each row's outcome is reported once its transaction is durable.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Read;
use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value};

use super::audit::{self, WriteContext};
use super::groups::add_member_by_group_name;
use super::import_csv::{CsvRow, CsvRows, FileError};
use super::invitations::InvitationPolicy;
use super::tenants::tenant_in;
use super::users::{
    Change, ChangeKind, insert_new_user, new_user_record, take_active_and_check,
    unknown_roles_warning, write_change,
};
use super::{Caller, TenantError};
use crate::scim::ScimError;
use crate::scim::TENANT_USER_URN;
use crate::scim::resource::parse_resource;
use crate::scim::schema::ResourceSchemas;
use crate::store::{
    ConnectionId, ConnectionRecord, ImportCounts, ImportJobRow, Micros, Store, Tx, UserId, fold,
};

/// Rows written per transaction: large enough that a commit's cost is shared, small enough that
/// SCIM writes of other tenants wait at most a few tens of milliseconds for SQLite's writer.
pub const ROWS_PER_TRANSACTION: usize = 500;

/// The connection an import is recorded under when none is named.
pub const DEFAULT_IMPORT_CONNECTION: &str = "csv-import";

/// What became of one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RowOutcome {
    Created,
    Updated,
    Unchanged,
    Rejected,
}

impl RowOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            RowOutcome::Created => "created",
            RowOutcome::Updated => "updated",
            RowOutcome::Unchanged => "unchanged",
            RowOutcome::Rejected => "rejected",
        }
    }
}

/// One line of the per-row report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportRow {
    pub line: u64,
    #[serde(rename = "userName")]
    pub user_name: String,
    pub outcome: RowOutcome,
    pub reason: Option<String>,
}

/// How many rows ended which way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    pub rows: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub rejected: u64,
}

impl ImportSummary {
    fn count(&mut self, outcome: RowOutcome) {
        self.rows += 1;
        match outcome {
            RowOutcome::Created => self.created += 1,
            RowOutcome::Updated => self.updated += 1,
            RowOutcome::Unchanged => self.unchanged += 1,
            RowOutcome::Rejected => self.rejected += 1,
        }
    }
}

/// Why an import stopped before its end.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error(transparent)]
    Tenant(#[from] TenantError),
}

impl From<crate::store::StoreError> for ImportError {
    fn from(err: crate::store::StoreError) -> Self {
        ImportError::Tenant(TenantError::Store(err))
    }
}

/// What to import into, as whom.
#[derive(Debug, Clone)]
pub struct ImportRequest<'a> {
    pub tenant_slug: &'a str,
    /// The directory connection the import's writes are recorded under (created if missing).
    pub connection_name: &'a str,
    /// How audit events name who ran it (`cli`, or the admin API's actor).
    pub actor: &'static str,
    /// Report what would happen and write nothing.
    pub dry_run: bool,
    /// How the invitations of the users it creates are issued.
    pub invitations: InvitationPolicy,
    /// The admin API's job this import runs as: each batch's report rows and counts are
    /// recorded with it.
    pub job: Option<String>,
}

/// Reads the whole file once without writing: a file that is not UTF-8 or not CSV is refused
/// before any row lands. Returns its number of rows (for progress).
pub fn check_file(source: impl Read) -> Result<u64, FileError> {
    let mut rows = CsvRows::open(source)?;
    let mut count = 0;
    while rows.next_row()?.is_some() {
        count += 1;
    }
    Ok(count)
}

/// Imports the rows of `source` (checked with `check_file` first), calling `report` with each
/// row's outcome once it is durable (or, in a dry run, decided). A storage failure stops the
/// import: the rows reported so far are written, the rest are not.
pub async fn import_users(
    store: &Store,
    schemas: ResourceSchemas<'_>,
    request: &ImportRequest<'_>,
    source: impl Read,
    clock: impl Fn() -> Micros,
    mut report: impl FnMut(&ReportRow),
) -> Result<ImportSummary, ImportError> {
    let mut rows = CsvRows::open(source)?;
    let caller = import_caller(store, request, clock()).await?;
    let mut seen = SeenNames::default();
    let mut summary = ImportSummary::default();
    let mut batch: Vec<CsvRow> = Vec::with_capacity(ROWS_PER_TRANSACTION);
    loop {
        batch.clear();
        while batch.len() < ROWS_PER_TRANSACTION {
            match rows.next_row()? {
                Some(row) => batch.push(row),
                None => break,
            }
        }
        if batch.is_empty() {
            return Ok(summary);
        }
        let mut tx = store.begin().await?;
        if request.dry_run && summary.created > 0 {
            let held = i64::try_from(summary.created).unwrap_or(i64::MAX);
            tx.hold_invited_seats(&caller.tenant.id, held).await?;
        }
        let mut outcomes = Vec::with_capacity(batch.len());
        for row in &batch {
            let ctx = RowContext {
                store,
                schemas,
                caller: &caller,
                now: clock(),
                invitations: &request.invitations,
            };
            outcomes.push(import_row(&mut tx, &ctx, row, &mut seen).await?);
        }
        if request.dry_run {
            tx.rollback().await?;
        } else {
            tx.commit().await?;
        }
        if let Some(job) = &request.job {
            record_batch(store, job, &outcomes, clock()).await?;
        }
        for outcome in &outcomes {
            summary.count(outcome.outcome);
            report(outcome);
        }
    }
}

/// Adds a batch's outcomes to the report and counts of an admin API job, once the batch is
/// decided.
async fn record_batch(
    store: &Store,
    job: &str,
    outcomes: &[ReportRow],
    now: Micros,
) -> Result<(), TenantError> {
    let mut counts = ImportCounts::default();
    let rows: Vec<ImportJobRow> = outcomes
        .iter()
        .map(|row| {
            match row.outcome {
                RowOutcome::Created => counts.created += 1,
                RowOutcome::Updated => counts.updated += 1,
                RowOutcome::Unchanged => counts.unchanged += 1,
                RowOutcome::Rejected => counts.rejected += 1,
            }
            ImportJobRow {
                line: i64::try_from(row.line).unwrap_or(i64::MAX),
                user_name: storable(&row.user_name),
                outcome: row.outcome.as_str().to_string(),
                reason: row.reason.as_deref().map(storable),
            }
        })
        .collect();
    let mut tx = store.begin().await?;
    tx.record_import_batch(job, &rows, counts, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Text a file gave, as every engine can store it: a NUL (which PostgreSQL refuses) shown as
/// U+FFFD.
fn storable(text: &str) -> String {
    text.replace('\0', "\u{FFFD}")
}

/// The caller every row is written as: the tenant, and the import's connection.
async fn import_caller(
    store: &Store,
    request: &ImportRequest<'_>,
    now: Micros,
) -> Result<Caller, TenantError> {
    if request.connection_name.trim().is_empty() {
        return Err(TenantError::InvalidArgument(
            "the connection name cannot be empty".into(),
        ));
    }
    let mut tx = store.begin().await?;
    let tenant = tenant_in(&mut tx, request.tenant_slug).await?;
    let connection_id = match tx
        .connection_by_name(&tenant.id, request.connection_name)
        .await?
    {
        Some(connection) => Some(connection.id),
        None if request.dry_run => None,
        None => {
            let connection = ConnectionRecord {
                id: ConnectionId::generate(),
                tenant_id: tenant.id.clone(),
                name: request.connection_name.to_string(),
                kind: "csv".into(),
                created_at: now,
            };
            tx.insert_connection(&connection).await?;
            Some(connection.id)
        }
    };
    tx.commit().await?;
    Ok(Caller {
        tenant: Arc::new(tenant),
        connection_id,
        actor: request.actor,
        request_summary: None,
    })
}

/// What one row is written with.
struct RowContext<'a> {
    store: &'a Store,
    schemas: ResourceSchemas<'a>,
    caller: &'a Caller,
    now: Micros,
    invitations: &'a InvitationPolicy,
}

/// The userNames rows have named so far, each by a 64-bit hash of its folded form (8 bytes and
/// the line, however long the name: memory stays small for a file of a million rows), with the
/// line that named it first.
#[derive(Default)]
struct SeenNames {
    lines: HashMap<u64, u64>,
}

impl SeenNames {
    /// The line that named `user_name` (in any case) before `line`, or none (and `line` now
    /// names it).
    fn first_line_of(&mut self, user_name: &str, line: u64) -> Option<u64> {
        let mut hasher = DefaultHasher::new();
        fold(user_name).hash(&mut hasher);
        let first = *self.lines.entry(hasher.finish()).or_insert(line);
        (first != line).then_some(first)
    }
}

/// Writes one row inside a savepoint of `tx`: created, updated or unchanged, or rejected with
/// its reason (and the rejection audited) while the transaction goes on.
async fn import_row(
    tx: &mut Tx,
    ctx: &RowContext<'_>,
    row: &CsvRow,
    seen: &mut SeenNames,
) -> Result<ReportRow, TenantError> {
    let user_name = row.user_name().unwrap_or_default().to_string();
    let mut caller = ctx.caller.clone();
    caller.request_summary = Some(format!("CSV import, line {}", row.line));
    let write = WriteContext {
        store: ctx.store,
        schemas: ctx.schemas,
        caller: &caller,
        now: ctx.now,
        invitations: Some(ctx.invitations),
    };
    let written = match seen.first_line_of(&user_name, row.line) {
        _ if user_name.is_empty() => Err(TenantError::InvalidArgument("userName is empty".into())),
        Some(first) => Err(TenantError::InvalidArgument(format!(
            "userName '{user_name}' is already on line {first} of this file"
        ))),
        None => {
            tx.savepoint().await?;
            let written = write_row(tx, &write, row, &user_name).await;
            match &written {
                Ok(_) => tx.release_savepoint().await?,
                Err(err) if err.is_rejection() => tx.rollback_to_savepoint().await?,
                Err(_) => {}
            }
            written
        }
    };
    let (outcome, reason) = match written {
        Ok(outcome) => (outcome, None),
        Err(err) if err.is_rejection() => {
            let event = audit::rejection_event(
                &caller,
                "user.import",
                None,
                Some(&user_name),
                ctx.now,
                &err,
            );
            tx.insert_audit(&event).await?;
            (RowOutcome::Rejected, Some(reason_of(err)))
        }
        Err(err) => return Err(err),
    };
    Ok(ReportRow {
        line: row.line,
        user_name,
        outcome,
        reason,
    })
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
    user_name: &str,
) -> Result<RowOutcome, TenantError> {
    let body = row
        .to_scim()
        .map_err(|reason| TenantError::Scim(ScimError::invalid_value(reason)))?;
    let tenant_id = &ctx.caller.tenant.id;
    let (user_id, mut outcome): (UserId, RowOutcome) =
        match tx.user_by_name_for_update(tenant_id, user_name).await? {
            None => {
                let (user, tolerances) = new_user_record(ctx.schemas, ctx.caller, &body, ctx.now)?;
                let warning = unknown_roles_warning(tx, tenant_id, &user.doc).await?;
                insert_new_user(tx, ctx, &user, &tolerances, warning).await?;
                (user.id, RowOutcome::Created)
            }
            Some(old) => {
                let merged = merged_document(&old.doc, body);
                let mut parsed = parse_resource(ctx.schemas, &Value::Object(merged))?;
                let active = take_active_and_check(&mut parsed)?;
                let version = old.version;
                let change = Change {
                    doc: parsed.doc,
                    active,
                    tolerances: parsed.tolerances,
                    kind: ChangeKind::Replace,
                };
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
        let mut seen = SeenNames::default();
        assert_eq!(seen.first_line_of("Ada@example.com", 2), None);
        assert_eq!(seen.first_line_of("bob@example.com", 3), None);
        assert_eq!(seen.first_line_of("ADA@EXAMPLE.COM", 7), Some(2));
    }
}
