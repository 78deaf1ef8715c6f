//! SSO endpoints: `/sso/{tenant}/login`, `/callback`, `/me`, `/logout`, `POST /sso/introspect`
//! and `/.well-known/jwks.json`. The flow lives in `sso::login`; these read cookies and queries
//! and shape answers.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::{plain_page, sso_error_json, sso_error_page};
use super::extract::{bearer_token, declared_length};
use crate::clock::{datetime_of, now_micros};
use crate::scim::resource::format_datetime;
use crate::sso::SsoError;
use crate::sso::login::Callback;
use crate::sso::session::published_keys;
use crate::state::AppState;
use crate::tenant::invitations::{self, InvitationRefusal};
use crate::tenant::users::{self, UserExtras};

/// The session cookie: the session token itself, for the host product and `/sso/{tenant}/me`.
pub const SESSION_COOKIE: &str = "scgw_session";
/// Binds a login's `state` to the browser that started it (login CSRF).
const STATE_COOKIE: &str = "scgw_sso_state";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/.well-known/jwks.json", get(jwks))
        .route("/sso/introspect", post(introspect))
        .route("/sso/{tenant}/login", get(login))
        .route("/sso/{tenant}/callback", get(callback))
        .route("/sso/{tenant}/me", get(me))
        .route("/sso/{tenant}/logout", post(logout))
        .route("/sso/{tenant}/invite/{secret}", get(invitation))
}

fn secure(state: &AppState) -> bool {
    state.settings.public_url.starts_with("https://")
}

fn cookie(
    state: &AppState,
    name: &'static str,
    value: String,
    path: String,
    max_age: i64,
) -> Cookie<'static> {
    Cookie::build((name, value))
        .path(path)
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure(state))
        .max_age(time::Duration::seconds(max_age))
        .build()
}

async fn login(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    jar: CookieJar,
) -> Response {
    let started = state
        .sso
        .start_login(
            &state.store,
            &slug,
            query.get("return_to").map(String::as_str),
            query.get("login_hint").map(String::as_str),
            query.get("via").is_some_and(|via| via == "agency"),
            now_micros(),
        )
        .await;
    match started {
        Ok(started) => {
            // Bound where the callback is: the agency's, for an agency user's sign-in.
            let bound = cookie(
                &state,
                STATE_COOKIE,
                started.state,
                format!("/sso/{}/", started.callback_slug),
                state.sso.login_ttl_secs,
            );
            (jar.add(bound), Redirect::to(&started.redirect)).into_response()
        }
        Err(err) => sso_error_page(&err),
    }
}

async fn callback(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    jar: CookieJar,
) -> Response {
    let callback = Callback {
        code: query.get("code").cloned(),
        state: query.get("state").cloned(),
        error: query.get("error").cloned(),
        error_description: query.get("error_description").cloned(),
        bound_state: jar.get(STATE_COOKIE).map(|c| c.value().to_string()),
    };
    let jar = jar.remove(Cookie::build(STATE_COOKIE).path(format!("/sso/{slug}/")));
    let finished = state
        .sso
        .finish_login(
            &state.store,
            &state.registry,
            &slug,
            &callback,
            now_micros(),
        )
        .await;
    match finished {
        Ok(done) => {
            let session = cookie(
                &state,
                SESSION_COOKIE,
                done.token,
                "/".into(),
                state.sso.session_ttl_secs,
            );
            (jar.add(session), Redirect::to(&done.return_to)).into_response()
        }
        Err(err) => (jar, sso_error_page(&err)).into_response(),
    }
}

/// An invitation link: a valid one leads to the tenant's sign-in for its user (`login_hint`); any
/// other gets a page saying why, never a sign-in.
async fn invitation(
    State(state): State<AppState>,
    Path((slug, secret)): Path<(String, String)>,
) -> Response {
    match invitations::open(&state.store, &slug, &secret, now_micros()).await {
        Ok(Ok(opened)) => {
            let login = format!(
                "{}/sso/{slug}/login?{}",
                state.settings.public_url,
                form_urlencoded::Serializer::new(String::new())
                    .append_pair("login_hint", &opened.user_name)
                    .finish()
            );
            Redirect::to(&login).into_response()
        }
        Ok(Err(refusal)) => invitation_refused_page(refusal),
        Err(err) => sso_error_page(&SsoError::Tenant(err)),
    }
}

