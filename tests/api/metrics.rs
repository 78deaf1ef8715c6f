//! `/metrics` as Prometheus scrapes it (issue #19), from the real binary on both engines: every
//! documented metric is there and moves with the traffic, no label names a user, and the text
//! parses with an independent parser (the `prometheus_client` package from PyPI when CI names a
//! Python that has it: `PROMETHEUS_PYTHON`).

use std::collections::BTreeMap;

use reqwest::{Client, StatusCode};
use serde_json::Value;

use crate::helpers::{fresh_database_url, user};
use crate::process::{Gateway, post_json, tenant_with_token};

/// A scrape: each sample's name with its labels (as written) to its value.
struct Scrape {
    text: String,
    samples: BTreeMap<String, f64>,
}

impl Scrape {
    async fn of(client: &Client, root: &str) -> Scrape {
        let response = client
            .get(format!("{root}/metrics"))
            .send()
            .await
            .expect("scrape");
        assert_eq!(response.status(), StatusCode::OK);
        let content_type = response.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .to_string();
        assert!(
            content_type.starts_with("application/openmetrics-text"),
            "{content_type}"
        );
        let text = response.text().await.expect("text");
        let samples = text
            .lines()
            .filter(|line| !line.starts_with('#') && !line.is_empty())
            .map(|line| {
                let (name, value) = line.rsplit_once(' ').expect("a sample: name value");
                (name.to_string(), value.parse().expect("a number"))
            })
            .collect();
        Scrape { text, samples }
    }

    /// The value of the sample named exactly so (labels in the order the gateway writes them),
    /// 0 when absent (a counter not yet created).
    fn value(&self, sample: &str) -> f64 {
        self.samples.get(sample).copied().unwrap_or(0.0)
    }

    /// Whether a sample of this metric family is present.
    fn has(&self, family: &str) -> bool {
        self.samples
            .keys()
            .any(|name| name == family || name.starts_with(&format!("{family}{{")))
    }
}

/// The families the README documents (`db_max_connections` only where a pool has a size, the
/// `sqlite_wal_*` families only on SQLite).
const DOCUMENTED: [&str; 12] = [
    "scim_gateway_http_requests_total",
    "scim_gateway_http_request_duration_seconds_bucket",
    "scim_gateway_http_request_duration_seconds_count",
    "scim_gateway_http_request_duration_seconds_sum",
    "scim_gateway_scim_operations_total",
    "scim_gateway_rejections_total",
    "scim_gateway_tenants",
    "scim_gateway_seats_used",
    "scim_gateway_tenants_at_seat_limit",
    "scim_gateway_tenant_seats_used",
    "scim_gateway_tenant_seat_limit",
    "scim_gateway_db_connections",
];

