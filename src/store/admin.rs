//! What the admin API reads and writes beyond the tenants' own data: operator tokens, the
//! per-connection sync counters, and a tenant's connections with the state of their tokens.

use super::audit::{AUDIT_COLUMNS, audit_from_row};
use super::row::AnyRow;
use super::{
    AdminTokenId, AdminTokenRecord, AuditRecord, ConnectionId, ConnectionSummary, Micros,
    SqlFragment, SqlParam, Store, StoreError, SyncCounts, SyncWindows, TenantId, TokenPrefix,
    ToleranceCount, Tx, params,
};

const MINUTE: Micros = 60_000_000;

/// The minute `at` falls in, as the microsecond it starts.
pub(super) fn minute_of(at: Micros) -> Micros {
    at - at.rem_euclid(MINUTE)
}

pub(super) fn admin_token_from_row(row: &AnyRow<'_>) -> Result<AdminTokenRecord, StoreError> {
    Ok(AdminTokenRecord {
        id: row.column("id")?,
        name: row.column("name")?,
        prefix: row.column("prefix")?,
        created_at: row.column("created_at")?,
        last_used_at: row.column("last_used_at")?,
        expires_at: row.column("expires_at")?,
        revoked_at: row.column("revoked_at")?,
    })
}

pub(super) const ADMIN_TOKEN_COLUMNS: &str =
    "id, name, prefix, created_at, last_used_at, expires_at, revoked_at";

const COUNTED: [&str; 5] = [
    "creates",
    "updates",
    "deactivations",
    "deletes",
    "rejections",
];

