//! `/ui/t/{tenant}/roles`: the role catalog with each role's permissions, the templates, and the
//! groups and user types mapped to each role.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;

use super::page::{Chrome, PageError, render};
use super::session::Viewer;
use crate::state::AppState;
use crate::tenant::admin_roles;

struct RoleRow {
    name: String,
    description: Option<String>,
    template: bool,
    /// False: only mappings and templates give the role.
    assignable: bool,
    permissions: Vec<String>,
    groups: Vec<String>,
    user_types: Vec<String>,
}

#[derive(Template)]
#[template(path = "ui/roles.html")]
struct RolesPage {
    chrome: Chrome,
    slug: String,
    roles: Vec<RoleRow>,
}

pub async fn roles(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(slug): Path<String>,
) -> Result<Response, PageError> {
    let tenant = viewer.tenant(&state, &slug).await?;
    let chrome = viewer.tenant_chrome(&tenant, "Roles", "roles");
    let roles = admin_roles::catalog(&state.store, &viewer.actor, &slug)
        .await
        .map_err(|e| PageError::rule(chrome.clone(), e))?
        .into_iter()
        .map(|entry| RoleRow {
            groups: entry.groups,
            user_types: entry.user_types,
            name: entry.role.name,
            description: entry.role.description,
            template: entry.role.is_template,
            assignable: entry.role.assignable,
            permissions: entry.role.permissions,
        })
        .collect();
    Ok(render(&RolesPage {
        chrome,
        slug,
        roles,
    }))
}
