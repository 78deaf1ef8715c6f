//! `POST /Bulk`: read the BulkRequest within its own payload limit, run it, answer the
//! BulkResponse (200, whatever the operations' outcomes).

use axum::extract::{Extension, State};
use axum::response::{IntoResponse, Response};

use crate::clock::now_micros;
use crate::http::error::{ApiError, TokenRefused, to_scim_error};
use crate::http::extract::BulkJson;
use crate::http::response::ScimResponse;
use crate::scim::bulk::{BulkResult, bulk_response, parse_bulk_request};
use crate::state::AppState;
use crate::tenant::Caller;
use crate::tenant::bulk::{BulkScope, OpOutcome, run_bulk};

pub async fn bulk(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    BulkJson(body): BulkJson,
) -> Result<Response, ApiError> {
    let limits = &state.settings.limits;
    let request = parse_bulk_request(&body, limits.bulk_max_operations)?;
    let base = state.settings.scim_base_url(&caller.tenant.slug);
    let scope = BulkScope {
        store: &state.store,
        registry: &state.registry,
        caller: &caller,
        base_url: &base,
        invitations: &state.settings.invitations,
    };
    let outcomes = run_bulk(&scope, request, limits.filter, now_micros).await;
    let token_refused = outcomes.iter().any(OpOutcome::refused_the_token);
    let results: Vec<BulkResult> = outcomes
        .into_iter()
        .map(|o| {
            let error = o.error.as_ref().map(to_scim_error);
            BulkResult {
                method: o.method,
                bulk_id: o.bulk_id,
                location: o.location,
                version: o.version,
                status: error.as_ref().map_or(o.status, |e| e.status),
                error,
            }
        })
        .collect();
    let mut response = ScimResponse::ok(bulk_response(&results)).into_response();
    if token_refused {
        // What ran before stays answered; the middleware forgets the grant and records the
        // refusal, as for any other write that finds its token dead.
        response.extensions_mut().insert(TokenRefused);
    }
    Ok(response)
}
