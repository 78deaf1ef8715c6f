//! The SCIM endpoints of one tenant, under `/scim/v2/{tenant}`.

/// A route under a tenant's SCIM base. Full paths rather than `Router::nest`: a nested router
/// rewrites every request's URI and routes it twice.
macro_rules! tenant_path {
    ($path:literal) => {
        concat!("/scim/v2/{tenant}", $path)
    };
}

mod bulk;
mod discovery;
mod groups;
mod search;
mod users;

use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};

use super::auth::require_token;
use super::error::ApiError;
use super::extract::ScimQuery;
use super::method_not_allowed;
use crate::clock::now_micros;
use crate::scim::ScimError;
use crate::scim::list::{ListRequest, cursor_list_response, list_response};
use crate::scim::projection::Projection;
use crate::scim::schema::ResourceSchemas;
use crate::state::AppState;
use crate::tenant::Caller;
use crate::tenant::audit::WriteContext;
use crate::tenant::query::Listing;

pub fn router(state: AppState) -> Router<AppState> {
    let authenticated = Router::new()
        .route(tenant_path!("/Users"), get(users::list).post(users::create))
        .route(tenant_path!("/Users/.search"), post(users::search))
        .route(
            tenant_path!("/Users/{id}"),
            get(users::get)
                .put(users::replace)
                .delete(users::delete)
                .patch(users::patch),
        )
        .route(
            tenant_path!("/Groups"),
            get(groups::list).post(groups::create),
        )
        .route(tenant_path!("/Groups/.search"), post(groups::search))
        .route(
            tenant_path!("/Groups/{id}"),
            get(groups::get)
                .put(groups::replace)
                .delete(groups::delete)
                .patch(groups::patch),
        )
        .route(tenant_path!("/.search"), post(search::search_all))
        .route(tenant_path!("/Bulk"), post(bulk::bulk))
        .route_layer(from_fn_with_state(state.clone(), require_token));
    // `/Me` authenticates with an SSO session token, not a SCIM token. It is read-only: the
    // identity provider owns user data, and no client request may earn a 5xx, so a change is
    // 405 naming what is allowed (RFC 7644 §3.11 leaves the refusal to the provider).
    let me = Router::new().route(
        tenant_path!("/Me"),
        get(users::me).fallback(me_is_read_only),
    );
    Router::new()
        .merge(discovery::router())
        .merge(me)
        .merge(authenticated)
        .method_not_allowed_fallback(method_not_allowed)
}

async fn me_is_read_only() -> axum::response::Response {
    let mut response = super::error::scim_error_response(&ScimError::new(
        405,
        None,
        "/Me is read-only: the identity provider owns user data (change users through /Users)",
    ));
    response.headers_mut().insert(
        axum::http::header::ALLOW,
        axum::http::HeaderValue::from_static("GET"),
    );
    response
}

/// The schemas of a served resource type (`User`, `Group`).
fn resource_schemas<'s>(state: &'s AppState, id: &str) -> Result<ResourceSchemas<'s>, ApiError> {
    state
        .registry
        .resource_schemas(id)
        .ok_or_else(|| ScimError::new(500, None, format!("the {id} schema is missing")).into())
}

/// The write context of a request on one resource type (`User`, `Group`).
fn operation<'a>(
    state: &'a AppState,
    caller: &'a Caller,
    resource_type: &str,
) -> Result<WriteContext<'a>, ApiError> {
    Ok(WriteContext {
        store: &state.store,
        schemas: resource_schemas(state, resource_type)?,
        caller,
        now: now_micros(),
        invitations: Some(&state.settings.invitations),
    })
}

fn projection(schemas: ResourceSchemas<'_>, query: &ScimQuery) -> Result<Projection, ApiError> {
    Ok(Projection::parse(
        schemas,
        query.get("attributes"),
        query.get("excludedAttributes"),
    )?)
}

/// The list parameters of a GET's query string.
fn list_request(query: &ScimQuery) -> Result<ListRequest, ApiError> {
    Ok(ListRequest {
        filter: query.get("filter").map(str::to_string),
        start_index: query.integer("startIndex")?,
        count: query.integer("count")?,
        attributes: query.get("attributes").map(str::to_string),
        excluded_attributes: query.get("excludedAttributes").map(str::to_string),
        sort_by: query.get("sortBy").map(str::to_string),
        sort_order: query.get("sortOrder").map(str::to_string),
        cursor: query.get("cursor").map(str::to_string),
    })
}

/// A ListResponse for a page by index, or by cursor.
fn listing_response(listing: Listing<serde_json::Value>) -> serde_json::Value {
    match listing.page {
        Some(page) => list_response(listing.items, listing.total, page),
        None => cursor_list_response(listing.items, listing.total, listing.next_cursor),
    }
}
