//! SCIM bearer tokens: 256-bit random secrets shown once, stored only as a SHA-256 hash, with a
//! short visible prefix to tell them apart.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use sha2::{Digest, Sha256};

use super::audit;
use super::tenants::tenant_in;
use super::{Caller, TenantError};
use crate::store::{
    AuditRecord, ConnectionId, ConnectionRecord, Micros, Store, TokenGrant, TokenId, TokenPrefix,
    TokenRecord,
};

const TOKEN_MARKER: &str = "scgw_";
/// Characters of the token shown in listings and audit events (marker included).
const PREFIX_LEN: usize = 12;
/// How often the last use of a token is written at most (a write per request would be costly).
const LAST_USED_RESOLUTION_MICROS: Micros = 60_000_000;

/// A token secret. `Debug` never shows it.
pub struct TokenSecret(String);

impl TokenSecret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for TokenSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenSecret(…)")
    }
}

pub fn hash_token(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    let mut out = String::with_capacity(digest.len() * 2);
    for byte in digest.iter() {
        out.extend(char::from_digit(u32::from(byte >> 4), 16));
        out.extend(char::from_digit(u32::from(byte & 0x0f), 16));
    }
    out
}

/// A token's state in listings (SCIM and operator tokens alike): `revoked`, `expired` or `live`.
pub fn token_state(
    revoked_at: Option<Micros>,
    expires_at: Option<Micros>,
    now: Micros,
) -> &'static str {
    match (revoked_at, expires_at) {
        (Some(_), _) => "revoked",
        (None, Some(at)) if at <= now => "expired",
        _ => "live",
    }
}

/// A new 256-bit secret, after `marker` (which says what kind of token it is).
pub(super) fn new_secret(marker: &str) -> TokenSecret {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    TokenSecret(format!("{marker}{}", URL_SAFE_NO_PAD.encode(bytes)))
}

/// Creates a token for a connection of the tenant (the connection is created if missing), as
/// the CLI.
pub async fn create_token(
    store: &Store,
    tenant_slug: &str,
    connection_name: &str,
    expires_at: Option<Micros>,
    now: Micros,
) -> Result<(TokenSecret, TokenRecord), TenantError> {
    create_token_by(store, "cli", tenant_slug, connection_name, expires_at, now).await
}

/// Creates a token, audited as `actor`'s act.
pub async fn create_token_by(
    store: &Store,
    actor: &str,
    tenant_slug: &str,
    connection_name: &str,
    expires_at: Option<Micros>,
    now: Micros,
) -> Result<(TokenSecret, TokenRecord), TenantError> {
    let request = Issue {
        actor,
        tenant_slug,
        connection_name,
        expires_at,
        old_tokens_expire_at: None,
    };
    issue(store, request, now).await
}

/// Issues a new token for a connection and lets its current tokens live `grace` more
/// microseconds, as the CLI.
pub async fn rotate_token(
    store: &Store,
    tenant_slug: &str,
    connection_name: &str,
    grace: Micros,
    now: Micros,
) -> Result<(TokenSecret, TokenRecord), TenantError> {
    rotate_token_by(store, "cli", tenant_slug, connection_name, grace, now).await
}

/// Rotates a connection's tokens, audited as `actor`'s act.
pub async fn rotate_token_by(
    store: &Store,
    actor: &str,
    tenant_slug: &str,
    connection_name: &str,
    grace: Micros,
    now: Micros,
) -> Result<(TokenSecret, TokenRecord), TenantError> {
    let request = Issue {
        actor,
        tenant_slug,
        connection_name,
        expires_at: None,
        old_tokens_expire_at: Some(now.saturating_add(grace)),
    };
    issue(store, request, now).await
}

/// A token to issue, and who asks.
struct Issue<'a> {
    actor: &'a str,
    tenant_slug: &'a str,
    connection_name: &'a str,
    expires_at: Option<Micros>,
    old_tokens_expire_at: Option<Micros>,
}

