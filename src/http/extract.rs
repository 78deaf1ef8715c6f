//! Request extractors whose failures are SCIM errors: the JSON body, the SCIM query parameters,
//! the conditional-request headers; and the bearer token of a request.

use axum::extract::{FromRef, FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
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

/// A JSON request body (see `read_json_body`) within the body-size limit.
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
        let too_large =
            |limit| format!("the request body is larger than the limit of {limit} bytes");
        Ok(ScimJson(
            read_json_body(req, limits.max_body_bytes, limits.max_json_depth, too_large).await?,
        ))
    }
}

/// A Bulk request body (see `read_json_body`) within the Bulk payload limit.
pub struct BulkJson(pub Value);

impl<S> FromRequest<S> for BulkJson
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let app = AppState::from_ref(state);
        let limits = &app.settings.limits;
        let too_large =
            |limit| format!("the Bulk request is larger than maxPayloadSize ({limit} bytes)");
        Ok(BulkJson(
            read_json_body(
                req,
                limits.bulk_max_payload_bytes,
                limits.max_json_depth,
                too_large,
            )
            .await?,
        ))
    }
}

/// Whether a `Content-Type` names a JSON body SCIM accepts: `application/scim+json` or
/// `application/json`, with any parameters (charset). A request without one is read as JSON too:
/// several IdPs' test tools leave it out, and the body must still parse as JSON.
fn is_scim_media_type(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case(crate::scim::SCIM_CONTENT_TYPE)
        || essence.eq_ignore_ascii_case("application/json")
}

/// The body length a request announces in `Content-Length`, if it gives a number.
pub fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Reads a request's JSON body: 415 for a media type SCIM does not accept, 413 at once when
/// `Content-Length` announces more than `limit` bytes (and as soon as more arrive when it does
/// not), then `parse_json_body`.
async fn read_json_body(
    req: Request,
    limit: usize,
    max_depth: usize,
    too_large: impl Fn(usize) -> String,
) -> Result<Value, ScimError> {
    if let Some(content_type) = req.headers().get(header::CONTENT_TYPE) {
        let accepted = content_type.to_str().is_ok_and(is_scim_media_type);
        if !accepted {
            return Err(ScimError::new(
                415,
                None,
                format!(
                    "the request body must be application/scim+json or application/json, not '{}'",
                    String::from_utf8_lossy(content_type.as_bytes())
                ),
            ));
        }
    }
    if declared_length(req.headers()).is_some_and(|length| length > limit as u64) {
        return Err(ScimError::new(413, None, too_large(limit)));
    }
    let bytes = axum::body::to_bytes(req.into_body(), limit)
        .await
        .map_err(|err| {
            if std::error::Error::source(&err)
                .is_some_and(|source| source.is::<http_body_util::LengthLimitError>())
            {
                ScimError::new(413, None, too_large(limit))
            } else {
                ScimError::invalid_syntax(format!("the request body could not be read: {err}"))
            }
        })?;
    parse_json_body(&bytes, max_depth)
}

/// Reads a JSON body: valid UTF-8 JSON, not empty, nested no deeper than `max_depth`, and with no
/// NUL character (U+0000) in any name or string: PostgreSQL can store none, and one stored in a
/// document would break later queries of the whole tenant, so both engines refuse it alike.
pub fn parse_json_body(bytes: &[u8], max_depth: usize) -> Result<Value, ScimError> {
    if bytes.is_empty() {
        return Err(ScimError::invalid_syntax(
            "the request body is empty; a JSON object is expected",
        ));
    }
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        ScimError::invalid_syntax(format!("the request body is not valid JSON: {e}"))
    })?;
    match check_body(&value, max_depth, None) {
        Ok(()) => Ok(value),
        Err(BodyFault::TooDeep) => Err(ScimError::invalid_syntax(format!(
            "the request body nests deeper than the limit of {max_depth} levels"
        ))),
        Err(BodyFault::Nul(name)) => Err(ScimError::invalid_value(format!(
            "{} contains a NUL character (U+0000), which SCIM text may not hold",
            name.map_or_else(|| "a string".to_string(), |n| format!("'{n}'"))
        ))),
    }
}

