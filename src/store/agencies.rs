//! Agencies: a tenant's parent, the chain of tenants above one, and the roles an agency user
//! holds in an environment under their tenant (one statement up the chain), with the overrides
//! an environment sets for one agency user.

use super::row::AnyRow;
use super::users::{user_columns, user_from_row};
use super::{
    Micros, RoleId, SqlFragment, SqlParam, Store, StoreError, TenantId, Tx, UserId, UserRecord,
    params,
};

/// The most levels a chain of tenants is walked, whatever the data: a guard against a cycle that
/// the rules (`tenant::agencies`) never let in.
const CHAIN_GUARD: i64 = 32;

/// Where a role an agency user holds in an environment comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InheritedFrom {
    /// The user's roles at their own tenant (the agency), rippled down.
    Agency,
    /// An override for the user in the environment or in one between it and the agency.
    Override,
}

/// What an agency user holds in an environment below their tenant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inherited {
    /// A role held for several reasons comes once per reason.
    pub roles: Vec<InheritedRole>,
    /// Whether an override decides them (an override may name no role: no access there).
    pub overridden: bool,
}

/// A role an agency user holds in an environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InheritedRole {
    pub name: String,
    /// `category:action`.
    pub permissions: Vec<String>,
    pub from: InheritedFrom,
    /// The tenant whose catalog the role is of.
    pub tenant_id: TenantId,
}

/// The statement of `Store::inherited_roles`: the chain above the environment `$1`, the user `$2`
/// when their tenant is in it, the override nearest the environment below that tenant, and then
/// either that override's roles or the user's effective roles at their tenant (the union the
/// rules compute: role values, groups, user type, template, assignments), and a row telling
/// whether an override decides, and one whether the user is reached at all.
const INHERITED_ROLES: &str = "\
WITH RECURSIVE chain (id, depth) AS ( \
    SELECT id, 0 FROM tenants WHERE id = $1 \
    UNION ALL \
    SELECT t.parent_id, c.depth + 1 FROM chain c JOIN tenants t ON t.id = c.id \
    WHERE t.parent_id IS NOT NULL AND c.depth < $3 \
), home AS ( \
    SELECT c.depth, u.id AS user_id, u.tenant_id, u.user_type_key, u.role_template_key \
    FROM users u JOIN chain c ON c.id = u.tenant_id \
    WHERE u.id = $2 AND u.deleted_at IS NULL AND c.depth > 0 \
), nearest AS ( \
    SELECT o.tenant_id FROM inherited_role_overrides o JOIN chain c ON c.id = o.tenant_id \
    WHERE o.user_id = $2 AND c.depth < (SELECT depth FROM home) ORDER BY c.depth LIMIT 1 \
) \
SELECT 'override' AS source, r.name, r.permissions, r.tenant_id FROM inherited_role_override_roles o \
JOIN roles r ON r.id = o.role_id WHERE o.user_id = $2 AND o.tenant_id = (SELECT tenant_id FROM nearest) \
UNION ALL \
SELECT 'agency', r.name, r.permissions, r.tenant_id FROM home h \
JOIN user_role_values v ON v.user_id = h.user_id \
JOIN roles r ON r.tenant_id = h.tenant_id AND r.name_key = v.value_key AND r.assignable \
WHERE NOT EXISTS (SELECT 1 FROM nearest) \
UNION ALL \
SELECT 'agency', r.name, r.permissions, r.tenant_id FROM group_members m \
JOIN groups g ON g.id = m.group_id \
JOIN group_role_mappings gm ON gm.tenant_id = g.tenant_id AND gm.group_name_key = g.display_name_key \
JOIN roles r ON r.id = gm.role_id \
WHERE m.member_id = (SELECT user_id FROM home) AND NOT EXISTS (SELECT 1 FROM nearest) \
UNION ALL \
SELECT 'agency', r.name, r.permissions, r.tenant_id FROM home h \
JOIN user_type_role_mappings tm ON tm.tenant_id = h.tenant_id AND tm.user_type_key = h.user_type_key \
JOIN roles r ON r.id = tm.role_id WHERE NOT EXISTS (SELECT 1 FROM nearest) \
UNION ALL \
SELECT 'agency', r.name, r.permissions, r.tenant_id FROM home h \
JOIN roles r ON r.tenant_id = h.tenant_id AND r.name_key = h.role_template_key AND r.is_template \
WHERE NOT EXISTS (SELECT 1 FROM nearest) \
UNION ALL \
SELECT 'agency', r.name, r.permissions, r.tenant_id FROM home h \
JOIN user_role_assignments a ON a.user_id = h.user_id JOIN roles r ON r.id = a.role_id AND r.assignable \
WHERE NOT EXISTS (SELECT 1 FROM nearest) \
UNION ALL \
SELECT 'overridden', NULL, NULL, NULL FROM nearest \
UNION ALL \
SELECT 'reached', NULL, NULL, NULL FROM home";

