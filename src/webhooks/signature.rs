//! Standard Webhooks signatures (standardwebhooks.com): a secret shown as `whsec_` and base64,
//! and `webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, so that
//! receivers verify deliveries with an off-the-shelf library.

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// What a Standard Webhooks secret starts with.
const SECRET_PREFIX: &str = "whsec_";
/// Random bytes in a new secret (the convention allows 24 to 64).
const SECRET_BYTES: usize = 32;

/// An endpoint's signing secret.
#[derive(Clone)]
pub struct SigningSecret(Vec<u8>);

impl std::fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningSecret(…)")
    }
}

impl SigningSecret {
    /// A new random secret.
    pub fn generate() -> Result<Self, aws_lc_rs::error::Unspecified> {
        let mut bytes = vec![0u8; SECRET_BYTES];
        aws_lc_rs::rand::fill(&mut bytes)?;
        Ok(Self(bytes))
    }

    /// Reads `whsec_<base64>` (as `to_text` writes it).
    pub fn parse(text: &str) -> Option<Self> {
        let bytes = STANDARD.decode(text.strip_prefix(SECRET_PREFIX)?).ok()?;
        (!bytes.is_empty()).then_some(Self(bytes))
    }

    /// The secret as receivers configure it: `whsec_<base64>`.
    pub fn to_text(&self) -> String {
        format!("{SECRET_PREFIX}{}", STANDARD.encode(&self.0))
    }

    /// The `webhook-signature` header of a message: `v1,<base64 signature>`.
    pub fn sign(&self, message_id: &str, timestamp: i64, body: &[u8]) -> String {
        let key = hmac::Key::new(hmac::HMAC_SHA256, &self.0);
        let mut context = hmac::Context::with_key(&key);
        context.update(message_id.as_bytes());
        context.update(b".");
        context.update(timestamp.to_string().as_bytes());
        context.update(b".");
        context.update(body);
        format!("v1,{}", STANDARD.encode(context.sign().as_ref()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_round_trip_and_signatures_follow_the_content() {
        let secret = SigningSecret::generate().unwrap_or_else(|_| SigningSecret(vec![7; 32]));
        let text = secret.to_text();
        assert!(text.starts_with("whsec_"));
        let again = SigningSecret::parse(&text).map(|s| s.sign("msg_1", 1, b"{}"));
        assert_eq!(again, Some(secret.sign("msg_1", 1, b"{}")));
        assert_ne!(
            secret.sign("msg_1", 1, b"{}"),
            secret.sign("msg_2", 1, b"{}")
        );
        assert_ne!(
            secret.sign("msg_1", 1, b"{}"),
            secret.sign("msg_1", 2, b"{}")
        );
        assert!(SigningSecret::parse("whsec_").is_none());
        assert!(SigningSecret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_none());
    }

    #[test]
    fn a_known_signature() {
        // The Standard Webhooks example message, as the `standardwebhooks` package from PyPI
        // (1.3.0) signs it: an implementation that is not ours.
        let secret = SigningSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let signature = secret.map(|s| {
            s.sign(
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1614265330,
                b"{\"test\": 2432232314}",
            )
        });
        assert_eq!(
            signature.as_deref(),
            Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
    }
}
