//! Audit events the rules write: one per SCIM write, one per rejected request.

use std::future::Future;

use crate::scim::schema::ResourceSchemas;
use crate::store::{AuditRecord, Micros, Store, SyncCount, Tx};

use super::invitations::InvitationPolicy;
use super::{Caller, TenantError};

/// What every write of the rules runs with: the store, the schemas of the resource it writes,
/// who asks, and when.
#[derive(Clone, Copy)]
pub struct WriteContext<'a> {
    pub store: &'a Store,
    pub schemas: ResourceSchemas<'a>,
    pub caller: &'a Caller,
    pub now: Micros,
    /// How a new invited user's invitation is issued; `None` where a write never invites (a
    /// user created at sign-in is signed in at once).
    pub invitations: Option<&'a InvitationPolicy>,
}

impl WriteContext<'_> {
    /// Begins the write's transaction (see `Store::begin`), refusing it if the caller's SCIM
    /// token is no longer live.
    pub async fn begin(&self) -> Result<Tx, TenantError> {
        let tx = self.store.begin().await?;
        self.token_checked(tx).await
    }

    /// `begin` for a write whose every refusal comes before its first write (see
    /// `Store::begin_refusing_first`).
    pub async fn begin_refusing_first(&self) -> Result<Tx, TenantError> {
        let tx = self.store.begin_refusing_first().await?;
        self.token_checked(tx).await
    }

    /// The caller's token is checked inside the transaction, on the connection the write holds,
    /// rather than looked up afresh before it: the grant may be reused (`GrantCache`), and the
    /// check is a read of one row the writer has in its cache, where a lookup on a read
    /// connection fetched every page again after each commit (issue #21).
    async fn token_checked(&self, mut tx: Tx) -> Result<Tx, TenantError> {
        if let Some(token_id) = &self.caller.token_id
            && !tx.token_is_live(token_id, self.now).await?
        {
            return Err(TenantError::TokenNoLongerValid);
        }
        Ok(tx)
    }

    /// Runs `write`; a rejection is recorded in the audit trail as `action` on `target_id` (in a
    /// transaction of its own: the rejected write's was rolled back).
    pub async fn audited<T>(
        &self,
        action: &str,
        target_id: Option<&str>,
        write: impl Future<Output = Result<T, TenantError>>,
    ) -> Result<T, TenantError> {
        let target = Target {
            id: target_id,
            name: None,
        };
        self.audited_on(action, target, write).await
    }

    /// `audited` for a create, whose target has no id yet: a rejection names what the request
    /// asked for (the userName or displayName it sent), so an admin can tell who was refused.
    pub async fn audited_create<T>(
        &self,
        action: &str,
        requested_name: Option<&str>,
        write: impl Future<Output = Result<T, TenantError>>,
    ) -> Result<T, TenantError> {
        let target = Target {
            id: None,
            name: requested_name,
        };
        self.audited_on(action, target, write).await
    }

    async fn audited_on<T>(
        &self,
        action: &str,
        target: Target<'_>,
        write: impl Future<Output = Result<T, TenantError>>,
    ) -> Result<T, TenantError> {
        let outcome = write.await;
        audit_rejection(self.store, self.caller, action, target, self.now, outcome).await
    }
}

/// What a rejected request was about.
struct Target<'a> {
    id: Option<&'a str>,
    name: Option<&'a str>,
}

/// The most characters of a requested name kept with a rejection.
const REQUESTED_NAME_CHARS: usize = 256;

/// The sync counter a successful `action` adds to: what an admin reads as "creates, updates,
/// deactivations and deletes" of a connection.
fn sync_count_of(action: &str) -> Option<SyncCount> {
    match action {
        "user.create" | "group.create" => Some(SyncCount::Create),
        "user.replace" | "user.patch" | "user.reactivate" | "group.replace" | "group.patch" => {
            Some(SyncCount::Update)
        }
        "user.suspend" => Some(SyncCount::Deactivation),
        "user.delete" | "group.delete" => Some(SyncCount::Delete),
        _ => None,
    }
}

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
        counts_as: sync_count_of(action),
        ..AuditRecord::default()
    }
}

/// Passes a write's outcome through, recording a rejection in its own transaction (the rejected
/// one was rolled back). A failure to record is logged, never allowed to hide the rejection.
async fn audit_rejection<T>(
    store: &Store,
    caller: &Caller,
    action: &str,
    target: Target<'_>,
    now: Micros,
    outcome: Result<T, TenantError>,
) -> Result<T, TenantError> {
    let err = match outcome {
        Ok(value) => return Ok(value),
        Err(err) if !err.is_rejection() => return Err(err),
        Err(err) => err,
    };
    let record = rejection_event(caller, action, target.id, target.name, now, &err);
    if let Err(audit_err) = store.record_audit(&record).await {
        tracing::error!(error = %audit_err, "could not record a rejected request in the audit trail");
    }
    Err(err)
}

/// The audit event of `caller`'s `action` refused with `err`, on the target with this id or,
/// before it has one, the name the request asked for.
pub fn rejection_event(
    caller: &Caller,
    action: &str,
    target_id: Option<&str>,
    requested_name: Option<&str>,
    now: Micros,
    err: &TenantError,
) -> AuditRecord {
    let mut record = event(caller, action, now);
    record.outcome = "rejected".into();
    record.counts_as = Some(SyncCount::Rejection);
    record.http_status = i64::from(err.status());
    record.reason = Some(err.to_string());
    record.scim_type = err.scim_type().map(|t| t.as_str().to_string());
    record.target_type = Some(
        if action.starts_with("group.") {
            "Group"
        } else {
            "User"
        }
        .into(),
    );
    record.target_id = target_id.map(str::to_string);
    record.target_name =
        requested_name.map(|name| name.chars().take(REQUESTED_NAME_CHARS).collect());
    record
}
