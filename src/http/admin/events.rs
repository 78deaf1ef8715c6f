//! `/admin/v1/tenants/{tenant}/events`: the tenant's events as a pull feed, for host products
//! that poll instead of receiving webhooks.

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::Admin;
use super::{Problem, query_of, timestamp};
use crate::http::error::AdminError;
use crate::state::AppState;
use crate::store::FeedEntry;
use crate::tenant::event_feed::{self, FeedQuery};

/// Where to read from, how much, and how long to wait.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedParams {
    /// The previous page's `nextCursor`; without it the feed starts at its oldest event.
    pub after: Option<String>,
    /// Events per page, 1 to 1000 (default 100).
    pub limit: Option<i64>,
    /// Seconds (up to 30) to wait for an event when none is there yet.
    pub wait: Option<u64>,
}

/// The resource an event is about.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventResourceView {
    /// `User`, `Group` or `Tenant`.
    #[serde(rename = "type")]
    pub resource_type: String,
    pub id: Option<String>,
    /// Its version after the change (its `meta.version` is `W/"<version>"`).
    pub version: Option<i64>,
}

/// One event.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventView {
    /// Unique; the same in the feed and in every webhook delivery of the event.
    pub id: String,
    /// e.g. `user.created`, `user.updated`, `user.suspended`, `user.reactivated`,
    /// `user.deleted`, `user.signed_in`, `user.sign_in_refused`, `user.roles_changed`,
    /// `group.created`, `group.updated`, `group.deleted`, `group.members_changed`,
    /// `group.roles_changed`, `tenant.seat_limit_reached`.
    #[serde(rename = "type")]
    pub event_type: String,
    pub time: String,
    /// Who made the change: `scim`, `sso`, `cli`, `operator:<prefix>`, `user:<userName>`.
    pub actor: String,
    /// The directory connection the change came through, if any.
    pub connection: Option<String>,
    pub resource: Option<EventResourceView>,
    /// The attributes the change touched.
    pub changed: Vec<String>,
    /// The resource as SCIM shows it after the change (a deleted user: its tombstone; a group:
    /// without members; member changes: `added` and `removed` user ids; role changes: `roles`
    /// held now, `added`, `removed` and the `cause`).
    #[schema(value_type = Object)]
    pub data: serde_json::Map<String, serde_json::Value>,
}

/// A page of the feed.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FeedView {
    /// In feed order: no event can later appear before one of these.
    pub events: Vec<EventView>,
    /// Where the next page starts; also on an empty page, so a reader keeps its place.
    pub next_cursor: String,
}

fn view_of(entry: FeedEntry, connections: &[(crate::store::ConnectionId, String)]) -> EventView {
    let e = entry.event;
    EventView {
        connection: e.connection_id.as_ref().and_then(|id| {
            connections
                .iter()
                .find(|(c, _)| c == id)
                .map(|(_, name)| name.clone())
        }),
        resource: e.resource_type.map(|resource_type| EventResourceView {
            resource_type,
            id: e.resource_id,
            version: e.resource_version,
        }),
        id: e.id,
        event_type: e.event_type,
        time: timestamp(e.at),
        actor: e.actor,
        changed: e.changed,
        data: e.data,
    }
}

/// The tenant's events after a cursor, oldest first, in an order that is final. Needs
/// `users:view`.
#[utoipa::path(
    get,
    path = "/tenants/{tenant}/events",
    tag = "events",
    params(("tenant" = String, Path, description = "The tenant's slug"), FeedParams),
    security(("operator" = []), ("session" = [])),
    responses(
        (status = 200, description = "A page of events", body = FeedView),
        (status = 400, description = "A cursor, limit or wait that does not parse", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Another tenant, or no `users:view`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn event_feed(
    State(state): State<AppState>,
    Admin(actor): Admin,
    Path(slug): Path<String>,
    params: Result<Query<FeedParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<FeedView>, AdminError> {
    let params = query_of(params)?;
    let query = FeedQuery {
        after: params.after,
        limit: params.limit,
        wait_secs: params.wait,
    };
    let page = event_feed::feed_page(&state.store, &actor, &slug, &query).await?;
    let connections = page.connections;
    Ok(Json(FeedView {
        events: page
            .events
            .into_iter()
            .map(|e| view_of(e, &connections))
            .collect(),
        next_cursor: page.next_cursor,
    }))
}
