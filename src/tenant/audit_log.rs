//! Reading a tenant's audit trail: filtered keyset pages, newest first, and the walk an export
//! streams. A page costs its length however deep in the trail it starts.

use super::operators::{AdminActor, AdminPermission, tenant_for};
use super::{TenantError, cursor};
use crate::store::{AuditEntry, AuditFilter, AuditPlace, Micros, Store, TenantRecord};

/// Events on a page unless the request asks for fewer.
pub const DEFAULT_PAGE: i64 = 50;
/// Most events on one page.
pub const MAX_PAGE: i64 = 500;
/// Events an export reads at a time: its memory, whatever the size of the trail.
pub const EXPORT_BATCH: i64 = 1_000;

/// What a reader of the trail asks for: filters, and where the previous page ended.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// The id of the user (or group, token, role) the events concern.
    pub target: Option<String>,
    /// The name of the directory connection that made the requests.
    pub connection: Option<String>,
    pub actor: Option<String>,
    pub action: Option<String>,
    /// `success` or `rejected`.
    pub outcome: Option<String>,
    pub since: Option<Micros>,
    pub until: Option<Micros>,
    pub cursor: Option<String>,
    pub count: Option<i64>,
}

/// One page, and the cursor of the next when there may be one.
#[derive(Debug, Clone)]
pub struct AuditPage {
    pub events: Vec<AuditEntry>,
    pub next_cursor: Option<String>,
}

/// The mark of the trail's cursors.
const CURSOR_MARK: &str = "audit";

fn encode_cursor(place: AuditPlace) -> String {
    cursor::encode(CURSOR_MARK, place.at, place.id)
}

fn decode_cursor(text: &str) -> Result<AuditPlace, TenantError> {
    let (at, id) = cursor::decode(CURSOR_MARK, text)?;
    Ok(AuditPlace { at, id })
}

/// The tenant the reader may read the trail of, and the store's filter for `query`.
async fn prepare(
    store: &Store,
    actor: &AdminActor,
    slug: &str,
    query: &AuditQuery,
    now: Micros,
) -> Result<(TenantRecord, AuditFilter), TenantError> {
    let tenant = tenant_for(store, actor, slug, AdminPermission::SettingsView).await?;
    if let Some(outcome) = &query.outcome
        && outcome != "success"
        && outcome != "rejected"
    {
        return Err(TenantError::InvalidArgument(format!(
            "outcome '{outcome}' is neither 'success' nor 'rejected'"
        )));
    }
    let connection_id = match &query.connection {
        Some(name) => Some(
            store
                .connections(&tenant.id, now)
                .await?
                .into_iter()
                .find(|c| &c.connection.name == name)
                .ok_or_else(|| TenantError::NotFound(format!("connection '{name}'")))?
                .connection
                .id,
        ),
        None => None,
    };
    let filter = AuditFilter {
        target_id: query.target.clone(),
        connection_id,
        actor: query.actor.clone(),
        action: query.action.clone(),
        outcome: query.outcome.clone(),
        since: query.since,
        until: query.until,
    };
    Ok((tenant, filter))
}

/// A page of the tenant's trail. Needs `settings:view`.
pub async fn audit_page(
    store: &Store,
    actor: &AdminActor,
    slug: &str,
    query: &AuditQuery,
    now: Micros,
) -> Result<AuditPage, TenantError> {
    let limit = match query.count {
        Some(n) if !(1..=MAX_PAGE).contains(&n) => {
            return Err(TenantError::InvalidArgument(format!(
                "count must be between 1 and {MAX_PAGE}"
            )));
        }
        Some(n) => n,
        None => DEFAULT_PAGE,
    };
    let before = query.cursor.as_deref().map(decode_cursor).transpose()?;
    let (tenant, filter) = prepare(store, actor, slug, query, now).await?;
    // One more than asked: whether a next page exists, without counting.
    let mut events = store
        .audit_page(&tenant.id, &filter, before, limit + 1)
        .await?;
    let more = events.len() as i64 > limit;
    events.truncate(usize::try_from(limit).unwrap_or(0));
    let next_cursor = more
        .then(|| events.last().map(|e| encode_cursor(e.place)))
        .flatten();
    Ok(AuditPage {
        events,
        next_cursor,
    })
}

/// A walk over every event a query matches, newest first, a batch at a time (for exports).
pub struct AuditWalk {
    store: Store,
    tenant: TenantRecord,
    filter: AuditFilter,
    before: Option<AuditPlace>,
    done: bool,
}

impl AuditWalk {
    /// Starts a walk; the reader's permission is checked here, once.
    pub async fn start(
        store: &Store,
        actor: &AdminActor,
        slug: &str,
        query: &AuditQuery,
        now: Micros,
    ) -> Result<Self, TenantError> {
        let before = query.cursor.as_deref().map(decode_cursor).transpose()?;
        let (tenant, filter) = prepare(store, actor, slug, query, now).await?;
        Ok(AuditWalk {
            store: store.clone(),
            tenant,
            filter,
            before,
            done: false,
        })
    }

    /// The next batch; empty when the walk is over.
    pub async fn next_batch(&mut self) -> Result<Vec<AuditEntry>, TenantError> {
        if self.done {
            return Ok(Vec::new());
        }
        let batch = self
            .store
            .audit_page(&self.tenant.id, &self.filter, self.before, EXPORT_BATCH)
            .await?;
        self.done = (batch.len() as i64) < EXPORT_BATCH;
        self.before = batch.last().map(|e| e.place);
        Ok(batch)
    }
}
