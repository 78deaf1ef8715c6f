//! `/admin/v1/tenants`: the tenants an operator runs, and one tenant's settings and seats.

use std::collections::HashMap;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Admin;
use super::{Problem, body_of, present, timestamp};
use crate::clock::now_micros;
use crate::http::error::AdminError;
use crate::scim::ScimError;
use crate::state::AppState;
use crate::store::{RateLimit, TenantId, TenantRecord};
use crate::tenant::operators::{self, AdminPermission};
use crate::tenant::tenants::{PolicyChange, SeatChange};
use crate::tenant::{admin_settings, agencies};

/// A tenant, its seats and its policies.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantView {
    /// The tenant's URL name (`/scim/v2/{slug}`).
    pub slug: String,
    pub display_name: String,
    /// Most users the tenant may hold; none means unlimited.
    pub seat_limit: Option<i64>,
    /// Users that hold a seat (every user not deleted).
    pub seats_used: i64,
    /// Attributes that cannot change once set.
    pub locked_attributes: Vec<String>,
    /// Whether the tenant's users sign in through its own identity provider (`sso set`).
    pub sso_configured: bool,
    /// Whether SSO admits a user nobody provisioned, taking a seat (just-in-time provisioning).
    pub jit: bool,
    /// The tenant's own rate limit per SCIM token; `null`: the gateway's default.
    pub rate_limit: Option<RateLimitView>,
    /// The agency (a tenant's slug) this tenant is an environment of; none: a tenant of its own.
    pub parent: Option<String>,
    pub created_at: String,
}

impl TenantView {
    /// `jit`: the tenant's just-in-time setting, `None` when it has no SSO settings; `parent`:
    /// the slug of its agency.
    fn of(t: TenantRecord, jit: Option<bool>, parent: Option<String>) -> Self {
        TenantView {
            slug: t.slug,
            display_name: t.display_name,
            seat_limit: t.seat_limit,
            seats_used: t.seats_used,
            locked_attributes: t.immutable_attributes,
            sso_configured: jit.is_some(),
            jit: jit.unwrap_or(false),
            rate_limit: t.rate_limit.map(|l| RateLimitView {
                per_second: l.per_second,
                burst: l.burst,
            }),
            parent,
            created_at: timestamp(t.created_at),
        }
    }

    /// The view of one tenant, its SSO setting and its agency's slug read.
    async fn read(state: &AppState, t: TenantRecord) -> Result<Self, AdminError> {
        let jit = state.store.sso_config(&t.id).await?.map(|c| c.jit);
        let parent = match &t.parent_id {
            Some(id) => state.store.tenant_by_id(id).await?.map(|p| p.slug),
            None => None,
        };
        Ok(Self::of(t, jit, parent))
    }
}

