//! Delivers the outbox's events to webhook endpoints. Each endpoint reads its tenant's gap-free
//! feed (an operator-wide endpoint: every tenant's) from its own cursor, in order, and the cursor moves only past events that were delivered
//! (or that the endpoint does not want): at least once, the same event id on every retry. A
//! process works on an endpoint only under a lease it took in the database, so an event is in
//! flight at one process at a time; a process that dies leaves a lease that expires, and the
//! next one carries on from the cursor. An endpoint that keeps failing past the horizon is
//! disabled with the reason.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use futures_util::future::join_all;
use rand::RngExt;

use super::endpoints::open_secret;
use super::message;
use super::sender::{EXCERPT_CHARS, Sender};
use crate::clock::now_micros;
use crate::sso::secret_key::SecretKey;
use crate::store::{
    AttemptRecord, ConnectionId, DeliveryState, FeedEntry, FeedScope, Micros, Store, StoreError,
    TenantId, WebhookEndpointRecord,
};

/// How the worker paces itself.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// How often it looks for endpoints with events to deliver.
    pub poll_every: Duration,
    /// How long a process holds an endpoint; a round stops well before it runs out.
    pub lease: Duration,
    /// Events read per endpoint and round.
    pub batch: i64,
    /// Endpoints worked on at once per process.
    pub endpoints_per_round: i64,
    /// The first retry's delay; each next one doubles, up to `max_retry`, with ±50 % jitter.
    pub first_retry: Duration,
    pub max_retry: Duration,
    /// Failing this long (since the first failed attempt at one event) disables the endpoint.
    pub horizon: Duration,
    /// How long one attempt may take before it counts as failed.
    pub timeout: Duration,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            poll_every: Duration::from_millis(250),
            lease: Duration::from_secs(60),
            batch: 100,
            endpoints_per_round: 16,
            first_retry: Duration::from_secs(5),
            max_retry: Duration::from_secs(3600),
            horizon: Duration::from_secs(3 * 24 * 3600),
            timeout: super::sender::TIMEOUT,
        }
    }
}

fn micros(duration: Duration) -> Micros {
    Micros::try_from(duration.as_micros()).unwrap_or(Micros::MAX)
}

