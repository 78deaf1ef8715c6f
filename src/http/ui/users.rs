//! `/ui/t/{tenant}/users`: the users table (search, filters, sortable columns, pages that
//! survive the back button: everything is in the query string), one user's page (profile,
//! roles and where each comes from, what they can do, their audit timeline), and suspending
//! or reactivating them (a form, POST-redirect-GET).

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::Value;

use super::page::{Choice, Chrome, PageError, choices, link, render, when, when_or_never};
use super::session::Viewer;
use crate::clock::now_micros;
use crate::scim::{ScimError, TENANT_USER_URN};
use crate::state::AppState;
use crate::store::{UserId, UserStatus};
use crate::tenant::admin_status::{self, AdminStatusChange};
use crate::tenant::audit_log::{self, AuditQuery};
use crate::tenant::document::primary_email;
use crate::tenant::invitations::{self, UserRef};
use crate::tenant::operators::AdminPermission;
use crate::tenant::roles::{PERMISSION_ACTIONS, PERMISSION_CATEGORIES, RoleSource};
use crate::tenant::user_detail;
use crate::tenant::user_list::{self, UserListQuery};
use crate::tenant::{TenantError, admin_roles, agencies, sync};

/// Users per page of the table.
const PAGE_SIZE: i64 = 50;
/// Events on a user's timeline.
const TIMELINE: i64 = 20;

/// The table's query string. Every field is text, so that whatever a link carries shows the
/// page (a value the rules refuse is said on the page, never a bare 400).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct UsersParams {
    q: String,
    status: String,
    role: String,
    #[serde(rename = "userType")]
    user_type: String,
    connection: String,
    /// `userName` or `created`; a leading `-` sorts descending.
    sort: String,
    cursor: String,
    /// Where a sorted page starts (1-based).
    start: String,
}

impl UsersParams {
    /// The query string of these parameters with `change` applied: the links of the page.
    fn link(&self, slug: &str, change: impl FnOnce(&mut UsersParams)) -> String {
        let mut next = self.clone();
        change(&mut next);
        link(
            &format!("/ui/t/{slug}/users"),
            &[
                ("q", &next.q),
                ("status", &next.status),
                ("role", &next.role),
                ("userType", &next.user_type),
                ("connection", &next.connection),
                ("sort", &next.sort),
                ("cursor", &next.cursor),
                ("start", &next.start),
            ],
        )
    }
}

