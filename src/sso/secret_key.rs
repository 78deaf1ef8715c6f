//! The gateway's secret key: seals the secrets SSO keeps in the database (client secrets, session
//! signing keys) with AES-256-GCM, so a copy of the database alone reveals none of them.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

use super::SsoError;

/// Length of the key in bytes.
const KEY_LEN: usize = 32;
/// Marks the format of a sealed value so that a later format can sit beside it.
const SEALED_PREFIX: &str = "v1.";

/// 32 random bytes, given to the gateway as base64 (`SCIM_GATEWAY_SECRET_KEY`).
#[derive(Clone)]
pub struct SecretKey([u8; KEY_LEN]);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(…)")
    }
}

impl SecretKey {
    /// Reads a key from base64 (standard or URL-safe, padded or not).
    pub fn parse(text: &str) -> Result<Self, SsoError> {
        let text = text.trim();
        let bytes = STANDARD
            .decode(text)
            .or_else(|_| URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')))
            .map_err(|_| SsoError::SecretKey("the secret key is not base64".into()))?;
        let key: [u8; KEY_LEN] = bytes.try_into().map_err(|b: Vec<u8>| {
            SsoError::SecretKey(format!(
                "the secret key must be {KEY_LEN} bytes, this one has {}",
                b.len()
            ))
        })?;
        Ok(Self(key))
    }

    /// The key as base64, as `parse` reads it.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    /// A new random key, as base64 (what `sso new-secret-key` prints).
    pub fn generate() -> Result<String, SsoError> {
        let mut key = [0u8; KEY_LEN];
        random_bytes(&mut key)?;
        Ok(STANDARD.encode(key))
    }

    /// Encrypts `plaintext`. `context` names what it is (and whose), so a sealed value copied
    /// into another row or column does not open there.
    pub fn seal(&self, plaintext: &[u8], context: &str) -> Result<String, SsoError> {
        let mut nonce = [0u8; NONCE_LEN];
        random_bytes(&mut nonce)?;
        let mut buffer = plaintext.to_vec();
        self.aead()?
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut buffer,
            )
            .map_err(|_| SsoError::SecretKey("encryption failed".into()))?;
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&buffer);
        Ok(format!("{SEALED_PREFIX}{}", URL_SAFE_NO_PAD.encode(sealed)))
    }

    /// Decrypts what `seal` made with the same key and context.
    pub fn open(&self, sealed: &str, context: &str) -> Result<Vec<u8>, SsoError> {
        let wrong = || {
            SsoError::SecretKey(format!(
                "a sealed {context} does not open with this secret key (was the key changed?)"
            ))
        };
        let bytes = sealed
            .strip_prefix(SEALED_PREFIX)
            .and_then(|b64| URL_SAFE_NO_PAD.decode(b64).ok())
            .ok_or_else(wrong)?;
        if bytes.len() < NONCE_LEN {
            return Err(wrong());
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| wrong())?;
        let mut buffer = ciphertext.to_vec();
        let plaintext = self
            .aead()?
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut buffer)
            .map_err(|_| wrong())?;
        Ok(plaintext.to_vec())
    }

    fn aead(&self) -> Result<LessSafeKey, SsoError> {
        let key = UnboundKey::new(&AES_256_GCM, &self.0)
            .map_err(|_| SsoError::SecretKey("the secret key is unusable".into()))?;
        Ok(LessSafeKey::new(key))
    }
}

/// Fills `out` from the operating system's random source.
pub fn random_bytes(out: &mut [u8]) -> Result<(), SsoError> {
    SystemRandom::new()
        .fill(out)
        .map_err(|_| SsoError::SecretKey("the system random source failed".into()))
}

/// A random URL-safe token of `bytes` bytes of entropy (states, nonces, session ids).
pub fn random_token(bytes: usize) -> Result<String, SsoError> {
    let mut buffer = vec![0u8; bytes];
    random_bytes(&mut buffer)?;
    Ok(URL_SAFE_NO_PAD.encode(buffer))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SecretKey {
        SecretKey::parse(&SecretKey::generate().unwrap()).unwrap()
    }

    #[test]
    fn sealed_values_open_only_with_the_same_key_and_context() {
        let key = key();
        let sealed = key.seal(b"client-secret", "client secret of t1").unwrap();
        assert!(!sealed.contains("client-secret"));
        assert_eq!(
            key.open(&sealed, "client secret of t1").unwrap(),
            b"client-secret"
        );
        assert!(key.open(&sealed, "client secret of t2").is_err());
        assert!(self::key().open(&sealed, "client secret of t1").is_err());
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert!(key.open(&tampered, "client secret of t1").is_err());
    }

    #[test]
    fn keys_must_be_32_bytes_of_base64() {
        assert!(SecretKey::parse("not base64!").is_err());
        assert!(SecretKey::parse(&STANDARD.encode([1u8; 16])).is_err());
        assert!(SecretKey::parse(&URL_SAFE_NO_PAD.encode([1u8; 32])).is_ok());
        assert_eq!(format!("{:?}", key()), "SecretKey(…)");
    }
}
