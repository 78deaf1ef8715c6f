//! THE mapping from the rules' and the protocol's errors to HTTP: status, `scimType` and a SCIM
//! error body. Internal failures are logged here and answered with a generic detail.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::rate_limit::RateLimited;
use crate::scim::{SCIM_CONTENT_TYPE, ScimError};
use crate::sso::SsoError;
use crate::store::StoreError;
use crate::tenant::TenantError;

/// Everything a handler can fail with.
#[derive(Debug)]
pub struct ApiError(pub TenantError);

impl From<TenantError> for ApiError {
    fn from(err: TenantError) -> Self {
        ApiError(err)
    }
}

impl From<ScimError> for ApiError {
    fn from(err: ScimError) -> Self {
        ApiError(TenantError::Scim(err))
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(err: crate::store::StoreError) -> Self {
        ApiError(TenantError::Store(err))
    }
}

/// The SCIM error a rule's refusal becomes: the status and `scimType` from `TenantError`'s
/// table (which the audit trail records too), the words from here.
pub fn to_scim_error(err: &TenantError) -> ScimError {
    let detail = match err {
        TenantError::Scim(e) => return e.clone(),
        TenantError::NotFound(what) => format!("{what} not found"),
        TenantError::UserNameTaken(name) => {
            format!("userName '{name}' is already taken in this tenant")
        }
        TenantError::GroupNameTaken(name) => {
            format!("displayName '{name}' is already taken by another group of this tenant")
        }
        TenantError::SeatLimitReached { limit } => {
            format!("seat limit {limit} reached: no user can be added to this tenant")
        }
        TenantError::Locked { attribute } => {
            format!("'{attribute}' is locked in this tenant and cannot be changed once set")
        }
        TenantError::PreconditionFailed { .. } => {
            "the resource has changed since the version given in If-Match".into()
        }
        TenantError::TenantExists(slug) => format!("tenant '{slug}' already exists"),
        TenantError::UnknownTenant(slug) => format!("tenant '{slug}' not found"),
        TenantError::ConnectionExists(name) => {
            format!("connection '{name}' already exists in this tenant")
        }
        TenantError::InvalidArgument(detail) => detail.clone(),
        TenantError::NotInvited { .. } => err.to_string(),
        TenantError::Unauthenticated => err.to_string(),
        // The words of the middleware's own refusal: no hint that the token was good a moment ago.
        TenantError::TokenNoLongerValid => TOKEN_REQUIRED.into(),
        TenantError::Forbidden(detail) => detail.clone(),
        TenantError::Store(retry) if retry.is_retryable() => {
            "the service is busy; the request was not applied, retry it shortly".into()
        }
        TenantError::Store(StoreError::UnstorableText(_)) => {
            "text containing a NUL character (U+0000) can be neither stored nor searched".into()
        }
        TenantError::Store(_) => "internal error; the request was not applied".into(),
    };
    ScimError::new(err.status(), err.scim_type(), detail)
}

/// What a request without a live SCIM token of the tenant is told.
pub const TOKEN_REQUIRED: &str = "a valid bearer token for this tenant is required";

/// Marks the answer to a write whose token was found dead inside its transaction, for the
/// authentication middleware to forget the grant it reused and record the refusal.
#[derive(Debug, Clone, Copy)]
pub struct TokenRefused;

/// Seconds a client is asked to wait before retrying a 503 (`Retry-After`).
pub const RETRY_AFTER_SECS: &str = "1";

/// Why a request was refused, kept with its answer for the metrics (`rejections_total`): a
/// word from a fixed set, never the client's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rejection(pub &'static str);

/// The reason a refusal is counted under: its SCIM error type, or what its status says.
fn rejection_of(status: u16, scim_type: Option<&'static str>) -> Rejection {
    Rejection(match (scim_type, status) {
        (Some(scim_type), _) => scim_type,
        (None, 400) => "bad_request",
        (None, 401) => "unauthenticated",
        (None, 403) => "forbidden",
        (None, 404) => "not_found",
        (None, 405) => "method_not_allowed",
        (None, 408) => "timeout",
        (None, 409) => "conflict",
        (None, 410) => "gone",
        (None, 412) => "precondition_failed",
        (None, 413) => "too_large",
        (None, 415) => "unsupported_media_type",
        (None, 429) => "rate_limited",
        (None, 503) => "busy",
        (None, 500..) => "internal",
        (None, _) => "other",
    })
}

/// The reason of a rule's refusal: its error type, with the seat limit told apart from other
/// refusals that share its status.
fn rejection_of_rule(err: &TenantError, scim: &ScimError) -> Rejection {
    match err {
        TenantError::SeatLimitReached { .. } => Rejection("seat_limit"),
        TenantError::Locked { .. } => Rejection("locked_attribute"),
        _ => rejection_of(scim.status, scim.scim_type.map(|t| t.as_str())),
    }
}

/// A SCIM error as an HTTP response.
pub fn scim_error_response(err: &ScimError) -> Response {
    let status = StatusCode::from_u16(err.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, err.to_json().to_string()).into_response();
    response
        .extensions_mut()
        .insert(rejection_of(err.status, err.scim_type.map(|t| t.as_str())));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(SCIM_CONTENT_TYPE),
    );
    if err.status == 503 {
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from_static(RETRY_AFTER_SECS),
        );
    }
    if err.status == 401 {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"SCIM\""),
        );
    }
    response
}

