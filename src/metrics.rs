//! Prometheus metrics (`GET /metrics`, README "Metrics"): what the gateway counts and measures,
//! every label drawn from a bounded set (route templates, never paths; no user ids; tenants only
//! when the operator asks for them).

use std::sync::Mutex;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::store::{LogState, PoolState, Store, StoreError, WriterLoad};
use crate::tenant::admin_settings::CONNECTION_KINDS;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    resource: &'static str,
    operation: &'static str,
    connection_kind: &'static str,
    /// success (2xx, 3xx), rejected (4xx), failed (5xx).
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RejectionLabels {
    api: &'static str,
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TenantLabels {
    tenant: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EngineLabels {
    engine: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    engine: &'static str,
    state: &'static str,
}

/// What a finished SCIM request was, for `scim_operations_total`.
pub struct ScimOperation {
    pub resource: &'static str,
    pub operation: &'static str,
    /// The connection kind of the token that made it (`None`: no valid token).
    pub connection_kind: Option<String>,
    pub status: u16,
}

/// The gateway's metrics. One per serving process (each test gateway has its own).
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Family<RouteLabels, Histogram>,
    operations: Family<OperationLabels, Counter>,
    rejections: Family<RejectionLabels, Counter>,
    tenants: Gauge,
    seats_used: Gauge,
    tenants_at_seat_limit: Gauge,
    tenant_seats_used: Family<TenantLabels, Gauge>,
    tenant_seat_limit: Family<TenantLabels, Gauge>,
    db_connections: Family<PoolLabels, Gauge>,
    db_max_connections: Family<PoolLabels, Gauge>,
    wal_pages: Family<EngineLabels, Gauge>,
    wal_pauses: Family<EngineLabels, Counter>,
    wal_pause_seconds: Family<EngineLabels, Counter<f64, AtomicU64>>,
    writer_busy_seconds: Family<EngineLabels, Counter<f64, AtomicU64>>,
    writer_handoff_seconds: Family<EngineLabels, Counter<f64, AtomicU64>>,
    commits: Family<EngineLabels, Counter>,
    committed_writes: Family<EngineLabels, Counter>,
    /// One scrape at a time brings SQLite's counters up to the store's totals.
    sqlite_report: Mutex<()>,
    tenant_labels: bool,
}

impl Metrics {
    /// `tenant_labels`: seat gauges per tenant (one series per tenant) besides the totals.
    pub fn new(tenant_labels: bool) -> Self {
        let mut registry = Registry::with_prefix("scim_gateway");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route template, method and status",
            requests.clone(),
        );
        // 0.25 ms to 4 s: a lookup is well under a millisecond, a large import page seconds.
        let durations = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.000_25, 2.0, 15))
        });
        registry.register(
            "http_request_duration_seconds",
            "Time from a request's arrival to its answer, by route template and method",
            durations.clone(),
        );
        let operations = Family::<OperationLabels, Counter>::default();
        registry.register(
            "scim_operations",
            "SCIM operations by resource, operation, the connection kind of the token, and outcome (rejected: 4xx, failed: 5xx)",
            operations.clone(),
        );
        let rejections = Family::<RejectionLabels, Counter>::default();
        registry.register(
            "rejections",
            "Requests refused, by API (scim, admin) and reason (the SCIM error type, or what the status says)",
            rejections.clone(),
        );
        let tenants = Gauge::default();
        registry.register("tenants", "Tenants", tenants.clone());
        let seats_used = Gauge::default();
        registry.register(
            "seats_used",
            "Seats held by non-deleted users, all tenants together",
            seats_used.clone(),
        );
        let tenants_at_seat_limit = Gauge::default();
        registry.register(
            "tenants_at_seat_limit",
            "Tenants whose seats are all taken (new users are refused)",
            tenants_at_seat_limit.clone(),
        );
        let tenant_seats_used = Family::<TenantLabels, Gauge>::default();
        let tenant_seat_limit = Family::<TenantLabels, Gauge>::default();
        if tenant_labels {
            registry.register(
                "tenant_seats_used",
                "Seats held in each tenant (--metrics-tenant-labels)",
                tenant_seats_used.clone(),
            );
            registry.register(
                "tenant_seat_limit",
                "Each tenant's seat limit; absent for unlimited tenants (--metrics-tenant-labels)",
                tenant_seat_limit.clone(),
            );
        }
        let db_connections = Family::<PoolLabels, Gauge>::default();
        registry.register(
            "db_connections",
            "Database connections of this process by state (in_use, idle; waiting: requests queued for SQLite's writer)",
            db_connections.clone(),
        );
        let db_max_connections = Family::<PoolLabels, Gauge>::default();
        registry.register(
            "db_max_connections",
            "The most database connections this process opens (PostgreSQL's pool size)",
            db_max_connections.clone(),
        );
        let wal_pages = Family::<EngineLabels, Gauge>::default();
        registry.register(
            "sqlite_wal_pages",
            "Pages in SQLite's write-ahead log at the checkpoint thread's last round",
            wal_pages.clone(),
        );
        let wal_pauses = Family::<EngineLabels, Counter>::default();
        registry.register(
            "sqlite_wal_pauses",
            "Times the checkpoint thread held the writes to copy the log's last pages, so that the log starts over",
            wal_pauses.clone(),
        );
        let wal_pause_seconds = Family::<EngineLabels, Counter<f64, AtomicU64>>::default();
        registry.register(
            "sqlite_wal_pause_seconds",
            "How long the writes waited for those pauses, all together (reads never wait)",
            wal_pause_seconds.clone(),
        );
        let writer_busy_seconds = Family::<EngineLabels, Counter<f64, AtomicU64>>::default();
        registry.register(
            "sqlite_writer_busy_seconds",
            "How long write requests held SQLite's one write connection, together (a rate near 1 means writes queue for it)",
            writer_busy_seconds.clone(),
        );
        let writer_handoff_seconds = Family::<EngineLabels, Counter<f64, AtomicU64>>::default();
        registry.register(
            "sqlite_writer_handoff_seconds",
            "How long SQLite's write connection, let go while requests waited for it, took to reach the next of them, together",
            writer_handoff_seconds.clone(),
        );
        let commits = Family::<EngineLabels, Counter>::default();
        registry.register(
            "sqlite_commits",
            "Transactions SQLite committed for write requests, each holding one or more of them",
            commits.clone(),
        );
        let committed_writes = Family::<EngineLabels, Counter>::default();
        registry.register(
            "sqlite_committed_writes",
            "Write requests those commits held (divided by the commits: requests per commit)",
            committed_writes.clone(),
        );
        Self {
            registry,
            requests,
            durations,
            operations,
            rejections,
            tenants,
            seats_used,
            tenants_at_seat_limit,
            tenant_seats_used,
            tenant_seat_limit,
            db_connections,
            db_max_connections,
            wal_pages,
            wal_pauses,
            wal_pause_seconds,
            writer_busy_seconds,
            writer_handoff_seconds,
            commits,
            committed_writes,
            sqlite_report: Mutex::new(()),
            tenant_labels,
        }
    }

    /// Counts an answered request and its time, by its route template (`None`: no route matched).
    pub fn observe_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_string(),
                route: route.to_string(),
                status,
            })
            .inc();
        self.durations
            .get_or_create(&RouteLabels {
                method: method.to_string(),
                route: route.to_string(),
            })
            .observe(elapsed.as_secs_f64());
    }

    /// Counts a finished SCIM operation.
    pub fn observe_scim_operation(&self, operation: &ScimOperation) {
        let outcome = match operation.status {
            500.. => "failed",
            400.. => "rejected",
            _ => "success",
        };
        let connection_kind = match operation.connection_kind.as_deref() {
            None => "none",
            // The kinds a connection may name; anything else (older data) counts as `other`.
            Some(kind) => CONNECTION_KINDS
                .into_iter()
                .find(|known| kind.eq_ignore_ascii_case(known))
                .unwrap_or("other"),
        };
        self.operations
            .get_or_create(&OperationLabels {
                resource: operation.resource,
                operation: operation.operation,
                connection_kind,
                outcome,
            })
            .inc();
    }

    /// Counts a refused request of `api` (`scim`, `admin`) for `reason`.
    pub fn observe_rejection(&self, api: &'static str, reason: &'static str) {
        self.rejections
            .get_or_create(&RejectionLabels { api, reason })
            .inc();
    }

    /// The metrics in Prometheus' text format, the gauges read from the database now: the
    /// tenants' seat counters (one row per tenant, no user is read) and this process's pools.
    pub async fn render(&self, store: &Store) -> Result<String, StoreError> {
        let tenants = store.list_tenants().await?;
        let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        self.tenants.set(count(tenants.len()));
        self.seats_used
            .set(tenants.iter().map(|t| t.seats_used).sum::<i64>());
        self.tenants_at_seat_limit.set(count(
            tenants
                .iter()
                .filter(|t| t.seat_limit.is_some_and(|limit| t.seats_used >= limit))
                .count(),
        ));
        if self.tenant_labels {
            // Cleared first, so that a tenant gone (or a limit lifted) leaves no stale series.
            self.tenant_seats_used.clear();
            self.tenant_seat_limit.clear();
            for tenant in &tenants {
                let labels = TenantLabels {
                    tenant: tenant.slug.clone(),
                };
                self.tenant_seats_used
                    .get_or_create(&labels)
                    .set(tenant.seats_used);
                if let Some(limit) = tenant.seat_limit {
                    self.tenant_seat_limit.get_or_create(&labels).set(limit);
                }
            }
        }
        let PoolState {
            engine,
            in_use,
            idle,
            waiting,
            max,
        } = store.pool_state();
        let state = |state| PoolLabels { engine, state };
        self.db_connections
            .get_or_create(&state("in_use"))
            .set(count(in_use));
        self.db_connections
            .get_or_create(&state("idle"))
            .set(count(idle));
        self.db_connections
            .get_or_create(&state("waiting"))
            .set(count(waiting));
        if let Some(max) = max {
            self.db_max_connections
                .get_or_create(&state("max"))
                .set(count(max));
        }
        if let Some(log) = store.log_state() {
            self.report_log(log);
        }
        if let Some(load) = store.writer_load() {
            self.report_writer(load);
        }
        let mut text = String::new();
        // Writing into a String cannot fail; a metric that could not be encoded is logged.
        if let Err(err) = encode(&mut text, &self.registry) {
            tracing::error!(error = %err, "the metrics could not be encoded");
        }
        Ok(text)
    }

    /// Brings the log's series up to the checkpoint thread's totals (counters only go up).
    fn report_log(&self, log: LogState) {
        let _one_scrape_at_a_time = self
            .sqlite_report
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let sqlite = EngineLabels { engine: "sqlite" };
        self.wal_pages
            .get_or_create(&sqlite)
            .set(i64::try_from(log.pages).unwrap_or(i64::MAX));
        catch_up(&self.wal_pauses.get_or_create(&sqlite), log.pauses);
        catch_up_seconds(
            &self.wal_pause_seconds.get_or_create(&sqlite),
            log.writes_paused,
        );
    }

    /// Brings the write connection's series up to the store's totals.
    fn report_writer(&self, load: WriterLoad) {
        let _one_scrape_at_a_time = self
            .sqlite_report
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let sqlite = EngineLabels { engine: "sqlite" };
        catch_up_seconds(&self.writer_busy_seconds.get_or_create(&sqlite), load.busy);
        catch_up_seconds(
            &self.writer_handoff_seconds.get_or_create(&sqlite),
            load.handoff,
        );
        catch_up(&self.commits.get_or_create(&sqlite), load.commits);
        catch_up(
            &self.committed_writes.get_or_create(&sqlite),
            load.committed_requests,
        );
    }
}

