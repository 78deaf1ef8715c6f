//! `POST /.search` at the tenant's root (RFC 7644 §3.4.3): one query over every resource type,
//! Users first, then Groups, paged as one list.

use axum::extract::{Extension, State};

use super::groups::group_resources;
use super::users::user_resources;
use crate::http::error::ApiError;
use crate::http::extract::ScimJson;
use crate::http::response::ScimResponse;
use crate::scim::filter::parse_filter;
use crate::scim::list::{ListRequest, Page, list_response};
use crate::scim::{ScimError, ScimType};
use crate::state::AppState;
use crate::tenant::{Caller, TenantError};

/// A filter naming an attribute one resource type lacks selects none of that type (RFC 7644
/// §3.4.2.2: such attributes are unassigned there).
fn none_if_unfilterable(
    result: Result<(i64, Vec<serde_json::Value>), ApiError>,
) -> Result<(i64, Vec<serde_json::Value>), ApiError> {
    match result {
        Err(ApiError(TenantError::Scim(ScimError {
            scim_type: Some(ScimType::InvalidFilter),
            ..
        }))) => Ok((0, Vec::new())),
        other => other,
    }
}

pub async fn search_all(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ScimJson(body): ScimJson,
) -> Result<ScimResponse, ApiError> {
    let request = ListRequest::from_search_body(&body)?;
    let limits = &state.settings.limits;
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
    let (user_total, mut resources) =
        none_if_unfilterable(user_resources(&state, &caller, &request, page).await)?;
    let group_page = Page {
        start_index: (page.offset() - user_total).max(0) + 1,
        count: page.count - i64::try_from(resources.len()).unwrap_or(i64::MAX),
    };
    let (group_total, groups) =
        none_if_unfilterable(group_resources(&state, &caller, &request, group_page).await)?;
    resources.extend(groups);
    Ok(ScimResponse::ok(list_response(
        resources,
        user_total + group_total,
        page,
    )))
}