/// The delay before retry number `failed` (1 for the first), jittered so that endpoints that
/// failed together do not retry together.
fn retry_delay(settings: &WorkerSettings, failed: i64) -> Micros {
    let doublings = u32::try_from(failed.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    let base = micros(settings.first_retry)
        .saturating_mul(1_i64 << doublings)
        .min(micros(settings.max_retry));
    let jitter: f64 = rand::rng().random_range(0.5..1.5);
    // The product stays well inside i64 (at most 1.5 × max_retry).
    (base as f64 * jitter) as Micros
}

/// Tenant slugs and connection names by id, for the bodies of a round's deliveries.
#[derive(Debug, Default)]
struct Names {
    tenants: HashMap<TenantId, String>,
    connections: HashMap<ConnectionId, String>,
}

/// One gateway process's deliverer.
pub struct Worker {
    store: Store,
    key: SecretKey,
    sender: Sender,
    settings: WorkerSettings,
    /// Names this process in the leases it takes.
    holder: String,
}

impl Worker {
    pub fn new(store: Store, key: SecretKey, sender: Sender, settings: WorkerSettings) -> Self {
        Self {
            store,
            key,
            sender,
            settings,
            holder: format!("worker-{}", uuid::Uuid::now_v7().simple()),
        }
    }

    /// Names this process in the leases it takes.
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// Delivers until the task is dropped: round after round while a backlog lasts, then a
    /// round every `poll_every`.
    pub async fn run(self) {
        loop {
            match self.round().await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(err) => {
                    tracing::warn!(error = %err, "webhook delivery round failed; trying again");
                }
            }
            tokio::time::sleep(self.settings.poll_every).await;
        }
    }

    /// One round: leases the endpoints that are due and delivers what each has waiting. Whether
    /// an endpoint may have more waiting (it delivered a whole batch).
    pub async fn round(&self) -> Result<bool, StoreError> {
        let now = now_micros();
        let endpoints = self
            .store
            .lease_due_endpoints(
                &self.holder,
                now,
                now.saturating_add(micros(self.settings.lease)),
                self.settings.endpoints_per_round,
            )
            .await?;
        let mut more = false;
        for result in join_all(endpoints.into_iter().map(|e| self.deliver(e))).await {
            more |= result?;
        }
        Ok(more)
    }

    /// Delivers what waits for one leased endpoint; whether more may be waiting.
    async fn deliver(&self, endpoint: WebhookEndpointRecord) -> Result<bool, StoreError> {
        let started = now_micros();
        let mut state = endpoint.delivery;
        let Some(secret) = open_secret(&self.key, &endpoint) else {
            let reason = "its signing secret does not open with this gateway's secret key";
            self.finish(&endpoint, &state, &[], Some((started, reason.into())))
                .await?;
            return Ok(false);
        };
        let scope = match &endpoint.tenant_id {
            Some(tenant_id) => FeedScope::Tenant(tenant_id),
            None => FeedScope::AllTenants,
        };
        let events = self
            .store
            .event_feed(scope, Some(state.cursor), self.settings.batch)
            .await?;
        let names = self.names_of(&events, started).await?;
        let whole_batch = i64::try_from(events.len()).unwrap_or(i64::MAX) >= self.settings.batch;
        let wants_all = endpoint.event_types.iter().any(|t| t == "*");
        let deadline = started.saturating_add(micros(self.settings.lease) / 2);
        let mut attempts = Vec::new();
        let mut disable = None;
        for entry in events {
            if !wants_all && !endpoint.event_types.contains(&entry.event.event_type) {
                state.cursor = entry.position;
                continue;
            }
            let at = now_micros();
            if at > deadline {
                break;
            }
            let Some(tenant) = names.tenants.get(&entry.event.tenant_id) else {
                // Its tenant was removed since: nobody to tell.
                state.cursor = entry.position;
                continue;
            };
            let connection = entry
                .event
                .connection_id
                .as_ref()
                .and_then(|id| names.connections.get(id))
                .map(String::as_str);
            let body = message::body(&entry, tenant, connection);
            let attempt = self
                .sender
                .send(
                    &endpoint.url,
                    &secret,
                    &entry.event.id,
                    at / 1_000_000,
                    body,
                )
                .await;
            attempts.push(AttemptRecord {
                endpoint_id: endpoint.id.clone(),
                event_id: entry.event.id.clone(),
                event_type: entry.event.event_type.clone(),
                at,
                status: attempt.status.map(i64::from),
                latency_ms: i64::try_from(attempt.latency_ms).unwrap_or(i64::MAX),
                excerpt: attempt.excerpt.chars().take(EXCERPT_CHARS).collect(),
                delivered: attempt.delivered(),
            });
            if attempt.delivered() {
                state = DeliveryState {
                    cursor: entry.position,
                    ..DeliveryState::default()
                };
                continue;
            }
            state.failed_attempts += 1;
            let since = *state.failing_since.get_or_insert(at);
            if at.saturating_sub(since) >= micros(self.settings.horizon) {
                disable = Some((
                    at,
                    format!(
                        "failed for {} attempts since {}; last: {}",
                        state.failed_attempts,
                        crate::scim::resource::format_datetime(crate::clock::datetime_of(since)),
                        match attempt.status {
                            Some(status) => format!("HTTP {status}"),
                            None => attempt.excerpt.clone(),
                        }
                    ),
                ));
            }
            state.next_attempt_at =
                at.saturating_add(retry_delay(&self.settings, state.failed_attempts));
            break;
        }
        let more = whole_batch && state.failed_attempts == 0;
        self.finish(&endpoint, &state, &attempts, disable).await?;
        Ok(more)
    }

    /// The slugs of the tenants and the names of the connections `events` came from, read
    /// once per round (an operator-wide endpoint's events come from many tenants).
    async fn names_of(&self, events: &[FeedEntry], now: Micros) -> Result<Names, StoreError> {
        let mut names = Names::default();
        let tenants: BTreeSet<&TenantId> = events.iter().map(|e| &e.event.tenant_id).collect();
        let with_connections: BTreeSet<&TenantId> = events
            .iter()
            .filter(|e| e.event.connection_id.is_some())
            .map(|e| &e.event.tenant_id)
            .collect();
        for tenant_id in tenants {
            let Some(tenant) = self.store.tenant_by_id(tenant_id).await? else {
                continue;
            };
            if with_connections.contains(tenant_id) {
                for c in self.store.connections(tenant_id, now).await? {
                    names.connections.insert(c.connection.id, c.connection.name);
                }
            }
            names.tenants.insert(tenant.id, tenant.slug);
        }
        Ok(names)
    }

    async fn finish(
        &self,
        endpoint: &WebhookEndpointRecord,
        state: &DeliveryState,
        attempts: &[AttemptRecord],
        disable: Option<(Micros, String)>,
    ) -> Result<(), StoreError> {
        let kept = self
            .store
            .finish_delivery_round(&endpoint.id, &self.holder, state, attempts, disable)
            .await?;
        if !kept {
            tracing::info!(endpoint = %endpoint.id, "a webhook endpoint was taken from this process before its round ended (an admin changed it, or its lease ran out); its round's progress is not recorded");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_doubling_with_jitter_up_to_the_cap() {
        let settings = WorkerSettings::default();
        let first = micros(settings.first_retry);
        for _ in 0..50 {
            let d1 = retry_delay(&settings, 1);
            assert!(d1 >= first / 2 && d1 <= first * 3 / 2, "{d1}");
            let d3 = retry_delay(&settings, 3);
            assert!(d3 >= first * 2 && d3 <= first * 6, "{d3}");
            let capped = retry_delay(&settings, 40);
            let max = micros(settings.max_retry);
            assert!(capped >= max / 2 && capped <= max * 3 / 2, "{capped}");
        }
    }
}
