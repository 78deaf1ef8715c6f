//! Tenants and their policies: seat limit and locked attributes.

use super::agencies::parent_for_new_tenant;
use super::{DEFAULT_IMMUTABLE_ATTRIBUTES, TenantError, TenantSlug};
use crate::scim::schema::ResourceSchemas;
use crate::store::{
    AuditRecord, Constraint, Micros, RateLimit, Store, StoreError, TenantId, TenantRecord, Tx,
};

/// The audit event of `actor` acting on `tenant`'s settings.
pub(super) fn tenant_event(
    tenant: &TenantRecord,
    actor: &str,
    action: &str,
    now: Micros,
) -> AuditRecord {
    AuditRecord {
        tenant_id: Some(tenant.id.clone()),
        at: now,
        actor: actor.to_string(),
        action: action.to_string(),
        target_type: Some("Tenant".into()),
        target_id: Some(tenant.id.to_string()),
        target_name: Some(tenant.slug.clone()),
        outcome: "success".into(),
        http_status: 200,
        ..AuditRecord::default()
    }
}

/// Creates a tenant, as the CLI.
pub async fn create_tenant(
    store: &Store,
    slug: &TenantSlug,
    display_name: Option<&str>,
    seat_limit: Option<i64>,
    now: Micros,
) -> Result<TenantRecord, TenantError> {
    create_tenant_by(store, "cli", slug, display_name, seat_limit, None, now).await
}

/// Creates a tenant (an environment of the agency `parent`, when named), audited as `actor`'s
/// act.
pub async fn create_tenant_by(
    store: &Store,
    actor: &str,
    slug: &TenantSlug,
    display_name: Option<&str>,
    seat_limit: Option<i64>,
    parent: Option<&str>,
    now: Micros,
) -> Result<TenantRecord, TenantError> {
    if seat_limit.is_some_and(|n| n < 0) {
        return Err(TenantError::InvalidArgument(
            "the seat limit cannot be negative".into(),
        ));
    }
    let mut tenant = TenantRecord {
        id: TenantId::generate(),
        slug: slug.as_str().to_string(),
        display_name: display_name.unwrap_or(slug.as_str()).to_string(),
        seat_limit,
        seats_used: 0,
        immutable_attributes: DEFAULT_IMMUTABLE_ATTRIBUTES
            .iter()
            .map(|s| s.to_string())
            .collect(),
        rate_limit: None,
        parent_id: None,
        created_at: now,
        updated_at: now,
    };
    let mut tx = store.begin().await?;
    if let Some(parent) = parent {
        tenant.parent_id = Some(parent_for_new_tenant(&mut tx, parent).await?.id);
    }
    tx.insert_tenant(&tenant).await.map_err(|e| match e {
        StoreError::Conflict(Constraint::TenantSlug) => {
            TenantError::TenantExists(tenant.slug.clone())
        }
        other => TenantError::Store(other),
    })?;
    let mut event = tenant_event(&tenant, actor, "tenant.create", now);
    event.http_status = 201;
    event.reason = parent.map(|parent| format!("an environment of '{parent}'"));
    tx.insert_audit(&event).await?;
    tx.commit().await?;
    Ok(tenant)
}

/// How `tenant update` changes the seat limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SeatChange {
    #[default]
    Keep,
    Limit(i64),
    Unlimited,
}

/// Changes a tenant's policies, as the CLI. Lowering the seat limit below the seats in use
/// removes nobody; it only blocks new seats.
pub async fn update_tenant(
    store: &Store,
    schemas: ResourceSchemas<'_>,
    slug: &TenantSlug,
    seats: SeatChange,
    immutable_attributes: Option<Vec<String>>,
    now: Micros,
) -> Result<TenantRecord, TenantError> {
    let change = PolicyChange {
        seats,
        immutable_attributes,
        ..PolicyChange::default()
    };
    update_tenant_by(store, "cli", schemas, slug, change, now).await
}

/// What a change of a tenant's policies changes; `None`/`Keep` keeps.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PolicyChange {
    pub seats: SeatChange,
    pub immutable_attributes: Option<Vec<String>>,
    /// Just-in-time provisioning at SSO sign-in; it lives with the tenant's SSO settings, so a
    /// tenant without them cannot turn it on.
    pub jit: Option<bool>,
    /// The request rate each of the tenant's SCIM tokens may use: `Some(None)` goes back to
    /// the gateway's default.
    pub rate_limit: Option<Option<RateLimit>>,
}

/// The most requests per second (and burst) a tenant's rate limit may name: beyond what one
/// process serves, so only a typo reaches it.
pub const MAX_RATE_LIMIT: u32 = 1_000_000;

