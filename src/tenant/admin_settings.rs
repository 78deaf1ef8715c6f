//! What admins change through the admin API besides users: tenants and their policies,
//! directory connections, and SCIM tokens. Each checks the actor's permission, then runs the
//! same rule the CLI runs, audited with the actor's name.

use super::operators::{AdminActor, AdminPermission, require_operator, tenant_for};
use super::tenants::{self, PolicyChange};
use super::tokens::{self, TokenSecret};
use super::{TenantError, TenantSlug};
use crate::scim::schema::ResourceSchemas;
use crate::store::{
    AuditRecord, ConnectionId, ConnectionRecord, Constraint, Micros, Store, StoreError,
    TenantRecord, TokenPrefix, TokenRecord,
};

/// Identity providers a connection's kind may name (a hint for admins; behaviour does not
/// depend on it).
pub const CONNECTION_KINDS: [&str; 7] = [
    "entra",
    "okta",
    "onelogin",
    "jumpcloud",
    "google",
    "ping",
    "generic",
];

/// Creates a tenant (an environment of the agency `parent`, when named). Operators only.
pub async fn create_tenant(
    store: &Store,
    actor: &AdminActor,
    slug: &str,
    display_name: Option<&str>,
    seat_limit: Option<i64>,
    parent: Option<&str>,
    now: Micros,
) -> Result<TenantRecord, TenantError> {
    require_operator(actor, "creating a tenant")?;
    let slug = TenantSlug::parse(slug)?;
    tenants::create_tenant_by(
        store,
        &actor.label(),
        &slug,
        display_name,
        seat_limit,
        parent,
        now,
    )
    .await
}

/// Changes a tenant's policies. Needs `settings:manage`.
pub async fn update_policies(
    store: &Store,
    schemas: ResourceSchemas<'_>,
    actor: &AdminActor,
    slug: &str,
    change: PolicyChange,
    now: Micros,
) -> Result<TenantRecord, TenantError> {
    let tenant = tenant_for(store, actor, slug, AdminPermission::SettingsManage).await?;
    let slug = TenantSlug::parse(&tenant.slug)?;
    tenants::update_tenant_by(store, &actor.label(), schemas, &slug, change, now).await
}

/// Creates a directory connection (without a token: issue one next). Needs `settings:manage`.
pub async fn create_connection(
    store: &Store,
    actor: &AdminActor,
    slug: &str,
    name: &str,
    kind: &str,
    now: Micros,
) -> Result<ConnectionRecord, TenantError> {
    let tenant = tenant_for(store, actor, slug, AdminPermission::SettingsManage).await?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(TenantError::InvalidArgument(
            "a connection name is 1 to 64 characters, none of them control characters".into(),
        ));
    }
    if !CONNECTION_KINDS.contains(&kind) {
        return Err(TenantError::InvalidArgument(format!(
            "kind '{kind}' is none of {}",
            CONNECTION_KINDS.join(", ")
        )));
    }
    let connection = ConnectionRecord {
        id: ConnectionId::generate(),
        tenant_id: tenant.id.clone(),
        name: name.to_string(),
        kind: kind.to_string(),
        created_at: now,
    };
    let mut tx = store.begin().await?;
    tx.insert_connection(&connection)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(Constraint::ConnectionName) => {
                TenantError::ConnectionExists(name.to_string())
            }
            other => TenantError::Store(other),
        })?;
    tx.insert_audit(&AuditRecord {
        tenant_id: Some(tenant.id.clone()),
        connection_id: Some(connection.id.clone()),
        at: now,
        actor: actor.label(),
        action: "connection.create".into(),
        target_type: Some("Connection".into()),
        target_id: Some(connection.id.to_string()),
        target_name: Some(connection.name.clone()),
        outcome: "success".into(),
        http_status: 201,
        ..AuditRecord::default()
    })
    .await?;
    tx.commit().await?;
    Ok(connection)
}

/// Issues a SCIM token for an existing connection of the tenant, or (with `grace`) rotates its
/// tokens: the older ones keep working `grace` more microseconds. Needs `settings:manage`.
pub async fn issue_token(
    store: &Store,
    actor: &AdminActor,
    slug: &str,
    connection: &str,
    grace: Option<Micros>,
    now: Micros,
) -> Result<(TokenSecret, TokenRecord), TenantError> {
    let tenant = tenant_for(store, actor, slug, AdminPermission::SettingsManage).await?;
    if !store
        .connections(&tenant.id, now)
        .await?
        .iter()
        .any(|c| c.connection.name == connection)
    {
        return Err(TenantError::NotFound(format!("connection '{connection}'")));
    }
    let label = actor.label();
    match grace {
        Some(grace) => {
            tokens::rotate_token_by(store, &label, &tenant.slug, connection, grace, now).await
        }
        None => tokens::create_token_by(store, &label, &tenant.slug, connection, None, now).await,
    }
}

/// The tenant's SCIM tokens (prefixes and state, never secrets). Needs `settings:view`.
pub async fn list_tokens(
    store: &Store,
    actor: &AdminActor,
    slug: &str,
) -> Result<Vec<TokenRecord>, TenantError> {
    let tenant = tenant_for(store, actor, slug, AdminPermission::SettingsView).await?;
    Ok(store.list_tokens(&tenant.id).await?)
}

/// Revokes the tenant's tokens with this prefix: refused from the next request on. Needs
/// `settings:manage`.
pub async fn revoke_token(
    store: &Store,
    actor: &AdminActor,
    slug: &str,
    prefix: &TokenPrefix,
    now: Micros,
) -> Result<u64, TenantError> {
    let tenant = tenant_for(store, actor, slug, AdminPermission::SettingsManage).await?;
    tokens::revoke_token_by(store, &actor.label(), &tenant.slug, prefix, now).await
}
