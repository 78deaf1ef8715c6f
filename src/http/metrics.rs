//! `GET /metrics` in Prometheus' (OpenMetrics) text format, and the layer that counts every
//! routed request by its route template, SCIM operations by connection kind, and refusals by
//! reason (see `crate::metrics` for what each metric is).

use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::auth::ConnectionKind;
use super::error::{ApiError, Rejection};
use crate::metrics::ScimOperation;
use crate::state::AppState;

const OPENMETRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(scrape))
}

async fn scrape(State(state): State<AppState>) -> Result<Response, ApiError> {
    let text = state.metrics.render(&state.store).await?;
    let mut response = text.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(OPENMETRICS_CONTENT_TYPE),
    );
    Ok(response)
}

/// Counts a routed request once it is answered (a route layer: the route template is known).
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_string())
        .unwrap_or_default();
    let method = request.method().clone();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let metrics = &state.metrics;
    metrics.observe_request(method.as_str(), &route, status, started.elapsed());
    if let Some((resource, operation)) = scim_operation(&route, &method) {
        metrics.observe_scim_operation(&ScimOperation {
            resource,
            operation,
            connection_kind: response
                .extensions()
                .get::<ConnectionKind>()
                .map(|kind| kind.0.clone()),
            status,
        });
    }
    if status >= 400 {
        let reason = response
            .extensions()
            .get::<Rejection>()
            .map_or("other", |rejection| rejection.0);
        metrics.observe_rejection(api_of(&route), reason);
    }
    response
}

/// Which API a route template belongs to.
fn api_of(route: &str) -> &'static str {
    let first = route.trim_start_matches('/').split('/').next();
    match first {
        Some("scim") => "scim",
        Some("admin") => "admin",
        Some("sso") | Some(".well-known") => "sso",
        Some("ui") => "ui",
        _ => "other",
    }
}

/// The SCIM resource and operation of a route template and method (`None`: not SCIM).
fn scim_operation(route: &str, method: &Method) -> Option<(&'static str, &'static str)> {
    let rest = route.strip_prefix("/scim/v2/{tenant}/")?;
    let rest = rest.trim_end_matches('/');
    let (collection, item) = match rest.split_once('/') {
        Some((collection, item)) => (collection, Some(item)),
        None => (rest, None),
    };
    let resource = match collection {
        "Users" => "User",
        "Groups" => "Group",
        "Me" => "Me",
        "Bulk" => return Some(("Bulk", "bulk")),
        ".search" => return Some(("any", "search")),
        "ServiceProviderConfig" | "ResourceTypes" | "Schemas" => {
            return Some(("discovery", "read"));
        }
        _ => return None,
    };
    let operation = match (item, method) {
        (Some(".search"), _) => "search",
        (None, &Method::GET) => "list",
        (None, &Method::POST) => "create",
        (Some(_), &Method::GET) => "read",
        (Some(_), &Method::PUT) => "replace",
        (Some(_), &Method::PATCH) => "patch",
        (Some(_), &Method::DELETE) => "delete",
        _ => "other",
    };
    Some((resource, operation))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scim_routes_name_their_resource_and_operation() {
        let op = |route, method| scim_operation(route, &method);
        assert_eq!(
            op("/scim/v2/{tenant}/Users", Method::POST),
            Some(("User", "create"))
        );
        assert_eq!(
            op("/scim/v2/{tenant}/Users/{id}", Method::PATCH),
            Some(("User", "patch"))
        );
        assert_eq!(
            op("/scim/v2/{tenant}/Groups/.search", Method::POST),
            Some(("Group", "search"))
        );
        assert_eq!(
            op("/scim/v2/{tenant}/Bulk", Method::POST),
            Some(("Bulk", "bulk"))
        );
        assert_eq!(op("/admin/v1/tenants", Method::GET), None);
        assert_eq!(api_of("/admin/v1/tenants/{tenant}"), "admin");
        assert_eq!(api_of(""), "other");
    }
}
