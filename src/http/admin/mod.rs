//! The admin API under `/admin/v1` (SPEC §6): what operators and each tenant's admins audit and
//! change. Every route is registered through `routes!`, which writes its OpenAPI entry from the
//! same `#[utoipa::path]` the handler carries, so the document served at
//! `/admin/v1/openapi.json` cannot miss a route. Errors are RFC 9457 problem details.

mod agencies;
pub(crate) mod audit;
mod auth;
mod connections;
mod events;
mod imports;
mod roles;
mod tenants;
mod users;
mod webhooks;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::clock::{Micros, datetime_of};
use crate::http::error::problem_response;
use crate::scim::resource::format_datetime;
use crate::state::AppState;

/// Where the admin API lives.
pub const BASE: &str = "/admin/v1";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "scim-gateway admin API",
        version = "1",
        description = "What operators and each tenant's admins audit and change: tenants and \
                       their policies, directory connections, tokens and sync state, users, \
                       roles, and the audit trail. An operator token reaches \
                       every tenant; a tenant admin's gateway session reaches that tenant only, \
                       with the permissions of their roles (each route names the one it needs; \
                       `manage` includes `view`)."
    ),
    servers((url = "/admin/v1")),
    modifiers(&SecuritySchemes),
    components(schemas(Problem)),
    tags(
        (name = "tenants", description = "Tenants, their seats and policies"),
        (name = "connections", description = "Directory connections and their sync state"),
        (name = "users", description = "The tenant's users"),
        (name = "roles", description = "The role catalog, templates, group and user-type mappings, and admin assignments"),
        (name = "agencies", description = "Agencies and their environments: what an agency's users hold in each environment, and an environment's overrides"),
        (name = "audit", description = "The audit trail: every write, rejection, sign-in and admin act"),
        (name = "events", description = "What changed, for the host product: the gap-free event feed and webhook endpoints"),
    )
)]
struct AdminApi;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "operator",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An operator token (`scim-gateway admin-token create`): every tenant.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A gateway session token from `/sso/{tenant}/login`: that tenant only.",
                    ))
                    .build(),
            ),
        );
    }
}

/// An error, as RFC 9457 problem details (`application/problem+json`).
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// Always `about:blank`: the status says what kind of problem it is.
    #[serde(rename = "type")]
    pub kind: String,
    /// The status's phrase, e.g. `Forbidden`.
    pub title: String,
    pub status: u16,
    /// What went wrong, for a person.
    pub detail: String,
}

/// A query string that does not parse is the client's: a problem, not axum's plain text.
fn query_of<T>(
    query: Result<axum::extract::Query<T>, axum::extract::rejection::QueryRejection>,
) -> Result<T, crate::http::error::AdminError> {
    query
        .map(|axum::extract::Query(params)| params)
        .map_err(|e| {
            crate::http::error::AdminError(crate::tenant::TenantError::InvalidArgument(
                e.body_text(),
            ))
        })
}

/// A JSON body that does not parse is the client's: a problem (415 for another media type, 413
/// for one longer than the body limit), not axum's plain text.
fn body_of<T>(
    body: Result<axum::Json<T>, axum::extract::rejection::JsonRejection>,
) -> Result<T, crate::http::error::AdminError> {
    use crate::tenant::TenantError;
    use axum::extract::rejection::JsonRejection;
    body.map(|axum::Json(value)| value).map_err(|e| {
        crate::http::error::AdminError(match e {
            JsonRejection::MissingJsonContentType(_) => TenantError::Scim(
                crate::scim::ScimError::new(415, None, "the body must be application/json"),
            ),
            too_long if too_long.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                TenantError::Scim(crate::scim::ScimError::new(
                    413,
                    None,
                    "the body is longer than the gateway's body limit (--max-body-bytes)",
                ))
            }
            other => TenantError::InvalidArgument(other.body_text()),
        })
    })
}

