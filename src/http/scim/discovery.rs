//! Discovery (RFC 7644 §4): ServiceProviderConfig, ResourceTypes and Schemas, served from the
//! files in `scim-schemas/` with the configured limits filled in. Readable without a token.

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use serde_json::{Value, json};

use crate::http::error::ApiError;
use crate::http::extract::ScimQuery;
use crate::http::response::ScimResponse;
use crate::scim::ScimError;
use crate::scim::list::{Page, list_response};
use crate::state::AppState;
use crate::tenant::immutables::{locked_attributes_shown, mark_locked_in_schema};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            tenant_path!("/ServiceProviderConfig"),
            get(service_provider_config),
        )
        .route(tenant_path!("/ResourceTypes"), get(resource_types))
        .route(tenant_path!("/ResourceTypes/{id}"), get(resource_type))
        .route(tenant_path!("/Schemas"), get(schemas))
        .route(tenant_path!("/Schemas/{id}"), get(schema))
}

/// RFC 7644 §4: a filter on discovery endpoints is 403.
fn refuse_filter(query: &ScimQuery) -> Result<(), ApiError> {
    if query.get("filter").is_some() {
        return Err(ScimError::new(
            403,
            None,
            "filtering is not supported on discovery endpoints",
        )
        .into());
    }
    Ok(())
}

fn with_meta(mut doc: Value, resource_type: &str, location: String) -> Value {
    if let Some(obj) = doc.as_object_mut() {
        obj.insert(
            "meta".into(),
            json!({"resourceType": resource_type, "location": location}),
        );
    }
    doc
}

async fn service_provider_config(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    query: ScimQuery,
) -> Result<ScimResponse, ApiError> {
    refuse_filter(&query)?;
    let mut doc = state.registry.service_provider_config().clone();
    let limits = &state.settings.limits;
    if let Some(filter) = doc.get_mut("filter").and_then(Value::as_object_mut) {
        filter.insert("maxResults".into(), json!(limits.max_page_size));
    }
    if let Some(fields) = doc.as_object_mut() {
        fields.insert(
            "bulk".into(),
            json!({"supported": true, "maxOperations": limits.bulk_max_operations,
                   "maxPayloadSize": limits.bulk_max_payload_bytes}),
        );
        fields.insert(
            "pagination".into(),
            json!({"cursor": true, "index": true, "defaultPaginationMethod": "index",
                   "defaultPageSize": limits.default_page_size, "maxPageSize": limits.max_page_size,
                   "cursorTimeout": limits.cursor_timeout_secs}),
        );
    }
    let location = format!(
        "{}/ServiceProviderConfig",
        state.settings.scim_base_url(&tenant)
    );
    Ok(ScimResponse::ok(with_meta(
        doc,
        "ServiceProviderConfig",
        location,
    )))
}

fn resource_type_docs(state: &AppState, tenant: &str) -> Vec<Value> {
    let base = state.settings.scim_base_url(tenant);
    state
        .registry
        .resource_type_documents()
        .iter()
        .map(|doc| {
            let id = doc.get("id").and_then(Value::as_str).unwrap_or_default();
            with_meta(
                doc.clone(),
                "ResourceType",
                format!("{base}/ResourceTypes/{id}"),
            )
        })
        .collect()
}

/// The schema documents as this tenant sees them: its locked attributes are `immutable`. An
/// unknown tenant sees the defaults, so discovery tells nobody which tenants exist.
async fn schema_docs(state: &AppState, tenant: &str) -> Result<Vec<Value>, ApiError> {
    let locked = locked_attributes_shown(&state.store, tenant).await?;
    let base = state.settings.scim_base_url(tenant);
    Ok(state
        .registry
        .served_schema_documents()
        .into_iter()
        .map(|doc| {
            let id = doc.get("id").and_then(Value::as_str).unwrap_or_default();
            let mut doc = with_meta(doc.clone(), "Schema", format!("{base}/Schemas/{id}"));
            mark_locked_in_schema(&mut doc, &locked);
            doc
        })
        .collect())
}

fn whole_list(resources: Vec<Value>) -> Value {
    let n = i64::try_from(resources.len()).unwrap_or(i64::MAX);
    list_response(
        resources,
        n,
        Page {
            start_index: 1,
            count: n,
        },
    )
}

async fn resource_types(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    query: ScimQuery,
) -> Result<ScimResponse, ApiError> {
    refuse_filter(&query)?;
    Ok(ScimResponse::ok(whole_list(resource_type_docs(
        &state, &tenant,
    ))))
}

async fn resource_type(
    State(state): State<AppState>,
    Path((tenant, id)): Path<(String, String)>,
) -> Result<ScimResponse, ApiError> {
    resource_type_docs(&state, &tenant)
        .into_iter()
        .find(|doc| doc.get("id").and_then(Value::as_str) == Some(id.as_str()))
        .map(ScimResponse::ok)
        .ok_or_else(|| ScimError::not_found(format!("resource type '{id}' not found")).into())
}

async fn schemas(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    query: ScimQuery,
) -> Result<ScimResponse, ApiError> {
    refuse_filter(&query)?;
    Ok(ScimResponse::ok(whole_list(
        schema_docs(&state, &tenant).await?,
    )))
}

async fn schema(
    State(state): State<AppState>,
    Path((tenant, id)): Path<(String, String)>,
) -> Result<ScimResponse, ApiError> {
    schema_docs(&state, &tenant)
        .await?
        .into_iter()
        .find(|doc| {
            doc.get("id")
                .and_then(Value::as_str)
                .is_some_and(|s| s.eq_ignore_ascii_case(&id))
        })
        .map(ScimResponse::ok)
        .ok_or_else(|| ScimError::not_found(format!("schema '{id}' not found")).into())
}
