//! A directory connection's sync state: what its identity provider did lately, what was refused
//! and why, and a verdict an admin can act on. The rules of the verdict are here and in the README.

use crate::store::{
    AuditRecord, ConnectionSummary, Micros, Store, SyncCounts, SyncWindows, TenantRecord,
    ToleranceCount,
};

use super::TenantError;
use super::operators::{AdminActor, AdminPermission, tenant_for};

/// Rejections shown with a connection's sync state.
pub const SHOWN_REJECTIONS: i64 = 10;
/// A connection that was used but sent nothing for this long is stale: identity providers sync
/// at least every few hours (Entra ID every 40 minutes), so a day of silence means provisioning
/// stopped (a disabled app, a deleted token, an expired credential on the IdP side).
pub const STALE_AFTER_MICROS: Micros = 24 * 3_600 * 1_000_000;

/// What an admin should make of a connection, from its last hour and its last request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Requests come, and the last hour's writes were accepted.
    Healthy,
    /// Some of the last hour's writes were refused, fewer than were accepted.
    Degraded,
    /// In the last hour at least as many writes were refused as accepted (e.g. every create
    /// hits the seat limit, or every update a locked attribute).
    Failing,
    /// Used before, but no request for a day.
    Stale,
    /// No request ever came with this connection's tokens.
    Idle,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Healthy => "healthy",
            Verdict::Degraded => "degraded",
            Verdict::Failing => "failing",
            Verdict::Stale => "stale",
            Verdict::Idle => "idle",
        }
    }
}

/// The verdict and the sentence that explains it.
pub fn verdict(
    last_request_at: Option<Micros>,
    last_hour: &SyncCounts,
    now: Micros,
) -> (Verdict, String) {
    let Some(last) = last_request_at else {
        return (
            Verdict::Idle,
            "no request has come with this connection's tokens yet".into(),
        );
    };
    if now.saturating_sub(last) >= STALE_AFTER_MICROS {
        return (
            Verdict::Stale,
            "no request for more than a day: check that provisioning is still enabled at the identity provider".into(),
        );
    }
    let accepted = last_hour.accepted();
    let refused = last_hour.rejections;
    if refused > 0 && refused >= accepted {
        return (
            Verdict::Failing,
            format!(
                "{refused} of the last hour's {} writes were refused",
                refused + accepted
            ),
        );
    }
    if refused > 0 {
        return (
            Verdict::Degraded,
            format!(
                "{refused} of the last hour's {} writes were refused",
                refused + accepted
            ),
        );
    }
    (
        Verdict::Healthy,
        "requests come and the last hour's writes were accepted".into(),
    )
}

/// A refused request as a connection's sync state shows it: what was asked and why it was
/// refused, from its audit event (which never holds a secret or a whole body).
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    pub at: Micros,
    pub action: String,
    pub status: i64,
    /// The SCIM error type the client was answered with (`uniqueness`, `mutability`, …).
    pub scim_type: Option<String>,
    pub detail: Option<String>,
    /// Method and path.
    pub request: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub target_name: Option<String>,
}

impl From<AuditRecord> for Rejection {
    fn from(e: AuditRecord) -> Self {
        Rejection {
            at: e.at,
            action: e.action,
            status: e.http_status,
            scim_type: e.scim_type,
            detail: e.reason,
            request: e.request_summary,
            target_type: e.target_type,
            target_id: e.target_id,
            target_name: e.target_name,
        }
    }
}

/// A connection's sync state as of `now`.
#[derive(Debug, Clone)]
pub struct SyncState {
    pub connection: ConnectionSummary,
    pub windows: SyncWindows,
    /// The client-quirk tolerances the connection's requests needed, most frequent first.
    pub tolerances: Vec<ToleranceCount>,
    pub last_rejections: Vec<Rejection>,
    pub verdict: Verdict,
    pub verdict_reason: String,
}

/// A tenant's connections with the state of their tokens.
pub async fn connections_of(
    store: &Store,
    actor: &AdminActor,
    slug: &str,
    now: Micros,
) -> Result<Vec<ConnectionSummary>, TenantError> {
    let tenant = tenant_for(store, actor, slug, AdminPermission::SettingsView).await?;
    Ok(store.connections(&tenant.id, now).await?)
}