/// `Some(None)` for an explicit `null`, `None` for an absent field (with `#[serde(default)]`).
fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// An RFC 3339 time a client sent as `name`, in microseconds.
pub(crate) fn time_param(
    name: &str,
    value: Option<&str>,
) -> Result<Option<Micros>, crate::tenant::TenantError> {
    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339;
    value
        .map(|text| {
            OffsetDateTime::parse(text, &Rfc3339)
                .map(crate::clock::micros_of)
                .map_err(|_| {
                    crate::tenant::TenantError::InvalidArgument(format!(
                        "{name} must be an RFC 3339 time, e.g. 2026-01-31T12:00:00Z"
                    ))
                })
        })
        .transpose()
}

/// A time as the admin API shows it: RFC 3339, UTC.
fn timestamp(at: Micros) -> String {
    format_datetime(datetime_of(at))
}

/// The admin routes and their OpenAPI document.
fn routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(AdminApi::openapi())
        .routes(routes!(tenants::list_tenants, tenants::create_tenant))
        .routes(routes!(tenants::show_tenant, tenants::update_tenant))
        .routes(routes!(tenants::set_parent))
        .routes(routes!(
            connections::list_connections,
            connections::create_connection
        ))
        .routes(routes!(connections::list_tokens))
        .routes(routes!(connections::issue_token))
        .routes(routes!(connections::revoke_token))
        .routes(routes!(connections::sync_state))
        .routes(routes!(users::list_users))
        .routes(routes!(users::user_stats))
        .routes(routes!(users::deleted_users))
        .routes(routes!(users::user_detail))
        .routes(routes!(users::suspend_user))
        .routes(routes!(users::reactivate_user))
        .routes(routes!(users::resend_invitation))
        .routes(routes!(imports::start_import, imports::list_imports))
        .routes(routes!(imports::show_import))
        .routes(routes!(imports::import_report))
        .routes(routes!(roles::list_roles, roles::create_role))
        .routes(routes!(roles::update_role))
        .routes(routes!(roles::map_group, roles::unmap_group))
        .routes(routes!(roles::map_user_type, roles::unmap_user_type))
        .routes(routes!(roles::assign_role, roles::unassign_role))
        .routes(routes!(agencies::user_environments))
        .routes(routes!(agencies::agency_users))
        .routes(routes!(agencies::override_roles, agencies::clear_override))
        .routes(routes!(audit::audit_page))
        .routes(routes!(audit::audit_export))
        .routes(routes!(events::event_feed))
        .routes(routes!(webhooks::list_endpoints, webhooks::create_endpoint))
        .routes(routes!(
            webhooks::update_endpoint,
            webhooks::delete_endpoint
        ))
        .routes(routes!(webhooks::ping_endpoint))
        .routes(routes!(webhooks::delivery_log))
        .routes(routes!(
            webhooks::list_operator_endpoints,
            webhooks::create_operator_endpoint
        ))
        .routes(routes!(
            webhooks::update_operator_endpoint,
            webhooks::delete_operator_endpoint
        ))
        .routes(routes!(webhooks::ping_operator_endpoint))
        .routes(routes!(webhooks::operator_delivery_log))
        .split_for_parts()
}

pub fn router() -> Router<AppState> {
    let (routes, api) = routes();
    let document: Arc<str> = match api.to_json() {
        Ok(json) => json.into(),
        Err(err) => {
            tracing::error!(error = %err, "the admin API's OpenAPI document could not be written");
            "{}".into()
        }
    };
    let serve_document = move || {
        let document = Arc::clone(&document);
        async move {
            let mut response = document.to_string().into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            response
        }
    };
    Router::new().nest(
        BASE,
        routes
            .route("/openapi.json", get(serve_document))
            .method_not_allowed_fallback(method_not_allowed)
            .fallback(not_found),
    )
}

async fn not_found() -> Response {
    problem_response(404, "no such admin endpoint")
}

async fn method_not_allowed() -> Response {
    problem_response(405, "this method is not allowed on this endpoint")
}
