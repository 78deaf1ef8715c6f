//! Per-token request rates on SCIM (issue #19): a token bucket per SCIM token (governor's GCRA),
//! sized by the tenant's own limit or the gateway's default. Beyond it a request is answered 429
//! with `Retry-After`, which Entra ID and Okta both honour by backing off; other tokens, of the
//! same tenant or others, are not touched. Buckets live in this process: with several gateway
//! processes behind a balancer each enforces the limit on what it receives.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use crate::store::{RateLimit, TokenId};

/// More live tokens than any deployment has: beyond it the buckets start over (full).
const MAX_BUCKETS: usize = 100_000;

/// A request over its token's rate: how long until one more would be let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimited {
    pub limit: RateLimit,
    pub retry_after: Duration,
}

struct Bucket {
    limit: RateLimit,
    limiter: DefaultDirectRateLimiter,
}

/// Every SCIM token's bucket in this process.
pub struct TokenRateLimits {
    default: RateLimit,
    buckets: Mutex<HashMap<TokenId, Bucket>>,
    clock: DefaultClock,
}

impl TokenRateLimits {
    /// `default` applies to tenants without a limit of their own.
    pub fn new(default: RateLimit) -> Self {
        Self {
            default,
            buckets: Mutex::new(HashMap::new()),
            clock: DefaultClock::default(),
        }
    }

    /// Takes one request from `token`'s bucket, sized by `tenant_limit` (else the default). A
    /// changed limit starts the token over with a full bucket of the new size.
    pub fn check(
        &self,
        token: &TokenId,
        tenant_limit: Option<RateLimit>,
    ) -> Result<(), RateLimited> {
        let limit = tenant_limit.unwrap_or(self.default);
        let Some(quota) = quota_of(limit) else {
            return Ok(());
        };
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if buckets.len() >= MAX_BUCKETS && !buckets.contains_key(token) {
            buckets.clear();
        }
        let bucket = buckets.entry(token.clone()).or_insert_with(|| Bucket {
            limit,
            limiter: RateLimiter::direct(quota),
        });
        if bucket.limit != limit {
            *bucket = Bucket {
                limit,
                limiter: RateLimiter::direct(quota),
            };
        }
        bucket.limiter.check().map_err(|not_until| RateLimited {
            limit,
            retry_after: not_until.wait_time_from(self.clock.now()),
        })
    }
}

/// The bucket of a limit: `per_second` refilled evenly, `burst` deep; `None`: no limit.
fn quota_of(limit: RateLimit) -> Option<Quota> {
    let per_second = NonZeroU32::new(limit.per_second)?;
    let burst = NonZeroU32::new(limit.burst).unwrap_or(NonZeroU32::MIN);
    Some(Quota::per_second(per_second).allow_burst(burst))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(per_second: u32, burst: u32) -> RateLimit {
        RateLimit { per_second, burst }
    }

    #[test]
    fn a_token_spends_its_burst_then_waits_while_another_token_is_served() {
        let limits = TokenRateLimits::new(limit(1, 3));
        let (flooding, other) = (TokenId::new("a"), TokenId::new("b"));
        for _ in 0..3 {
            assert!(limits.check(&flooding, None).is_ok());
        }
        let refused = limits.check(&flooding, None).expect_err("over the burst");
        assert_eq!(refused.limit, limit(1, 3));
        assert!(
            refused.retry_after > Duration::ZERO && refused.retry_after <= Duration::from_secs(1),
            "{:?}",
            refused.retry_after
        );
        assert!(limits.check(&other, None).is_ok());
    }

    #[test]
    fn a_tenants_own_limit_replaces_the_default_and_zero_means_none() {
        let limits = TokenRateLimits::new(limit(1, 1));
        let token = TokenId::new("a");
        for _ in 0..50 {
            assert!(limits.check(&token, Some(limit(0, 1))).is_ok());
        }
        for _ in 0..5 {
            assert!(limits.check(&token, Some(limit(1, 5))).is_ok());
        }
        assert!(limits.check(&token, Some(limit(1, 5))).is_err());
    }
}
