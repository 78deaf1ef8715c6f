//! Tenants and their policies: seat limit and locked attributes.

use super::{DEFAULT_IMMUTABLE_ATTRIBUTES, TenantError, TenantSlug};
use crate::scim::schema::ResourceSchemas;
use crate::store::{Constraint, Micros, Store, StoreError, TenantId, TenantRecord, Tx};

pub async fn create_tenant(
    store: &Store,
    slug: &TenantSlug,
    display_name: Option<&str>,
    seat_limit: Option<i64>,
    now: Micros,
) -> Result<TenantRecord, TenantError> {
    if seat_limit.is_some_and(|n| n < 0) {
        return Err(TenantError::InvalidArgument(
            "the seat limit cannot be negative".into(),
        ));
    }
    let tenant = TenantRecord {
        id: TenantId::generate(),
        slug: slug.as_str().to_string(),
        display_name: display_name.unwrap_or(slug.as_str()).to_string(),
        seat_limit,
        seats_used: 0,
        immutable_attributes: DEFAULT_IMMUTABLE_ATTRIBUTES
            .iter()
            .map(|s| s.to_string())
            .collect(),
        created_at: now,
        updated_at: now,
    };
    let mut tx = store.begin().await?;
    tx.insert_tenant(&tenant).await.map_err(|e| match e {
        StoreError::Conflict(Constraint::TenantSlug) => {
            TenantError::TenantExists(tenant.slug.clone())
        }
        other => TenantError::Store(other),
    })?;
    tx.commit().await?;
    Ok(tenant)
}

/// How `tenant update` changes the seat limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeatChange {
    Keep,
    Limit(i64),
    Unlimited,
}

/// Changes a tenant's policies. Lowering the seat limit below the seats in use removes nobody; it
/// only blocks new seats.
pub async fn update_tenant(
    store: &Store,
    schemas: ResourceSchemas<'_>,
    slug: &TenantSlug,
    seats: SeatChange,
    immutable_attributes: Option<Vec<String>>,
    now: Micros,
) -> Result<TenantRecord, TenantError> {
    let mut tx = store.begin().await?;
    let mut tenant = tenant_in(&mut tx, slug.as_str()).await?;
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
    tenant.updated_at = now;
    tx.update_tenant_settings(&tenant).await?;
    tx.commit().await?;
    Ok(tenant)
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
