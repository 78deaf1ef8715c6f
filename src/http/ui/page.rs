//! What every page shares: the chrome around it (who is signed in, the tenant's navigation, the
//! form token), rendering a template into a response, and the one mapping from the rules'
//! errors to what a browser is shown.

use askama::Template;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};

use crate::clock::datetime_of;
use crate::store::{Micros, StoreError};
use crate::tenant::TenantError;

/// The tenant a page belongs to, for the navigation.
#[derive(Debug, Clone)]
pub struct TenantNav {
    pub slug: String,
    pub display_name: String,
}

/// The frame of a signed-in page.
#[derive(Debug, Clone)]
pub struct Chrome {
    pub title: String,
    /// Who is signed in, as the top bar shows it.
    pub who: String,
    /// The token every form of the page carries.
    pub csrf: String,
    pub operator: bool,
    pub tenant: Option<TenantNav>,
    /// Which navigation entry is the current one.
    pub section: &'static str,
}

/// A rendered page with the headers every page gets (not cached: pages show live data).
pub fn render(template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => ([(header::CACHE_CONTROL, "no-store")], Html(html)).into_response(),
        Err(err) => {
            tracing::error!(error = %err, "a page did not render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page could not be rendered",
            )
                .into_response()
        }
    }
}

/// A time as pages show it: UTC, to the minute.
pub fn when(at: Micros) -> String {
    let t = datetime_of(at);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

/// An option of a filter's list.
pub struct Choice {
    pub value: String,
    pub selected: bool,
}

/// The options `values`, the one equal to `selected` marked.
pub fn choices(values: impl IntoIterator<Item = String>, selected: &str) -> Vec<Choice> {
    let selected = selected.trim();
    values
        .into_iter()
        .map(|value| Choice {
            selected: value == selected,
            value,
        })
        .collect()
}

/// `path` with the non-empty `pairs` as its query string: the links of a filtered page.
pub fn link(path: &str, pairs: &[(&str, &str)]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (key, value) in pairs {
        if !value.is_empty() {
            query.append_pair(key, value);
        }
    }
    format!("{path}?{}", query.finish())
}

/// A refused request as the dashboard and a connection's page list it.
pub struct RejectionRow {
    pub at: String,
    pub connection: String,
    pub request: String,
    pub target: String,
    pub status: i64,
    pub scim_type: Option<String>,
    pub detail: String,
}

impl RejectionRow {
    pub fn of(rejection: &crate::tenant::sync::Rejection, connection: &str) -> Self {
        RejectionRow {
            at: when(rejection.at),
            connection: connection.to_string(),
            request: rejection
                .request
                .clone()
                .unwrap_or_else(|| rejection.action.clone()),
            target: rejection.target_name.clone().unwrap_or_default(),
            status: rejection.status,
            scim_type: rejection.scim_type.clone(),
            detail: rejection.detail.clone().unwrap_or_default(),
        }
    }
}

/// An optional time, or a dash.
pub fn when_or_never(at: Option<Micros>, never: &str) -> String {
    at.map_or_else(|| never.to_string(), when)
}

#[derive(Template)]
#[template(path = "ui/error.html")]
struct ErrorPage<'a> {
    chrome: Chrome,
    heading: &'a str,
    detail: String,
}

/// Why a page could not be shown.
#[derive(Debug)]
pub enum PageError {
    /// Nobody (or nobody any more) is signed in: to the sign-in page.
    SignIn,
    /// A refusal or a failure of the rules, shown in the signed-in frame.
    Rule(Box<(Chrome, TenantError)>),
}

impl PageError {
    pub fn rule(chrome: Chrome, err: TenantError) -> Self {
        PageError::Rule(Box::new((chrome, err)))
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (chrome, err) = match self {
            PageError::SignIn => return Redirect::to("/ui/login").into_response(),
            PageError::Rule(refusal) => *refusal,
        };
        if matches!(err, TenantError::Unauthenticated) {
            return Redirect::to("/ui/login").into_response();
        }
        let (status, heading, detail) = match &err {
            // Another tenant's page, or one that does not exist, look the same: nothing to see.
            TenantError::UnknownTenant(_) | TenantError::NotFound(_) => (
                StatusCode::NOT_FOUND,
                "Not found",
                "There is nothing here, or nothing you may see.".to_string(),
            ),
            TenantError::Forbidden(detail) => {
                (StatusCode::FORBIDDEN, "Not allowed", detail.clone())
            }
            TenantError::Store(StoreError::UnstorableText(_)) | TenantError::InvalidArgument(_) => {
                (
                    StatusCode::BAD_REQUEST,
                    "That did not work",
                    err.to_string(),
                )
            }
            TenantError::Store(retry) if retry.is_retryable() => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Busy",
                "The service is busy; try again in a moment.".to_string(),
            ),
            TenantError::Store(other) => {
                tracing::error!(error = %other, "a page failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "The page could not be shown; nothing was changed.".to_string(),
                )
            }
            other => (
                StatusCode::from_u16(other.status()).unwrap_or(StatusCode::BAD_REQUEST),
                "That did not work",
                crate::http::error::to_scim_error(other).detail,
            ),
        };
        let page = ErrorPage {
            chrome,
            heading,
            detail,
        };
        (status, render(&page)).into_response()
    }
}
