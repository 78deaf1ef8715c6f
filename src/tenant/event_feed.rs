//! A tenant's events as a pull feed: pages after a cursor, in an order that is final (no event
//! can later appear before one already read), optionally waiting for the next events.

use std::time::Duration;

use super::operators::{AdminActor, AdminPermission, tenant_for};
use super::{TenantError, cursor};
use crate::clock::now_micros;
use crate::store::{ConnectionId, FeedEntry, FeedPosition, FeedScope, Store};

/// Events on a page unless asked for fewer, and at most.
pub const DEFAULT_PAGE: i64 = 100;
pub const MAX_PAGE: i64 = 1000;
/// The longest a reader may wait for new events in one request.
pub const MAX_WAIT_SECS: u64 = 30;
/// How often a waiting reader looks again: the feed is read from the database, which several
/// gateway processes write.
const POLL_EVERY: Duration = Duration::from_millis(200);

/// The mark of the feed's cursors.
const CURSOR_MARK: &str = "feed";

fn encode_cursor(position: FeedPosition) -> String {
    cursor::encode(CURSOR_MARK, position.txid, position.seq)
}

fn decode_cursor(text: &str) -> Result<FeedPosition, TenantError> {
    let (txid, seq) = cursor::decode(CURSOR_MARK, text)?;
    Ok(FeedPosition { txid, seq })
}

/// What a reader asks the feed for.
#[derive(Debug, Clone, Default)]
pub struct FeedQuery {
    /// The previous page's `next_cursor`; from the oldest event kept without it.
    pub after: Option<String>,
    pub limit: Option<i64>,
    /// Seconds to wait for an event when there is none yet (0: answer at once).
    pub wait_secs: Option<u64>,
}

/// A page of the feed, and where the next one starts (also when the page is empty, so that a
/// reader keeps its place).
#[derive(Debug, Clone)]
pub struct FeedPage {
    pub events: Vec<FeedEntry>,
    pub next_cursor: String,
    /// Names of the connections the page's events came through, by id.
    pub connections: Vec<(ConnectionId, String)>,
}

/// A page of the tenant's events after the query's cursor. Needs `users:view` (events carry
/// users as SCIM shows them).
pub async fn feed_page(
    store: &Store,
    actor: &AdminActor,
    slug: &str,
    query: &FeedQuery,
) -> Result<FeedPage, TenantError> {
    let tenant = tenant_for(store, actor, slug, AdminPermission::UsersView).await?;
    let limit = match query.limit {
        Some(n) if !(1..=MAX_PAGE).contains(&n) => {
            return Err(TenantError::InvalidArgument(format!(
                "limit must be between 1 and {MAX_PAGE}"
            )));
        }
        Some(n) => n,
        None => DEFAULT_PAGE,
    };
    let wait = match query.wait_secs {
        Some(n) if n > MAX_WAIT_SECS => {
            return Err(TenantError::InvalidArgument(format!(
                "wait is at most {MAX_WAIT_SECS} seconds"
            )));
        }
        n => Duration::from_secs(n.unwrap_or(0)),
    };
    let after = query.after.as_deref().map(decode_cursor).transpose()?;
    let deadline = tokio::time::Instant::now() + wait;
    let events = loop {
        let events = store
            .event_feed(FeedScope::Tenant(&tenant.id), after, limit)
            .await?;
        if !events.is_empty() || tokio::time::Instant::now() + POLL_EVERY > deadline {
            break events;
        }
        tokio::time::sleep(POLL_EVERY).await;
    };
    let next = events
        .last()
        .map(|e| e.position)
        .or(after)
        .unwrap_or(FeedPosition { txid: 0, seq: 0 });
    let connections = if events.iter().any(|e| e.event.connection_id.is_some()) {
        store
            .connections(&tenant.id, now_micros())
            .await?
            .into_iter()
            .map(|c| (c.connection.id, c.connection.name))
            .collect()
    } else {
        Vec::new()
    };
    Ok(FeedPage {
        events,
        next_cursor: encode_cursor(next),
        connections,
    })
}