/// Changes a tenant's policies, audited as `actor`'s act with the settings it changed.
pub async fn update_tenant_by(
    store: &Store,
    actor: &str,
    schemas: ResourceSchemas<'_>,
    slug: &TenantSlug,
    change: PolicyChange,
    now: Micros,
) -> Result<TenantRecord, TenantError> {
    let PolicyChange {
        seats,
        immutable_attributes,
        jit,
        rate_limit,
    } = change;
    let mut tx = store.begin().await?;
    let mut tenant = tenant_in(&mut tx, slug.as_str()).await?;
    let before = tenant.clone();
    match seats {
        SeatChange::Keep => {}
        SeatChange::Limit(n) if n < 0 => {
            return Err(TenantError::InvalidArgument(
                "the seat limit cannot be negative".into(),
            ));
        }
        SeatChange::Limit(n) => tenant.seat_limit = Some(n),
        SeatChange::Unlimited => tenant.seat_limit = None,
    }
    if let Some(list) = immutable_attributes {
        tenant.immutable_attributes = canonical_attribute_paths(schemas, &list)?;
    }
    if let Some(rate_limit) = rate_limit {
        if let Some(limit) = rate_limit {
            check_rate_limit(limit)?;
        }
        tenant.rate_limit = rate_limit;
    }
    tenant.updated_at = now;
    tx.update_tenant_settings(&tenant).await?;
    let mut event = tenant_event(&tenant, actor, "tenant.update", now);
    if let Some(jit) = jit {
        match tx.set_sso_jit(&tenant.id, jit, now).await? {
            None if jit => {
                return Err(TenantError::InvalidArgument(
                    "just-in-time provisioning admits users at SSO sign-in: configure the tenant's SSO first (scim-gateway sso set)".into(),
                ));
            }
            Some(before) if before != jit => event.changed_attributes.push("jit".into()),
            _ => {}
        }
    }
    if tenant.seat_limit != before.seat_limit {
        event.changed_attributes.push("seatLimit".into());
    }
    if tenant.immutable_attributes != before.immutable_attributes {
        event.changed_attributes.push("lockedAttributes".into());
    }
    if tenant.rate_limit != before.rate_limit {
        event.changed_attributes.push("rateLimit".into());
    }
    tx.insert_audit(&event).await?;
    tx.commit().await?;
    Ok(tenant)
}

/// A rate limit a tenant may have: a burst of at least one request, both within bounds.
fn check_rate_limit(limit: RateLimit) -> Result<(), TenantError> {
    if limit.burst == 0 || limit.burst > MAX_RATE_LIMIT || limit.per_second > MAX_RATE_LIMIT {
        return Err(TenantError::InvalidArgument(format!(
            "a rate limit is 0 (none) to {MAX_RATE_LIMIT} requests per second with a burst of 1 to {MAX_RATE_LIMIT}"
        )));
    }
    Ok(())
}

/// Checks each path names a writable User attribute and returns it in canonical spelling.
fn canonical_attribute_paths(
    schemas: ResourceSchemas<'_>,
    list: &[String],
) -> Result<Vec<String>, TenantError> {
    let mut out = Vec::new();
    for raw in list.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        let (schema, rest) = schemas.split_urn(raw).unwrap_or((schemas.core, raw));
        let (head, sub) = match rest.split_once('.') {
            Some((h, s)) => (h, Some(s)),
            None => (rest, None),
        };
        let unknown =
            || TenantError::InvalidArgument(format!("'{raw}' is not a writable User attribute"));
        let attr = schema
            .attribute(head)
            .filter(|a| a.is_writable())
            .ok_or_else(unknown)?;
        let mut path = attr.name.clone();
        if let Some(sub) = sub {
            let sub_attr = attr
                .sub_attribute(sub)
                .filter(|_| !attr.multi_valued)
                .ok_or_else(unknown)?;
            path = format!("{path}.{}", sub_attr.name);
        }
        if schema.id != schemas.core.id {
            path = format!("{}:{path}", schema.id);
        }
        if !out.contains(&path) {
            out.push(path);
        }
    }
    Ok(out)
}

/// The tenant with this slug, read in a write transaction; `UnknownTenant` if there is none.
pub(crate) async fn tenant_in(tx: &mut Tx, slug: &str) -> Result<TenantRecord, TenantError> {
    tx.tenant_by_slug(slug)
        .await?
        .ok_or_else(|| TenantError::UnknownTenant(slug.to_string()))
}

pub async fn find_tenant(store: &Store, slug: &str) -> Result<TenantRecord, TenantError> {
    store
        .tenant_by_slug(slug)
        .await?
        .ok_or_else(|| TenantError::UnknownTenant(slug.to_string()))
}