/// Parses the text with `prometheus_client`'s OpenMetrics parser; the family names it found.
fn parsed_by_prometheus_client(text: &str) -> Option<Vec<String>> {
    let python = std::env::var("PROMETHEUS_PYTHON").ok()?;
    let script = "import sys\n\
                  from prometheus_client.openmetrics.parser import text_string_to_metric_families\n\
                  for family in text_string_to_metric_families(sys.stdin.read()):\n    \
                  print(family.name)\n";
    let mut child = std::process::Command::new(python)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write");
    let output = child.wait_with_output().expect("parser");
    assert!(
        output.status.success(),
        "prometheus_client refused the metrics: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(
        String::from_utf8(output.stdout)
            .expect("utf-8")
            .lines()
            .map(str::to_string)
            .collect(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_metric_is_scraped_moves_with_traffic_and_parses() {
    let database = fresh_database_url().await;
    let token = tenant_with_token(&database, "acme", Some(2));
    let gateway = Gateway::start_with(&database, &["--metrics-tenant-labels"]);
    let client = Client::new();
    let root = gateway.root.clone();
    let base = gateway.base("acme");
    let before = Scrape::of(&client, &root).await;

    let mut ids = Vec::new();
    for name in ["ann@example.com", "bob@example.com"] {
        let (status, body) =
            post_json(&client, &format!("{base}/Users"), &token, &user(name)).await;
        assert_eq!(status, 201, "{body}");
        ids.push(body["id"].as_str().expect("id").to_string());
    }
    let (full, _) = post_json(
        &client,
        &format!("{base}/Users"),
        &token,
        &user("cy@example.com"),
    )
    .await;
    assert_eq!(full, 403);
    let (taken, _) = post_json(
        &client,
        &format!("{base}/Users"),
        &token,
        &user("ann@example.com"),
    )
    .await;
    assert_eq!(taken, 409);
    let bad_filter = client
        .get(format!("{base}/Users?filter=userName%20zz%20%22x%22"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("filter");
    assert_eq!(bad_filter.status(), StatusCode::BAD_REQUEST);
    let stranger = client
        .get(format!("{base}/Users/{}", ids[0]))
        .bearer_auth("not-a-token")
        .send()
        .await
        .expect("401");
    assert_eq!(stranger.status(), StatusCode::UNAUTHORIZED);
    let read: Value = client
        .get(format!("{base}/Users/{}", ids[0]))
        .bearer_auth(&token)
        .send()
        .await
        .expect("read")
        .json()
        .await
        .expect("json");
    assert_eq!(read["id"], ids[0].as_str());

    let after = Scrape::of(&client, &root).await;
    for family in DOCUMENTED {
        assert!(after.has(family), "{family} is missing:\n{}", after.text);
    }
    // A pool with a size (PostgreSQL's) reports it; SQLite opens read connections as needed.
    assert_eq!(
        after.has("scim_gateway_db_max_connections"),
        database.starts_with("postgres"),
        "{}",
        after.text
    );
    // SQLite's write-ahead log and its one write connection, where there are.
    for family in [
        "scim_gateway_sqlite_wal_pages",
        "scim_gateway_sqlite_wal_pauses_total",
        "scim_gateway_sqlite_wal_pause_seconds_total",
        "scim_gateway_sqlite_writer_busy_seconds_total",
        "scim_gateway_sqlite_commits_total",
        "scim_gateway_sqlite_committed_writes_total",
    ] {
        assert_eq!(
            after.has(family),
            !database.starts_with("postgres"),
            "{family}:\n{}",
            after.text
        );
    }
    let moved = |sample: &str| after.value(sample) - before.value(sample);
    if !database.starts_with("postgres") {
        // The two creates kept, and the audit events of the refusals (each its own write).
        let sqlite = |family: &str| moved(&format!(r#"{family}{{engine="sqlite"}}"#));
        let committed = sqlite("scim_gateway_sqlite_committed_writes_total");
        let commits = sqlite("scim_gateway_sqlite_commits_total");
        assert!(committed >= 2.0, "{}", after.text);
        assert!((1.0..=committed).contains(&commits), "{}", after.text);
        assert!(sqlite("scim_gateway_sqlite_writer_busy_seconds_total") > 0.0);
    }
    let creates = r#"scim_gateway_http_requests_total{method="POST",route="/scim/v2/{tenant}/Users",status="201"}"#;
    assert_eq!(moved(creates), 2.0, "{}", after.text);
    let op = |operation: &str, kind: &str, outcome: &str| {
        format!(
            r#"scim_gateway_scim_operations_total{{resource="User",operation="{operation}",connection_kind="{kind}",outcome="{outcome}"}}"#
        )
    };
    assert_eq!(moved(&op("create", "generic", "success")), 2.0);
    assert_eq!(moved(&op("create", "generic", "rejected")), 2.0);
    assert_eq!(moved(&op("list", "generic", "rejected")), 1.0);
    assert_eq!(moved(&op("read", "generic", "success")), 1.0);
    assert_eq!(moved(&op("read", "none", "rejected")), 1.0);
    let rejected = |reason: &str| {
        moved(&format!(
            r#"scim_gateway_rejections_total{{api="scim",reason="{reason}"}}"#
        ))
    };
    assert_eq!(rejected("seat_limit"), 1.0, "{}", after.text);
    assert_eq!(rejected("uniqueness"), 1.0);
    assert_eq!(rejected("invalidFilter"), 1.0);
    assert_eq!(rejected("unauthenticated"), 1.0);
    assert_eq!(moved("scim_gateway_seats_used"), 2.0);
    assert_eq!(after.value("scim_gateway_tenants_at_seat_limit"), 1.0);
    assert_eq!(
        after.value(r#"scim_gateway_tenant_seat_limit{tenant="acme"}"#),
        2.0
    );
    assert_eq!(
        after.value(r#"scim_gateway_tenant_seats_used{tenant="acme"}"#),
        2.0
    );
    let histogram_count = r#"scim_gateway_http_request_duration_seconds_count{method="POST",route="/scim/v2/{tenant}/Users"}"#;
    assert_eq!(moved(histogram_count), 4.0);
    for id in &ids {
        assert!(!after.text.contains(id.as_str()), "a user id is a label");
    }
    assert!(!after.text.contains("ann@example.com"));

    if let Some(families) = parsed_by_prometheus_client(&after.text) {
        for family in [
            "scim_gateway_http_requests",
            "scim_gateway_http_request_duration_seconds",
            "scim_gateway_scim_operations",
            "scim_gateway_rejections",
            "scim_gateway_seats_used",
        ] {
            assert!(
                families.iter().any(|f| f == family),
                "{family}: {families:?}"
            );
        }
    }
}

#[tokio::test]
async fn seats_per_tenant_are_reported_only_when_asked() {
    let database = fresh_database_url().await;
    tenant_with_token(&database, "acme", Some(5));
    let gateway = Gateway::start(&database);
    let scrape = Scrape::of(&Client::new(), &gateway.root).await;
    assert!(scrape.has("scim_gateway_seats_used"));
    assert!(
        !scrape.text.contains("tenant_seats_used"),
        "{}",
        scrape.text
    );
    assert!(!scrape.text.contains("acme"));
}
