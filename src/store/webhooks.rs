//! Webhook endpoints: where a tenant's events (or, operator-wide, every tenant's) are delivered,
//! with which sealed secret, and how far delivery has come (a cursor into the event feed,
//! retries, a lease), and the log of delivery attempts.

use super::events::FeedPosition;
use super::row::AnyRow;
use super::{Micros, SqlFragment, SqlParam, Store, StoreError, TenantId, Tx, params};

/// A delivery target of a tenant's events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEndpointRecord {
    pub id: String,
    /// None: an operator-wide endpoint, which receives every tenant's events.
    pub tenant_id: Option<TenantId>,
    pub url: String,
    /// The signing secret, sealed with the gateway's secret key.
    pub secret_sealed: String,
    /// Event types delivered; `*` for all.
    pub event_types: Vec<String>,
    pub description: Option<String>,
    pub disabled_at: Option<Micros>,
    pub disabled_reason: Option<String>,
    pub created_at: Micros,
    pub updated_at: Micros,
    pub delivery: DeliveryState,
}

/// How far an endpoint's deliveries have come.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryState {
    /// The last event of the feed delivered (or passed over: not a type the endpoint wants).
    pub cursor: FeedPosition,
    /// Failed attempts at the event after the cursor.
    pub failed_attempts: i64,
    /// When the first of them failed.
    pub failing_since: Option<Micros>,
    /// Not before this time is the next attempt made.
    pub next_attempt_at: Micros,
}

/// One attempt to deliver an event, as the delivery log shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecord {
    pub endpoint_id: String,
    pub event_id: String,
    pub event_type: String,
    pub at: Micros,
    pub status: Option<i64>,
    pub latency_ms: i64,
    pub excerpt: String,
    pub delivered: bool,
}

const COLUMNS: &str = "id, tenant_id, url, secret_sealed, event_types, description, disabled_at, \
                       disabled_reason, created_at, updated_at, cursor_txid, cursor_seq, \
                       failed_attempts, failing_since, next_attempt_at";

fn endpoint_from_row(row: &AnyRow<'_>) -> Result<WebhookEndpointRecord, StoreError> {
    let types: String = row.column("event_types")?;
    Ok(WebhookEndpointRecord {
        id: row.column("id")?,
        tenant_id: row.column("tenant_id")?,
        url: row.column("url")?,
        secret_sealed: row.column("secret_sealed")?,
        event_types: serde_json::from_str(&types)
            .map_err(|e| StoreError::Corrupt(format!("webhook_endpoints.event_types: {e}")))?,
        description: row.column("description")?,
        disabled_at: row.column("disabled_at")?,
        disabled_reason: row.column("disabled_reason")?,
        created_at: row.column("created_at")?,
        updated_at: row.column("updated_at")?,
        delivery: DeliveryState {
            cursor: FeedPosition {
                txid: row.column("cursor_txid")?,
                seq: row.column("cursor_seq")?,
            },
            failed_attempts: row.column("failed_attempts")?,
            failing_since: row.column("failing_since")?,
            next_attempt_at: row.column("next_attempt_at")?,
        },
    })
}

fn attempt_from_row(row: &AnyRow<'_>) -> Result<AttemptRecord, StoreError> {
    Ok(AttemptRecord {
        endpoint_id: row.column("endpoint_id")?,
        event_id: row.column("event_id")?,
        event_type: row.column("event_type")?,
        at: row.column("at")?,
        status: row.column("status")?,
        latency_ms: row.column("latency_ms")?,
        excerpt: row.column("excerpt")?,
        delivered: row.column("delivered")?,
    })
}

/// The endpoints of a tenant, or (none) the operator-wide ones, as a condition; its parameter,
/// if any, bound in `statement`.
fn owner_condition(tenant_id: Option<&TenantId>, statement: &mut SqlFragment) -> String {
    match tenant_id {
        Some(id) => format!("tenant_id = {}", statement.bind(SqlParam::from(id))),
        None => "tenant_id IS NULL".into(),
    }
}

impl Store {
    /// A tenant's endpoints (none: the operator-wide ones), oldest first.
    pub async fn webhook_endpoints(
        &self,
        tenant_id: Option<&TenantId>,
    ) -> Result<Vec<WebhookEndpointRecord>, StoreError> {
        let mut query = SqlFragment::default();
        let owner = owner_condition(tenant_id, &mut query);
        query.sql = format!(
            "SELECT {COLUMNS} FROM webhook_endpoints WHERE {owner} ORDER BY created_at, id"
        );
        self.fetch_all(query, endpoint_from_row).await
    }

