//! The append-only audit trail.

use std::borrow::Cow;

use super::TenantId;
use super::row::AnyRow;
use super::{AuditRecord, Dialect, SqlFragment, SqlParam, Store, StoreError, Tx, on_tx};

fn list_text(list: &[String]) -> Option<String> {
    (!list.is_empty()).then(|| {
        let text = serde_json::Value::from(list.to_vec()).to_string();
        storable(&text).into_owned()
    })
}

/// Audit text as every engine can store it. Events quote what clients sent (ids, names, error
/// details), and a refusal must be recorded even when what it refused held a NUL, which
/// PostgreSQL cannot store: each NUL is kept visible as U+FFFD.
fn storable(text: &str) -> Cow<'_, str> {
    if text.contains('\0') {
        Cow::Owned(text.replace('\0', "\u{FFFD}"))
    } else {
        Cow::Borrowed(text)
    }
}

fn storable_opt(text: &Option<String>) -> Option<Cow<'_, str>> {
    text.as_deref().map(storable)
}

fn list_from(text: Option<String>) -> Vec<String> {
    text.and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

/// The columns `audit_from_row` reads.
pub(super) const AUDIT_COLUMNS: &str = "tenant_id, connection_id, at, actor, action, target_type, target_id, \
     target_name, outcome, http_status, reason, changed_attributes, tolerances, request_summary";

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
        counts_as: None,
    })
}

/// Sync counter rows per connection and minute that concurrent writers spread over.
const COUNTER_SHARDS: i64 = 8;

impl Tx {
    /// Appends an event, and counts it for its connection when it says so (`counts_as`).
    pub async fn insert_audit(&mut self, event: &AuditRecord) -> Result<(), StoreError> {
        on_tx!(self, |conn| {
            sqlx::query(
                "INSERT INTO audit_events (tenant_id, connection_id, at, actor, action, target_type, target_id, \
                 target_name, outcome, http_status, reason, changed_attributes, tolerances, request_summary) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            )
            .bind(&event.tenant_id)
            .bind(&event.connection_id)
            .bind(event.at)
            .bind(&event.actor)
            .bind(&event.action)
            .bind(&event.target_type)
            .bind(storable_opt(&event.target_id))
            .bind(storable_opt(&event.target_name))
            .bind(&event.outcome)
            .bind(event.http_status)
            .bind(storable_opt(&event.reason))
            .bind(list_text(&event.changed_attributes))
            .bind(list_text(&event.tolerances))
            .bind(storable_opt(&event.request_summary))
            .execute(&mut *conn)
            .await?;
        });
        if let (Some(connection), Some(kind)) = (&event.connection_id, event.counts_as) {
            let shard = match self.dialect() {
                Dialect::Sqlite => 0,
                Dialect::Postgres => event.at.rem_euclid(COUNTER_SHARDS),
            };
            self.count_sync(connection, kind, event.at, shard).await?;
        }
        Ok(())
    }
}

impl Store {
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
                 ORDER BY id DESC LIMIT CAST($2 AS BIGINT)"
            ),
            vec![SqlParam::from(tenant_id), SqlParam::Int(limit)],
        );
        self.fetch_all(query, audit_from_row).await
    }
}
