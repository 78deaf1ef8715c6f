//! `/Users` handlers: read the request, call the tenant use-case, render the answer.

use std::collections::HashMap;

use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;

use super::{list_request, listing_response, operation, projection, resource_schemas};
use crate::clock::now_micros;
use crate::http::error::{ApiError, sso_scim_error};
use crate::http::extract::{Preconditions, ResourceId, ScimJson, ScimQuery, bearer_token};
use crate::http::response::ScimResponse;
use crate::scim::ScimError;
use crate::scim::TENANT_USER_URN;
use crate::scim::list::ListRequest;
use crate::scim::projection::Projection;
use crate::scim::resource::etag_of;
use crate::scim::schema::ResourceSchemas;
use crate::sso::SsoError;
use crate::state::AppState;
use crate::store::{MembershipRow, UserId};
use crate::tenant::Caller;
use crate::tenant::document::etag_matches;
use crate::tenant::query::Listing;
use crate::tenant::roles::{Effective, effective_of_users};
use crate::tenant::users::{self, User, UserExtras};

/// What the answer needs beyond the users' rows: their groups (when shown, or to work out
/// roles mapped from groups) and their effective roles (when asked for).
struct Extras {
    groups: Vec<MembershipRow>,
    effective: HashMap<UserId, Effective>,
}

impl Extras {
    fn of_id(&self, user_id: &UserId) -> UserExtras<'_> {
        UserExtras {
            groups: &self.groups,
            effective: self.effective.get(user_id),
        }
    }
}

fn wants_roles(schemas: ResourceSchemas<'_>, projection: &Projection) -> bool {
    ["effectiveRoles", "effectivePermissions"]
        .iter()
        .any(|name| projection.includes_extension_attribute(schemas, TENANT_USER_URN, name))
}

/// Whether the answer needs the users' groups: to show them, or to work out roles.
fn wants_groups(schemas: ResourceSchemas<'_>, projection: &Projection) -> bool {
    projection.includes(schemas, "groups") || wants_roles(schemas, projection)
}

/// `prefetched`: the users' groups when they were read with the users.
async fn extras(
    state: &AppState,
    caller: &Caller,
    projection: &Projection,
    found: &[User],
    prefetched: Option<Vec<MembershipRow>>,
) -> Result<Extras, ApiError> {
    let schemas = resource_schemas(state, "User")?;
    let wants_roles = wants_roles(schemas, projection);
    let mut out = Extras {
        groups: Vec::new(),
        effective: HashMap::new(),
    };
    if found.is_empty() || !wants_groups(schemas, projection) {
        return Ok(out);
    }
    let ids: Vec<UserId> = found.iter().map(|u| u.id.clone()).collect();
    out.groups = match prefetched {
        Some(groups) => groups,
        None => state.store.groups_of_members(&ids).await?,
    };
    if wants_roles {
        out.effective =
            effective_of_users(&state.store, &caller.tenant.id, found, &out.groups, &[]).await?;
    }
    if !projection.includes(schemas, "groups") {
        out.groups.clear();
    }
    Ok(out)
}

/// One user, projected as the query asks, with its ETag; `groups` when they are known without
/// reading them.
async fn user_response(
    state: &AppState,
    caller: &Caller,
    user: User,
    groups: Option<Vec<MembershipRow>>,
    query: &ScimQuery,
) -> Result<ScimResponse, ApiError> {
    let schemas = resource_schemas(state, "User")?;
    projected_user(state, caller, user, groups, &projection(schemas, query)?).await
}

/// One user, projected, with its ETag; `groups` when they were read with the user.
async fn projected_user(
    state: &AppState,
    caller: &Caller,
    user: User,
    groups: Option<Vec<MembershipRow>>,
    projection: &Projection,
) -> Result<ScimResponse, ApiError> {
    let schemas = resource_schemas(state, "User")?;
    let extras = extras(
        state,
        caller,
        projection,
        std::slice::from_ref(&user),
        groups,
    )
    .await?;
    let etag = etag_of(user.version);
    let base = state.settings.scim_base_url(&caller.tenant.slug);
    let user_extras = extras.of_id(&user.id);
    let full = users::to_scim(schemas, user, &user_extras, &base);
    Ok(ScimResponse::ok(projection.apply(schemas, full)).with_etag(etag))
}

pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    query: ScimQuery,
    ScimJson(body): ScimJson,
) -> Result<ScimResponse, ApiError> {
    let user = users::create_user(&operation(&state, &caller, "User")?, &body).await?;
    let location = format!(
        "{}/Users/{}",
        state.settings.scim_base_url(&caller.tenant.slug),
        user.id
    );
    // A user created a moment ago belongs to no group: its answer reads none.
    Ok(
        user_response(&state, &caller, user, Some(Vec::new()), &query)
            .await?
            .with_status(StatusCode::CREATED)
            .with_location(location),
    )
}

