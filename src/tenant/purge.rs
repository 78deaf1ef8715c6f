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
    /// Audit events past their retention (none unless a retention was given).
    pub audit_events: u64,
    /// Outbox events past their retention (none unless a retention was given).
    pub outbox_events: u64,
    /// Minutes of sync counters older than the two days sync state can show.
    pub sync_minutes: u64,
}

/// Sync counters are kept this long: sync state reads the last day of them.
const SYNC_COUNTER_RETENTION: Micros = 2 * 24 * 3_600 * 1_000_000;

/// What a purge removes, by age.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Tombstones of users deleted before this.
    pub tombstones_before: Micros,
    /// Audit events from before this; none: keep the whole trail.
    pub audit_before: Option<Micros>,
    /// Outbox events from before this; none: keep them. An endpoint whose cursor is behind
    /// (disabled, or replayed past this) does not get what was purged.
    pub events_before: Option<Micros>,
}

/// Purges as `retention` says, SSO sessions and login states that ended or expired by `now`, and
/// old sync counters; in one transaction with its audit events (written after the events
/// purged).
pub async fn purge(
    store: &Store,
    retention: Retention,
    now: Micros,
) -> Result<PurgeReport, TenantError> {
    let Retention {
        tombstones_before: before,
        audit_before,
        events_before,
    } = retention;
    // Read before the transaction: a request holds one connection at a time.
    let tenants = if audit_before.is_some() || events_before.is_some() {
        store.list_tenants().await?
    } else {
        Vec::new()
    };
    let mut tx = store.begin().await?;
    let tombstones = tx.purge_tombstones(before).await?;
    let (sessions, login_states) = tx.purge_sso_leftovers(now).await?;
    let sync_minutes = tx
        .purge_sync_counters(now.saturating_sub(SYNC_COUNTER_RETENTION))
        .await?;
    let mut outbox_events = 0;
    if let Some(events_before) = events_before {
        for tenant in &tenants {
            let purged = tx.purge_events(&tenant.id, events_before).await?;
            outbox_events += purged;
            if purged > 0 {
                tx.insert_audit(&AuditRecord {
                    tenant_id: Some(tenant.id.clone()),
                    at: now,
                    actor: "cli".into(),
                    action: "tenant.purge_events".into(),
                    target_type: Some("Tenant".into()),
                    target_id: Some(tenant.id.to_string()),
                    outcome: "success".into(),
                    http_status: 200,
                    reason: Some(format!(
                        "{purged} outbox events purged (older than the event retention period)"
                    )),
                    request_summary: Some("purge".into()),
                    ..AuditRecord::default()
                })
                .await?;
            }
        }
    }
    let mut audit_events = 0;
    if let Some(audit_before) = audit_before {
        audit_events += tx.purge_audit(None, audit_before).await?;
        for tenant in tenants {
            let purged = tx.purge_audit(Some(&tenant.id), audit_before).await?;
            audit_events += purged;
            if purged > 0 {
                tx.insert_audit(&AuditRecord {
                    tenant_id: Some(tenant.id.clone()),
                    at: now,
                    actor: "cli".into(),
                    action: "tenant.purge_audit".into(),
                    target_type: Some("Tenant".into()),
                    target_id: Some(tenant.id.to_string()),
                    outcome: "success".into(),
                    http_status: 200,
                    reason: Some(format!(
                        "{purged} audit events purged (older than the audit retention period)"
                    )),
                    request_summary: Some("purge".into()),
                    ..AuditRecord::default()
                })
                .await?;
            }
        }
    }
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
        audit_events,
        outbox_events,
        sync_minutes,
    })
}
