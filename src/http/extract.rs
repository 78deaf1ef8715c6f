//! Request extractors whose failures are SCIM errors: the JSON body, the SCIM query parameters,
//! the conditional-request headers; and the bearer token of a request.

use axum::body::Bytes;
use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use serde_json::Value;

use super::error::ApiError;
use crate::scim::ScimError;
use crate::state::AppState;

/// The token of an `Authorization: Bearer …` header (scheme in any case), if there is one.
pub fn bearer_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_string())
}

/// A JSON request body, accepted as `application/scim+json`, `application/json` or without a
/// content type, within the body-size and nesting limits.
pub struct ScimJson(pub Value);

impl<S> FromRequest<S> for ScimJson
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let app = AppState::from_ref(state);
        let limits = &app.settings.limits;
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ScimError::new(
                    413,
                    None,
                    format!(
                        "the request body is larger than the limit of {} bytes",
                        limits.max_body_bytes
                    ),
                )
            } else {
                ScimError::invalid_syntax(format!(
                    "the request body could not be read: {rejection}"
                ))
            }
        })?;
        Ok(ScimJson(parse_json_body(&bytes, limits.max_json_depth)?))
    }
}

/// Reads a JSON body: valid UTF-8 JSON, not empty, nested no deeper than `max_depth`.
pub fn parse_json_body(bytes: &[u8], max_depth: usize) -> Result<Value, ScimError> {
    if bytes.is_empty() {
        return Err(ScimError::invalid_syntax(
            "the request body is empty; a JSON object is expected",
        ));
    }
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        ScimError::invalid_syntax(format!("the request body is not valid JSON: {e}"))
    })?;
    if depth(&value) > max_depth {
        return Err(ScimError::invalid_syntax(format!(
            "the request body nests deeper than the limit of {max_depth} levels"
        )));
    }
    Ok(value)
}

fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(fields) => 1 + fields.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// SCIM query parameters, looked up without regard to case; unknown ones (such as Entra's
/// `aadOptscim062020` flag) are ignored. A parameter given twice takes its last value.
pub struct ScimQuery(Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for ScimQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        // As a form decoder reads them: `+` is a space, and bytes that are not UTF-8 become U+FFFD.
        let query = parts.uri.query().unwrap_or_default();
        Ok(ScimQuery(
            form_urlencoded::parse(query.as_bytes())
                .map(|(name, value)| (name.into_owned(), value.into_owned()))
                .collect(),
        ))
    }
}

impl ScimQuery {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// An integer parameter; anything else is `400 invalidValue`.
    pub fn integer(&self, name: &str) -> Result<Option<i64>, ScimError> {
        match self.get(name).map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(text) => text.parse::<i64>().map(Some).map_err(|_| {
                ScimError::invalid_value(format!("'{name}' must be an integer, not '{text}'"))
            }),
        }
    }
}

/// `If-Match` and `If-None-Match`.
pub struct Preconditions {
    pub if_match: Option<String>,
    pub if_none_match: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for Preconditions {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let read = |headers: &HeaderMap, name| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        Ok(Preconditions {
            if_match: read(&parts.headers, header::IF_MATCH),
            if_none_match: read(&parts.headers, header::IF_NONE_MATCH),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn query_of(uri: &str) -> ScimQuery {
        let (mut parts, ()) = axum::http::Request::builder()
            .uri(uri)
            .body(())
            .expect("request")
            .into_parts();
        match ScimQuery::from_request_parts(&mut parts, &()).await {
            Ok(query) => query,
            Err(_) => panic!("a query string always decodes"),
        }
    }

    #[tokio::test]
    async fn query_names_ignore_case_values_are_decoded_and_the_last_one_wins() {
        let query =
            query_of("/Users?Filter=userName%20eq%20%22a+b%22&count=1&COUNT=2&aadOptscim062020")
                .await;
        assert_eq!(query.get("filter"), Some(r#"userName eq "a b""#));
        assert_eq!(query.get("count"), Some("2"));
        assert_eq!(query.integer("Count").expect("integer"), Some(2));
        assert_eq!(query.get("aadoptscim062020"), Some(""));
        assert_eq!(query.get("startIndex"), None);
    }

    #[test]
    fn depth_counts_containers() {
        assert_eq!(depth(&serde_json::json!({"a": [{"b": 1}]})), 3);
        assert_eq!(depth(&serde_json::json!(1)), 0);
    }
}