/// The page of an invitation link that leads nowhere: 404 for one that never existed here, 410
/// for one that did.
fn invitation_refused_page(refusal: InvitationRefusal) -> Response {
    let status = match refusal {
        InvitationRefusal::Unknown => StatusCode::NOT_FOUND,
        _ => StatusCode::GONE,
    };
    let heading = "This invitation cannot be used";
    plain_page(status, "Invitation", heading, &refusal.to_string())
}

/// The session token of a request: `Authorization: Bearer …`, else the session cookie.
fn session_token(headers: &HeaderMap, jar: &CookieJar) -> Option<String> {
    bearer_token(headers).or_else(|| jar.get(SESSION_COOKIE).map(|c| c.value().to_string()))
}

async fn me(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    jar: CookieJar,
) -> Response {
    let token = session_token(&headers, &jar);
    match state
        .sso
        .session_of_tenant(&state.store, &slug, token.as_deref(), now_micros())
        .await
    {
        Ok(live) => {
            let Some(schemas) = state.registry.user() else {
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            };
            let user = users::to_scim(
                schemas,
                live.user,
                &UserExtras {
                    groups: &[],
                    effective: Some(&live.effective),
                },
                &state.settings.scim_base_url(&slug),
            );
            json_response(json!({
                "tenant": live.tenant.slug,
                "user": user,
                "roles": live.effective.roles,
                "permissions": live.effective.permissions,
                "session": {
                    "id": live.claims.sid,
                    "expiresAt": format_datetime(datetime_of(live.claims.exp * 1_000_000)),
                },
            }))
        }
        Err(err) => sso_error_json(&err),
    }
}

/// Ends the session (for every gateway process: the session row ends) and clears the cookie;
/// then returns to an allowed `return_to`, or answers `{"signedOut": …}`.
async fn logout(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    jar: CookieJar,
) -> Response {
    let token = session_token(&headers, &jar);
    let jar = jar.remove(Cookie::build(SESSION_COOKIE).path("/"));
    let outcome = state
        .sso
        .logout(
            &state.store,
            &slug,
            token.as_deref(),
            query.get("return_to").map(String::as_str),
            now_micros(),
        )
        .await;
    match outcome {
        Ok((_, Some(target))) => (jar, Redirect::to(&target)).into_response(),
        Ok((ended, None)) => (jar, json_response(json!({"signedOut": ended}))).into_response(),
        Err(err) => (jar, sso_error_json(&err)).into_response(),
    }
}

#[derive(Debug, Deserialize)]
struct IntrospectBody {
    token: String,
}

/// RFC 7662-shaped: `{"active": false}` for anything not good now, else the session's claims
/// with the user's current status and roles.
async fn introspect(
    State(state): State<AppState>,
    headers: HeaderMap,
    request: Request,
) -> Response {
    let limit = state.settings.limits.max_body_bytes;
    if declared_length(&headers).is_some_and(|length| length > limit as u64) {
        let body = json!({"error": "invalid_request", "detail": format!("the request body is larger than the limit of {limit} bytes")});
        let mut response = json_response(body);
        *response.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
        return response;
    }
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    let token = if is_json {
        axum::Json::<IntrospectBody>::from_request(request, &state)
            .await
            .ok()
            .map(|b| b.0.token)
    } else {
        axum::Form::<IntrospectBody>::from_request(request, &state)
            .await
            .ok()
            .map(|b| b.0.token)
    };
    let Some(token) = token else {
        return sso_error_json(&SsoError::Config(
            "send the session token as `token` (form or JSON)".into(),
        ));
    };
    match state
        .sso
        .live_session(&state.store, &token, now_micros())
        .await
    {
        Ok(live) => json_response(json!({
            "active": true,
            "iss": live.claims.iss,
            "aud": live.claims.aud,
            "sub": live.claims.sub,
            "sid": live.claims.sid,
            "tenant": live.tenant.slug,
            "tenant_id": live.tenant.id,
            "user_name": live.user.user_name,
            "status": live.user.status.as_str(),
            "roles": live.effective.roles,
            "permissions": live.effective.permissions,
            "iat": live.claims.iat,
            "exp": live.claims.exp,
        })),
        Err(SsoError::InvalidSession) => json_response(json!({"active": false})),
        Err(err) => sso_error_json(&err),
    }
}

async fn jwks(State(state): State<AppState>) -> Response {
    match published_keys(&state.store, now_micros(), state.sso.session_ttl_secs).await {
        Ok(keys) => {
            let mut response = json_response(serde_json::to_value(keys).unwrap_or(Value::Null));
            response.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=300"),
            );
            response
        }
        Err(err) => sso_error_json(&err),
    }
}

fn json_response(body: Value) -> Response {
    let mut response = (StatusCode::OK, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
