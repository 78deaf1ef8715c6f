//! `POST /.search` at the tenant's root (RFC 7644 §3.4.3): one query over every resource type,
//! Users first, then Groups, paged as one list by index.

use axum::extract::{Extension, State};

use super::groups::group_listing;
use super::users::user_listing;
use crate::http::error::ApiError;
use crate::http::extract::ScimJson;
use crate::http::response::ScimResponse;
use crate::scim::filter::parse_filter;
use crate::scim::list::{ListRequest, Page, list_response};
use crate::scim::{ScimError, ScimType};
use crate::state::AppState;
use crate::tenant::query::Listing;
use crate::tenant::{Caller, TenantError};

/// A filter naming an attribute one resource type lacks selects none of that type (RFC 7644
/// §3.4.2.2: such attributes are unassigned there).
fn none_if_unfilterable(
    result: Result<Listing<serde_json::Value>, ApiError>,
) -> Result<(i64, Vec<serde_json::Value>), ApiError> {
    match result {
        Ok(listing) => Ok((listing.total, listing.items)),
        Err(ApiError(TenantError::Scim(ScimError {
            scim_type: Some(ScimType::InvalidFilter),
            ..
        }))) => Ok((0, Vec::new())),
        Err(other) => Err(other),
    }
}

pub async fn search_all(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ScimJson(body): ScimJson,
) -> Result<ScimResponse, ApiError> {
    let request = ListRequest::from_search_body(&body)?;
    let limits = &state.settings.limits;
    if request.cursor.is_some() || request.sort_by.is_some() {
        return Err(ScimError::invalid_value("a search across resource types pages by index and does not sort; search /Users or /Groups for that").into());
    }
    if let Some(filter) = request.filter.as_deref().filter(|f| !f.trim().is_empty()) {
        // Syntax errors are the client's whatever the resource type.
        parse_filter(filter, limits.filter)?;
    }
    let page = Page::new(
        request.start_index,
        request.count,
        limits.default_page_size,
        limits.max_page_size,
    );
    let users_request = ListRequest {
        start_index: Some(page.start_index),
        count: Some(page.count),
        ..request.clone()
    };
    let (user_total, mut resources) =
        none_if_unfilterable(user_listing(&state, &caller, &users_request).await)?;
    let groups_request = ListRequest {
        start_index: Some((page.offset() - user_total).max(0) + 1),
        count: Some(page.count - i64::try_from(resources.len()).unwrap_or(i64::MAX)),
        ..request
    };
    let (group_total, groups) =
        none_if_unfilterable(group_listing(&state, &caller, &groups_request).await)?;
    resources.extend(groups);
    Ok(ScimResponse::ok(list_response(
        resources,
        user_total + group_total,
        page,
    )))
}
