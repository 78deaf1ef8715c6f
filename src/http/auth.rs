//! Bearer-token authentication of SCIM requests: the token decides tenant and connection, and a
//! token presented at another tenant's URL is as invalid as a wrong one.

use std::sync::Arc;

use axum::extract::{OriginalUri, RawPathParams, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::error::{
    ApiError, TOKEN_REQUIRED, TokenRefused, rate_limited_response, scim_error_response,
};
use super::extract::bearer_token;
use crate::clock::now_micros;
use crate::scim::ScimError;
use crate::state::AppState;
use crate::tenant::{Caller, tokens};

/// The kind of the connection whose token a SCIM request carried, kept with its answer.
#[derive(Debug, Clone)]
pub struct ConnectionKind(pub String);

/// Requires a live token of the tenant in the URL and puts the `Caller` into the request. A
/// grant looked up less than `--token-cache-ms` ago is reused, by writes too: every write checks
/// its token again inside its own transaction (`WriteContext::begin`), and a write that finds it
/// dead is answered here as any refusal is, the grant forgotten so that reads stop reusing it.
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
    let grant = match &presented {
        Some(token) => tokens::authenticate(&state.store, token, now, &state.grants).await?,
        None => None,
    };
    let method = request.method().clone();
    let summary = || format!("{method} {}", uri.path());
    let Some(grant) = grant.filter(|g| g.tenant.slug == slug) else {
        tokens::record_auth_failure(&state.store, slug, presented.is_some(), summary(), now).await;
        return Ok(token_required());
    };
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
        request_summary: Some(summary()),
        token_id: Some(grant.token_id.clone()),
    });
    let mut response = next.run(request).await;
    if response.extensions().get::<TokenRefused>().is_some() {
        if let Some(token) = &presented {
            state.grants.forget_token(token);
        }
        tokens::record_auth_failure(&state.store, slug, true, summary(), now).await;
        return Ok(response);
    }
    // For the metrics layer outside, which counts operations by connection kind.
    response
        .extensions_mut()
        .insert(ConnectionKind(grant.connection_kind.clone()));
    Ok(response)
}

/// The refusal of a request without a live token of the tenant: no hint which it lacked.
fn token_required() -> Response {
    scim_error_response(&ScimError::new(401, None, TOKEN_REQUIRED))
}
