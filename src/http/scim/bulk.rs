//! `POST /Bulk`: read the BulkRequest within its own payload limit, run it, answer the
//! BulkResponse (200, whatever the operations' outcomes).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Extension, State};
use axum::http::StatusCode;

use crate::clock::now_micros;
use crate::http::error::{ApiError, to_scim_error};
use crate::http::extract::parse_json_body;
use crate::http::response::ScimResponse;
use crate::scim::ScimError;
use crate::scim::bulk::{BulkResult, bulk_response, parse_bulk_request};
use crate::state::AppState;
use crate::tenant::Caller;
use crate::tenant::bulk::run_bulk;

pub async fn bulk(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Result<Bytes, BytesRejection>,
) -> Result<ScimResponse, ApiError> {
    let limits = &state.settings.limits;
    let bytes = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ScimError::new(
                413,
                None,
                format!(
                    "the Bulk request is larger than maxPayloadSize ({} bytes)",
                    limits.bulk_max_payload_bytes
                ),
            )
        } else {
            ScimError::invalid_syntax(format!("the request body could not be read: {rejection}"))
        }
    })?;
    let request = parse_bulk_request(
        &parse_json_body(&bytes, limits.max_json_depth)?,
        limits.bulk_max_operations,
    )?;
    let base = state.settings.scim_base_url(&caller.tenant.slug);
    let outcomes = run_bulk(
        &state.store,
        &state.registry,
        &caller,
        &base,
        request,
        limits.filter,
        now_micros,
    )
    .await;
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
    Ok(ScimResponse::ok(bulk_response(&results)))
}