fn inherited_role_from_row(row: &AnyRow<'_>) -> Result<Option<InheritedRole>, StoreError> {
    let from = match row.column::<String>("source")?.as_str() {
        "override" => InheritedFrom::Override,
        "agency" => InheritedFrom::Agency,
        _ => return Ok(None),
    };
    let permissions: String = row.column("permissions")?;
    Ok(Some(InheritedRole {
        name: row.column("name")?,
        permissions: serde_json::from_str(&permissions)
            .map_err(|e| StoreError::Corrupt(format!("roles.permissions: {e}")))?,
        from,
        tenant_id: row.column("tenant_id")?,
    }))
}

impl Store {
    /// The tenants above `tenant_id`, nearest first.
    pub async fn tenant_ancestors(
        &self,
        tenant_id: &TenantId,
    ) -> Result<Vec<TenantId>, StoreError> {
        self.fetch_all(ancestors_query(tenant_id), |row| row.column("id"))
            .await
    }

    /// The tenants below `tenant_id` (its environments, theirs, and on), by slug, with their
    /// level below it (1: its own environments).
    pub async fn tenant_descendants(
        &self,
        tenant_id: &TenantId,
    ) -> Result<Vec<(TenantId, String, i64)>, StoreError> {
        self.fetch_all(descendants_query(tenant_id), descendant_from_row)
            .await
    }

    /// Up to `limit` live users of tenant `tenant_id` after the one `after` (by id), in id
    /// order: a page of one tenant's users, through its `(tenant_id, id)` index.
    pub async fn live_users_after(
        &self,
        tenant_id: &TenantId,
        after: Option<&UserId>,
        limit: i64,
    ) -> Result<Vec<UserRecord>, StoreError> {
        // Two statements rather than `($2 IS NULL OR u.id > $2)`: a cached generic plan of that
        // one would walk the tenant from its first user.
        let query = match after {
            Some(after) => SqlFragment::statement(
                format!(
                    "SELECT {} FROM users u WHERE u.tenant_id = $1 AND u.deleted_at IS NULL \
                     AND u.id > $2 ORDER BY u.id LIMIT $3",
                    user_columns!()
                ),
                params![tenant_id, after, limit],
            ),
            None => SqlFragment::statement(
                format!(
                    "SELECT {} FROM users u WHERE u.tenant_id = $1 AND u.deleted_at IS NULL \
                     ORDER BY u.id LIMIT $2",
                    user_columns!()
                ),
                params![tenant_id, limit],
            ),
        };
        self.fetch_all(query, user_from_row).await
    }

    /// The roles user `user_id` of a tenant above environment `tenant_id` holds there, in one
    /// statement whatever the length of the chain: `None` when the user's tenant is not above
    /// it (or the user is deleted).
    pub async fn inherited_roles(
        &self,
        tenant_id: &TenantId,
        user_id: &UserId,
    ) -> Result<Option<Inherited>, StoreError> {
        let rows = self
            .fetch_all(inherited_query(tenant_id, user_id), inherited_row)
            .await?;
        Ok(inherited_of(rows))
    }
}

fn inherited_query(tenant_id: &TenantId, user_id: &UserId) -> SqlFragment {
    SqlFragment::statement(INHERITED_ROLES, params![tenant_id, user_id, CHAIN_GUARD])
}