/// The sums of `sync_counters` from minute `start` (a placeholder) on, each column named
/// `<counted>_<window>`.
fn window_sums(start: &str, window: &str) -> String {
    COUNTED
        .iter()
        .map(|c| {
            format!(
                "CAST(COALESCE(SUM(CASE WHEN minute >= {start} THEN {c} END), 0) AS BIGINT) AS {c}_{window}"
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn counts_from_row(row: &AnyRow<'_>, window: &str) -> Result<SyncCounts, StoreError> {
    Ok(SyncCounts {
        creates: row.column(&format!("creates_{window}"))?,
        updates: row.column(&format!("updates_{window}"))?,
        deactivations: row.column(&format!("deactivations_{window}"))?,
        deletes: row.column(&format!("deletes_{window}"))?,
        rejections: row.column(&format!("rejections_{window}"))?,
    })
}

impl Store {
    /// An operator token by the hash of its secret, if it is neither revoked nor expired.
    pub async fn admin_token_grant(
        &self,
        token_hash: &str,
        now: Micros,
    ) -> Result<Option<AdminTokenRecord>, StoreError> {
        let query = SqlFragment::statement(
            format!(
                "SELECT {ADMIN_TOKEN_COLUMNS} FROM admin_tokens WHERE token_hash = $1 \
                 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)"
            ),
            vec![SqlParam::Text(token_hash.to_string()), SqlParam::Int(now)],
        );
        self.fetch_optional(query, admin_token_from_row).await
    }

    pub async fn list_admin_tokens(&self) -> Result<Vec<AdminTokenRecord>, StoreError> {
        let query = SqlFragment::statement(
            format!("SELECT {ADMIN_TOKEN_COLUMNS} FROM admin_tokens ORDER BY created_at, id"),
            vec![],
        );
        self.fetch_all(query, admin_token_from_row).await
    }

    /// Records when an operator token was last used. Callers throttle it: it is a write.
    pub async fn touch_admin_token(
        &self,
        id: &AdminTokenId,
        now: Micros,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        tx.execute(
            "UPDATE admin_tokens SET last_used_at = $1 WHERE id = $2",
            params![now, id],
        )
        .await?;
        tx.commit().await
    }

    /// A tenant's connections by name, each with its live tokens and the last use of any of them.
    pub async fn connections(
        &self,
        tenant_id: &TenantId,
        now: Micros,
    ) -> Result<Vec<ConnectionSummary>, StoreError> {
        let query = SqlFragment::statement(
            "SELECT c.id, c.tenant_id, c.name, c.kind, c.created_at, \
             (SELECT COUNT(*) FROM scim_tokens k WHERE k.connection_id = c.id AND k.revoked_at IS NULL \
              AND (k.expires_at IS NULL OR k.expires_at > $2)) AS live_tokens, \
             (SELECT MAX(k.last_used_at) FROM scim_tokens k WHERE k.connection_id = c.id) AS last_used_at \
             FROM directory_connections c WHERE c.tenant_id = $1 ORDER BY c.name",
            vec![SqlParam::from(tenant_id), SqlParam::Int(now)],
        );
        self.fetch_all(query, |row| {
            Ok(ConnectionSummary {
                connection: super::ConnectionRecord {
                    id: row.column("id")?,
                    tenant_id: row.column("tenant_id")?,
                    name: row.column("name")?,
                    kind: row.column("kind")?,
                    created_at: row.column("created_at")?,
                },
                live_tokens: row.column("live_tokens")?,
                last_used_at: row.column("last_used_at")?,
            })
        })
        .await
    }

    /// What a connection did in the hour and the day before `now`: at most a day of minute rows.
    pub async fn sync_windows(
        &self,
        connection_id: &ConnectionId,
        now: Micros,
    ) -> Result<SyncWindows, StoreError> {
        let hour_start = minute_of(now) - 59 * MINUTE;
        let day_start = minute_of(now) - (24 * 60 - 1) * MINUTE;
        let query = SqlFragment::statement(
            format!(
                "SELECT {}, {}, MAX(minute) AS last_minute FROM sync_counters \
                 WHERE connection_id = $1 AND minute >= $3",
                window_sums("$2", "hour"),
                window_sums("$3", "day")
            ),
            vec![
                SqlParam::from(connection_id),
                SqlParam::Int(hour_start),
                SqlParam::Int(day_start),
            ],
        );
        let windows = self
            .fetch_optional(query, |row| {
                Ok(SyncWindows {
                    last_hour: counts_from_row(row, "hour")?,
                    last_day: counts_from_row(row, "day")?,
                    last_write_minute: row.column("last_minute")?,
                })
            })
            .await?;
        Ok(windows.unwrap_or_default())
    }

    /// How often each client-quirk tolerance fired for a connection in the hour and the day
    /// before `now`, most frequent first: at most a day of minute rows.
    pub async fn tolerance_windows(
        &self,
        connection_id: &ConnectionId,
        now: Micros,
    ) -> Result<Vec<ToleranceCount>, StoreError> {
        let hour_start = minute_of(now) - 59 * MINUTE;
        let day_start = minute_of(now) - (24 * 60 - 1) * MINUTE;
        let query = SqlFragment::statement(
            "SELECT tolerance, \
             CAST(COALESCE(SUM(CASE WHEN minute >= $2 THEN count END), 0) AS BIGINT) AS last_hour, \
             CAST(SUM(count) AS BIGINT) AS last_day \
             FROM tolerance_counters WHERE connection_id = $1 AND minute >= $3 \
             GROUP BY tolerance ORDER BY last_day DESC, tolerance",
            vec![
                SqlParam::from(connection_id),
                SqlParam::Int(hour_start),
                SqlParam::Int(day_start),
            ],
        );
        self.fetch_all(query, |row| {
            Ok(ToleranceCount {
                tolerance: row.column("tolerance")?,
                last_hour: row.column("last_hour")?,
                last_day: row.column("last_day")?,
            })
        })
        .await
    }

    /// A connection's newest rejected requests, newest first (an index walk of rejections only).
    pub async fn last_rejections(
        &self,
        connection_id: &ConnectionId,
        limit: i64,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let query = SqlFragment::statement(
            format!(
                "SELECT {AUDIT_COLUMNS} FROM audit_events WHERE connection_id = $1 AND outcome = 'rejected' \
                 ORDER BY at DESC LIMIT CAST($2 AS BIGINT)"
            ),
            vec![SqlParam::from(connection_id), SqlParam::Int(limit)],
        );
        self.fetch_all(query, audit_from_row).await
    }
}

impl Tx {
    pub async fn insert_admin_token(
        &mut self,
        token: &AdminTokenRecord,
        token_hash: &str,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO admin_tokens (id, name, prefix, token_hash, created_at, last_used_at, expires_at, revoked_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            params![
                &token.id,
                &token.name,
                &token.prefix,
                token_hash,
                token.created_at,
                token.last_used_at,
                token.expires_at,
                token.revoked_at,
            ],
        )
        .await?;
        Ok(())
    }

    /// Revokes the live operator tokens whose visible prefix is `prefix`; returns how many.
    pub async fn revoke_admin_tokens(
        &mut self,
        prefix: &TokenPrefix,
        now: Micros,
    ) -> Result<u64, StoreError> {
        self.execute(
            "UPDATE admin_tokens SET revoked_at = $1 WHERE prefix = $2 AND revoked_at IS NULL",
            params![now, prefix],
        )
        .await
    }
}
