//! `/Users` handlers: read the request, call the tenant use-case, render the answer.

use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use serde_json::Value;

use crate::clock::now_micros;
use crate::http::error::ApiError;
use crate::http::extract::{Preconditions, ScimJson, ScimQuery};
use crate::http::response::ScimResponse;
use crate::scim::ScimError;
use crate::scim::list::{ListRequest, Page, list_response};
use crate::scim::projection::Projection;
use crate::scim::resource::etag_of;
use crate::scim::schema::ResourceSchemas;
use crate::state::AppState;
use crate::tenant::Caller;
use crate::tenant::users::{self, User, etag_matches};

fn user_schemas(state: &AppState) -> Result<ResourceSchemas<'_>, ApiError> {
    state
        .registry
        .user()
        .ok_or_else(|| ScimError::new(500, None, "the User schema is missing").into())
}

fn projection(schemas: ResourceSchemas<'_>, query: &ScimQuery) -> Result<Projection, ApiError> {
    Ok(Projection::parse(
        schemas,
        query.get("attributes"),
        query.get("excludedAttributes"),
    )?)
}

/// One user, projected, with its ETag.
fn user_response(
    state: &AppState,
    caller: &Caller,
    user: &User,
    query: &ScimQuery,
) -> Result<ScimResponse, ApiError> {
    let schemas = user_schemas(state)?;
    let full = users::to_scim(
        schemas,
        user,
        &state.settings.scim_base_url(&caller.tenant.slug),
    );
    let body = projection(schemas, query)?.apply(schemas, &full);
    Ok(ScimResponse::ok(body).with_etag(etag_of(user.version)))
}

pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    query: ScimQuery,
    ScimJson(body): ScimJson,
) -> Result<ScimResponse, ApiError> {
    let schemas = user_schemas(&state)?;
    let user = users::create_user(&state.store, schemas, &caller, &body, now_micros()).await?;
    let location = format!(
        "{}/Users/{}",
        state.settings.scim_base_url(&caller.tenant.slug),
        user.id
    );
    Ok(user_response(&state, &caller, &user, &query)?
        .with_status(StatusCode::CREATED)
        .with_location(location))
}

pub async fn get(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_, id)): Path<(String, String)>,
    preconditions: Preconditions,
    query: ScimQuery,
) -> Result<ScimResponse, ApiError> {
    let user = users::get_user(&state.store, &caller, &id).await?;
    if preconditions
        .if_none_match
        .as_deref()
        .is_some_and(|tags| etag_matches(tags, user.version))
    {
        return Ok(ScimResponse::empty(StatusCode::NOT_MODIFIED).with_etag(etag_of(user.version)));
    }
    user_response(&state, &caller, &user, &query)
}

pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    query: ScimQuery,
) -> Result<ScimResponse, ApiError> {
    let request = ListRequest {
        filter: query.get("filter").map(str::to_string),
        start_index: query.integer("startIndex")?,
        count: query.integer("count")?,
        attributes: query.get("attributes").map(str::to_string),
        excluded_attributes: query.get("excludedAttributes").map(str::to_string),
    };
    list_users(&state, &caller, request).await
}

/// `POST /Users/.search` and `POST /.search` (only Users are served yet): a query whose
/// parameters travel in the body, answered 200 like a GET.
pub async fn search(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ScimJson(body): ScimJson,
) -> Result<ScimResponse, ApiError> {
    list_users(&state, &caller, ListRequest::from_search_body(&body)?).await
}

async fn list_users(
    state: &AppState,
    caller: &Caller,
    request: ListRequest,
) -> Result<ScimResponse, ApiError> {
    let limits = &state.settings.limits;
    let page = Page::new(
        request.start_index,
        request.count,
        limits.default_page_size,
        limits.max_page_size,
    );
    let schemas = user_schemas(state)?;
    let projection = Projection::parse(
        schemas,
        request.attributes.as_deref(),
        request.excluded_attributes.as_deref(),
    )?;
    let (total, found) = users::list_users(
        &state.store,
        caller,
        request.filter.as_deref(),
        limits.filter,
        page,
    )
    .await?;
    let base = state.settings.scim_base_url(&caller.tenant.slug);
    let resources: Vec<Value> = found
        .iter()
        .map(|u| projection.apply(schemas, &users::to_scim(schemas, u, &base)))
        .collect();
    Ok(ScimResponse::ok(list_response(resources, total, page)))
}

pub async fn replace(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_, id)): Path<(String, String)>,
    preconditions: Preconditions,
    query: ScimQuery,
    ScimJson(body): ScimJson,
) -> Result<ScimResponse, ApiError> {
    let schemas = user_schemas(&state)?;
    let user = users::replace_user(
        &state.store,
        schemas,
        &caller,
        &id,
        &body,
        preconditions.if_match.as_deref(),
        now_micros(),
    )
    .await?;
    user_response(&state, &caller, &user, &query)
}

/// PATCH answers 200 with the user (Entra's validator and Microsoft's test suite expect it).
pub async fn patch(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_, id)): Path<(String, String)>,
    preconditions: Preconditions,
    query: ScimQuery,
    ScimJson(body): ScimJson,
) -> Result<ScimResponse, ApiError> {
    let schemas = user_schemas(&state)?;
    let user = users::patch_user(
        &state.store,
        schemas,
        &caller,
        &id,
        &body,
        preconditions.if_match.as_deref(),
        state.settings.limits.filter,
        now_micros(),
    )
    .await?;
    user_response(&state, &caller, &user, &query)
}

pub async fn delete(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_, id)): Path<(String, String)>,
    preconditions: Preconditions,
) -> Result<ScimResponse, ApiError> {
    users::delete_user(
        &state.store,
        &caller,
        &id,
        preconditions.if_match.as_deref(),
        now_micros(),
    )
    .await?;
    Ok(ScimResponse::empty(StatusCode::NO_CONTENT))
}