/// 429 for a token over its rate, saying the limit and when to come back (whole seconds, at
/// least one: what `Retry-After` can say).
pub fn rate_limited_response(limited: RateLimited) -> Response {
    let seconds = limited.retry_after.as_secs_f64().ceil().max(1.0);
    let mut response = scim_error_response(&ScimError::new(
        429,
        None,
        format!(
            "this token's rate limit of {} requests per second (burst {}) is exceeded; retry after {seconds} s",
            limited.limit.per_second, limited.limit.burst
        ),
    ));
    if let Ok(value) = HeaderValue::from_str(&format!("{seconds}")) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// Logs what the client cannot be told: a database failure (its words stay in the log).
fn log_failure(err: &TenantError) {
    match err {
        TenantError::Store(busy) if busy.is_retryable() => {
            tracing::warn!(error = %busy, "request refused: no database connection in time");
        }
        TenantError::Store(StoreError::UnstorableText(detail)) => {
            tracing::info!(%detail, "request refused: text the database cannot hold");
        }
        TenantError::Store(inner) => {
            tracing::error!(error = %inner, "request failed on the database");
        }
        _ => {}
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        log_failure(&self.0);
        let scim = to_scim_error(&self.0);
        let mut response = scim_error_response(&scim);
        response
            .extensions_mut()
            .insert(rejection_of_rule(&self.0, &scim));
        if matches!(self.0, TenantError::TokenNoLongerValid) {
            response.extensions_mut().insert(TokenRefused);
        }
        response
    }
}

/// The media type of RFC 9457 problem details.
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// An admin API failure: the same status and words as the refusal over SCIM (one table), told
/// as RFC 9457 problem details.
#[derive(Debug)]
pub struct AdminError(pub TenantError);

impl From<TenantError> for AdminError {
    fn from(err: TenantError) -> Self {
        AdminError(err)
    }
}

impl From<StoreError> for AdminError {
    fn from(err: StoreError) -> Self {
        AdminError(TenantError::Store(err))
    }
}

impl From<ScimError> for AdminError {
    fn from(err: ScimError) -> Self {
        AdminError(TenantError::Scim(err))
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        log_failure(&self.0);
        let err = to_scim_error(&self.0);
        let mut response = problem_response(err.status, &err.detail);
        response
            .extensions_mut()
            .insert(rejection_of_rule(&self.0, &err));
        response
    }
}

/// A problem-details response: `type` is `about:blank`, so `title` is the status's phrase.
pub fn problem_response(status: u16, detail: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": detail,
    });
    let mut response = (status, body.to_string()).into_response();
    response
        .extensions_mut()
        .insert(rejection_of(status.as_u16(), None));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(PROBLEM_CONTENT_TYPE),
    );
    if status == StatusCode::SERVICE_UNAVAILABLE {
        headers.insert(
            header::RETRY_AFTER,
            HeaderValue::from_static(RETRY_AFTER_SECS),
        );
    }
    if status == StatusCode::UNAUTHORIZED {
        headers.insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"admin\""),
        );
    }
    response
}

