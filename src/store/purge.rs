//! Removing what retention no longer needs: old tombstones, ended sessions, stale login states.

use super::{Micros, SqlFragment, StoreError, TenantId, Tx, params};

impl Tx {
    /// Deletes the tombstones of users deleted before `before`, with what hangs on them (emails,
    /// role assignments, sessions); returns how many went per tenant.
    pub async fn purge_tombstones(
        &mut self,
        before: Micros,
    ) -> Result<Vec<(TenantId, i64)>, StoreError> {
        let counted = SqlFragment::statement(
            "SELECT tenant_id, COUNT(*) AS n FROM users WHERE deleted_at IS NOT NULL AND deleted_at < $1 \
             GROUP BY tenant_id ORDER BY tenant_id",
            params![before],
        );
        let counts = self
            .fetch_all(counted, |row| {
                Ok((
                    TenantId::new(row.column::<String>("tenant_id")?),
                    row.column::<i64>("n")?,
                ))
            })
            .await?;
        self.execute(
            "DELETE FROM users WHERE deleted_at IS NOT NULL AND deleted_at < $1",
            params![before],
        )
        .await?;
        Ok(counts)
    }

    /// Deletes a tenant's audit events from before `before` (with no tenant: the events of
    /// operator tokens), through the `(tenant_id, at)` index; returns how many.
    pub async fn purge_audit(
        &mut self,
        tenant_id: Option<&TenantId>,
        before: Micros,
    ) -> Result<u64, StoreError> {
        match tenant_id {
            Some(tenant) => {
                self.execute(
                    "DELETE FROM audit_events WHERE tenant_id = $1 AND at < $2",
                    params![tenant, before],
                )
                .await
            }
            None => {
                self.execute(
                    "DELETE FROM audit_events WHERE tenant_id IS NULL AND at < $1",
                    params![before],
                )
                .await
            }
        }
    }

    /// Deletes a tenant's outbox events from before `before`, but never its newest event (on
    /// SQLite the outbox's sequence numbers are rowids, which must never be given out twice);
    /// returns how many.
    pub async fn purge_events(
        &mut self,
        tenant_id: &TenantId,
        before: Micros,
    ) -> Result<u64, StoreError> {
        self.execute(
            "DELETE FROM events WHERE tenant_id = $1 AND at < $2 \
             AND seq < (SELECT MAX(seq) FROM events WHERE tenant_id = $1)",
            params![tenant_id, before],
        )
        .await
    }

    /// Deletes sync and tolerance counters of minutes before `before` (sync state reads a day
    /// of them); returns how many rows went.
    pub async fn purge_sync_counters(&mut self, before: Micros) -> Result<u64, StoreError> {
        let counters = self
            .execute(
                "DELETE FROM sync_counters WHERE minute < $1",
                params![before],
            )
            .await?;
        let tolerances = self
            .execute(
                "DELETE FROM tolerance_counters WHERE minute < $1",
                params![before],
            )
            .await?;
        Ok(counters + tolerances)
    }

    /// Deletes sessions that expired or ended before `before`, and login states past their
    /// expiry; returns how many of each.
    pub async fn purge_sso_leftovers(&mut self, before: Micros) -> Result<(u64, u64), StoreError> {
        let sessions = self
            .execute(
                "DELETE FROM sso_sessions WHERE expires_at < $1 OR (ended_at IS NOT NULL AND ended_at < $1)",
                params![before],
            )
            .await?;
        let states = self
            .execute(
                "DELETE FROM sso_login_states WHERE expires_at < $1",
                params![before],
            )
            .await?;
        Ok((sessions, states))
    }
}