/// The sync state of every connection of the tenant, its connections read once.
pub async fn sync_states_of(
    store: &Store,
    actor: &AdminActor,
    slug: &str,
    now: Micros,
) -> Result<Vec<SyncState>, TenantError> {
    let mut states = Vec::new();
    for connection in connections_of(store, actor, slug, now).await? {
        states.push(sync_state(store, connection, now).await?);
    }
    Ok(states)
}

/// The sync state of the tenant's connection called `name`.
pub async fn sync_state_of(
    store: &Store,
    actor: &AdminActor,
    slug: &str,
    name: &str,
    now: Micros,
) -> Result<SyncState, TenantError> {
    let connection = connections_of(store, actor, slug, now)
        .await?
        .into_iter()
        .find(|c| c.connection.name == name)
        .ok_or_else(|| TenantError::NotFound(format!("connection '{name}'")))?;
    sync_state(store, connection, now).await
}

/// A tenant as the operators' overview shows it: its connections' verdicts and its last request.
#[derive(Debug, Clone)]
pub struct TenantOverview {
    pub tenant: TenantRecord,
    /// Each connection's name and verdict.
    pub connections: Vec<(String, Verdict)>,
    /// The last request any of its connections made.
    pub last_request_at: Option<Micros>,
}

/// Every tenant with its connections' verdicts, for operators. Reads each connection's counters
/// (a day of minutes at most): the cost follows the number of connections, not the traffic.
pub async fn tenants_overview(
    store: &Store,
    actor: &AdminActor,
    now: Micros,
) -> Result<Vec<TenantOverview>, TenantError> {
    let tenants = super::operators::list_tenants(store, actor).await?;
    let mut overview = Vec::with_capacity(tenants.len());
    for tenant in tenants {
        let mut connections = Vec::new();
        let mut last_request_at: Option<Micros> = None;
        for summary in store.connections(&tenant.id, now).await? {
            let windows = store.sync_windows(&summary.connection.id, now).await?;
            let (verdict, _) = verdict(summary.last_used_at, &windows.last_hour, now);
            last_request_at = last_request_at.max(summary.last_used_at);
            connections.push((summary.connection.name, verdict));
        }
        overview.push(TenantOverview {
            tenant,
            connections,
            last_request_at,
        });
    }
    Ok(overview)
}

/// Reads a connection's sync state: counters of at most a day of minutes, and the newest
/// rejections through their own index, so the cost does not grow with traffic or the trail.
async fn sync_state(
    store: &Store,
    connection: ConnectionSummary,
    now: Micros,
) -> Result<SyncState, TenantError> {
    let windows = store.sync_windows(&connection.connection.id, now).await?;
    let tolerances = store
        .tolerance_windows(&connection.connection.id, now)
        .await?;
    let last_rejections = store
        .last_rejections(&connection.connection.id, SHOWN_REJECTIONS)
        .await?
        .into_iter()
        .map(Rejection::from)
        .collect();
    let (verdict, verdict_reason) = verdict(connection.last_used_at, &windows.last_hour, now);
    Ok(SyncState {
        connection,
        windows,
        tolerances,
        last_rejections,
        verdict,
        verdict_reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Micros = 1_000 * STALE_AFTER_MICROS;

    fn hour(creates: i64, rejections: i64) -> SyncCounts {
        SyncCounts {
            creates,
            rejections,
            ..SyncCounts::default()
        }
    }

    #[test]
    fn verdict_rules() {
        assert_eq!(verdict(None, &hour(0, 0), NOW).0, Verdict::Idle);
        assert_eq!(
            verdict(Some(NOW - STALE_AFTER_MICROS), &hour(0, 0), NOW).0,
            Verdict::Stale
        );
        assert_eq!(verdict(Some(NOW), &hour(3, 0), NOW).0, Verdict::Healthy);
        assert_eq!(verdict(Some(NOW), &hour(0, 0), NOW).0, Verdict::Healthy);
        assert_eq!(verdict(Some(NOW), &hour(3, 1), NOW).0, Verdict::Degraded);
        assert_eq!(verdict(Some(NOW), &hour(1, 1), NOW).0, Verdict::Failing);
        let (failing, reason) = verdict(Some(NOW), &hour(0, 2), NOW);
        assert_eq!(failing, Verdict::Failing);
        assert_eq!(reason, "2 of the last hour's 2 writes were refused");
    }
}