/// An SSO failure, shown to a person in a browser: a short page saying what happened.
pub fn sso_error_page(err: &SsoError) -> Response {
    let status = sso_status(err);
    let detail = sso_detail(err);
    let title = match err {
        SsoError::Refused(_) => "Sign-in refused",
        _ if status.is_server_error() => "Sign-in unavailable",
        _ => "Sign-in failed",
    };
    let mut response = plain_page(status, title, title, &detail);
    ask_to_retry_when_busy(err, &mut response);
    response
}

/// A short page for a person in a browser: a heading and what happened (`#reason`).
pub fn plain_page(status: StatusCode, title: &str, heading: &str, reason: &str) -> Response {
    let body = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title></head>\
         <body><main><h1>{}</h1><p id=\"reason\">{}</p></main></body></html>",
        escape_html(title),
        escape_html(heading),
        escape_html(reason)
    );
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

/// An SSO failure answered to a program (session endpoints): `{"error": …, "detail": …}`.
pub fn sso_error_json(err: &SsoError) -> Response {
    let status = sso_status(err);
    let code = match err {
        SsoError::InvalidSession => "invalid_session",
        SsoError::NotConfigured => "not_configured",
        SsoError::NoSecretKey => "unavailable",
        SsoError::ReturnToNotAllowed(_) => "invalid_return_to",
        _ if status.is_server_error() => "server_error",
        _ => "invalid_request",
    };
    let body = serde_json::json!({"error": code, "detail": sso_detail(err)});
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"sso\""),
        );
    }
    ask_to_retry_when_busy(err, &mut response);
    response
}

fn ask_to_retry_when_busy(err: &SsoError, response: &mut Response) {
    if err.is_busy() {
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from_static(RETRY_AFTER_SECS),
        );
    }
}

/// An SSO failure as a SCIM error (`/Me`): its status, and a detail that never describes an
/// internal failure.
pub fn sso_scim_error(err: &SsoError) -> ScimError {
    ScimError::new(sso_status(err).as_u16(), None, sso_detail(err))
}