enum BodyFault {
    TooDeep,
    /// A NUL in a string: the name of the member that holds it, if there is one.
    Nul(Option<String>),
}

/// Walks a body once for both of its limits: nesting depth and NUL characters. `holder` names
/// the member whose value this is (an array's items share their array's name).
fn check_body(value: &Value, depth_left: usize, holder: Option<&str>) -> Result<(), BodyFault> {
    match value {
        Value::String(text) if text.contains('\0') => {
            Err(BodyFault::Nul(holder.map(str::to_string)))
        }
        Value::Array(_) | Value::Object(_) if depth_left == 0 => Err(BodyFault::TooDeep),
        Value::Array(items) => items
            .iter()
            .try_for_each(|item| check_body(item, depth_left - 1, holder)),
        Value::Object(fields) => fields.iter().try_for_each(|(name, inner)| {
            if name.contains('\0') {
                return Err(BodyFault::Nul(Some(name.replace('\0', "\\u0000"))));
            }
            check_body(inner, depth_left - 1, Some(name))
        }),
        _ => Ok(()),
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
        let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
            .map(|(name, value)| (name.into_owned(), value.into_owned()))
            .collect();
        if let Some((name, _)) = pairs
            .iter()
            .find(|(name, value)| name.contains('\0') || value.contains('\0'))
        {
            return Err(ScimError::invalid_value(format!(
                "the query parameter '{}' contains a NUL character (%00)",
                name.replace('\0', "%00")
            ))
            .into());
        }
        Ok(ScimQuery(pairs))
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

/// The `{id}` of a resource route (`/Users/{id}`, `/Groups/{id}`). An id that cannot be decoded,
/// or that holds a NUL, names no resource (ids are UUIDs the gateway made, and PostgreSQL could
/// not even compare one with a NUL): 404 at once on every engine.
pub struct ResourceId<Id>(pub Id);

impl<S: Send + Sync, Id: From<String>> FromRequestParts<S> for ResourceId<Id> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let no_such = || ScimError::not_found("no resource has this id");
        let Path((_tenant, id)) = Path::<(String, String)>::from_request_parts(parts, state)
            .await
            .map_err(|_| no_such())?;
        if id.contains('\0') {
            return Err(no_such().into());
        }
        Ok(ResourceId(Id::from(id)))
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
    fn nesting_is_counted_in_containers() {
        let body = br#"{"a": [{"b": 1}]}"#;
        assert!(parse_json_body(body, 3).is_ok());
        let err = parse_json_body(body, 2).expect_err("too deep");
        assert_eq!(err.scim_type, Some(crate::scim::ScimType::InvalidSyntax));
        assert!(parse_json_body(b"1", 0).is_ok());
    }

    #[test]
    fn a_nul_anywhere_is_refused_naming_its_attribute() {
        for (body, named) in [
            (r#"{"userName": "a\u0000b"}"#, "'userName'"),
            (r#"{"name": {"givenName": "x\u0000"}}"#, "'givenName'"),
            (r#"{"emails": [{"value": "\u0000@x"}]}"#, "'value'"),
            (r#"{"Operations": [{"value": ["\u0000"]}]}"#, "'value'"),
            (r#"{"a\u0000": 1}"#, "'a\\u0000'"),
            (r#"["\u0000"]"#, "a string"),
        ] {
            let err = parse_json_body(body.as_bytes(), 32).expect_err(body);
            assert_eq!(err.status, 400, "{body}");
            assert_eq!(err.scim_type, Some(crate::scim::ScimType::InvalidValue));
            assert!(err.detail.starts_with(named), "{body}: {}", err.detail);
        }
        // Other control characters are text JSON can carry and both engines store.
        assert!(parse_json_body(br#"{"title": "a\u0001\t\u001f"}"#, 32).is_ok());
    }
}