/// What a person is called on the pages: their displayName, else their given and family names,
/// else their userName.
fn shown_name(user: &crate::store::UserRecord) -> String {
    if let Some(name) = &user.display_name {
        return name.clone();
    }
    let part = |key: &str| {
        user.doc
            .get("name")
            .and_then(|n| n.get(key))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    match (part("givenName"), part("familyName")) {
        (Some(given), Some(family)) => format!("{given} {family}"),
        (Some(one), None) | (None, Some(one)) => one.to_string(),
        (None, None) => user.user_name.clone(),
    }
}

fn given(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

struct UserRowView {
    id: String,
    display_name: String,
    user_name: String,
    email: Option<String>,
    status: &'static str,
    user_type: String,
    roles: Vec<String>,
    last_login: String,
    connection: String,
    created: String,
}

struct SortLinks {
    user_name: String,
    created: String,
}

#[derive(Template)]
#[template(path = "ui/users.html")]
struct UsersPage {
    chrome: Chrome,
    slug: String,
    total: i64,
    search: String,
    user_type: String,
    statuses: Vec<Choice>,
    roles: Vec<Choice>,
    connections: Vec<Choice>,
    rows: Vec<UserRowView>,
    sort_links: SortLinks,
    next_link: Option<String>,
    /// The first users of the agencies above this tenant (an environment), marked as inherited.
    inherited: Vec<InheritedRow>,
    /// Whether there are more than the page shows (the admin API pages through them all).
    inherited_more: bool,
}

/// A user of an agency above the tenant, as the users page lists them.
struct InheritedRow {
    user_name: String,
    display_name: String,
    agency: String,
    roles: Vec<String>,
    /// An override in this environment (or one above it) decides their roles.
    overridden: bool,
}

/// How many inherited users the users page shows.
const INHERITED_SHOWN: i64 = 50;

fn user_schemas(state: &AppState) -> Result<crate::scim::schema::ResourceSchemas<'_>, TenantError> {
    state
        .registry
        .user()
        .ok_or_else(|| TenantError::Scim(ScimError::new(500, None, "the User schema is missing")))
}

pub async fn users(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(slug): Path<String>,
    Query(params): Query<UsersParams>,
) -> Result<Response, PageError> {
    let tenant = viewer.tenant(&state, &slug).await?;
    let chrome = viewer.tenant_chrome(&tenant, "Users", "users");
    let refused = |e| PageError::rule(chrome.clone(), e);
    let (sort_by, descending) = match params.sort.strip_prefix('-') {
        Some(field) => (given(field), true),
        None => (given(&params.sort), false),
    };
    let start_index = match given(&params.start) {
        Some(text) => Some(text.parse::<i64>().map_err(|_| {
            refused(TenantError::InvalidArgument(format!(
                "'{text}' is not a page position"
            )))
        })?),
        None => None,
    };
    let query = UserListQuery {
        search: given(&params.q),
        status: given(&params.status),
        user_type: given(&params.user_type),
        role: given(&params.role),
        connection: given(&params.connection),
        sort_by,
        descending,
        cursor: given(&params.cursor),
        start_index,
        count: Some(PAGE_SIZE),
    };
    let schemas = user_schemas(&state).map_err(refused)?;
    let now = now_micros();
    let listing = user_list::user_list(
        &state.store,
        schemas,
        &viewer.actor,
        &slug,
        &query,
        state.settings.limits.list_limits(),
        now,
    )
    .await
    .map_err(refused)?;
    // The filters' lists: the catalog's roles, and the connections (when the viewer may see
    // them).
    let role_names = admin_roles::role_names(&state.store, &viewer.actor, &slug)
        .await
        .map_err(refused)?;
    let connection_names = match sync::connections_of(&state.store, &viewer.actor, &slug, now).await
    {
        Ok(list) => list.into_iter().map(|c| c.connection.name).collect(),
        Err(_) => Vec::new(),
    };
    let sorted = query.sort_by.is_some();
    let next_link = if sorted {
        let shown = i64::try_from(listing.items.len()).unwrap_or(i64::MAX);
        let start = start_index.unwrap_or(1);
        (shown == PAGE_SIZE && start.saturating_add(shown) <= listing.total)
            .then(|| params.link(&slug, |p| p.start = (start + shown).to_string()))
    } else {
        listing
            .next_cursor
            .as_ref()
            .map(|cursor| params.link(&slug, |p| p.cursor = cursor.clone()))
    };
    let sort_link = |field: &str| {
        params.link(&slug, |p| {
            p.sort = if p.sort == field {
                format!("-{field}")
            } else {
                field.to_string()
            };
            p.cursor.clear();
            p.start.clear();
        })
    };
    let (inherited, inherited_next) =
        agencies::agency_users(&state.store, &viewer.actor, &slug, None, INHERITED_SHOWN)
            .await
            .map_err(refused)?;
    let inherited = inherited
        .into_iter()
        .map(|agency_user| InheritedRow {
            display_name: shown_name(&agency_user.user),
            user_name: agency_user.user.user_name,
            agency: agency_user.agency,
            roles: agency_user.access.roles,
            overridden: agency_user.access.overridden,
        })
        .collect();
    let rows = listing
        .items
        .into_iter()
        .map(|row| {
            let user = row.user;
            let email = primary_email(&user.doc).filter(|e| *e != user.user_name);
            UserRowView {
                id: user.id.to_string(),
                display_name: shown_name(&user),
                email,
                status: user.status.as_str(),
                user_type: user.user_type.unwrap_or_default(),
                roles: row.roles,
                last_login: when_or_never(user.last_login_at, "never"),
                connection: row.connection.unwrap_or_default(),
                created: when(user.created_at),
                user_name: user.user_name,
            }
        })
        .collect();
    let page = UsersPage {
        slug: slug.clone(),
        total: listing.total,
        search: params.q.clone(),
        user_type: params.user_type.clone(),
        statuses: choices(
            [
                UserStatus::Invited,
                UserStatus::Active,
                UserStatus::Suspended,
            ]
            .map(|s| s.as_str().to_string()),
            &params.status,
        ),
        roles: choices(role_names, &params.role),
        connections: choices(connection_names, &params.connection),
        rows,
        sort_links: SortLinks {
            user_name: sort_link("userName"),
            created: sort_link("created"),
        },
        next_link,
        inherited,
        inherited_more: inherited_next.is_some(),
        chrome,
    };
    Ok(render(&page))
}

/// A labelled value on the user's page.
struct Fact {
    label: &'static str,
    value: String,
}

struct RoleLine {
    name: String,
    sources: String,
}

struct GridRow {
    category: &'static str,
    cells: Vec<bool>,
}

struct TimelineEntry {
    at: String,
    action: String,
    actor: String,
    refused: bool,
    status: i64,
    detail: Option<String>,
}

struct UserView {
    id: String,
    user_name: String,
    display_name: String,
    user_type: Option<String>,
    status: &'static str,
}

#[derive(Template)]
#[template(path = "ui/user.html")]
struct UserPage {
    chrome: Chrome,
    slug: String,
    user: UserView,
    flash: Option<String>,
    can_manage: bool,
    profile: Vec<Fact>,
    agent: Vec<Fact>,
    roles: Vec<RoleLine>,
    unknown_roles: String,
    unknown_template: String,
    groups: Vec<String>,
    actions: [&'static str; 5],
    grid: Vec<GridRow>,
    timeline: Vec<TimelineEntry>,
    timeline_hidden: bool,
    /// The environments below this tenant the user reaches, with their roles there.
    environments: Vec<EnvironmentLine>,
}

/// An environment a user reaches, as their page lists it.
struct EnvironmentLine {
    slug: String,
    roles: Vec<String>,
    overridden: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct UserParams {
    /// What the last action did, to say so once after the redirect.
    done: String,
}

/// The value of the tenant extension's `name`, as text.
fn extension_value(doc: &serde_json::Map<String, Value>, name: &str) -> String {
    match doc.get(TENANT_USER_URN).and_then(|e| e.get(name)) {
        None | Some(Value::Null) => "—".into(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(true)) => "yes".into(),
        Some(Value::Bool(false)) => "no".into(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => s.clone(),
                Value::Object(o) => o
                    .get("value")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(", "),
        Some(other) => other.to_string(),
    }
}

pub async fn user(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((slug, id)): Path<(String, String)>,
    Query(params): Query<UserParams>,
) -> Result<Response, PageError> {
    let tenant = viewer.tenant(&state, &slug).await?;
    let chrome = viewer.tenant_chrome(&tenant, "User", "users");
    let refused = |e| PageError::rule(chrome.clone(), e);
    let now = now_micros();
    let id = UserId::new(id);
    let detail = user_detail::user_detail(&state.store, &viewer.actor, &slug, &id, now)
        .await
        .map_err(refused)?;
    let environments = agencies::environments_of_user(&state.store, &viewer.actor, &slug, &id)
        .await
        .map_err(refused)?
        .into_iter()
        .map(|e| EnvironmentLine {
            slug: e.slug,
            roles: e.access.roles,
            overridden: e.access.overridden,
        })
        .collect();
    // The audit trail needs settings:view; without it the page says so instead of failing.
    let (events, timeline_hidden) = match audit_log::audit_page(
        &state.store,
        &viewer.actor,
        &slug,
        &AuditQuery {
            target: Some(id.to_string()),
            count: Some(TIMELINE),
            ..AuditQuery::default()
        },
        now,
    )
    .await
    {
        Ok(page) => (page.events, false),
        Err(TenantError::Forbidden(_)) => (Vec::new(), true),
        Err(other) => return Err(refused(other)),
    };
    let user = &detail.user;
    let doc = &user.doc;
    let name = |part: &str| {
        doc.get("name")
            .and_then(|n| n.get(part))
            .and_then(Value::as_str)
            .unwrap_or("—")
            .to_string()
    };
    let text = |key: &str| {
        doc.get(key)
            .and_then(Value::as_str)
            .unwrap_or("—")
            .to_string()
    };
    let profile = vec![
        Fact {
            label: "userName",
            value: user.user_name.clone(),
        },
        Fact {
            label: "Given name",
            value: name("givenName"),
        },
        Fact {
            label: "Family name",
            value: name("familyName"),
        },
        Fact {
            label: "Email",
            value: primary_email(doc).unwrap_or_else(|| "—".into()),
        },
        Fact {
            label: "External id",
            value: user.external_id.clone().unwrap_or_else(|| "—".into()),
        },
        Fact {
            label: "Time zone",
            value: text("timezone"),
        },
        Fact {
            label: "Last login",
            value: when_or_never(user.last_login_at, "never"),
        },
        Fact {
            label: "Created",
            value: format!(
                "{} by {}",
                when(user.created_at),
                detail
                    .created_by
                    .clone()
                    .unwrap_or_else(|| "the gateway".into())
            ),
        },
        Fact {
            label: "Last changed",
            value: format!(
                "{} by {}",
                when(user.modified_at),
                detail
                    .modified_by
                    .clone()
                    .unwrap_or_else(|| "the gateway".into())
            ),
        },
    ];
    let agent = [
        ("Skills", "skills"),
        ("Max chats", "maxChats"),
        ("Max emails", "maxEmails"),
        ("Voice calls", "voiceCalls"),
        ("CRM access", "crmAccess"),
        ("Role template", "roleTemplate"),
    ]
    .into_iter()
    .map(|(label, key)| Fact {
        label,
        value: extension_value(doc, key),
    })
    .collect();
    let roles = detail
        .roles
        .iter()
        .map(|(name, sources)| RoleLine {
            name: name.clone(),
            sources: sources
                .iter()
                .map(|s| match s {
                    RoleSource::ScimValue => "from the identity provider's roles".to_string(),
                    RoleSource::Group(group) => format!("through group {group}"),
                    RoleSource::UserType(user_type) => format!("as a {user_type}"),
                    RoleSource::Template => "the user's role template".to_string(),
                    RoleSource::Admin => "assigned by an admin".to_string(),
                })
                .collect::<Vec<_>>()
                .join("; "),
        })
        .collect();
    let grid = PERMISSION_CATEGORIES
        .iter()
        .map(|category| GridRow {
            category,
            cells: PERMISSION_ACTIONS
                .iter()
                .map(|action| {
                    detail
                        .permissions
                        .iter()
                        .any(|p| p.split_once(':') == Some((category, action)))
                })
                .collect(),
        })
        .collect();
    let timeline = events
        .into_iter()
        .map(|entry| {
            let e = entry.event;
            TimelineEntry {
                at: when(e.at),
                refused: e.outcome != "success",
                status: e.http_status,
                detail: e.reason.or(e.request_summary),
                action: e.action,
                actor: e.actor,
            }
        })
        .collect();
    let flash = match params.done.as_str() {
        "suspended" => {
            Some("Suspended: they cannot sign in, and their sessions have ended.".into())
        }
        "reactivated" => Some("Reactivated.".into()),
        _ => None,
    };
    let mut chrome = chrome.clone();
    chrome.title = user.user_name.clone();
    let page = UserPage {
        slug,
        can_manage: viewer.actor.may(&tenant, AdminPermission::UsersManage),
        user: UserView {
            id: user.id.to_string(),
            user_name: user.user_name.clone(),
            display_name: shown_name(user),
            user_type: user.user_type.clone(),
            status: user.status.as_str(),
        },
        flash,
        profile,
        agent,
        roles,
        unknown_roles: detail.unknown_role_values.join(", "),
        unknown_template: detail.unknown_role_template.clone().unwrap_or_default(),
        groups: detail
            .groups
            .iter()
            .map(|g| g.group_display_name.clone())
            .collect(),
        actions: PERMISSION_ACTIONS,
        grid,
        timeline,
        timeline_hidden,
        environments,
        chrome,
    };
    Ok(render(&page))
}

#[derive(Template)]
#[template(path = "ui/invitation.html")]
struct InvitationPage {
    chrome: Chrome,
    slug: String,
    user_id: String,
    user_name: String,
    link: String,
    expires: String,
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /ui/t/{tenant}/users/{id}/invitation`: a new invitation link, shown to copy.
pub async fn resend_invitation(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((slug, id)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    viewer.check_form(&form.csrf)?;
    let tenant = viewer.tenant(&state, &slug).await?;
    let chrome = viewer.tenant_chrome(&tenant, "Invitation", "users");
    let id = UserId::new(id);
    let issued = invitations::resend(
        &state.store,
        &viewer.actor,
        &slug,
        UserRef::Id(&id),
        &state.settings.invitations,
        now_micros(),
    )
    .await
    .map_err(|e| PageError::rule(chrome.clone(), e))?;
    let page = InvitationPage {
        chrome,
        slug,
        user_id: id.to_string(),
        user_name: issued.user_name,
        link: issued.link,
        expires: when(issued.expires_at),
    };
    Ok(render(&page))
}

#[derive(Debug, Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    change: String,
}

/// `POST /ui/t/{tenant}/users/{id}/status`: suspends or reactivates, then back to the user.
pub async fn change_status(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((slug, id)): Path<(String, String)>,
    Form(form): Form<StatusForm>,
) -> Result<Response, PageError> {
    viewer.check_form(&form.csrf)?;
    let tenant = viewer.tenant(&state, &slug).await?;
    let (change, done) = match form.change.as_str() {
        "suspend" => (AdminStatusChange::Suspend, "suspended"),
        "reactivate" => (AdminStatusChange::Reactivate, "reactivated"),
        other => {
            return Err(viewer.refused(TenantError::InvalidArgument(format!(
                "'{other}' is not a change of status"
            ))));
        }
    };
    let schemas = user_schemas(&state).map_err(|e| viewer.refused(e))?;
    let id = UserId::new(id);
    admin_status::change_status(
        &state.store,
        schemas,
        &viewer.actor,
        &tenant.slug,
        &id,
        change,
        now_micros(),
    )
    .await
    .map_err(|e| viewer.refused(e))?;
    Ok(Redirect::to(&format!("/ui/t/{slug}/users/{id}?done={done}")).into_response())
}
