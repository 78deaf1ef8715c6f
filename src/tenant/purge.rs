//! Retention (SPEC §4, §6): tombstones older than the retention period are purged, with an audit
//! event per tenant; ended SSO sessions and stale login states go too.

use super::TenantError;
use crate::store::{AuditRecord, Micros, Store, TenantId};

/// What a purge removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PurgeReport {
    /// Tombstones deleted, per tenant id.
    pub tombstones: Vec<(TenantId, i64)>,
    pub sessions: u64,
    pub login_states: u64,
}

/// Purges tombstones of users deleted before `before`, and SSO sessions and login states that
/// ended or expired by `now`; in one transaction with its audit events.
pub async fn purge(store: &Store, before: Micros, now: Micros) -> Result<PurgeReport, TenantError> {
    let mut tx = store.begin().await?;
    let tombstones = tx.purge_tombstones(before).await?;
    let (sessions, login_states) = tx.purge_sso_leftovers(now).await?;
    for (tenant_id, count) in &tombstones {
        tx.insert_audit(&AuditRecord {
            tenant_id: Some(tenant_id.clone()),
            at: now,
            actor: "cli".into(),
            action: "tenant.purge".into(),
            target_type: Some("Tenant".into()),
            target_id: Some(tenant_id.to_string()),
            outcome: "success".into(),
            http_status: 200,
            reason: Some(format!(
                "{count} deleted users purged (deleted before the retention period)"
            )),
            request_summary: Some("purge".into()),
            ..AuditRecord::default()
        })
        .await?;
    }
    tx.commit().await?;
    Ok(PurgeReport {
        tombstones,
        sessions,
        login_states,
    })
}