    /// An endpoint's newest attempts, newest first.
    pub async fn webhook_attempts(
        &self,
        endpoint_id: &str,
        limit: i64,
    ) -> Result<Vec<AttemptRecord>, StoreError> {
        let query = SqlFragment::statement(
            "SELECT endpoint_id, event_id, event_type, at, status, latency_ms, excerpt, delivered \
             FROM webhook_attempts WHERE endpoint_id = $1 ORDER BY id DESC LIMIT $2",
            vec![
                SqlParam::Text(endpoint_id.to_string()),
                SqlParam::Int(limit),
            ],
        );
        self.fetch_all(query, attempt_from_row).await
    }

    /// Leases up to `limit` endpoints whose next attempt is due to `holder` until
    /// `lease_until`: endpoints no other process holds a live lease on (on PostgreSQL, rows
    /// another process is leasing right now are skipped, not waited for).
    pub async fn lease_due_endpoints(
        &self,
        holder: &str,
        now: Micros,
        lease_until: Micros,
        limit: i64,
    ) -> Result<Vec<WebhookEndpointRecord>, StoreError> {
        // A plain read first: an idle gateway polls often, and on SQLite a write transaction
        // takes the database's only writer from the SCIM requests.
        let due = SqlFragment::statement(
            "SELECT id FROM webhook_endpoints WHERE disabled_at IS NULL AND next_attempt_at <= $1 \
             AND (lease_until IS NULL OR lease_until < $1) LIMIT 1",
            vec![SqlParam::Int(now)],
        );
        if self.fetch_all(due, |_| Ok(())).await?.is_empty() {
            return Ok(Vec::new());
        }
        let lock = self.dialect().skip_locked();
        let mut tx = self.begin().await?;
        let due_query = SqlFragment::statement(
            format!(
                "SELECT id FROM webhook_endpoints WHERE disabled_at IS NULL AND next_attempt_at <= $1 \
                 AND (lease_until IS NULL OR lease_until < $1) ORDER BY next_attempt_at LIMIT $2{lock}"
            ),
            params![now, limit],
        );
        let due = tx
            .fetch_all(due_query, |row| row.column::<String>("id"))
            .await?;
        let mut leased = Vec::with_capacity(due.len());
        for id in due {
            let lease = SqlFragment::statement(
                format!(
                    "UPDATE webhook_endpoints SET lease_until = $1, leased_by = $2 WHERE id = $3 \
                     RETURNING {COLUMNS}"
                ),
                params![lease_until, holder, &id],
            );
            let endpoint = tx
                .fetch_optional(lease, endpoint_from_row)
                .await?
                .ok_or_else(|| {
                    StoreError::Corrupt("a due webhook endpoint was not there to lease".into())
                })?;
            leased.push(endpoint);
        }
        tx.commit().await?;
        Ok(leased)
    }

