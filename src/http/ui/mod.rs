//! The admin web pages under `/ui`: server-rendered HTML from askama templates compiled into the
//! binary, one stylesheet and one small script (copy buttons) served from the binary. Each page
//! calls the same use-cases as the admin API. Every page is a bookmarkable GET (filters in the
//! query string); forms use POST-redirect-GET and carry the session's form token.

mod audit;
mod connections;
mod dashboard;
mod page;
mod roles;
mod session;
mod tenants;
mod users;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::state::AppState;

/// The pages' stylesheet and their one script (copy buttons), compiled in.
const STYLESHEET: &str = include_str!("../../../assets/style.css");
const COPY_SCRIPT: &str = include_str!("../../../assets/copy.js");

/// Scripts only from the gateway's own files (no inline script, no eval), no frames, nothing
/// from elsewhere; forms post to the gateway only.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
/// The sign-in page's: its single sign-on form leads to the tenant's identity provider.
const SIGN_IN_POLICY: &str =
    "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'";

pub fn router() -> Router<AppState> {
    let pages = Router::new()
        .route("/ui", get(tenants::home))
        .route("/ui/", get(tenants::home))
        .route("/ui/{*rest}", get(tenants::no_such_page))
        .route("/ui/logout", post(session::logout))
        .route("/ui/tenants", get(tenants::tenants))
        .route("/ui/t/{tenant}", get(dashboard::dashboard))
        .route("/ui/t/{tenant}/users", get(users::users))
        .route("/ui/t/{tenant}/users/{id}", get(users::user))
        .route(
            "/ui/t/{tenant}/users/{id}/status",
            post(users::change_status),
        )
        .route(
            "/ui/t/{tenant}/users/{id}/invitation",
            post(users::resend_invitation),
        )
        .route("/ui/t/{tenant}/connections", get(connections::connections))
        .route("/ui/t/{tenant}/audit", get(audit::audit))
        .route("/ui/t/{tenant}/roles", get(roles::roles))
        .route("/ui/t/{tenant}/audit/export", get(audit::export))
        .route(
            "/ui/t/{tenant}/connections/{connection}",
            get(connections::connection),
        )
        .route(
            "/ui/t/{tenant}/connections/{connection}/tokens",
            post(connections::issue),
        )
        .route(
            "/ui/t/{tenant}/connections/{connection}/tokens/revoke",
            post(connections::revoke),
        )
        .layer(policy(CONTENT_SECURITY_POLICY));
    let sign_in = Router::new()
        .route("/ui/login", get(session::login_page).post(session::login))
        .route("/ui/sso", get(session::sso))
        .layer(policy(SIGN_IN_POLICY));
    Router::new()
        .merge(pages)
        .merge(sign_in)
        .route("/ui/assets/style.css", get(stylesheet))
        .route("/ui/assets/copy.js", get(copy_script))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
}

fn policy(value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::overriding(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(value),
    )
}

async fn copy_script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        COPY_SCRIPT,
    )
        .into_response()
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
        .into_response()
}
