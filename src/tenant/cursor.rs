//! Opaque cursors of the admin API's keyset walks (the audit trail, the event feed): the walk's
//! mark and the two numbers of a place in it, base64url-encoded, so that a cursor of one walk is
//! refused by another.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::TenantError;

pub fn encode(mark: &str, first: i64, second: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{mark}:{first}:{second}"))
}

/// The two numbers of a cursor `encode` gave out for `mark`; anything else is the caller's error.
pub fn decode(mark: &str, cursor: &str) -> Result<(i64, i64), TenantError> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| {
            let rest = text.strip_prefix(mark)?.strip_prefix(':')?;
            let (first, second) = rest.split_once(':')?;
            Some((first.parse().ok()?, second.parse().ok()?))
        })
        .ok_or_else(|| {
            TenantError::InvalidArgument(
                "the cursor is not one this walk gave out; start again without it".into(),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_foreign_ones_are_refused() {
        assert_eq!(
            decode("feed", &encode("feed", 812, -4)).ok(),
            Some((812, -4))
        );
        for bad in [
            "",
            "!!",
            &encode("audit", 1, 2),
            &URL_SAFE_NO_PAD.encode("feed:1"),
            &URL_SAFE_NO_PAD.encode("feed:x:2"),
            &URL_SAFE_NO_PAD.encode("feeder:1:2"),
        ] {
            assert!(decode("feed", bad).is_err(), "{bad}");
        }
    }
}