/// Every tenant (operators only).
#[utoipa::path(
    get,
    path = "/tenants",
    tag = "tenants",
    security(("operator" = [])),
    responses(
        (status = 200, description = "Every tenant, by slug", body = Vec<TenantView>),
        (status = 401, description = "No valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an operator", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_tenants(
    State(state): State<AppState>,
    Admin(actor): Admin,
) -> Result<Json<Vec<TenantView>>, AdminError> {
    let tenants = operators::list_tenants(&state.store, &actor).await?;
    let jit: HashMap<TenantId, bool> = state.store.sso_jit_by_tenant().await?.into_iter().collect();
    let slugs: HashMap<TenantId, String> = tenants
        .iter()
        .map(|t| (t.id.clone(), t.slug.clone()))
        .collect();
    Ok(Json(
        tenants
            .into_iter()
            .map(|t| {
                let jit = jit.get(&t.id).copied();
                let parent = t.parent_id.as_ref().and_then(|id| slugs.get(id).cloned());
                TenantView::of(t, jit, parent)
            })
            .collect(),
    ))
}

/// One tenant. Needs `users:view` in it.
#[utoipa::path(
    get,
    path = "/tenants/{tenant}",
    tag = "tenants",
    params(("tenant" = String, Path, description = "The tenant's slug")),
    security(("operator" = []), ("session" = [])),
    responses(
        (status = 200, description = "The tenant", body = TenantView),
        (status = 401, description = "No valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Another tenant, or no `users:view`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn show_tenant(
    State(state): State<AppState>,
    Admin(actor): Admin,
    Path(slug): Path<String>,
) -> Result<Json<TenantView>, AdminError> {
    let tenant =
        operators::tenant_for(&state.store, &actor, &slug, AdminPermission::UsersView).await?;
    Ok(Json(TenantView::read(&state, tenant).await?))
}

/// A new tenant.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewTenant {
    /// Lower-case letters, digits and hyphens, 1 to 63 characters.
    pub slug: String,
    pub display_name: Option<String>,
    /// None: unlimited.
    pub seat_limit: Option<i64>,
    /// The agency (a tenant's slug) the new tenant is an environment of.
    pub parent: Option<String>,
}

/// Creates a tenant (operators only).
#[utoipa::path(
    post,
    path = "/tenants",
    tag = "tenants",
    request_body = NewTenant,
    security(("operator" = [])),
    responses(
        (status = 201, description = "The tenant", body = TenantView),
        (status = 400, description = "A slug or seat limit that is not valid", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an operator", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The slug is taken", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_tenant(
    State(state): State<AppState>,
    Admin(actor): Admin,
    body: Result<Json<NewTenant>, JsonRejection>,
) -> Result<(StatusCode, Json<TenantView>), AdminError> {
    // Who may ask comes before what was asked: a refusal tells nothing about the body.
    operators::require_operator(&actor, "creating a tenant")?;
    let new = body_of(body)?;
    let tenant = admin_settings::create_tenant(
        &state.store,
        &actor,
        &new.slug,
        new.display_name.as_deref(),
        new.seat_limit,
        new.parent.as_deref(),
        now_micros(),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(TenantView::of(tenant, None, new.parent)),
    ))
}

/// Where a tenant hangs: `parent`, an agency's slug, or `null` for a tenant of its own.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ParentChange {
    pub parent: Option<String>,
}

/// Makes a tenant an environment of an agency, or a tenant of its own (operators only: it
/// changes what the agency's users reach).
#[utoipa::path(
    put,
    path = "/tenants/{tenant}/parent",
    tag = "tenants",
    params(("tenant" = String, Path, description = "The tenant's slug")),
    request_body = ParentChange,
    security(("operator" = [])),
    responses(
        (status = 200, description = "The tenant as changed", body = TenantView),
        (status = 400, description = "A cycle, or a chain of more than 4 tenants", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an operator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant or agency", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn set_parent(
    State(state): State<AppState>,
    Admin(actor): Admin,
    Path(slug): Path<String>,
    body: Result<Json<ParentChange>, JsonRejection>,
) -> Result<Json<TenantView>, AdminError> {
    operators::require_operator(&actor, "moving a tenant under an agency")?;
    let change = body_of(body)?;
    let tenant = agencies::set_parent_by(
        &state.store,
        &actor.label(),
        &slug,
        change.parent.as_deref(),
        now_micros(),
    )
    .await?;
    Ok(Json(TenantView::read(&state, tenant).await?))
}

/// A change of a tenant's policies; what is absent stays.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicyPatch {
    /// A number, or `null` for unlimited. Lowering it below the seats in use removes nobody; it
    /// only blocks new seats.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub seat_limit: Option<Option<i64>>,
    /// User attributes locked once set, e.g. `["userName", "name.givenName", "emails"]`.
    pub locked_attributes: Option<Vec<String>>,
    /// Just-in-time provisioning at SSO sign-in (a user nobody provisioned gets in and takes a
    /// seat). Turning it on needs the tenant's SSO settings (`sso set`).
    pub jit: Option<bool>,
    /// The request rate of each of the tenant's SCIM tokens, or `null` for the gateway's default
    /// (`serve --token-rate-limit`).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<RateLimitView>)]
    pub rate_limit: Option<Option<RateLimitView>>,
}

/// Requests a SCIM token may make.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RateLimitView {
    /// Requests per second on average; 0 for no limit.
    pub per_second: u32,
    /// Requests a token may make at once before the average applies (at least 1).
    pub burst: u32,
}

/// Changes a tenant's policies. Needs `settings:manage`.
#[utoipa::path(
    patch,
    path = "/tenants/{tenant}",
    tag = "tenants",
    params(("tenant" = String, Path, description = "The tenant's slug")),
    request_body = PolicyPatch,
    security(("operator" = []), ("session" = [])),
    responses(
        (status = 200, description = "The tenant as changed", body = TenantView),
        (status = 400, description = "A seat limit or attribute that is not valid, or JIT without SSO settings", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Another tenant, or no `settings:manage`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update_tenant(
    State(state): State<AppState>,
    Admin(actor): Admin,
    Path(slug): Path<String>,
    body: Result<Json<PolicyPatch>, JsonRejection>,
) -> Result<Json<TenantView>, AdminError> {
    operators::tenant_for(&state.store, &actor, &slug, AdminPermission::SettingsManage).await?;
    let patch = body_of(body)?;
    let schemas = state
        .registry
        .user()
        .ok_or_else(|| ScimError::new(500, None, "the User schema is missing"))?;
    let change = PolicyChange {
        seats: match patch.seat_limit {
            None => SeatChange::Keep,
            Some(None) => SeatChange::Unlimited,
            Some(Some(n)) => SeatChange::Limit(n),
        },
        immutable_attributes: patch.locked_attributes,
        jit: patch.jit,
        rate_limit: patch.rate_limit.map(|limit| {
            limit.map(|l| RateLimit {
                per_second: l.per_second,
                burst: l.burst,
            })
        }),
    };
    let tenant =
        admin_settings::update_policies(&state.store, schemas, &actor, &slug, change, now_micros())
            .await?;
    Ok(Json(TenantView::read(&state, tenant).await?))
}
