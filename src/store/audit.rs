//! The append-only audit trail.

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::admin::minute_of;
use super::row::AnyRow;
use super::{AuditRecord, SqlFragment, SqlParam, Store, StoreError, SyncCounts, Tx, params};
use super::{ConnectionId, Micros, TenantId};

fn list_text(list: &[String]) -> Option<String> {
    (!list.is_empty()).then(|| {
        let text = serde_json::Value::from(list.to_vec()).to_string();
        storable(&text).into_owned()
    })
}

/// Audit text as every engine can store it. Events quote what clients sent (ids, names, error
/// details), and a refusal must be recorded even when what it refused held a NUL, which
/// PostgreSQL cannot store: each NUL is kept visible as U+FFFD.
pub(super) fn storable(text: &str) -> Cow<'_, str> {
    if text.contains('\0') {
        Cow::Owned(text.replace('\0', "\u{FFFD}"))
    } else {
        Cow::Borrowed(text)
    }
}

pub(super) fn storable_opt(text: &Option<String>) -> Option<Cow<'_, str>> {
    text.as_deref().map(storable)
}

fn list_from(text: Option<String>) -> Vec<String> {
    text.and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

/// The columns `audit_from_row` reads.
pub(super) const AUDIT_COLUMNS: &str = "tenant_id, connection_id, at, actor, action, target_type, target_id, \
     target_name, outcome, http_status, reason, changed_attributes, tolerances, request_summary, scim_type";

pub(super) fn audit_from_row(row: &AnyRow<'_>) -> Result<AuditRecord, StoreError> {
    Ok(AuditRecord {
        tenant_id: row.column("tenant_id")?,
        connection_id: row.column("connection_id")?,
        at: row.column("at")?,
        actor: row.column("actor")?,
        action: row.column("action")?,
        target_type: row.column("target_type")?,
        target_id: row.column("target_id")?,
        target_name: row.column("target_name")?,
        outcome: row.column("outcome")?,
        http_status: row.column("http_status")?,
        reason: row.column("reason")?,
        changed_attributes: list_from(row.column("changed_attributes")?),
        tolerances: list_from(row.column("tolerances")?),
        request_summary: row.column("request_summary")?,
        scim_type: row.column("scim_type")?,
        counts_as: None,
    })
}

/// Adds to a connection's sync counters of a minute (SQLite: one shard).
const ADD_SYNC_COUNTS: &str = "INSERT INTO sync_counters (connection_id, minute, shard, creates, \
     updates, deactivations, deletes, rejections) VALUES ($1, $2, 0, $3, $4, $5, $6, $7) \
     ON CONFLICT (connection_id, minute, shard) DO UPDATE SET \
     creates = sync_counters.creates + excluded.creates, \
     updates = sync_counters.updates + excluded.updates, \
     deactivations = sync_counters.deactivations + excluded.deactivations, \
     deletes = sync_counters.deletes + excluded.deletes, \
     rejections = sync_counters.rejections + excluded.rejections";

/// Adds to a connection's count of a tolerance in a minute (SQLite: one shard).
const ADD_TOLERANCE_COUNT: &str = "INSERT INTO tolerance_counters (connection_id, minute, \
     tolerance, shard, count) VALUES ($1, $2, $3, 0, $4) \
     ON CONFLICT (connection_id, minute, tolerance, shard) DO UPDATE SET \
     count = tolerance_counters.count + excluded.count";

impl Tx {
    /// Appends an event, and counts it for its connection (`add_sync_counts`).
    pub async fn insert_audit(&mut self, event: &AuditRecord) -> Result<(), StoreError> {
        self.insert_audits(std::slice::from_ref(event)).await
    }

    /// Appends events, a few hundred to a statement, and counts them for their connections
    /// (`add_sync_counts`).
    pub async fn insert_audits(&mut self, events: &[AuditRecord]) -> Result<(), StoreError> {
        const HEAD: &str = "INSERT INTO audit_events (tenant_id, connection_id, at, actor, action, \
             target_type, target_id, target_name, outcome, http_status, reason, changed_attributes, \
             tolerances, request_summary, scim_type, counts_as) VALUES ";
        let text =
            |v: Option<Cow<'_, str>>| v.map_or(SqlParam::Null, |t| SqlParam::Text(t.into_owned()));
        let mut params = Vec::with_capacity(events.len() * 16);
        for event in events {
            params.extend([
                event
                    .tenant_id
                    .as_ref()
                    .map_or(SqlParam::Null, SqlParam::from),
                event
                    .connection_id
                    .as_ref()
                    .map_or(SqlParam::Null, SqlParam::from),
                SqlParam::Int(event.at),
                SqlParam::Text(event.actor.clone()),
                SqlParam::Text(event.action.clone()),
                text(event.target_type.as_deref().map(Cow::Borrowed)),
                text(storable_opt(&event.target_id)),
                text(storable_opt(&event.target_name)),
                SqlParam::Text(event.outcome.clone()),
                SqlParam::Int(event.http_status),
                text(storable_opt(&event.reason)),
                text(list_text(&event.changed_attributes).map(Cow::Owned)),
                text(list_text(&event.tolerances).map(Cow::Owned)),
                text(storable_opt(&event.request_summary)),
                text(event.scim_type.as_deref().map(Cow::Borrowed)),
                text(event.counts_as.map(|c| Cow::Borrowed(c.column()))),
            ]);
        }
        self.insert_rows(HEAD, 16, &params).await?;
        self.add_sync_counts(events).await
    }

    /// Adds what `events` count to their connections' sync counters (`counts_as`) and tolerance
    /// counters (each tolerance listed), per minute: one upsert per connection, minute and
    /// counter, however many events a batch holds. On PostgreSQL the trail's triggers count
    /// instead (`Dialect::sync_counted_by_triggers`), so this is SQLite's, whose one writer
    /// keeps one shard (0).
    async fn add_sync_counts(&mut self, events: &[AuditRecord]) -> Result<(), StoreError> {
        if self.dialect().sync_counted_by_triggers() {
            return Ok(());
        }
        let mut counts: BTreeMap<(&ConnectionId, Micros), SyncCounts> = BTreeMap::new();
        let mut tolerances: BTreeMap<(&ConnectionId, Micros, &str), i64> = BTreeMap::new();
        for event in events {
            let Some(connection_id) = &event.connection_id else {
                continue;
            };
            let minute = minute_of(event.at);
            if let Some(count) = event.counts_as {
                *counts
                    .entry((connection_id, minute))
                    .or_default()
                    .of_kind(count) += 1;
            }
            for tolerance in &event.tolerances {
                *tolerances
                    .entry((connection_id, minute, tolerance))
                    .or_default() += 1;
            }
        }
        for ((connection_id, minute), counts) in counts {
            let SyncCounts {
                creates,
                updates,
                deactivations,
                deletes,
                rejections,
            } = counts;
            self.execute(
                ADD_SYNC_COUNTS,
                params![
                    connection_id,
                    minute,
                    creates,
                    updates,
                    deactivations,
                    deletes,
                    rejections
                ],
            )
            .await?;
        }
        for ((connection_id, minute, tolerance), count) in tolerances {
            self.execute(
                ADD_TOLERANCE_COUNT,
                params![
                    connection_id,
                    minute,
                    storable(tolerance).into_owned(),
                    count
                ],
            )
            .await?;
        }
        Ok(())
    }
}

/// Which events of a tenant an audit page holds; every field narrows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditFilter {
    pub target_id: Option<String>,
    pub connection_id: Option<ConnectionId>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub outcome: Option<String>,
    /// From this time on (inclusive).
    pub since: Option<Micros>,
    /// Before this time.
    pub until: Option<Micros>,
}

