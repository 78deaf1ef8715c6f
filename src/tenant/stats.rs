//! A tenant's stat cards: users in all and per status, and seats used of the limit. Read from
//! counters kept with every change, so the cost is one row whatever the tenant's size.

use super::TenantError;
use super::operators::{AdminActor, AdminPermission, tenant_for};
use crate::store::{Store, UserCounts};

/// The stat cards of the tenant. Needs `users:view`.
pub async fn user_stats(
    store: &Store,
    actor: &AdminActor,
    slug: &str,
) -> Result<UserCounts, TenantError> {
    let tenant = tenant_for(store, actor, slug, AdminPermission::UsersView).await?;
    Ok(store.user_counts(&tenant.id).await?)
}
