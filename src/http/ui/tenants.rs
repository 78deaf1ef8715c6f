//! `/ui/tenants`: every tenant with its seats, its connections' health and its last request, for
//! operators.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};

use super::page::{Chrome, PageError, render, when, when_or_never};
use super::session::Viewer;
use crate::clock::now_micros;
use crate::state::AppState;
use crate::tenant::operators::AdminActor;
use crate::tenant::sync;

/// Any other path under `/ui`: a page that does not exist, said as a page (signed in) or by the
/// sign-in page.
pub async fn no_such_page(viewer: Viewer) -> PageError {
    viewer.refused(crate::tenant::TenantError::NotFound("page".into()))
}

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
    /// Each connection's name and verdict.
    connections: Vec<(String, &'static str)>,
    last_request: String,
    created: String,
}

#[derive(Template)]
#[template(path = "ui/tenants.html")]
struct TenantsPage {
    chrome: Chrome,
    rows: Vec<TenantRow>,
}

pub async fn tenants(State(state): State<AppState>, viewer: Viewer) -> Result<Response, PageError> {
    let tenants = sync::tenants_overview(&state.store, &viewer.actor, now_micros())
        .await
        .map_err(|e| viewer.refused(e))?;
    let rows = tenants
        .into_iter()
        .map(|overview| {
            (
                overview.tenant,
                overview.connections,
                overview.last_request_at,
            )
        })
        .map(|(t, connections, last_request_at)| TenantRow {
            connections: connections
                .into_iter()
                .map(|(name, verdict)| (name, verdict.as_str()))
                .collect(),
            last_request: when_or_never(last_request_at, "never"),
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
