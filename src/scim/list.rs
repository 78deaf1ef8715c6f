//! List responses and index paging (RFC 7644 §3.4.2.4), with the RFC's edge cases.

use serde_json::{Value, json};

use super::LIST_RESPONSE_URN;

/// Index paging as requested, already clamped: `startIndex` below 1 reads as 1, a negative
/// `count` as 0, and a `count` above the maximum as the maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub start_index: i64,
    pub count: i64,
}

impl Page {
    pub fn new(
        start_index: Option<i64>,
        count: Option<i64>,
        default_count: i64,
        max_count: i64,
    ) -> Self {
        Self {
            start_index: start_index.unwrap_or(1).max(1),
            count: count.unwrap_or(default_count).clamp(0, max_count),
        }
    }

    pub fn offset(&self) -> i64 {
        self.start_index - 1
    }
}

/// A ListResponse: `Resources` is always present (empty when nothing matched) so clients that
/// index into it do not fail.
pub fn list_response(resources: Vec<Value>, total_results: i64, page: Page) -> Value {
    json!({
        "schemas": [LIST_RESPONSE_URN],
        "totalResults": total_results,
        "startIndex": page.start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_edge_cases_follow_the_rfc() {
        assert_eq!(
            Page::new(Some(0), Some(-5), 100, 1000),
            Page {
                start_index: 1,
                count: 0
            }
        );
        assert_eq!(
            Page::new(None, Some(5000), 100, 1000),
            Page {
                start_index: 1,
                count: 1000
            }
        );
        assert_eq!(Page::new(Some(11), None, 100, 1000).offset(), 10);
    }
}
