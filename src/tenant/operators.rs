//! Who may use the admin API: operators (with an operator token, every tenant) and a tenant's own
//! admins (with a gateway session whose roles grant the permission, that tenant only).

use std::sync::Arc;

use super::tenants::find_tenant;
use super::tokens::{TokenSecret, hash_token, new_secret};
use super::{Caller, TenantError};
use crate::store::{
    AdminTokenId, AdminTokenRecord, AuditRecord, Micros, Store, TenantRecord, TokenPrefix, UserId,
};

/// Operator tokens start with this, so that one is never taken for a SCIM token.
pub const OPERATOR_TOKEN_MARKER: &str = "scgwadm_";
/// Characters of an operator token shown in listings and audit events (marker included).
const PREFIX_LEN: usize = 14;
/// How often the last use of an operator token is written at most.
const LAST_USED_RESOLUTION_MICROS: Micros = 60_000_000;

/// A permission the admin API asks for: a category of the role model and an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminPermission {
    UsersView,
    UsersManage,
    SettingsView,
    SettingsManage,
}

impl AdminPermission {
    /// As the role catalog names it.
    pub fn as_str(self) -> &'static str {
        match self {
            AdminPermission::UsersView => "users:view",
            AdminPermission::UsersManage => "users:manage",
            AdminPermission::SettingsView => "settings:view",
            AdminPermission::SettingsManage => "settings:manage",
        }
    }

    /// `manage` includes `view`: whoever may change a thing may see it.
    fn granted_by(self, permissions: &[String]) -> bool {
        let implied = match self {
            AdminPermission::UsersView => Some(AdminPermission::UsersManage),
            AdminPermission::SettingsView => Some(AdminPermission::SettingsManage),
            _ => None,
        };
        permissions
            .iter()
            .any(|p| p == self.as_str() || implied.is_some_and(|i| p == i.as_str()))
    }
}

/// Whoever called the admin API.
#[derive(Debug, Clone)]
pub enum AdminActor {
    /// An operator token: every tenant, every permission.
    Operator { prefix: TokenPrefix },
    /// A signed-in user of `tenant` with the effective permissions of their roles.
    TenantAdmin {
        tenant: Arc<TenantRecord>,
        user_id: UserId,
        user_name: String,
        permissions: Vec<String>,
    },
}

impl AdminActor {
    /// Whether this actor may act on `tenant` with `permission`. A tenant admin never reaches
    /// another tenant, whatever their permissions.
    pub fn may(&self, tenant: &TenantRecord, permission: AdminPermission) -> bool {
        match self {
            AdminActor::Operator { .. } => true,
            AdminActor::TenantAdmin {
                tenant: own,
                permissions,
                ..
            } => own.id == tenant.id && permission.granted_by(permissions),
        }
    }

    pub fn is_operator(&self) -> bool {
        matches!(self, AdminActor::Operator { .. })
    }

    /// How audit events name this actor: `operator:<token prefix>` or `user:<userName>`.
    pub fn label(&self) -> String {
        match self {
            AdminActor::Operator { prefix } => format!("operator:{prefix}"),
            AdminActor::TenantAdmin { user_name, .. } => format!("user:{user_name}"),
        }
    }

    /// The caller an admin change of `tenant` runs as (its audit event names the actor with
    /// `label`).
    pub fn caller_in(&self, tenant: TenantRecord, request_summary: String) -> Caller {
        Caller {
            tenant: Arc::new(tenant),
            connection_id: None,
            actor: "admin",
            request_summary: Some(request_summary),
            token_id: None,
        }
    }
}

/// The tenant named `slug`, if `actor` may act on it with `permission`. A tenant admin asking
/// for another tenant is refused before any lookup, so the answer never tells which tenants exist.
pub async fn tenant_for(
    store: &Store,
    actor: &AdminActor,
    slug: &str,
    permission: AdminPermission,
) -> Result<TenantRecord, TenantError> {
    let tenant = match actor {
        AdminActor::TenantAdmin { tenant, .. } if tenant.slug != slug => {
            return Err(TenantError::Forbidden(format!(
                "this session belongs to tenant '{}' and cannot reach another tenant",
                tenant.slug
            )));
        }
        // Read with the session on this request: no second lookup.
        AdminActor::TenantAdmin { tenant, .. } => TenantRecord::clone(tenant),
        AdminActor::Operator { .. } => find_tenant(store, slug).await?,
    };
    if !actor.may(&tenant, permission) {
        return Err(TenantError::Forbidden(format!(
            "this needs the '{}' permission in tenant '{slug}'",
            permission.as_str()
        )));
    }
    Ok(tenant)
}

/// Refuses anyone but an operator.
pub fn require_operator(actor: &AdminActor, what: &str) -> Result<(), TenantError> {
    if actor.is_operator() {
        Ok(())
    } else {
        Err(TenantError::Forbidden(format!(
            "{what} needs an operator token"
        )))
    }
}

