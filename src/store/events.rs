//! The outbox of events for the host product: appended in the transaction of the change they
//! tell of, read back as a tenant's gap-free feed (how each engine keeps it gap-free: migration
//! 0016 and `Dialect::feed_order`).

use super::audit::storable_opt;
use super::row::AnyRow;
use super::{
    ConnectionId, Micros, SqlFragment, SqlParam, Store, StoreError, TenantId, Tx, json_text,
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
        self.insert_events(std::slice::from_ref(event)).await
    }

    /// Appends events to the outbox, a few hundred to a statement, in the order given.
    pub async fn insert_events(&mut self, events: &[EventRecord]) -> Result<(), StoreError> {
        self.insert_event_rows(&EventRows::of(events)).await
    }

    /// Appends events bound ahead, in their order.
    pub async fn insert_event_rows(&mut self, rows: &EventRows) -> Result<(), StoreError> {
        const HEAD: &str = "INSERT INTO events (id, tenant_id, type, at, actor, connection_id, \
             resource_type, resource_id, resource_version, changed, data) VALUES ";
        self.insert_rows(HEAD, EventRows::WIDTH, &rows.0).await
    }
}

/// Events for the outbox, bound before the write that appends them begins: rendering their
/// data (a created user's whole SCIM representation) as JSON inside the write made SQLite's one
/// writer wait for it (issue #21).
#[derive(Debug, Default)]
pub struct EventRows(Vec<SqlParam>);

impl EventRows {
    const WIDTH: usize = 11;

    /// The rows of `events`, in their order.
    pub fn of(events: &[EventRecord]) -> Self {
        let mut rows = Self(Vec::with_capacity(events.len() * Self::WIDTH));
        for event in events {
            rows.0.extend(Self::row(event));
        }
        rows
    }

    /// Puts `event` in the `position`th place (after as many events), or last.
    pub fn insert(&mut self, position: usize, event: &EventRecord) {
        let at = position.saturating_mul(Self::WIDTH).min(self.0.len());
        self.0.splice(at..at, Self::row(event));
    }

    /// Adds the events of `other` after these.
    pub fn append(&mut self, other: EventRows) {
        self.0.extend(other.0);
    }

    fn row(event: &EventRecord) -> [SqlParam; Self::WIDTH] {
        let changed = (!event.changed.is_empty())
            .then(|| serde_json::Value::from(event.changed.clone()).to_string());
        [
            SqlParam::Text(event.id.clone()),
            SqlParam::from(&event.tenant_id),
            SqlParam::Text(event.event_type.clone()),
            SqlParam::Int(event.at),
            SqlParam::Text(event.actor.clone()),
            event
                .connection_id
                .as_ref()
                .map_or(SqlParam::Null, SqlParam::from),
            event
                .resource_type
                .clone()
                .map_or(SqlParam::Null, SqlParam::Text),
            storable_opt(&event.resource_id)
                .map_or(SqlParam::Null, |t| SqlParam::Text(t.into_owned())),
            SqlParam::OptInt(event.resource_version),
            changed.map_or(SqlParam::Null, SqlParam::Text),
            SqlParam::Text(json_text(&event.data)),
        ]
    }
}

/// Whose events a feed holds: one tenant's, or every tenant's (operator-wide webhook endpoints).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedScope<'a> {
    Tenant(&'a TenantId),
    AllTenants,
}

impl FeedScope<'_> {
    /// The scope as a condition on `events`, its parameter bound in `statement`. A tenant's feed
    /// is served by `(tenant_id, txid, seq)`; every tenant's by the feed order itself.
    fn condition(self, statement: &mut SqlFragment) -> String {
        match self {
            FeedScope::Tenant(tenant_id) => {
                format!("tenant_id = {}", statement.bind(SqlParam::from(tenant_id)))
            }
            FeedScope::AllTenants => "TRUE".into(),
        }
    }
}

const EVENT_COLUMNS: &str = "id, tenant_id, type, at, actor, connection_id, resource_type, \
                             resource_id, resource_version, changed, data";

impl Store {
    /// The scope's events after `after` (from the start without it), in feed order, at most
    /// `limit`: only events whose order is final, so that none can later appear before them.
    pub async fn event_feed(
        &self,
        scope: FeedScope<'_>,
        after: Option<FeedPosition>,
        limit: i64,
    ) -> Result<Vec<FeedEntry>, StoreError> {
        let after = after.unwrap_or_default();
        let dialect = self.dialect();
        let mut query = SqlFragment::default();
        let scope = scope.condition(&mut query);
        let txid = query.bind(SqlParam::Int(after.txid));
        let seq = query.bind(SqlParam::Int(after.seq));
        let limit = query.bind(SqlParam::Int(limit));
        query.sql = format!(
            "SELECT {}, {EVENT_COLUMNS} FROM events WHERE {scope} AND {} AND {} ORDER BY {} LIMIT {limit}",
            dialect.feed_position(),
            dialect.feed_after(&txid, &seq),
            dialect.feed_settled(),
            dialect.feed_order(false),
        );
        self.fetch_all(query, entry_from_row).await
    }

    /// The last settled position of the scope's feed, of an event before `before` when given:
    /// a new endpoint starts at the end, a replay from a time just before it.
    pub async fn feed_position(
        &self,
        scope: FeedScope<'_>,
        before: Option<Micros>,
    ) -> Result<FeedPosition, StoreError> {
        let dialect = self.dialect();
        let mut query = SqlFragment::default();
        let scope = scope.condition(&mut query);
        let before = match before {
            Some(at) => format!("at < {}", query.bind(SqlParam::Int(at))),
            None => "TRUE".into(),
        };
        query.sql = format!(
            "SELECT {} FROM events WHERE {scope} AND {before} AND {} ORDER BY {} LIMIT 1",
            dialect.feed_position(),
            dialect.feed_settled(),
            dialect.feed_order(true),
        );
        let position = self
            .fetch_optional(query, |row| {
                Ok(FeedPosition {
                    txid: row.column("txid")?,
                    seq: row.column("seq")?,
                })
            })
            .await?;
        Ok(position.unwrap_or_default())
    }
}
