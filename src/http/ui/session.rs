//! Who is looking at a page: an operator with a page session (opened by exchanging an operator
//! token at `/ui/login`), or a tenant admin with the gateway session their SSO sign-in set. Also
//! signing in and out, and the check every form's token passes.

use axum::Form;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use serde::Deserialize;

use super::page::{Chrome, PageError, TenantNav, render};
use crate::clock::now_micros;
use crate::http::sso::SESSION_COOKIE;
use crate::state::AppState;
use crate::store::TenantRecord;
use crate::tenant::operators::AdminActor;
use crate::tenant::page_sessions::{self, PAGE_SESSION_SECS, csrf_matches, csrf_token};
use crate::tenant::{TenantError, TenantSlug};

/// The page session cookie, for the pages only.
pub const PAGE_COOKIE: &str = "scgw_pages";

/// The signed-in admin of a page request.
pub struct Viewer {
    pub actor: AdminActor,
    /// The session's secret, which the form token is derived from.
    secret: String,
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        let jar = CookieJar::from_headers(&parts.headers);
        let now = now_micros();
        if let Some(cookie) = jar.get(PAGE_COOKIE) {
            let secret = cookie.value().to_string();
            match page_sessions::operator_of_page_session(&state.store, &secret, now).await {
                Ok(Some(actor)) => return Ok(Viewer { actor, secret }),
                Ok(None) => {}
                Err(err) => return Err(PageError::rule(bare_chrome(), err)),
            }
        }
        if let Some(cookie) = jar.get(SESSION_COOKIE) {
            let secret = cookie.value().to_string();
            if let Ok(actor) = state.sso.admin_of_session(&state.store, &secret, now).await {
                return Ok(Viewer { actor, secret });
            }
        }
        Err(PageError::SignIn)
    }
}

/// The frame of a page shown before anything about the viewer is known.
fn bare_chrome() -> Chrome {
    Chrome {
        title: "scim-gateway".into(),
        who: String::new(),
        csrf: String::new(),
        operator: false,
        tenant: None,
        section: "",
    }
}

impl Viewer {
    pub fn is_operator(&self) -> bool {
        self.actor.is_operator()
    }

    /// The frame of a page titled `title`.
    pub fn chrome(&self, title: impl Into<String>, section: &'static str) -> Chrome {
        let who = match &self.actor {
            AdminActor::Operator { prefix } => format!("operator {prefix}…"),
            AdminActor::TenantAdmin {
                user_name, tenant, ..
            } => format!("{user_name} · {}", tenant.display_name),
        };
        Chrome {
            title: title.into(),
            who,
            csrf: csrf_token(&self.secret),
            operator: self.is_operator(),
            tenant: None,
            section,
        }
    }

    /// The frame of a page of `tenant`.
    pub fn tenant_chrome(
        &self,
        tenant: &TenantRecord,
        title: impl Into<String>,
        section: &'static str,
    ) -> Chrome {
        let mut chrome = self.chrome(title, section);
        chrome.tenant = Some(TenantNav {
            slug: tenant.slug.clone(),
            display_name: tenant.display_name.clone(),
        });
        chrome
    }

    /// A refusal shown in this viewer's frame.
    pub fn refused(&self, err: TenantError) -> PageError {
        PageError::rule(self.chrome("scim-gateway", ""), err)
    }

    /// The tenant a page under `/ui/t/{slug}` shows. A tenant admin asking for another tenant
    /// is told there is nothing there, as for a tenant that does not exist.
    pub async fn tenant(&self, state: &AppState, slug: &str) -> Result<TenantRecord, PageError> {
        match &self.actor {
            AdminActor::TenantAdmin { tenant, .. } if tenant.slug == slug => {
                Ok(TenantRecord::clone(tenant))
            }
            AdminActor::TenantAdmin { .. } => {
                Err(self.refused(TenantError::UnknownTenant(slug.to_string())))
            }
            AdminActor::Operator { .. } => crate::tenant::tenants::find_tenant(&state.store, slug)
                .await
                .map_err(|e| self.refused(e)),
        }
    }

    /// Refuses a form whose token is not this session's (a request another site made the
    /// browser send).
    pub fn check_form(&self, presented: &str) -> Result<(), PageError> {
        if csrf_matches(&self.secret, presented) {
            Ok(())
        } else {
            Err(self.refused(TenantError::Forbidden(
                "the form was not this session's (it may have expired): reload the page and try again"
                    .into(),
            )))
        }
    }
}

#[derive(askama::Template)]
#[template(path = "ui/login.html")]
struct LoginPage {
    message: Option<String>,
}

/// `GET /ui/login`.
pub async fn login_page() -> Response {
    render(&LoginPage { message: None })
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    token: String,
}

/// `POST /ui/login`: an operator token for a page session cookie.
pub async fn login(
    State(state): State<AppState>,
    jar: CookieJar,
    Form(form): Form<LoginForm>,
) -> Response {
    match page_sessions::sign_in_operator(&state.store, &form.token, now_micros()).await {
        Ok(session) => {
            let cookie = Cookie::build((PAGE_COOKIE, session.secret.expose().to_string()))
                .path("/ui")
                .http_only(true)
                .same_site(SameSite::Lax)
                .secure(state.settings.public_url.starts_with("https://"))
                .max_age(time::Duration::seconds(PAGE_SESSION_SECS))
                .build();
            (jar.add(cookie), Redirect::to("/ui")).into_response()
        }
        Err(TenantError::Unauthenticated) => {
            let page = LoginPage {
                message: Some("That is not a live operator token.".into()),
            };
            (axum::http::StatusCode::UNAUTHORIZED, render(&page)).into_response()
        }
        Err(err) => PageError::rule(bare_chrome(), err).into_response(),
    }
}

#[derive(Debug, Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    pub csrf: String,
}

/// `POST /ui/logout`: ends the page session (and only that: an SSO session stays the host
/// product's to end).
pub async fn logout(
    State(state): State<AppState>,
    viewer: Viewer,
    jar: CookieJar,
    Form(form): Form<TokenForm>,
) -> Result<Response, PageError> {
    viewer.check_form(&form.csrf)?;
    if let Some(cookie) = jar.get(PAGE_COOKIE) {
        page_sessions::sign_out(&state.store, cookie.value())
            .await
            .map_err(|e| viewer.refused(e))?;
    }
    let jar = jar.remove(Cookie::build(PAGE_COOKIE).path("/ui"));
    Ok((jar, Redirect::to("/ui/login")).into_response())
}

#[derive(Debug, Deserialize)]
pub struct SsoQuery {
    #[serde(default)]
    tenant: String,
}

/// `GET /ui/sso?tenant=T`: a tenant admin signs in through their tenant's SSO and comes back
/// to the tenant's dashboard.
pub async fn sso(State(state): State<AppState>, Query(query): Query<SsoQuery>) -> Response {
    match TenantSlug::parse(query.tenant.trim()) {
        Ok(slug) => {
            let slug = slug.as_str();
            let back = format!(
                "{}/ui/t/{slug}",
                state.settings.public_url.trim_end_matches('/')
            );
            let back: String = form_urlencoded::byte_serialize(back.as_bytes()).collect();
            Redirect::to(&format!("/sso/{slug}/login?return_to={back}")).into_response()
        }
        Err(_) => {
            let page = LoginPage {
                message: Some("That is not a tenant's name.".into()),
            };
            (axum::http::StatusCode::BAD_REQUEST, render(&page)).into_response()
        }
    }
}
