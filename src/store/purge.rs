//! Removing what retention no longer needs: old tombstones, ended sessions, stale login states.

use sqlx::Row;

use super::{Micros, StoreError, TenantId, Tx, on_tx};

impl Tx {
    /// Deletes the tombstones of users deleted before `before`, with what hangs on them (emails,
    /// role assignments, sessions); returns how many went per tenant.
    pub async fn purge_tombstones(
        &mut self,
        before: Micros,
    ) -> Result<Vec<(TenantId, i64)>, StoreError> {
        on_tx!(self, |conn| {
            let rows = sqlx::query(
                "SELECT tenant_id, COUNT(*) AS n FROM users WHERE deleted_at IS NOT NULL AND deleted_at < $1 \
                 GROUP BY tenant_id ORDER BY tenant_id",
            )
            .bind(before)
            .fetch_all(&mut *conn)
            .await?;
            let mut counts = Vec::with_capacity(rows.len());
            for row in rows {
                counts.push((
                    TenantId::new(row.try_get::<String, _>("tenant_id")?),
                    row.try_get("n")?,
                ));
            }
            sqlx::query("DELETE FROM users WHERE deleted_at IS NOT NULL AND deleted_at < $1")
                .bind(before)
                .execute(&mut *conn)
                .await?;
            Ok(counts)
        })
    }

    /// Deletes a tenant's audit events from before `before` (with no tenant: the events of
    /// operator tokens), through the `(tenant_id, at)` index; returns how many.
    pub async fn purge_audit(
        &mut self,
        tenant_id: Option<&TenantId>,
        before: Micros,
    ) -> Result<u64, StoreError> {
        on_tx!(self, |conn| {
            let done = match tenant_id {
                Some(tenant) => {
                    sqlx::query("DELETE FROM audit_events WHERE tenant_id = $1 AND at < $2")
                        .bind(tenant)
                        .bind(before)
                        .execute(&mut *conn)
                        .await?
                }
                None => {
                    sqlx::query("DELETE FROM audit_events WHERE tenant_id IS NULL AND at < $1")
                        .bind(before)
                        .execute(&mut *conn)
                        .await?
                }
            };
            Ok(done.rows_affected())
        })
    }

    /// Deletes a tenant's outbox events from before `before`, but never its newest event (on
    /// SQLite the outbox's sequence numbers are rowids, which must never be given out twice);
    /// returns how many.
    pub async fn purge_events(
        &mut self,
        tenant_id: &TenantId,
        before: Micros,
    ) -> Result<u64, StoreError> {
        on_tx!(self, |conn| {
            let done = sqlx::query(
                "DELETE FROM events WHERE tenant_id = $1 AND at < $2 \
                 AND seq < (SELECT MAX(seq) FROM events WHERE tenant_id = $1)",
            )
            .bind(tenant_id)
            .bind(before)
            .execute(&mut *conn)
            .await?;
            Ok(done.rows_affected())
        })
    }

    /// Deletes sync and tolerance counters of minutes before `before` (sync state reads a day
    /// of them); returns how many rows went.
    pub async fn purge_sync_counters(&mut self, before: Micros) -> Result<u64, StoreError> {
        on_tx!(self, |conn| {
            let done = sqlx::query("DELETE FROM sync_counters WHERE minute < $1")
                .bind(before)
                .execute(&mut *conn)
                .await?;
            let tolerances = sqlx::query("DELETE FROM tolerance_counters WHERE minute < $1")
                .bind(before)
                .execute(&mut *conn)
                .await?;
            Ok(done.rows_affected() + tolerances.rows_affected())
        })
    }

    /// Deletes sessions that expired or ended before `before`, and login states past their
    /// expiry; returns how many of each.
    pub async fn purge_sso_leftovers(&mut self, before: Micros) -> Result<(u64, u64), StoreError> {
        on_tx!(self, |conn| {
            let sessions = sqlx::query(
                "DELETE FROM sso_sessions WHERE expires_at < $1 OR (ended_at IS NOT NULL AND ended_at < $1)",
            )
            .bind(before)
            .execute(&mut *conn)
            .await?
            .rows_affected();
            let states = sqlx::query("DELETE FROM sso_login_states WHERE expires_at < $1")
                .bind(before)
                .execute(&mut *conn)
                .await?
                .rows_affected();
            Ok((sessions, states))
        })
    }
}
