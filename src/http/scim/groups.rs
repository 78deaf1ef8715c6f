//! `/Groups` handlers. A group's members are read only when the answer shows them, so that
//! `excludedAttributes=members` (Entra) never touches the membership table.

use axum::extract::{Extension, State};
use axum::http::StatusCode;
use serde_json::Value;

use super::{list_request, listing_response, operation, projection, resource_schemas};
use crate::clock::now_micros;
use crate::http::error::ApiError;
use crate::http::extract::{Preconditions, ResourceId, ScimJson, ScimQuery};
use crate::http::response::ScimResponse;
use crate::scim::list::ListRequest;
use crate::scim::projection::Projection;
use crate::scim::resource::etag_of;
use crate::state::AppState;
use crate::store::{GroupId, MemberRow};
use crate::tenant::Caller;
use crate::tenant::document::etag_matches;
use crate::tenant::groups::{self, Group};
use crate::tenant::query::Listing;

async fn members(
    state: &AppState,
    projection: &Projection,
    found: &[Group],
) -> Result<Option<Vec<MemberRow>>, ApiError> {
    let schemas = resource_schemas(state, "Group")?;
    if !projection.includes(schemas, "members") || found.is_empty() {
        return Ok(None);
    }
    let ids: Vec<GroupId> = found.iter().map(|g| g.id.clone()).collect();
    Ok(Some(state.store.group_members(&ids).await?))
}

fn render(
    state: &AppState,
    caller: &Caller,
    projection: &Projection,
    group: &Group,
    rows: Option<&[MemberRow]>,
) -> Result<Value, ApiError> {
    let schemas = resource_schemas(state, "Group")?;
    let own: Option<Vec<MemberRow>> = rows.map(|rows| {
        rows.iter()
            .filter(|m| m.group_id == group.id)
            .cloned()
            .collect()
    });
    let full = groups::to_scim(
        schemas,
        group,
        own.as_deref(),
        &state.settings.scim_base_url(&caller.tenant.slug),
    );
    Ok(projection.apply(schemas, full))
}

async fn group_response(
    state: &AppState,
    caller: &Caller,
    group: &Group,
    query: &ScimQuery,
) -> Result<ScimResponse, ApiError> {
    let projection = projection(resource_schemas(state, "Group")?, query)?;
    let rows = members(state, &projection, std::slice::from_ref(group)).await?;
    let body = render(state, caller, &projection, group, rows.as_deref())?;
    Ok(ScimResponse::ok(body).with_etag(etag_of(group.version)))
}

pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    query: ScimQuery,
    ScimJson(body): ScimJson,
) -> Result<ScimResponse, ApiError> {
    let group = groups::create_group(&operation(&state, &caller, "Group")?, &body).await?;
    let location = format!(
        "{}/Groups/{}",
        state.settings.scim_base_url(&caller.tenant.slug),
        group.id
    );
    Ok(group_response(&state, &caller, &group, &query)
        .await?
        .with_status(StatusCode::CREATED)
        .with_location(location))
}

pub async fn get(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ResourceId(id): ResourceId<GroupId>,
    preconditions: Preconditions,
    query: ScimQuery,
) -> Result<ScimResponse, ApiError> {
    let group = groups::get_group(&state.store, &caller, &id).await?;
    if preconditions
        .if_none_match
        .as_deref()
        .is_some_and(|tags| etag_matches(tags, group.version))
    {
        return Ok(ScimResponse::empty(StatusCode::NOT_MODIFIED).with_etag(etag_of(group.version)));
    }
    group_response(&state, &caller, &group, &query).await
}

pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    query: ScimQuery,
) -> Result<ScimResponse, ApiError> {
    list_groups(&state, &caller, list_request(&query)?).await
}

pub async fn search(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ScimJson(body): ScimJson,
) -> Result<ScimResponse, ApiError> {
    list_groups(&state, &caller, ListRequest::from_search_body(&body)?).await
}

async fn list_groups(
    state: &AppState,
    caller: &Caller,
    request: ListRequest,
) -> Result<ScimResponse, ApiError> {
    Ok(ScimResponse::ok(listing_response(
        group_listing(state, caller, &request).await?,
    )))
}

/// The groups matching a list request, projected.
pub(super) async fn group_listing(
    state: &AppState,
    caller: &Caller,
    request: &ListRequest,
) -> Result<Listing<Value>, ApiError> {
    let schemas = resource_schemas(state, "Group")?;
    let projection = Projection::parse(
        schemas,
        request.attributes.as_deref(),
        request.excluded_attributes.as_deref(),
    )?;
    let limits = state.settings.limits.list_limits();
    let found =
        groups::list_groups(&state.store, schemas, caller, request, limits, now_micros()).await?;
    let rows = members(state, &projection, &found.items).await?;
    let items = found
        .items
        .iter()
        .map(|g| render(state, caller, &projection, g, rows.as_deref()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Listing {
        items,
        total: found.total,
        page: found.page,
        next_cursor: found.next_cursor,
    })
}

pub async fn replace(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ResourceId(id): ResourceId<GroupId>,
    preconditions: Preconditions,
    query: ScimQuery,
    ScimJson(body): ScimJson,
) -> Result<ScimResponse, ApiError> {
    let op = operation(&state, &caller, "Group")?;
    let group = groups::replace_group(&op, &id, &body, preconditions.if_match.as_deref()).await?;
    group_response(&state, &caller, &group, &query).await
}

/// PATCH answers 204 (Entra asks for it, and a large group's members never travel back), or 200
/// with the projected group when `attributes` or `excludedAttributes` is given.
pub async fn patch(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ResourceId(id): ResourceId<GroupId>,
    preconditions: Preconditions,
    query: ScimQuery,
    ScimJson(body): ScimJson,
) -> Result<ScimResponse, ApiError> {
    let op = operation(&state, &caller, "Group")?;
    let if_match = preconditions.if_match.as_deref();
    let limits = state.settings.limits.filter;
    let group = groups::patch_group(&op, &id, &body, if_match, limits).await?;
    if query.get("attributes").is_some() || query.get("excludedAttributes").is_some() {
        return group_response(&state, &caller, &group, &query).await;
    }
    Ok(ScimResponse::empty(StatusCode::NO_CONTENT).with_etag(etag_of(group.version)))
}

pub async fn delete(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ResourceId(id): ResourceId<GroupId>,
    preconditions: Preconditions,
) -> Result<ScimResponse, ApiError> {
    let op = operation(&state, &caller, "Group")?;
    groups::delete_group(&op, &id, preconditions.if_match.as_deref()).await?;
    Ok(ScimResponse::empty(StatusCode::NO_CONTENT))
}