    /// Records what a leased delivery round did and releases the lease; `disable` stops the
    /// endpoint with a reason. Nothing is written when `holder` no longer holds the lease (it
    /// expired and another process took the endpoint over): returns false then.
    pub async fn finish_delivery_round(
        &self,
        endpoint_id: &str,
        holder: &str,
        state: &DeliveryState,
        attempts: &[AttemptRecord],
        disable: Option<(Micros, String)>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let (disabled_at, disabled_reason) = disable.unzip();
        let kept = tx
            .execute(
                "UPDATE webhook_endpoints SET cursor_txid = $1, cursor_seq = $2, failed_attempts = $3, \
                 failing_since = $4, next_attempt_at = $5, disabled_at = COALESCE($6, disabled_at), \
                 disabled_reason = COALESCE($7, disabled_reason), lease_until = NULL, leased_by = NULL \
                 WHERE id = $8 AND leased_by = $9",
                params![
                    state.cursor.txid,
                    state.cursor.seq,
                    state.failed_attempts,
                    state.failing_since,
                    state.next_attempt_at,
                    disabled_at,
                    disabled_reason,
                    endpoint_id,
                    holder,
                ],
            )
            .await?
            > 0;
        if !kept {
            return Ok(false);
        }
        for attempt in attempts {
            tx.execute(
                "INSERT INTO webhook_attempts (endpoint_id, event_id, event_type, at, status, latency_ms, \
                 excerpt, delivered) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                params![
                    &attempt.endpoint_id,
                    &attempt.event_id,
                    &attempt.event_type,
                    attempt.at,
                    attempt.status,
                    attempt.latency_ms,
                    &attempt.excerpt,
                    attempt.delivered,
                ],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Gives up every lease `holder` holds (a process stopping): other processes carry on at
    /// once instead of waiting for the leases to run out.
    pub async fn release_webhook_leases(&self, holder: &str) -> Result<u64, StoreError> {
        let mut tx = self.begin().await?;
        let released = tx
            .execute(
                "UPDATE webhook_endpoints SET lease_until = NULL, leased_by = NULL WHERE leased_by = $1",
                params![holder],
            )
            .await?;
        tx.commit().await?;
        Ok(released)
    }
}

impl Tx {
    pub async fn insert_webhook_endpoint(
        &mut self,
        endpoint: &WebhookEndpointRecord,
    ) -> Result<(), StoreError> {
        let types = serde_json::Value::from(endpoint.event_types.clone()).to_string();
        self.execute(
            "INSERT INTO webhook_endpoints (id, tenant_id, url, secret_sealed, event_types, description, \
             disabled_at, disabled_reason, created_at, updated_at, cursor_txid, cursor_seq, \
             failed_attempts, failing_since, next_attempt_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
            params![
                &endpoint.id,
                &endpoint.tenant_id,
                &endpoint.url,
                &endpoint.secret_sealed,
                &types,
                &endpoint.description,
                endpoint.disabled_at,
                &endpoint.disabled_reason,
                endpoint.created_at,
                endpoint.updated_at,
                endpoint.delivery.cursor.txid,
                endpoint.delivery.cursor.seq,
                endpoint.delivery.failed_attempts,
                endpoint.delivery.failing_since,
                endpoint.delivery.next_attempt_at,
            ],
        )
        .await?;
        Ok(())
    }

    /// Changes an endpoint's delivery as an admin asks: `enable` turns deliveries on (clearing
    /// the failures) or off (with `reason`), `cursor` moves where they resume. Whatever a
    /// process was delivering for the endpoint is taken from it (its round's progress is then
    /// not written, so nothing it did can undo this). Whether the endpoint exists.
    pub async fn change_webhook_delivery(
        &mut self,
        tenant_id: Option<&TenantId>,
        id: &str,
        enable: Option<bool>,
        reason: &str,
        cursor: Option<FeedPosition>,
        now: Micros,
    ) -> Result<bool, StoreError> {
        let (set_enabled, enabled) = (enable.is_some(), enable.unwrap_or(false));
        let (set_cursor, cursor) = (cursor.is_some(), cursor.unwrap_or_default());
        let mut update = SqlFragment::numbered_after(7);
        let owner = owner_condition(tenant_id, &mut update);
        let id_param = update.bind(SqlParam::Text(id.to_string()));
        let mut values = params![
            set_enabled,
            enabled,
            now,
            reason,
            set_cursor,
            cursor.txid,
            cursor.seq
        ];
        values.extend(update.params);
        let changed = self
            .execute(
                format!(
                    "UPDATE webhook_endpoints SET \
                     disabled_at = CASE WHEN $1 THEN (CASE WHEN $2 THEN NULL ELSE $3 END) ELSE disabled_at END, \
                     disabled_reason = CASE WHEN $1 THEN (CASE WHEN $2 THEN NULL ELSE $4 END) ELSE disabled_reason END, \
                     failed_attempts = CASE WHEN $1 AND $2 THEN 0 ELSE failed_attempts END, \
                     failing_since = CASE WHEN $1 AND $2 THEN NULL ELSE failing_since END, \
                     next_attempt_at = CASE WHEN ($1 AND $2) OR $5 THEN 0 ELSE next_attempt_at END, \
                     cursor_txid = CASE WHEN $5 THEN $6 ELSE cursor_txid END, \
                     cursor_seq = CASE WHEN $5 THEN $7 ELSE cursor_seq END, \
                     lease_until = NULL, leased_by = NULL, updated_at = $3 \
                     WHERE {owner} AND id = {id_param}",
                ),
                values,
            )
            .await?;
        Ok(changed > 0)
    }

    /// Removes a tenant's (none: an operator-wide) endpoint; whether there was one.
    pub async fn delete_webhook_endpoint(
        &mut self,
        tenant_id: Option<&TenantId>,
        id: &str,
    ) -> Result<bool, StoreError> {
        let mut delete = SqlFragment::default();
        let owner = owner_condition(tenant_id, &mut delete);
        let id_param = delete.bind(SqlParam::Text(id.to_string()));
        let sql = format!("DELETE FROM webhook_endpoints WHERE {owner} AND id = {id_param}");
        Ok(self.execute(sql, delete.params).await? > 0)
    }
}