/// A row of `INHERITED_ROLES`: its source, and the role it names (none for the marker rows).
type InheritedRow = (String, Option<InheritedRole>);

fn inherited_row(row: &AnyRow<'_>) -> Result<InheritedRow, StoreError> {
    Ok((row.column("source")?, inherited_role_from_row(row)?))
}

/// The rows of `INHERITED_ROLES` as what the user holds, or `None` when they are not reached.
fn inherited_of(rows: Vec<InheritedRow>) -> Option<Inherited> {
    if !rows.iter().any(|(source, _)| source == "reached") {
        return None;
    }
    let overridden = rows.iter().any(|(source, _)| source == "overridden");
    Some(Inherited {
        roles: rows.into_iter().filter_map(|(_, role)| role).collect(),
        overridden,
    })
}

fn descendants_query(tenant_id: &TenantId) -> SqlFragment {
    SqlFragment::statement(
        format!(
            "{BELOW} SELECT t.id, t.slug, CAST(b.depth AS BIGINT) AS depth FROM below b \
             JOIN tenants t ON t.id = b.id ORDER BY b.depth, t.slug"
        ),
        params![tenant_id, CHAIN_GUARD],
    )
}

fn descendant_from_row(row: &AnyRow<'_>) -> Result<(TenantId, String, i64), StoreError> {
    Ok((row.column("id")?, row.column("slug")?, row.column("depth")?))
}

/// The tenants below `$1` with their level below it (`below (id, depth)`), walked at most `$2`
/// levels down.
const BELOW: &str = "WITH RECURSIVE below (id, depth) AS ( \
    SELECT id, 1 FROM tenants WHERE parent_id = $1 \
    UNION ALL \
    SELECT t.id, b.depth + 1 FROM below b JOIN tenants t ON t.parent_id = b.id WHERE b.depth < $2 \
)";

/// The tenants above `tenant_id`, nearest first: its parent, the parent's parent, and on.
fn ancestors_query(tenant_id: &TenantId) -> SqlFragment {
    SqlFragment::statement(
        "WITH RECURSIVE chain (id, depth) AS ( \
             SELECT parent_id, 1 FROM tenants WHERE id = $1 AND parent_id IS NOT NULL \
             UNION ALL \
             SELECT t.parent_id, c.depth + 1 FROM chain c JOIN tenants t ON t.id = c.id \
             WHERE t.parent_id IS NOT NULL AND c.depth < $2 \
         ) SELECT id FROM chain ORDER BY depth",
        params![tenant_id, CHAIN_GUARD],
    )
}

impl Tx {
    /// `Store::inherited_roles` as this transaction sees it.
    pub async fn inherited_roles(
        &mut self,
        tenant_id: &TenantId,
        user_id: &UserId,
    ) -> Result<Option<Inherited>, StoreError> {
        let rows = self
            .fetch_all(inherited_query(tenant_id, user_id), inherited_row)
            .await?;
        Ok(inherited_of(rows))
    }

    /// `Store::tenant_descendants` as this transaction sees it.
    pub async fn tenant_descendants(
        &mut self,
        tenant_id: &TenantId,
    ) -> Result<Vec<(TenantId, String, i64)>, StoreError> {
        self.fetch_all(descendants_query(tenant_id), descendant_from_row)
            .await
    }

    /// The tenants above `tenant_id`, nearest first: its parent, the parent's parent, and on.
    pub async fn tenant_ancestors(
        &mut self,
        tenant_id: &TenantId,
    ) -> Result<Vec<TenantId>, StoreError> {
        self.fetch_all(ancestors_query(tenant_id), |row| row.column("id"))
            .await
    }

    /// How many levels of tenants hang below `tenant_id` (0: none).
    pub async fn tenant_levels_below(&mut self, tenant_id: &TenantId) -> Result<i64, StoreError> {
        let query = SqlFragment::statement(
            format!("{BELOW} SELECT CAST(COALESCE(MAX(depth), 0) AS BIGINT) AS levels FROM below"),
            params![tenant_id, CHAIN_GUARD],
        );
        Ok(self
            .fetch_all(query, |row| row.column::<i64>("levels"))
            .await?
            .pop()
            .unwrap_or(0))
    }

