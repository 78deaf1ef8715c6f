//! Bearer-token authentication of SCIM requests: the token decides tenant and connection, and a
//! token presented at another tenant's URL is as invalid as a wrong one.

use std::sync::Arc;

use axum::extract::{OriginalUri, RawPathParams, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;

use super::error::{ApiError, rate_limited_response, scim_error_response};
use super::extract::bearer_token;
use crate::clock::now_micros;
use crate::scim::ScimError;
use crate::state::AppState;
use crate::tenant::{Caller, tokens};

/// The kind of the connection whose token a SCIM request carried, kept with its answer.
#[derive(Debug, Clone)]
pub struct ConnectionKind(pub String);

/// Requires a live token of the tenant in the URL and puts the `Caller` into the request.
pub async fn require_token(
    State(state): State<AppState>,
    params: RawPathParams,
    OriginalUri(uri): OriginalUri,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    // Raw, not percent-decoded: slugs are URL-safe, and an encoded one names no tenant.
    let slug = params
        .iter()
        .find_map(|(name, value)| (name == "tenant").then_some(value))
        .unwrap_or_default();
    let presented = bearer_token(request.headers());
    let now = now_micros();
    // Reads may reuse a grant looked up a moment ago; writes see the token and policy as of now.
    let reads = request.method() == Method::GET
        || request.method() == Method::HEAD
        || (request.method() == Method::POST && uri.path().ends_with("/.search"));
    let grant = match &presented {
        Some(token) => tokens::authenticate(&state.store, token, now, &state.grants, reads).await?,
        None => None,
    };
    let summary = format!("{} {}", request.method(), uri.path());
    match grant.filter(|g| g.tenant.slug == slug) {
        Some(grant) => {
            if let Err(limited) = state
                .rate_limits
                .check(&grant.token_id, grant.tenant.rate_limit)
            {
                return Ok(rate_limited_response(limited));
            }
            request.extensions_mut().insert(Caller {
                tenant: Arc::clone(&grant.tenant),
                connection_id: Some(grant.connection_id.clone()),
                actor: "scim",
                request_summary: Some(summary),
            });
            let mut response = next.run(request).await;
            // For the metrics layer outside, which counts operations by connection kind.
            response
                .extensions_mut()
                .insert(ConnectionKind(grant.connection_kind.clone()));
            Ok(response)
        }
        None => {
            tokens::record_auth_failure(&state.store, slug, presented.is_some(), summary, now)
                .await;
            Ok(scim_error_response(&ScimError::new(
                401,
                None,
                "a valid bearer token for this tenant is required",
            )))
        }
    }
}
