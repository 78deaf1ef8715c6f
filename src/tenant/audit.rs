//! Audit events the rules write: one per SCIM write, one per rejected request.

use crate::store::{AuditRecord, Micros, Store};

use super::{Caller, TenantError};

/// Builds the event of `caller` doing `action` on a target.
pub fn event(caller: &Caller, action: &str, now: Micros) -> AuditRecord {
    AuditRecord {
        tenant_id: Some(caller.tenant.id.clone()),
        connection_id: caller.connection_id.clone(),
        at: now,
        actor: caller.actor.to_string(),
        action: action.to_string(),
        outcome: "success".into(),
        http_status: 200,
        request_summary: caller.request_summary.clone(),
        ..AuditRecord::default()
    }
}

/// Passes a write's outcome through, recording a rejection in its own transaction (the rejected
/// one was rolled back). A failure to record is logged, never allowed to hide the rejection.
pub async fn audit_rejection<T>(
    store: &Store,
    caller: &Caller,
    action: &str,
    target_id: Option<&str>,
    now: Micros,
    outcome: Result<T, TenantError>,
) -> Result<T, TenantError> {
    let err = match outcome {
        Ok(value) => return Ok(value),
        Err(err) if !err.is_rejection() => return Err(err),
        Err(err) => err,
    };
    let mut record = event(caller, action, now);
    record.outcome = "rejected".into();
    record.http_status = i64::from(err.status());
    record.reason = Some(err.to_string());
    record.target_type = Some(
        if action.starts_with("group.") {
            "Group"
        } else {
            "User"
        }
        .into(),
    );
    record.target_id = target_id.map(str::to_string);
    if let Err(audit_err) = store.record_audit(&record).await {
        tracing::error!(error = %audit_err, "could not record a rejected request in the audit trail");
    }
    Err(err)
}