pub async fn get(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ResourceId(id): ResourceId<UserId>,
    preconditions: Preconditions,
    query: ScimQuery,
) -> Result<ScimResponse, ApiError> {
    let schemas = resource_schemas(&state, "User")?;
    let projection = projection(schemas, &query)?;
    let (user, groups) = if wants_groups(schemas, &projection) {
        let (user, groups) = users::get_user_with_groups(&state.store, &caller, &id).await?;
        (user, Some(groups))
    } else {
        (users::get_user(&state.store, &caller, &id).await?, None)
    };
    if preconditions
        .if_none_match
        .as_deref()
        .is_some_and(|tags| etag_matches(tags, user.version))
    {
        return Ok(ScimResponse::empty(StatusCode::NOT_MODIFIED).with_etag(etag_of(user.version)));
    }
    projected_user(&state, &caller, user, groups, &projection).await
}

pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    query: ScimQuery,
) -> Result<ScimResponse, ApiError> {
    list_users(&state, &caller, list_request(&query)?).await
}

/// `POST /Users/.search`: a query whose parameters travel in the body, answered 200 like a GET.
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
    Ok(ScimResponse::ok(listing_response(
        user_listing(state, caller, &request).await?,
    )))
}

/// The users matching a list request, projected.
pub(super) async fn user_listing(
    state: &AppState,
    caller: &Caller,
    request: &ListRequest,
) -> Result<Listing<Value>, ApiError> {
    let schemas = resource_schemas(state, "User")?;
    let projection = Projection::parse(
        schemas,
        request.attributes.as_deref(),
        request.excluded_attributes.as_deref(),
    )?;
    let limits = state.settings.limits.list_limits();
    let with_groups = wants_groups(schemas, &projection);
    let (found, groups) = users::list_users(
        &state.store,
        schemas,
        caller,
        request,
        limits,
        with_groups,
        now_micros(),
    )
    .await?;
    let extras = extras(
        state,
        caller,
        &projection,
        &found.items,
        with_groups.then_some(groups),
    )
    .await?;
    let base = state.settings.scim_base_url(&caller.tenant.slug);
    let items = found
        .items
        .into_iter()
        .map(|u| {
            let extras = extras.of_id(&u.id);
            projection.apply(schemas, users::to_scim(schemas, u, &extras, &base))
        })
        .collect();
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
    ResourceId(id): ResourceId<UserId>,
    preconditions: Preconditions,
    query: ScimQuery,
    ScimJson(body): ScimJson,
) -> Result<ScimResponse, ApiError> {
    let op = operation(&state, &caller, "User")?;
    let updated = users::replace_user(&op, &id, &body, preconditions.if_match.as_deref()).await?;
    user_response(&state, &caller, updated.user, Some(updated.groups), &query).await
}

/// PATCH answers 200 with the user (Entra's validator and Microsoft's test suite expect it).
pub async fn patch(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ResourceId(id): ResourceId<UserId>,
    preconditions: Preconditions,
    query: ScimQuery,
    ScimJson(body): ScimJson,
) -> Result<ScimResponse, ApiError> {
    let op = operation(&state, &caller, "User")?;
    let if_match = preconditions.if_match.as_deref();
    let limits = state.settings.limits.filter;
    let updated = users::patch_user(&op, &id, &body, if_match, limits).await?;
    user_response(&state, &caller, updated.user, Some(updated.groups), &query).await
}

pub async fn delete(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ResourceId(id): ResourceId<UserId>,
    preconditions: Preconditions,
) -> Result<ScimResponse, ApiError> {
    let op = operation(&state, &caller, "User")?;
    users::delete_user(&op, &id, preconditions.if_match.as_deref()).await?;
    Ok(ScimResponse::empty(StatusCode::NO_CONTENT))
}

/// `GET /Me` with an SSO session token (RFC 7644 §3.11): the signed-in user, like
/// `GET /Users/{id}`, with `Location` naming that resource.
pub async fn me(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    query: ScimQuery,
) -> Result<ScimResponse, ApiError> {
    let token = bearer_token(&headers);
    let live = state
        .sso
        .session_of_tenant(&state.store, &slug, token.as_deref(), now_micros())
        .await
        .map_err(|err| match err {
            SsoError::InvalidSession => ScimError::new(
                401,
                None,
                "/Me needs the bearer session token of a user signed in to this tenant",
            ),
            other => sso_scim_error(&other),
        })?;
    let caller = Caller {
        tenant: live.tenant.into(),
        connection_id: None,
        actor: "sso",
        request_summary: Some("GET /Me".into()),
        token_id: None,
    };
    let location = format!(
        "{}/Users/{}",
        state.settings.scim_base_url(&slug),
        live.user.id
    );
    Ok(user_response(&state, &caller, live.user, None, &query)
        .await?
        .with_location(location))
}
