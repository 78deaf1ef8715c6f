//! `/ui/tenants`: every tenant with its seats, for operators.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};

use super::page::{Chrome, PageError, render, when};
use super::session::Viewer;
use crate::state::AppState;
use crate::tenant::operators::{self, AdminActor};

/// `/ui`: an operator starts at the tenants, a tenant admin at their tenant.
pub async fn home(viewer: Viewer) -> Response {
    match &viewer.actor {
        AdminActor::Operator { .. } => Redirect::to("/ui/tenants").into_response(),
        AdminActor::TenantAdmin { tenant, .. } => {
            Redirect::to(&format!("/ui/t/{}", tenant.slug)).into_response()
        }
    }
}

struct TenantRow {
    slug: String,
    display_name: String,
    seats: String,
    seats_used: i64,
    seat_limit: Option<i64>,
    created: String,
}

#[derive(Template)]
#[template(path = "ui/tenants.html")]
struct TenantsPage {
    chrome: Chrome,
    rows: Vec<TenantRow>,
}

pub async fn tenants(State(state): State<AppState>, viewer: Viewer) -> Result<Response, PageError> {
    let tenants = operators::list_tenants(&state.store, &viewer.actor)
        .await
        .map_err(|e| viewer.refused(e))?;
    let rows = tenants
        .into_iter()
        .map(|t| TenantRow {
            seats: match t.seat_limit {
                Some(limit) => format!("{} of {limit}", t.seats_used),
                None => format!("{} (no limit)", t.seats_used),
            },
            seats_used: t.seats_used,
            seat_limit: t.seat_limit,
            created: when(t.created_at),
            slug: t.slug,
            display_name: t.display_name,
        })
        .collect();
    Ok(render(&TenantsPage {
        chrome: viewer.chrome("Tenants", "tenants"),
        rows,
    }))
}