async fn issue(
    store: &Store,
    request: Issue<'_>,
    now: Micros,
) -> Result<(TokenSecret, TokenRecord), TenantError> {
    let Issue {
        actor,
        tenant_slug,
        connection_name,
        expires_at,
        old_tokens_expire_at,
    } = request;
    if connection_name.trim().is_empty() {
        return Err(TenantError::InvalidArgument(
            "the connection name cannot be empty".into(),
        ));
    }
    let mut tx = store.begin().await?;
    let tenant = tenant_in(&mut tx, tenant_slug).await?;
    let connection = match tx.connection_by_name(&tenant.id, connection_name).await? {
        Some(c) => c,
        None => {
            let c = ConnectionRecord {
                id: ConnectionId::generate(),
                tenant_id: tenant.id.clone(),
                name: connection_name.to_string(),
                kind: "generic".into(),
                created_at: now,
            };
            tx.insert_connection(&c).await?;
            c
        }
    };
    if let Some(at) = old_tokens_expire_at {
        tx.expire_connection_tokens(&connection.id, at).await?;
    }
    let secret = new_secret(TOKEN_MARKER);
    let record = TokenRecord {
        id: TokenId::generate(),
        tenant_id: tenant.id.clone(),
        connection_id: connection.id.clone(),
        connection_name: connection.name.clone(),
        prefix: TokenPrefix::new(secret.expose().chars().take(PREFIX_LEN).collect::<String>()),
        created_at: now,
        last_used_at: None,
        expires_at,
        revoked_at: None,
    };
    tx.insert_token(&record, &hash_token(secret.expose()))
        .await?;
    let caller = Caller {
        tenant: tenant.into(),
        connection_id: Some(connection.id),
        actor: "cli",
        request_summary: None,
        token_id: None,
    };
    let mut event = audit::event(
        &caller,
        if old_tokens_expire_at.is_some() {
            "token.rotate"
        } else {
            "token.create"
        },
        now,
    );
    event.actor = actor.to_string();
    event.target_type = Some("Token".into());
    event.target_id = Some(record.id.to_string());
    event.target_name = Some(record.prefix.to_string());
    tx.insert_audit(&event).await?;
    tx.commit().await?;
    Ok((secret, record))
}

/// Revokes a tenant's tokens by their visible prefix, as the CLI.
pub async fn revoke_token(
    store: &Store,
    tenant_slug: &str,
    prefix: &TokenPrefix,
    now: Micros,
) -> Result<u64, TenantError> {
    revoke_token_by(store, "cli", tenant_slug, prefix, now).await
}

/// Revokes a tenant's tokens by their visible prefix, audited as `actor`'s act.
pub async fn revoke_token_by(
    store: &Store,
    actor: &str,
    tenant_slug: &str,
    prefix: &TokenPrefix,
    now: Micros,
) -> Result<u64, TenantError> {
    let mut tx = store.begin().await?;
    let tenant = tenant_in(&mut tx, tenant_slug).await?;
    let revoked = tx.revoke_tokens(&tenant.id, prefix, now).await?;
    if revoked == 0 {
        return Err(TenantError::NotFound(format!(
            "live token with prefix '{prefix}' in tenant '{tenant_slug}'"
        )));
    }
    let caller = Caller {
        tenant: tenant.into(),
        connection_id: None,
        actor: "cli",
        request_summary: None,
        token_id: None,
    };
    let mut event = audit::event(&caller, "token.revoke", now);
    event.actor = actor.to_string();
    event.target_type = Some("Token".into());
    event.target_name = Some(prefix.to_string());
    tx.insert_audit(&event).await?;
    tx.commit().await?;
    Ok(revoked)
}

/// Live tokens recently looked up, so that a burst of requests (an IdP's lookups before a sync,
/// the creates of its first sync) costs one token query per token and second rather than one per
/// request. A revoked token can read for at most `ttl` longer (issue #2 allows a few seconds) and
/// never write: every write checks its token in its own transaction (`WriteContext::begin`),
/// and the policy it enforces is read there too (`Tx::locked_attributes`, `seat_limit`).
pub struct GrantCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Arc<TokenGrant>, Instant)>>,
}

/// More live tokens than any deployment has: beyond it the cache starts over.
const GRANT_CACHE_CAPACITY: usize = 10_000;

impl GrantCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn get(&self, hash: &str) -> Option<Arc<TokenGrant>> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.entries.lock().ok()?;
        entries
            .get(hash)
            .filter(|(_, at)| at.elapsed() < self.ttl)
            .map(|(grant, _)| grant.clone())
    }

    /// A write found the presented token dead: no request may reuse its grant any more.
    pub fn forget_token(&self, presented: &str) {
        self.forget(&hash_token(presented));
    }

    /// A fresh lookup found the token dead: no request may reuse it any more.
    fn forget(&self, hash: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(hash);
        }
    }

    fn put(&self, hash: String, grant: &Arc<TokenGrant>) {
        if self.ttl.is_zero() {
            return;
        }
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= GRANT_CACHE_CAPACITY {
                entries.clear();
            }
            entries.insert(hash, (Arc::clone(grant), Instant::now()));
        }
    }
}

