//! The outbox of events for the host product: appended in the transaction of the change they
//! tell of, read back as a tenant's gap-free feed (how each engine keeps it gap-free: migration
//! 0016 and `Dialect::feed_order`).

use super::audit::storable_opt;
use super::row::AnyRow;
use super::{
    ConnectionId, Micros, SqlFragment, SqlParam, Store, StoreError, TenantId, Tx, json_text, on_tx,
};

/// An event as the host product receives it.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    /// Unique and stable: a webhook's retries carry it, receivers de-duplicate on it.
    pub id: String,
    pub tenant_id: TenantId,
    /// e.g. `user.created`, `group.members_added`.
    pub event_type: String,
    pub at: Micros,
    /// Who made the change: `scim`, `cli`, `operator:<prefix>`, `user:<userName>`.
    pub actor: String,
    pub connection_id: Option<ConnectionId>,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    pub resource_version: Option<i64>,
    /// The attributes the change touched (updates).
    pub changed: Vec<String>,
    /// The resource as SCIM shows it after the change (deleted: its tombstone), or what the
    /// event is about.
    pub data: serde_json::Map<String, serde_json::Value>,
}

/// Where an event stands in its tenant's feed. `txid` is the writing transaction on
/// PostgreSQL and 0 on SQLite, whose single writer appends in commit order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct FeedPosition {
    pub txid: i64,
    pub seq: i64,
}

/// An event read back from the feed.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedEntry {
    pub position: FeedPosition,
    pub event: EventRecord,
}

fn entry_from_row(row: &AnyRow<'_>) -> Result<FeedEntry, StoreError> {
    let changed: Option<String> = row.column("changed")?;
    let data: String = row.column("data")?;
    Ok(FeedEntry {
        position: FeedPosition {
            txid: row.column("txid")?,
            seq: row.column("seq")?,
        },
        event: EventRecord {
            id: row.column("id")?,
            tenant_id: row.column("tenant_id")?,
            event_type: row.column("type")?,
            at: row.column("at")?,
            actor: row.column("actor")?,
            connection_id: row.column("connection_id")?,
            resource_type: row.column("resource_type")?,
            resource_id: row.column("resource_id")?,
            resource_version: row.column("resource_version")?,
            changed: match changed {
                Some(text) => serde_json::from_str(&text)
                    .map_err(|e| StoreError::Corrupt(format!("events.changed: {e}")))?,
                None => Vec::new(),
            },
            data: serde_json::from_str(&data)
                .map_err(|e| StoreError::Corrupt(format!("events.data: {e}")))?,
        },
    })
}

impl Tx {
    /// Appends an event to the outbox, in this transaction: it is there if and only if the
    /// change commits.
    pub async fn insert_event(&mut self, event: &EventRecord) -> Result<(), StoreError> {
        let changed = (!event.changed.is_empty())
            .then(|| serde_json::Value::from(event.changed.clone()).to_string());
        on_tx!(self, |conn| {
            sqlx::query(
                "INSERT INTO events (id, tenant_id, type, at, actor, connection_id, resource_type, resource_id, \
                 resource_version, changed, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(&event.id)
            .bind(&event.tenant_id)
            .bind(&event.event_type)
            .bind(event.at)
            .bind(&event.actor)
            .bind(&event.connection_id)
            .bind(&event.resource_type)
            .bind(storable_opt(&event.resource_id))
            .bind(event.resource_version)
            .bind(&changed)
            .bind(json_text(&event.data))
            .execute(&mut *conn)
            .await?;
        });
        Ok(())
    }
}

impl Store {
    /// The tenant's events after `after` (from the start without it), in feed order, at most
    /// `limit`: only events whose order is final, so that none can later appear before them.
    pub async fn event_feed(
        &self,
        tenant_id: &TenantId,
        after: Option<FeedPosition>,
        limit: i64,
    ) -> Result<Vec<FeedEntry>, StoreError> {
        let after = after.unwrap_or(FeedPosition { txid: 0, seq: 0 });
        let query = SqlFragment::statement(
            self.dialect().feed_page(),
            vec![
                SqlParam::from(tenant_id),
                SqlParam::Int(after.txid),
                SqlParam::Int(after.seq),
                SqlParam::Int(limit),
            ],
        );
        self.fetch_all(query, entry_from_row).await
    }
}
