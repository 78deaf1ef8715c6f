//! Helpers over stored documents and their versions, shared by the user and group use-cases.

use serde_json::{Map, Value};

use super::TenantError;
use crate::scim::resource::etag_of;

pub fn string_at(doc: &Map<String, Value>, key: &str) -> Option<String> {
    doc.get(key).and_then(Value::as_str).map(str::to_string)
}

/// The user's primary email address, else the first one.
pub fn primary_email(doc: &Map<String, Value>) -> Option<String> {
    let emails = doc.get("emails")?.as_array()?;
    emails
        .iter()
        .find(|e| e.get("primary").and_then(Value::as_bool) == Some(true))
        .or_else(|| emails.first())
        .and_then(|e| e.get("value"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// The top-level attributes (and extension URNs) whose values differ between two documents.
pub fn changed_attributes(old: &Map<String, Value>, new: &Map<String, Value>) -> Vec<String> {
    let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| old.get(*k) != new.get(*k))
        .cloned()
        .collect()
}

/// `If-Match`/`If-None-Match` lists: `*` or comma-separated tags, weak or strong, compared weakly.
pub fn etag_matches(header: &str, version: i64) -> bool {
    let ours = etag_of(version);
    let bare = |t: &str| t.trim().trim_start_matches("W/").to_string();
    header
        .split(',')
        .any(|t| t.trim() == "*" || bare(t) == bare(&ours))
}

/// `If-Match` against the stored version: 412 when it names another one.
pub fn check_version(current: i64, if_match: Option<&str>) -> Result<(), TenantError> {
    match if_match {
        Some(tags) if !etag_matches(tags, current) => Err(TenantError::PreconditionFailed {
            expected: tags.to_string(),
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preconditions_compare_weakly_and_accept_star() {
        assert!(etag_matches("W/\"3\"", 3) && etag_matches("\"3\"", 3) && etag_matches("*", 9));
        assert!(etag_matches("W/\"1\", W/\"3\"", 3));
        assert!(!etag_matches("W/\"2\"", 3));
        assert!(check_version(3, None).is_ok());
        assert!(matches!(
            check_version(3, Some("W/\"2\"")),
            Err(TenantError::PreconditionFailed { .. })
        ));
    }
}
