//! List responses and index paging (RFC 7644 §3.4.2.4), with the RFC's edge cases.

use serde_json::{Value, json};

use super::{LIST_RESPONSE_URN, ScimError};

/// The parameters of a query, from a GET's query string or a POST `/.search` body
/// (RFC 7644 §3.4.2, §3.4.3); attribute lists are comma-separated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListRequest {
    pub filter: Option<String>,
    pub start_index: Option<i64>,
    pub count: Option<i64>,
    pub attributes: Option<String>,
    pub excluded_attributes: Option<String>,
}

impl ListRequest {
    /// Reads a SearchRequest body. Keys are matched without regard to case; attribute lists may be
    /// arrays (as the RFC says) or comma-separated strings.
    pub fn from_search_body(body: &Value) -> Result<Self, ScimError> {
        let Some(object) = body.as_object() else {
            return Err(ScimError::invalid_syntax(
                "a SearchRequest must be a JSON object",
            ));
        };
        let field = |name: &str| {
            object
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        };
        let text = |name: &str| -> Result<Option<String>, ScimError> {
            match field(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(Value::Array(items)) => {
                    let names: Option<Vec<&str>> = items.iter().map(Value::as_str).collect();
                    names.map(|n| Some(n.join(","))).ok_or_else(|| {
                        ScimError::invalid_value(format!("'{name}' must list attribute names"))
                    })
                }
                Some(_) => Err(ScimError::invalid_value(format!(
                    "'{name}' must be a string"
                ))),
            }
        };
        let integer = |name: &str| -> Result<Option<i64>, ScimError> {
            match field(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Number(n)) if n.is_i64() => Ok(n.as_i64()),
                Some(_) => Err(ScimError::invalid_value(format!(
                    "'{name}' must be an integer"
                ))),
            }
        };
        Ok(Self {
            filter: text("filter")?,
            start_index: integer("startIndex")?,
            count: integer("count")?,
            attributes: text("attributes")?,
            excluded_attributes: text("excludedAttributes")?,
        })
    }
}

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
    fn search_bodies_read_like_query_strings() {
        let request = ListRequest::from_search_body(&json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "attributes": ["userName", "emails"], "Filter": "userName sw \"a\"", "startIndex": 2, "count": 5
        }))
        .expect("valid");
        assert_eq!(request.attributes.as_deref(), Some("userName,emails"));
        assert_eq!(request.filter.as_deref(), Some("userName sw \"a\""));
        assert_eq!((request.start_index, request.count), (Some(2), Some(5)));
        assert!(ListRequest::from_search_body(&json!({"count": "many"})).is_err());
    }

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