/// An event as read back, with its place in the trail.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub place: AuditPlace,
    pub event: AuditRecord,
}

/// Where an event stands in the trail: the trail is ordered by time, and by id (which grows
/// with every event) among events of the same microsecond.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditPlace {
    pub at: Micros,
    pub id: i64,
}

impl Store {
    /// Events of a tenant matching `filter`, newest first, after (older than) `before` when
    /// given: a keyset page whose cost is its length, however deep in the trail it is. Each
    /// filter's index ends with the time (and, on SQLite, the rowid; on PostgreSQL the tenant's
    /// index holds the id), so the order is read from the index.
    pub async fn audit_page(
        &self,
        tenant_id: &TenantId,
        filter: &AuditFilter,
        before: Option<AuditPlace>,
        limit: i64,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let mut query = SqlFragment::numbered_after(0);
        let tenant = query.bind(SqlParam::from(tenant_id));
        let mut sql =
            format!("SELECT id, {AUDIT_COLUMNS} FROM audit_events WHERE tenant_id = {tenant}");
        let mut narrow = |column: &str, op: &str, value: SqlParam| {
            let placeholder = query.bind(value);
            sql.push_str(&format!(" AND {column} {op} {placeholder}"));
        };
        let text = |value: &Option<String>| value.clone().map(SqlParam::Text);
        for (column, value) in [
            ("target_id", text(&filter.target_id)),
            (
                "connection_id",
                filter.connection_id.as_ref().map(SqlParam::from),
            ),
            ("actor", text(&filter.actor)),
            ("action", text(&filter.action)),
            ("outcome", text(&filter.outcome)),
        ] {
            if let Some(value) = value {
                narrow(column, "=", value);
            }
        }
        if let Some(since) = filter.since {
            narrow("at", ">=", SqlParam::Int(since));
        }
        if let Some(until) = filter.until {
            narrow("at", "<", SqlParam::Int(until));
        }
        if let Some(before) = before {
            // A range on the time, then the ties of its microsecond by id.
            let at = query.bind(SqlParam::Int(before.at));
            let id = query.bind(SqlParam::Int(before.id));
            sql.push_str(&format!(" AND at <= {at} AND (at < {at} OR id < {id})"));
        }
        let limit = query.bind(SqlParam::Int(limit));
        sql.push_str(&format!(
            " ORDER BY at DESC, id DESC LIMIT CAST({limit} AS BIGINT)"
        ));
        query.sql = sql;
        self.fetch_all(query, |row| {
            Ok(AuditEntry {
                place: AuditPlace {
                    at: row.column("at")?,
                    id: row.column("id")?,
                },
                event: audit_from_row(row)?,
            })
        })
        .await
    }

    /// Records an event on its own (a rejected request has no other write to join).
    pub async fn record_audit(&self, event: &AuditRecord) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        tx.insert_audit(event).await?;
        tx.commit().await
    }

    /// The newest events of a tenant first.
    pub async fn audit_events(
        &self,
        tenant_id: &TenantId,
        limit: i64,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let query = SqlFragment::statement(
            format!(
                "SELECT {AUDIT_COLUMNS} FROM audit_events WHERE tenant_id = $1 \
                 ORDER BY at DESC, id DESC LIMIT CAST($2 AS BIGINT)"
            ),
            vec![SqlParam::from(tenant_id), SqlParam::Int(limit)],
        );
        self.fetch_all(query, audit_from_row).await
    }
}
