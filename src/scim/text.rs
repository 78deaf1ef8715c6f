//! Reading client text without byte-offset slicing: every cut is at a character boundary, so a
//! name with multi-byte characters can be refused, never panic.

/// `text` without `prefix`, compared ignoring ASCII case, if it starts with it.
pub fn strip_prefix_ignore_case<'t>(text: &'t str, prefix: &str) -> Option<&'t str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| text.get(prefix.len()..))
        .flatten()
}

/// Whether `text` starts with `prefix`, ignoring ASCII case.
pub fn starts_with_ignore_case(text: &str, prefix: &str) -> bool {
    strip_prefix_ignore_case(text, prefix).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_cut_at_character_boundaries_only() {
        assert_eq!(strip_prefix_ignore_case("URN:x", "urn:"), Some("x"));
        assert_eq!(strip_prefix_ignore_case("urn", "urn:"), None);
        // 'é' spans bytes 3 and 4: a byte cut at 4 would split it.
        assert_eq!(strip_prefix_ignore_case("abcé", "abcd"), None);
        assert_eq!(strip_prefix_ignore_case("🙂🙂", "urn:"), None);
        assert!(starts_with_ignore_case("Members[x]", "members"));
        assert!(!starts_with_ignore_case("membé", "members"));
    }
}
