//! The HTTP surface: routes, middleware and the thin handlers that call the tenant use-cases.

pub mod admin;
mod auth;
pub mod error;
mod extract;
mod health;
mod metrics;
pub mod rate_limit;
mod request_id;
mod response;
mod scim;
pub mod sso;
mod ui;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, StatusCode, header};
use axum::response::Response;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::scim::ScimError;
use crate::state::AppState;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub fn router(state: AppState) -> Router {
    let limits = state.settings.limits.clone();
    // Outermost first: the request id exists before anything logs; secrets are marked before the
    // trace layer sees headers; panics become a SCIM 500 instead of a dropped connection; a
    // request the timeout cut off gets a SCIM error body; the timeout bounds everything inside;
    // the body limit is enforced where the body is read.
    let middleware = ServiceBuilder::new()
        .layer(SetRequestIdLayer::new(REQUEST_ID, request_id::ProcessRequestIds::new()))
        .layer(SetSensitiveRequestHeadersLayer::new([header::AUTHORIZATION, header::COOKIE]))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            let id = req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %req.method(), path = %logged_path(req.uri().path()), request_id = %id)
        }))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(CatchPanicLayer::custom(|_| internal_error()))
        .layer(axum::middleware::map_response(explain_timeout))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, limits.request_timeout))
        .layer(DefaultBodyLimit::max(limits.max_body_bytes));
    Router::new()
        .merge(health::router())
        .merge(sso::router())
        .merge(scim::router(state.clone()))
        .merge(admin::router())
        .merge(ui::router())
        .merge(metrics::router())
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .fallback(not_found)
        .layer(middleware)
        .with_state(state)
}

/// A request's path as the log shows it: an invitation link's secret is cut out (the link is a
/// credential until used). Query strings are never logged (an OpenID `code` and `state`).
fn logged_path(path: &str) -> std::borrow::Cow<'_, str> {
    let mut segments = path.split('/');
    match (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) {
        (Some(""), Some("sso"), Some(tenant), Some("invite"), Some(_)) => {
            format!("/sso/{tenant}/invite/{{secret}}").into()
        }
        _ => path.into(),
    }
}

/// The timeout layer answers 408 with an empty body; clients get a SCIM error saying why.
async fn explain_timeout(response: Response) -> Response {
    if response.status() != StatusCode::REQUEST_TIMEOUT
        || response.headers().contains_key(header::CONTENT_TYPE)
    {
        return response;
    }
    error::scim_error_response(&ScimError::new(
        408,
        None,
        "the request took longer than the request time limit and was stopped",
    ))
}

fn internal_error() -> Response {
    error::scim_error_response(&ScimError::new(
        500,
        None,
        "internal error; the request was not applied",
    ))
}

async fn not_found() -> Response {
    error::scim_error_response(&ScimError::not_found("no such endpoint"))
}

async fn method_not_allowed() -> Response {
    error::scim_error_response(&ScimError::new(
        405,
        None,
        "this method is not allowed on this endpoint",
    ))
}

#[cfg(test)]
mod tests {
    use super::logged_path;

    #[test]
    fn an_invitation_secret_is_cut_from_the_logged_path() {
        assert_eq!(
            logged_path("/sso/acme/invite/inv_s3cr3t"),
            "/sso/acme/invite/{secret}"
        );
        assert_eq!(logged_path("/sso/acme/login"), "/sso/acme/login");
        assert_eq!(
            logged_path("/scim/v2/acme/Users/1"),
            "/scim/v2/acme/Users/1"
        );
        assert_eq!(
            logged_path("/sso/acme/invite/s3cr3t/more"),
            "/sso/acme/invite/{secret}"
        );
    }
}
