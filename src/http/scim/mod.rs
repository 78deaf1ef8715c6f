//! The SCIM endpoints of one tenant, under `/scim/v2/{tenant}`.

mod discovery;
mod users;

use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::routing::{any, get, post};

use super::auth::require_token;
use super::{method_not_allowed, not_implemented};
use crate::state::AppState;

pub fn router(state: AppState) -> Router<AppState> {
    let authenticated = Router::new()
        .route("/Users", get(users::list).post(users::create))
        .route(
            "/Users/{id}",
            get(users::get)
                .put(users::replace)
                .delete(users::delete)
                .patch(users::patch),
        )
        .route("/Users/.search", post(users::search))
        .route("/.search", post(users::search))
        .route("/Me", any(|| not_implemented("/Me")))
        .route("/Bulk", any(|| not_implemented("Bulk")))
        .route_layer(from_fn_with_state(state, require_token));
    Router::new()
        .merge(discovery::router())
        .merge(authenticated)
        .method_not_allowed_fallback(method_not_allowed)
}