    pub async fn set_tenant_parent(
        &mut self,
        tenant_id: &TenantId,
        parent_id: Option<&TenantId>,
        now: Micros,
    ) -> Result<(), StoreError> {
        let parent = parent_id.map_or(SqlParam::Null, SqlParam::from);
        self.execute(
            "UPDATE tenants SET parent_id = $1, updated_at = $2 WHERE id = $3",
            vec![parent, SqlParam::Int(now), SqlParam::from(tenant_id)],
        )
        .await?;
        Ok(())
    }

    /// Sets what agency user `user_id` holds in environment `tenant_id` to `role_ids` (none:
    /// no access there), replacing what they would inherit.
    pub async fn set_inherited_override(
        &mut self,
        tenant_id: &TenantId,
        user_id: &UserId,
        role_ids: &[RoleId],
        now: Micros,
    ) -> Result<(), StoreError> {
        self.clear_inherited_override(tenant_id, user_id).await?;
        self.execute(
            "INSERT INTO inherited_role_overrides (tenant_id, user_id, created_at) VALUES ($1, $2, $3)",
            params![tenant_id, user_id, now],
        )
        .await?;
        for role_id in role_ids {
            self.execute(
                "INSERT INTO inherited_role_override_roles (tenant_id, user_id, role_id) VALUES ($1, $2, $3) \
                 ON CONFLICT (tenant_id, user_id, role_id) DO NOTHING",
                params![tenant_id, user_id, role_id],
            )
            .await?;
        }
        Ok(())
    }

    /// Lets agency user `user_id` inherit again in environment `tenant_id`; whether there was an
    /// override.
    pub async fn clear_inherited_override(
        &mut self,
        tenant_id: &TenantId,
        user_id: &UserId,
    ) -> Result<bool, StoreError> {
        self.execute(
            "DELETE FROM inherited_role_override_roles WHERE tenant_id = $1 AND user_id = $2",
            params![tenant_id, user_id],
        )
        .await?;
        Ok(self
            .execute(
                "DELETE FROM inherited_role_overrides WHERE tenant_id = $1 AND user_id = $2",
                params![tenant_id, user_id],
            )
            .await?
            > 0)
    }

    /// The tenant of a live user, whatever the tenant.
    pub async fn tenant_of_user(
        &mut self,
        user_id: &UserId,
    ) -> Result<Option<TenantId>, StoreError> {
        let query = SqlFragment::statement(
            "SELECT tenant_id FROM users WHERE id = $1 AND deleted_at IS NULL",
            params![user_id],
        );
        Ok(self
            .fetch_all(query, |row| row.column("tenant_id"))
            .await?
            .pop())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::store::temp_database::TempDatabase;

    /// SQLite plans with the fixed statistics of migration 0024 whatever the data, so its plan of
    /// the inherited roles is the one every database gets: each table is searched by an index,
    /// never scanned (only the chain and the user, one row each, are).
    #[tokio::test]
    async fn the_inherited_roles_search_an_index_at_every_table() {
        let file = TempDatabase::new("inherited-plan");
        let store = Store::connect(&format!("sqlite://{}", file.path().display()))
            .await
            .unwrap();
        store.migrate().await.unwrap();
        let (tenant, user) = (TenantId::new("env"), UserId::new("u1"));
        let statement =
            SqlFragment::statement(INHERITED_ROLES, params![&tenant, &user, CHAIN_GUARD]);
        let plan = store
            .explain_statements(&[("inherited", statement)])
            .await
            .unwrap();
        let own_ctes = ["SCAN c", "SCAN h", "SCAN home", "SCAN nearest"];
        let scans: Vec<&String> = plan
            .iter()
            .filter(|line| line.contains("SCAN ") && !own_ctes.iter().any(|cte| line.contains(cte)))
            .collect();
        assert!(scans.is_empty(), "{scans:#?}\n{plan:#?}");
        store.close().await;
    }
}
