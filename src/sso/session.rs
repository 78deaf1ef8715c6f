//! The gateway's session tokens: ES256 JWTs signed with a key kept (sealed) in the database,
//! published as a JWKS so host products verify them offline, and rotatable. Each session also
//! has a row, so that introspection and logout can end it before it expires.

use jsonwebtoken::jwk::{Jwk, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::SsoError;
use super::secret_key::{SecretKey, random_token};
use crate::store::{Micros, SigningKeyRecord, Store};

const ALGORITHM: Algorithm = Algorithm::ES256;

/// What a session token says. `sub` is the user's id; `sid` names the session row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionClaims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub sid: String,
    pub tenant: String,
    pub tenant_id: String,
    pub user_name: String,
    pub roles: Vec<String>,
    pub permissions: Vec<String>,
    pub iat: i64,
    pub exp: i64,
}

/// The context a signing key's private half is sealed under.
fn key_context(kid: &str) -> String {
    format!("session signing key {kid}")
}

/// A new ES256 key pair, its private half sealed.
pub fn new_signing_key(secret: &SecretKey, now: Micros) -> Result<SigningKeyRecord, SsoError> {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
    let pkcs8 =
        EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
            .map_err(|_| SsoError::SecretKey("could not generate a signing key".into()))?;
    let kid = format!("gw-{}", random_token(9)?);
    let encoding = EncodingKey::from_ec_der(pkcs8.as_ref());
    let mut jwk = Jwk::from_encoding_key(&encoding, ALGORITHM)
        .map_err(|e| SsoError::SecretKey(format!("could not describe the signing key: {e}")))?;
    jwk.common.key_id = Some(kid.clone());
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    jwk.common.key_algorithm = Some(KeyAlgorithm::ES256);
    let public_jwk = serde_json::to_string(&jwk)
        .map_err(|e| SsoError::SecretKey(format!("could not describe the signing key: {e}")))?;
    Ok(SigningKeyRecord {
        private_sealed: secret.seal(pkcs8.as_ref(), &key_context(&kid))?,
        kid,
        algorithm: "ES256".into(),
        public_jwk,
        created_at: now,
        retired_at: None,
    })
}

/// Creates the first signing key unless one signs already (at every `serve` start).
pub async fn ensure_signing_key(
    store: &Store,
    secret: &SecretKey,
    now: Micros,
) -> Result<(), SsoError> {
    let mut tx = store.begin().await?;
    if tx.current_signing_key().await?.is_none() {
        let key = new_signing_key(secret, now)?;
        tx.rotate_in_signing_key(&key, now).await?;
        tracing::info!(kid = %key.kid, "created the session signing key");
    }
    tx.commit().await?;
    Ok(())
}

/// Adds a new signing key that signs from now on; older keys stay published until the sessions
/// they signed have expired. Returns the new key id.
pub async fn rotate_signing_key(
    store: &Store,
    secret: &SecretKey,
    now: Micros,
) -> Result<String, SsoError> {
    let key = new_signing_key(secret, now)?;
    let mut tx = store.begin().await?;
    tx.rotate_in_signing_key(&key, now).await?;
    tx.commit().await?;
    Ok(key.kid)
}

/// The key that signs new sessions, ready to use.
pub struct Signer {
    pub kid: String,
    key: EncodingKey,
}

impl Signer {
    pub async fn current(store: &Store, secret: &SecretKey) -> Result<Self, SsoError> {
        let record = store
            .current_signing_key()
            .await?
            .ok_or_else(|| SsoError::SecretKey("no session signing key exists yet".into()))?;
        let pkcs8 = secret.open(&record.private_sealed, &key_context(&record.kid))?;
        Ok(Self {
            kid: record.kid,
            key: EncodingKey::from_ec_der(&pkcs8),
        })
    }

    pub fn sign(&self, claims: &SessionClaims) -> Result<String, SsoError> {
        let mut header = Header::new(ALGORITHM);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.key)
            .map_err(|e| SsoError::SecretKey(format!("could not sign the session: {e}")))
    }
}

/// The public keys a session may be signed with: those that sign, and those retired less than
/// `session_ttl` ago.
pub async fn published_keys(
    store: &Store,
    now: Micros,
    session_ttl_secs: i64,
) -> Result<JwkSet, SsoError> {
    let since = now.saturating_sub(session_ttl_secs.saturating_mul(1_000_000));
    let mut keys = Vec::new();
    for record in store.published_signing_keys(since).await? {
        match serde_json::from_str::<Jwk>(&record.public_jwk) {
            Ok(jwk) => keys.push(jwk),
            Err(e) => {
                tracing::error!(kid = %record.kid, error = %e, "a stored public key does not parse")
            }
        }
    }
    Ok(JwkSet { keys })
}

/// Checks a session token's signature (against the published keys), issuer, audience and
/// expiry, and returns its claims. Whether the session and its user are still good is
/// `login::live_session`'s question.
pub async fn verify(
    store: &Store,
    token: &str,
    issuer: &str,
    now: Micros,
    session_ttl_secs: i64,
) -> Result<SessionClaims, SsoError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| SsoError::InvalidSession)?;
    if header.alg != ALGORITHM {
        return Err(SsoError::InvalidSession);
    }
    let kid = header.kid.ok_or(SsoError::InvalidSession)?;
    let keys = published_keys(store, now, session_ttl_secs).await?;
    let jwk = keys.find(&kid).ok_or(SsoError::InvalidSession)?;
    let key = DecodingKey::from_jwk(jwk).map_err(|_| SsoError::InvalidSession)?;
    let mut validation = Validation::new(ALGORITHM);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[issuer]);
    validation.leeway = 5;
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    let data = jsonwebtoken::decode::<SessionClaims>(token, &key, &validation)
        .map_err(|_| SsoError::InvalidSession)?;
    Ok(data.claims)
}