/// Raises `counter` to `total` (counters only go up).
fn catch_up(counter: &Counter, total: u64) {
    counter.inc_by(total.saturating_sub(counter.get()));
}

/// Raises a seconds counter to `total`.
fn catch_up_seconds(counter: &Counter<f64, AtomicU64>, total: Duration) {
    let more = total.as_secs_f64() - counter.get();
    if more > 0.0 {
        counter.inc_by(more);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(metrics: &Metrics) -> String {
        let mut text = String::new();
        encode(&mut text, &metrics.registry).unwrap();
        text
    }

    /// Asserts that the scrape of `metrics` has each of `lines`, exactly.
    fn assert_scraped(metrics: &Metrics, lines: &[&str]) {
        let text = text(metrics);
        for line in lines {
            assert!(text.lines().any(|l| l == *line), "{line} missing:\n{text}");
        }
    }

    #[test]
    fn the_logs_counters_follow_the_checkpoint_threads_totals() {
        let metrics = Metrics::new(false);
        let log = |pages, pauses, micros| LogState {
            pages,
            pauses,
            writes_paused: Duration::from_micros(micros),
        };
        metrics.report_log(log(6_000, 2, 3_000));
        metrics.report_log(log(120, 5, 10_000));
        // A scrape that finds nothing new changes nothing.
        metrics.report_log(log(120, 5, 10_000));
        assert_scraped(
            &metrics,
            &[
                r#"scim_gateway_sqlite_wal_pages{engine="sqlite"} 120"#,
                r#"scim_gateway_sqlite_wal_pauses_total{engine="sqlite"} 5"#,
                r#"scim_gateway_sqlite_wal_pause_seconds_total{engine="sqlite"} 0.01"#,
            ],
        );
    }

    #[test]
    fn the_writers_counters_follow_the_stores_totals() {
        let metrics = Metrics::new(false);
        let load = |millis, commits, committed_requests| WriterLoad {
            busy: Duration::from_millis(millis),
            handoff: Duration::from_millis(millis / 10),
            commits,
            committed_requests,
        };
        metrics.report_writer(load(250, 3, 40));
        metrics.report_writer(load(500, 7, 90));
        metrics.report_writer(load(500, 7, 90));
        assert_scraped(
            &metrics,
            &[
                r#"scim_gateway_sqlite_writer_busy_seconds_total{engine="sqlite"} 0.5"#,
                r#"scim_gateway_sqlite_writer_handoff_seconds_total{engine="sqlite"} 0.05"#,
                r#"scim_gateway_sqlite_commits_total{engine="sqlite"} 7"#,
                r#"scim_gateway_sqlite_committed_writes_total{engine="sqlite"} 90"#,
            ],
        );
    }
}
