//! Queries and their answers: the list parameters (RFC 7644 §3.4.2, §3.4.3), index paging with
//! the RFC's edge cases, cursor paging (RFC 9865) and the ListResponse.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::{LIST_RESPONSE_URN, ScimError, ScimType};

/// The parameters of a query, from a GET's query string or a POST `/.search` body; attribute
/// lists are comma-separated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListRequest {
    pub filter: Option<String>,
    pub start_index: Option<i64>,
    pub count: Option<i64>,
    pub attributes: Option<String>,
    pub excluded_attributes: Option<String>,
    pub sort_by: Option<String>,
    pub sort_order: Option<String>,
    /// RFC 9865: present (possibly empty, for the first page) selects cursor paging.
    pub cursor: Option<String>,
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
            sort_by: text("sortBy")?,
            sort_order: text("sortOrder")?,
            cursor: text("cursor")?,
        })
    }

    /// `sortOrder`: `ascending` (the default) or `descending`, in any case.
    pub fn descending(&self) -> Result<bool, ScimError> {
        match self.sort_order.as_deref().map(str::trim) {
            None | Some("") => Ok(false),
            Some(o) if o.eq_ignore_ascii_case("ascending") => Ok(false),
            Some(o) if o.eq_ignore_ascii_case("descending") => Ok(true),
            Some(o) => Err(ScimError::invalid_value(format!(
                "sortOrder '{o}' is neither ascending nor descending"
            ))),
        }
    }

    /// What must stay the same from one cursor page to the next (RFC 9865 §2): everything but
    /// `cursor` and `count`.
    pub fn fingerprint(&self, scope: &str) -> String {
        let text = format!(
            "{scope}\u{0}{}\u{0}{}\u{0}{}\u{0}{}\u{0}{}",
            self.filter.as_deref().unwrap_or_default(),
            self.attributes.as_deref().unwrap_or_default(),
            self.excluded_attributes.as_deref().unwrap_or_default(),
            self.sort_by.as_deref().unwrap_or_default(),
            self.sort_order.as_deref().unwrap_or_default(),
        );
        Sha256::digest(text.as_bytes())
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect()
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

/// A cursor (RFC 9865): where the previous page ended, when it was issued, and the fingerprint of
/// the query it belongs to. Opaque to clients; it grants nothing (the tenant is always the token's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub after_id: String,
    pub issued_at: i64,
    pub fingerprint: String,
}

impl Cursor {
    pub fn encode(&self) -> String {
        let body = json!({"a": self.after_id, "t": self.issued_at, "f": self.fingerprint});
        URL_SAFE_NO_PAD.encode(body.to_string())
    }

    /// Reads a cursor of this query; `invalidCursor` if it is not one, `expiredCursor` if it is
    /// older than `timeout_micros`.
    pub fn decode(
        text: &str,
        fingerprint: &str,
        now: i64,
        timeout_micros: i64,
    ) -> Result<Self, ScimError> {
        let invalid = || {
            ScimError::bad_request(
                ScimType::InvalidCursor,
                "the cursor is not valid for this query",
            )
        };
        let bytes = URL_SAFE_NO_PAD.decode(text.trim()).map_err(|_| invalid())?;
        let value: Map<String, Value> = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
        let cursor = Cursor {
            after_id: value
                .get("a")
                .and_then(Value::as_str)
                .ok_or_else(invalid)?
                .to_string(),
            issued_at: value.get("t").and_then(Value::as_i64).ok_or_else(invalid)?,
            fingerprint: value
                .get("f")
                .and_then(Value::as_str)
                .ok_or_else(invalid)?
                .to_string(),
        };
        if cursor.fingerprint != fingerprint {
            return Err(ScimError::bad_request(
                ScimType::InvalidCursor,
                "the cursor belongs to a query with other parameters (RFC 9865: they must stay the same)",
            ));
        }
        if now - cursor.issued_at > timeout_micros {
            return Err(ScimError::bad_request(
                ScimType::ExpiredCursor,
                "the cursor has expired; start again",
            ));
        }
        Ok(cursor)
    }
}

/// The limits of list queries, advertised in ServiceProviderConfig.
#[derive(Debug, Clone, Copy)]
pub struct ListLimits {
    pub filter: super::filter::FilterLimits,
    pub default_page_size: i64,
    pub max_page_size: i64,
    pub cursor_timeout_secs: i64,
}

/// How a list is paged: by index (the default) or by cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Paging {
    Index(Page),
    /// After this id (or from the start), at most `count` resources.
    Cursor {
        after_id: Option<String>,
        count: i64,
        /// Identifies the query across its pages (see `ListRequest::fingerprint`).
        fingerprint: String,
    },
}

/// A ListResponse: `Resources` is always present (empty when nothing matched) so clients that
/// index into it do not fail.
pub fn list_response(resources: Vec<Value>, total_results: i64, page: Page) -> Value {
    let mut body = list_body(resources, total_results);
    body.insert("startIndex".into(), page.start_index.into());
    Value::Object(body)
}

/// A cursor-paged ListResponse (RFC 9865): `nextCursor` on every page but the last.
pub fn cursor_list_response(
    resources: Vec<Value>,
    total_results: i64,
    next_cursor: Option<String>,
) -> Value {
    let mut body = list_body(resources, total_results);
    if let Some(next) = next_cursor {
        body.insert("nextCursor".into(), Value::String(next));
    }
    Value::Object(body)
}

/// What both kinds of page hold. The resources move in: `json!` would serialize them into a copy.
fn list_body(resources: Vec<Value>, total_results: i64) -> Map<String, Value> {
    let mut body = Map::new();
    body.insert("schemas".into(), json!([LIST_RESPONSE_URN]));
    body.insert("totalResults".into(), total_results.into());
    body.insert("itemsPerPage".into(), resources.len().into());
    body.insert("Resources".into(), Value::Array(resources));
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_bodies_read_like_query_strings() {
        let request = ListRequest::from_search_body(&json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "attributes": ["userName", "emails"], "Filter": "userName sw \"a\"", "startIndex": 2, "count": 5,
            "sortBy": "userName", "sortOrder": "Descending", "cursor": ""
        }))
        .expect("valid");
        assert_eq!(request.attributes.as_deref(), Some("userName,emails"));
        assert_eq!(request.filter.as_deref(), Some("userName sw \"a\""));
        assert_eq!((request.start_index, request.count), (Some(2), Some(5)));
        assert_eq!(request.descending(), Ok(true));
        assert_eq!(request.cursor.as_deref(), Some(""));
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

    #[test]
    fn cursors_round_trip_and_refuse_other_queries_and_old_age() {
        let cursor = Cursor {
            after_id: "u-9".into(),
            issued_at: 1_000,
            fingerprint: "abc".into(),
        };
        let text = cursor.encode();
        assert_eq!(Cursor::decode(&text, "abc", 2_000, 10_000), Ok(cursor));
        assert_eq!(
            Cursor::decode(&text, "other", 2_000, 10_000)
                .unwrap_err()
                .scim_type,
            Some(ScimType::InvalidCursor)
        );
        assert_eq!(
            Cursor::decode(&text, "abc", 20_000, 10_000)
                .unwrap_err()
                .scim_type,
            Some(ScimType::ExpiredCursor)
        );
        assert_eq!(
            Cursor::decode("not a cursor", "abc", 0, 1)
                .unwrap_err()
                .scim_type,
            Some(ScimType::InvalidCursor)
        );
    }
}