fn sso_status(err: &SsoError) -> StatusCode {
    StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// What the person or program is told; internal failures are logged and not described.
fn sso_detail(err: &SsoError) -> String {
    if err.is_public() {
        if err.status() >= 500 {
            tracing::warn!(error = %err, "single sign-on unavailable");
        }
        err.to_string()
    } else {
        tracing::error!(error = %err, "single sign-on failed");
        "an internal error stopped the sign-in; please try again later".to_string()
    }
}

/// Text made safe to put inside HTML.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::ScimType;

    fn mapped(err: TenantError) -> (u16, Option<ScimType>, String) {
        let e = to_scim_error(&err);
        (e.status, e.scim_type, e.detail)
    }

    #[test]
    fn each_rule_has_its_status_and_scim_type() {
        assert_eq!(mapped(TenantError::UserNameTaken("a".into())).0, 409);
        assert_eq!(
            mapped(TenantError::UserNameTaken("a".into())).1,
            Some(ScimType::Uniqueness)
        );
        let (status, kind, detail) = mapped(TenantError::SeatLimitReached { limit: 5 });
        assert_eq!((status, kind), (403, None));
        assert!(detail.contains("seat limit 5 reached"));
        let (status, kind, detail) = mapped(TenantError::Locked {
            attribute: "userName".into(),
        });
        assert_eq!((status, kind), (400, Some(ScimType::Mutability)));
        assert!(detail.contains("'userName'"));
        assert_eq!(
            mapped(TenantError::PreconditionFailed {
                expected: "W/\"1\"".into()
            })
            .0,
            412
        );
        assert_eq!(mapped(TenantError::NotFound("User x".into())).0, 404);
    }

    #[test]
    fn sso_pages_escape_what_they_show() {
        assert_eq!(
            escape_html("<script>alert('x')</script> & \"y\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;y&quot;"
        );
    }

    #[test]
    fn database_failures_hide_their_detail() {
        let err = TenantError::Store(StoreError::Corrupt("secret table state".into()));
        let (status, _, detail) = mapped(err);
        assert_eq!(status, 500);
        assert!(!detail.contains("secret"));
    }

    /// One example of every variant: the answer's status is the table's, and a sign-in that
    /// fails on a rule answers the same status as SCIM does.
    fn every_tenant_error() -> Vec<TenantError> {
        vec![
            TenantError::Scim(ScimError::invalid_filter("f")),
            TenantError::NotFound("User x".into()),
            TenantError::UserNameTaken("a".into()),
            TenantError::GroupNameTaken("g".into()),
            TenantError::SeatLimitReached { limit: 3 },
            TenantError::Locked {
                attribute: "userName".into(),
            },
            TenantError::PreconditionFailed {
                expected: "W/\"1\"".into(),
            },
            TenantError::TenantExists("t".into()),
            TenantError::UnknownTenant("t".into()),
            TenantError::ConnectionExists("c".into()),
            TenantError::InvalidArgument("bad".into()),
            TenantError::Unauthenticated,
            TenantError::Forbidden("no".into()),
            TenantError::Store(StoreError::Busy),
            TenantError::Store(StoreError::ShuttingDown),
            TenantError::Store(StoreError::UnstorableText("nul".into())),
            TenantError::Store(StoreError::Corrupt("x".into())),
        ]
    }

    #[test]
    fn every_rule_error_answers_its_tables_status_on_scim_and_on_sign_in() {
        let expected = [
            400, 404, 409, 409, 403, 400, 412, 409, 404, 409, 400, 401, 403, 503, 503, 400, 500,
        ];
        for (err, status) in every_tenant_error().into_iter().zip(expected) {
            assert_eq!(err.status(), status, "{err:?}");
            assert_eq!(to_scim_error(&err).status, status, "{err:?}");
            let sso = SsoError::Tenant(err);
            assert_eq!(sso.status(), status, "{sso:?}");
        }
    }

    #[tokio::test]
    async fn admin_errors_are_problem_details_with_the_tables_status() {
        for err in every_tenant_error() {
            let status = err.status();
            let hidden = matches!(&err, TenantError::Store(StoreError::Corrupt(_)));
            let response = AdminError(err).into_response();
            assert_eq!(response.status().as_u16(), status);
            assert_eq!(
                response
                    .headers()
                    .get(header::CONTENT_TYPE)
                    .map(|v| v.as_bytes()),
                Some(PROBLEM_CONTENT_TYPE.as_bytes())
            );
            let bytes = axum::body::to_bytes(response.into_body(), 4096)
                .await
                .unwrap();
            let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(body["status"], status);
            assert_eq!(body["type"], "about:blank");
            assert!(body["title"].is_string() && body["detail"].is_string());
            if hidden {
                assert_eq!(
                    body["detail"],
                    "internal error; the request was not applied"
                );
            }
        }
    }

    #[test]
    fn an_exhausted_pool_is_a_503_that_asks_to_retry() {
        let (status, _, _) = mapped(TenantError::Store(StoreError::Busy));
        assert_eq!(status, 503);
        let response = ApiError(TenantError::Store(StoreError::Busy)).into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            response
                .headers()
                .get(header::RETRY_AFTER)
                .map(|v| v.as_bytes()),
            Some(RETRY_AFTER_SECS.as_bytes())
        );
    }

    #[test]
    fn an_internal_sso_failure_reaches_scim_clients_without_its_detail() {
        let err = SsoError::Store(StoreError::Corrupt("secret table state".into()));
        let scim = sso_scim_error(&err);
        assert_eq!(scim.status, 500);
        assert!(!scim.detail.contains("secret"), "{}", scim.detail);
        let refused = sso_scim_error(&SsoError::NotConfigured);
        assert_eq!(refused.status, 404);
        assert_eq!(refused.detail, SsoError::NotConfigured.to_string());
    }

    #[test]
    fn text_the_database_cannot_hold_is_the_clients_invalid_value() {
        let (status, kind, detail) = mapped(TenantError::Store(StoreError::UnstorableText(
            "invalid byte sequence".into(),
        )));
        assert_eq!((status, kind), (400, Some(ScimType::InvalidValue)));
        assert!(detail.contains("U+0000"));
    }
}