/// Resolves a presented bearer token. `None` for anything that is not a live token, whatever the
/// reason, so that a 401 gives no hint. A grant remembered in `cache` is reused (see
/// `GrantCache`); a fresh lookup is remembered there.
pub async fn authenticate(
    store: &Store,
    presented: &str,
    now: Micros,
    cache: &GrantCache,
) -> Result<Option<Arc<TokenGrant>>, TenantError> {
    if !presented.starts_with(TOKEN_MARKER) || presented.len() > 128 {
        return Ok(None);
    }
    let hash = hash_token(presented);
    if let Some(grant) = cache.get(&hash) {
        return Ok(Some(grant));
    }
    let mut grant = store.token_grant(&hash, now).await?;
    if let Some(g) = &mut grant
        && g.last_used_at
            .is_none_or(|t| now - t >= LAST_USED_RESOLUTION_MICROS)
    {
        match store.touch_token(&g.token_id, now).await {
            Ok(()) => g.last_used_at = Some(now),
            Err(err) => tracing::warn!(error = %err, "could not record the token's last use"),
        }
    }
    let grant = grant.map(Arc::new);
    match &grant {
        Some(g) => cache.put(hash, g),
        None => cache.forget(&hash),
    }
    Ok(grant)
}

/// Records a refused SCIM authentication against the tenant named in the URL, if there is one
/// (an unknown slug is not recorded: nobody learns which tenants exist). A failure to record is
/// logged; the refusal stands either way.
pub async fn record_auth_failure(
    store: &Store,
    slug: &str,
    had_token: bool,
    request_summary: String,
    now: Micros,
) {
    let Ok(Some(tenant)) = store.tenant_by_slug(slug).await else {
        return;
    };
    let record = AuditRecord {
        tenant_id: Some(tenant.id),
        at: now,
        actor: "scim".into(),
        action: "auth.failure".into(),
        outcome: "rejected".into(),
        http_status: 401,
        reason: Some(
            if had_token {
                "invalid, revoked, expired or foreign token"
            } else {
                "no bearer token"
            }
            .into(),
        ),
        request_summary: Some(request_summary),
        ..AuditRecord::default()
    };
    if let Err(err) = store.record_audit(&record).await {
        tracing::error!(error = %err, "could not record an authentication failure");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{TenantId, TenantRecord};

    #[test]
    fn tokens_are_long_random_and_hashed() {
        let (a, b) = (new_secret(TOKEN_MARKER), new_secret(TOKEN_MARKER));
        assert_ne!(a.expose(), b.expose());
        assert_eq!(a.expose().len(), TOKEN_MARKER.len() + 43);
        assert_eq!(hash_token(a.expose()).len(), 64);
        assert_ne!(hash_token(a.expose()), hash_token(b.expose()));
        // Stored hashes must never change form: SHA-256 of "abc" in lower-case hex (FIPS 180-2).
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(format!("{a:?}"), "TokenSecret(…)");
    }

    fn grant() -> TokenGrant {
        TokenGrant {
            token_id: TokenId::new("k"),
            last_used_at: None,
            tenant: std::sync::Arc::new(TenantRecord {
                id: TenantId::new("t"),
                slug: "acme".into(),
                display_name: "Acme".into(),
                seat_limit: None,
                seats_used: 0,
                immutable_attributes: vec![],
                rate_limit: None,
                parent_id: None,
                created_at: 0,
                updated_at: 0,
            }),
            connection_id: ConnectionId::new("c"),
            connection_name: "entra".into(),
            connection_kind: "entra".into(),
        }
    }

    #[test]
    fn grants_are_remembered_for_their_ttl_only() {
        let cache = GrantCache::new(Duration::from_secs(60));
        assert!(cache.get("h").is_none());
        cache.put("h".into(), &Arc::new(grant()));
        assert_eq!(
            cache.get("h").map(|g| g.token_id.clone()),
            Some(TokenId::new("k"))
        );
        let expired = GrantCache::new(Duration::from_nanos(1));
        expired.put("h".into(), &Arc::new(grant()));
        std::thread::sleep(Duration::from_millis(2));
        assert!(expired.get("h").is_none());
        let off = GrantCache::new(Duration::ZERO);
        off.put("h".into(), &Arc::new(grant()));
        assert!(off.get("h").is_none());
    }
}
