//! One signed request to an endpoint, the Standard Webhooks way: short timeouts, no redirects
//! followed (a redirect would take the signed body somewhere the tenant did not name), and what
//! came back kept short.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::signature::SigningSecret;
use super::target::PublicOnlyResolver;

/// How long a delivery may take in all, unless configured otherwise; connecting takes at most
/// half of it.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// Characters of the endpoint's answer kept in the delivery log.
pub const EXCERPT_CHARS: usize = 200;
/// Bytes of the answer read to find them.
const EXCERPT_BYTES: usize = 1024;

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The endpoint's HTTP status; none when no answer came.
    pub status: Option<u16>,
    pub latency_ms: u64,
    /// The start of the endpoint's answer, or why there was none.
    pub excerpt: String,
}

impl Attempt {
    /// A 2xx answer: delivered.
    pub fn delivered(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// Why a request got no answer, innermost cause first (a refused address, a TLS failure, a
/// timeout), so that the excerpt's few characters say it before the URL does.
fn failure(err: &reqwest::Error) -> String {
    let mut causes = vec![err.to_string()];
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        causes.push(cause.to_string());
        source = cause.source();
    }
    causes.reverse();
    causes.join(" ← ")
}

/// The HTTP client deliveries go through.
#[derive(Debug, Clone)]
pub struct Sender {
    client: reqwest::Client,
}

impl Sender {
    /// A sender whose requests give up after `timeout` (an endpoint that stalls is a failed
    /// attempt, retried later). Unless `allow_insecure`, host names are connected to only at
    /// their public addresses.
    pub fn new(timeout: Duration, allow_insecure: bool) -> Result<Self, reqwest::Error> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout / 2)
            .user_agent(concat!("scim-gateway/", env!("CARGO_PKG_VERSION")));
        if !allow_insecure {
            builder = builder.dns_resolver(Arc::new(PublicOnlyResolver));
        }
        Ok(Self {
            client: builder.build()?,
        })
    }

    /// POSTs `body` to `url` with the `webhook-id`, `webhook-timestamp` (seconds since the
    /// epoch) and `webhook-signature` headers.
    pub async fn send(
        &self,
        url: &str,
        secret: &SigningSecret,
        message_id: &str,
        timestamp: i64,
        body: String,
    ) -> Attempt {
        let signature = secret.sign(message_id, timestamp, body.as_bytes());
        let started = Instant::now();
        let sent = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", message_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await;
        let (status, excerpt) = match sent {
            Ok(mut response) => {
                let status = response.status().as_u16();
                // The start of the answer only: an endpoint may answer with anything, at length.
                let mut start = Vec::new();
                while start.len() < EXCERPT_BYTES {
                    match response.chunk().await {
                        Ok(Some(chunk)) => start.extend_from_slice(&chunk),
                        _ => break,
                    }
                }
                let text = String::from_utf8_lossy(&start);
                (Some(status), text.chars().take(EXCERPT_CHARS).collect())
            }
            Err(err) => (None, failure(&err).chars().take(EXCERPT_CHARS).collect()),
        };
        Attempt {
            status,
            latency_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            excerpt,
        }
    }
}
