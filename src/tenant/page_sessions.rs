//! Who is signed in to the admin pages. An operator exchanges an operator token for a page
//! session (the token itself is not kept by the browser); a tenant admin uses the gateway session
//! their SSO sign-in set. Each session has a CSRF token derived from its secret, which the pages
//! put in every form.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use super::TenantError;
use super::operators::{AdminActor, OPERATOR_TOKEN_MARKER};
use super::tokens::{TokenSecret, hash_token, new_secret};
use crate::store::{AuditRecord, Micros, Store};

/// How long a page session lasts, from sign-in.
pub const PAGE_SESSION_SECS: i64 = 8 * 3600;
/// Page session secrets start with this.
const PAGE_SESSION_MARKER: &str = "scgwui_";

/// A new page session: its secret (the cookie's value) and when it ends.
#[derive(Debug)]
pub struct PageSession {
    pub secret: TokenSecret,
    pub expires_at: Micros,
}

/// Opens a page session for the operator whose token is `presented`; refused like any other
/// credential when the token is not a live operator token. Audited.
pub async fn sign_in_operator(
    store: &Store,
    presented: &str,
    now: Micros,
) -> Result<PageSession, TenantError> {
    let presented = presented.trim();
    if !presented.starts_with(OPERATOR_TOKEN_MARKER) || presented.len() > 128 {
        return Err(TenantError::Unauthenticated);
    }
    let token = store
        .admin_token_grant(&hash_token(presented), now)
        .await?
        .ok_or(TenantError::Unauthenticated)?;
    let secret = new_secret(PAGE_SESSION_MARKER);
    let expires_at = now.saturating_add(PAGE_SESSION_SECS.saturating_mul(1_000_000));
    let mut tx = store.begin().await?;
    tx.insert_page_session(&hash_token(secret.expose()), &token.id, now, expires_at)
        .await?;
    tx.insert_audit(&AuditRecord {
        at: now,
        actor: format!("operator:{}", token.prefix),
        action: "pages.sign_in".into(),
        target_type: Some("OperatorToken".into()),
        target_name: Some(token.prefix.to_string()),
        outcome: "success".into(),
        http_status: 303,
        ..AuditRecord::default()
    })
    .await?;
    tx.commit().await?;
    Ok(PageSession { secret, expires_at })
}

/// The operator behind a page session's secret, while the session and its token last.
pub async fn operator_of_page_session(
    store: &Store,
    secret: &str,
    now: Micros,
) -> Result<Option<AdminActor>, TenantError> {
    if !secret.starts_with(PAGE_SESSION_MARKER) || secret.len() > 128 {
        return Ok(None);
    }
    Ok(store
        .page_session_token(&hash_token(secret), now)
        .await?
        .map(|token| AdminActor::Operator {
            prefix: token.prefix,
        }))
}

/// Ends a page session (signing out).
pub async fn sign_out(store: &Store, secret: &str) -> Result<(), TenantError> {
    let mut tx = store.begin().await?;
    tx.delete_page_session(&hash_token(secret)).await?;
    tx.commit().await?;
    Ok(())
}

/// The CSRF token of the session whose secret is `secret`: only a holder of the secret (the
/// HttpOnly cookie, which scripts of other sites cannot read) can know it.
pub fn csrf_token(secret: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"scim-gateway page form\0");
    hasher.update(secret.as_bytes());
    URL_SAFE_NO_PAD.encode(hasher.finalize())
}

/// Whether a form's CSRF token is the session's, compared in constant time.
pub fn csrf_matches(secret: &str, presented: &str) -> bool {
    let expected = csrf_token(secret);
    expected.len() == presented.len()
        && expected
            .bytes()
            .zip(presented.bytes())
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_csrf_token_belongs_to_one_session() {
        let token = csrf_token("scgwui_one");
        assert!(csrf_matches("scgwui_one", &token));
        assert!(!csrf_matches("scgwui_two", &token));
        assert!(!csrf_matches("scgwui_one", ""));
        let shortened: String = token.chars().skip(1).collect();
        assert!(!csrf_matches("scgwui_one", &shortened));
    }
}