/// Every tenant, for operators only.
pub async fn list_tenants(
    store: &Store,
    actor: &AdminActor,
) -> Result<Vec<TenantRecord>, TenantError> {
    require_operator(actor, "listing every tenant")?;
    Ok(store.list_tenants().await?)
}

/// Creates an operator token; the secret is returned here only.
pub async fn create_operator_token(
    store: &Store,
    name: &str,
    expires_at: Option<Micros>,
    now: Micros,
) -> Result<(TokenSecret, AdminTokenRecord), TenantError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(TenantError::InvalidArgument(
            "the token name cannot be empty".into(),
        ));
    }
    let secret = new_secret(OPERATOR_TOKEN_MARKER);
    let record = AdminTokenRecord {
        id: AdminTokenId::generate(),
        name: name.to_string(),
        prefix: TokenPrefix::new(secret.expose().chars().take(PREFIX_LEN).collect::<String>()),
        created_at: now,
        last_used_at: None,
        expires_at,
        revoked_at: None,
    };
    let mut tx = store.begin().await?;
    tx.insert_admin_token(&record, &hash_token(secret.expose()))
        .await?;
    tx.insert_audit(&operator_event("admin_token.create", &record.prefix, now))
        .await?;
    tx.commit().await?;
    Ok((secret, record))
}

/// Revokes the operator tokens with this visible prefix: refused from the next request on.
pub async fn revoke_operator_token(
    store: &Store,
    prefix: &TokenPrefix,
    now: Micros,
) -> Result<u64, TenantError> {
    let mut tx = store.begin().await?;
    let revoked = tx.revoke_admin_tokens(prefix, now).await?;
    if revoked == 0 {
        return Err(TenantError::NotFound(format!(
            "live operator token with prefix '{prefix}'"
        )));
    }
    tx.insert_audit(&operator_event("admin_token.revoke", prefix, now))
        .await?;
    tx.commit().await?;
    Ok(revoked)
}

fn operator_event(action: &str, prefix: &TokenPrefix, now: Micros) -> AuditRecord {
    AuditRecord {
        at: now,
        actor: "cli".into(),
        action: action.into(),
        target_type: Some("OperatorToken".into()),
        target_name: Some(prefix.to_string()),
        outcome: "success".into(),
        http_status: 200,
        ..AuditRecord::default()
    }
}

/// The operator a presented bearer token belongs to, if it is a live operator token. Looked up
/// on every request (no cache), so a revocation takes effect at once.
pub async fn authenticate_operator(
    store: &Store,
    presented: &str,
    now: Micros,
) -> Result<Option<AdminActor>, TenantError> {
    if !presented.starts_with(OPERATOR_TOKEN_MARKER) || presented.len() > 128 {
        return Ok(None);
    }
    let Some(token) = store.admin_token_grant(&hash_token(presented), now).await? else {
        return Ok(None);
    };
    if token
        .last_used_at
        .is_none_or(|t| now - t >= LAST_USED_RESOLUTION_MICROS)
        && let Err(err) = store.touch_admin_token(&token.id, now).await
    {
        tracing::warn!(error = %err, "could not record the operator token's last use");
    }
    Ok(Some(AdminActor::Operator {
        prefix: token.prefix,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admin_of(tenant_id: &str, permissions: &[&str]) -> (AdminActor, TenantRecord) {
        let tenant = TenantRecord {
            id: crate::store::TenantId::new(tenant_id),
            slug: tenant_id.into(),
            display_name: tenant_id.into(),
            seat_limit: None,
            seats_used: 0,
            immutable_attributes: Vec::new(),
            rate_limit: None,
            parent_id: None,
            created_at: 0,
            updated_at: 0,
        };
        let actor = AdminActor::TenantAdmin {
            tenant: Arc::new(tenant.clone()),
            user_id: UserId::new("u"),
            user_name: "ada".into(),
            permissions: permissions.iter().map(|p| p.to_string()).collect(),
        };
        (actor, tenant)
    }

    #[test]
    fn manage_includes_view_but_view_grants_no_change() {
        let (manager, tenant) = admin_of("t", &["users:manage"]);
        assert!(manager.may(&tenant, AdminPermission::UsersView));
        assert!(manager.may(&tenant, AdminPermission::UsersManage));
        assert!(!manager.may(&tenant, AdminPermission::SettingsView));
        let (viewer, tenant) = admin_of("t", &["users:view"]);
        assert!(viewer.may(&tenant, AdminPermission::UsersView));
        assert!(!viewer.may(&tenant, AdminPermission::UsersManage));
    }

    #[test]
    fn a_tenant_admin_never_reaches_another_tenant() {
        let (admin, _) = admin_of("t", &["users:manage", "settings:manage"]);
        let (_, other) = admin_of("other", &[]);
        assert!(!admin.may(&other, AdminPermission::UsersView));
        let operator = AdminActor::Operator {
            prefix: TokenPrefix::new("scgwadm_abc"),
        };
        assert!(operator.may(&other, AdminPermission::SettingsManage));
    }
}
