//! The role catalog, group-to-role and user-type-to-role mappings, and admin role assignments.

use super::row::AnyRow;
use super::users::fold;
use super::{GroupId, RoleId, TenantId, UserId};
use super::{
    GroupRoleMapping, Micros, RoleRecord, SqlFragment, SqlParam, Store, StoreError, Tx,
    UserTypeRoleMapping, params,
};

fn role_from_row(row: &AnyRow<'_>) -> Result<RoleRecord, StoreError> {
    let permissions: String = row.column("permissions")?;
    Ok(RoleRecord {
        id: row.column("id")?,
        tenant_id: row.column("tenant_id")?,
        name: row.column("name")?,
        description: row.column("description")?,
        permissions: serde_json::from_str(&permissions)
            .map_err(|e| StoreError::Corrupt(format!("roles.permissions: {e}")))?,
        is_template: row.column("is_template")?,
        assignable: row.column("assignable")?,
        created_at: row.column("created_at")?,
        updated_at: row.column("updated_at")?,
    })
}

fn mapping_from_row(row: &AnyRow<'_>) -> Result<GroupRoleMapping, StoreError> {
    Ok(GroupRoleMapping {
        group_name: row.column("group_name")?,
        role_id: row.column("role_id")?,
    })
}

fn user_type_mapping_from_row(row: &AnyRow<'_>) -> Result<UserTypeRoleMapping, StoreError> {
    Ok(UserTypeRoleMapping {
        user_type: row.column("user_type")?,
        role_id: row.column("role_id")?,
    })
}

fn user_type_mappings_query(tenant_id: &TenantId) -> SqlFragment {
    SqlFragment::statement(
        "SELECT user_type, role_id FROM user_type_role_mappings WHERE tenant_id = $1 ORDER BY user_type_key",
        vec![SqlParam::from(tenant_id)],
    )
}

fn roles_query(tenant_id: &TenantId) -> SqlFragment {
    SqlFragment::statement(
        "SELECT id, tenant_id, name, description, permissions, is_template, assignable, created_at, updated_at \
         FROM roles WHERE tenant_id = $1 ORDER BY name_key",
        vec![SqlParam::from(tenant_id)],
    )
}

fn mappings_query(tenant_id: &TenantId) -> SqlFragment {
    SqlFragment::statement(
        "SELECT group_name, role_id FROM group_role_mappings WHERE tenant_id = $1 ORDER BY group_name_key",
        vec![SqlParam::from(tenant_id)],
    )
}

impl Store {
    /// The tenant's whole catalog (a handful of rows, read once per request that needs it).
    pub async fn roles(&self, tenant_id: &TenantId) -> Result<Vec<RoleRecord>, StoreError> {
        self.fetch_all(roles_query(tenant_id), role_from_row).await
    }

    pub async fn group_role_mappings(
        &self,
        tenant_id: &TenantId,
    ) -> Result<Vec<GroupRoleMapping>, StoreError> {
        self.fetch_all(mappings_query(tenant_id), mapping_from_row)
            .await
    }

    pub async fn user_type_role_mappings(
        &self,
        tenant_id: &TenantId,
    ) -> Result<Vec<UserTypeRoleMapping>, StoreError> {
        self.fetch_all(
            user_type_mappings_query(tenant_id),
            user_type_mapping_from_row,
        )
        .await
    }

    /// (user id, role id) pairs an admin assigned, for these users.
    pub async fn role_assignments(
        &self,
        user_ids: &[UserId],
    ) -> Result<Vec<(UserId, RoleId)>, StoreError> {
        self.fetch_all_for_ids(
            user_ids,
            |list| {
                format!(
                    "SELECT user_id, role_id FROM user_role_assignments WHERE user_id IN ({list})"
                )
            },
            |row| Ok((row.column("user_id")?, row.column("role_id")?)),
        )
        .await
    }
}

impl Tx {
    /// The catalog as this transaction sees it.
    pub async fn roles(&mut self, tenant_id: &TenantId) -> Result<Vec<RoleRecord>, StoreError> {
        self.fetch_all(roles_query(tenant_id), role_from_row).await
    }

    pub async fn group_role_mappings(
        &mut self,
        tenant_id: &TenantId,
    ) -> Result<Vec<GroupRoleMapping>, StoreError> {
        self.fetch_all(mappings_query(tenant_id), mapping_from_row)
            .await
    }

    pub async fn user_type_role_mappings(
        &mut self,
        tenant_id: &TenantId,
    ) -> Result<Vec<UserTypeRoleMapping>, StoreError> {
        self.fetch_all(
            user_type_mappings_query(tenant_id),
            user_type_mapping_from_row,
        )
        .await
    }

    pub async fn insert_role(&mut self, role: &RoleRecord) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO roles (id, tenant_id, name, name_key, description, permissions, is_template, assignable, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            params![
                &role.id,
                &role.tenant_id,
                &role.name,
                fold(&role.name),
                &role.description,
                serde_json::Value::from(role.permissions.clone()).to_string(),
                role.is_template,
                role.assignable,
                role.created_at,
                role.updated_at,
            ],
        )
        .await?;
        Ok(())
    }

    pub async fn update_role(&mut self, role: &RoleRecord) -> Result<(), StoreError> {
        self.execute(
            "UPDATE roles SET description = $1, permissions = $2, is_template = $3, assignable = $4, \
             updated_at = $5 WHERE id = $6",
            params![
                &role.description,
                serde_json::Value::from(role.permissions.clone()).to_string(),
                role.is_template,
                role.assignable,
                role.updated_at,
                &role.id,
            ],
        )
        .await?;
        Ok(())
    }

    pub async fn role_by_name(
        &mut self,
        tenant_id: &TenantId,
        name: &str,
    ) -> Result<Option<RoleRecord>, StoreError> {
        let query = SqlFragment::statement(
            "SELECT id, tenant_id, name, description, permissions, is_template, assignable, created_at, updated_at \
             FROM roles WHERE tenant_id = $1 AND name_key = $2",
            params![tenant_id, fold(name)],
        );
        self.fetch_optional(query, role_from_row).await
    }

    /// Maps a group (by displayName) to a role; mapping twice is a no-op.
    pub async fn map_group_to_role(
        &mut self,
        tenant_id: &TenantId,
        group_name: &str,
        role_id: &RoleId,
        now: Micros,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO group_role_mappings (tenant_id, group_name_key, group_name, role_id, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, group_name_key, role_id) DO NOTHING",
            params![tenant_id, fold(group_name), group_name, role_id, now],
        )
        .await?;
        Ok(())
    }

    pub async fn unmap_group_from_role(
        &mut self,
        tenant_id: &TenantId,
        group_name: &str,
        role_id: &RoleId,
    ) -> Result<u64, StoreError> {
        self.execute(
            "DELETE FROM group_role_mappings WHERE tenant_id = $1 AND group_name_key = $2 AND role_id = $3",
            params![tenant_id, fold(group_name), role_id],
        )
        .await
    }

    pub async fn map_user_type_to_role(
        &mut self,
        tenant_id: &TenantId,
        user_type: &str,
        role_id: &RoleId,
        now: Micros,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO user_type_role_mappings (tenant_id, user_type_key, user_type, role_id, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, user_type_key, role_id) DO NOTHING",
            params![tenant_id, fold(user_type), user_type, role_id, now],
        )
        .await?;
        Ok(())
    }

    pub async fn unmap_user_type_from_role(
        &mut self,
        tenant_id: &TenantId,
        user_type: &str,
        role_id: &RoleId,
    ) -> Result<u64, StoreError> {
        self.execute(
            "DELETE FROM user_type_role_mappings WHERE tenant_id = $1 AND user_type_key = $2 AND role_id = $3",
            params![tenant_id, fold(user_type), role_id],
        )
        .await
    }

    /// Whether a user of the tenant (not deleted) has this `userType`, in any case.
    pub async fn has_users_of_type(
        &mut self,
        tenant_id: &TenantId,
        user_type: &str,
    ) -> Result<bool, StoreError> {
        let query = SqlFragment::statement(
            "SELECT id FROM users WHERE tenant_id = $1 AND user_type_key = $2 AND deleted_at IS NULL LIMIT 1",
            params![tenant_id, fold(user_type)],
        );
        Ok(self
            .fetch_optional(query, |row| row.column::<String>("id"))
            .await?
            .is_some())
    }

    /// The roles the tenant maps users of `user_type` to, by name.
    pub async fn roles_mapped_to_user_type(
        &mut self,
        tenant_id: &TenantId,
        user_type: &str,
    ) -> Result<Vec<String>, StoreError> {
        let query = SqlFragment::statement(
            "SELECT r.name FROM user_type_role_mappings tm JOIN roles r ON r.id = tm.role_id \
             WHERE tm.tenant_id = $1 AND tm.user_type_key = $2 ORDER BY r.name_key",
            vec![SqlParam::from(tenant_id), SqlParam::Text(fold(user_type))],
        );
        self.fetch_all(query, |row| row.column("name")).await
    }

    pub async fn assign_role(
        &mut self,
        tenant_id: &TenantId,
        user_id: &UserId,
        role_id: &RoleId,
        now: Micros,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO user_role_assignments (tenant_id, user_id, role_id, assigned_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_id, role_id) DO NOTHING",
            params![tenant_id, user_id, role_id, now],
        )
        .await?;
        Ok(())
    }

    pub async fn unassign_role(
        &mut self,
        user_id: &UserId,
        role_id: &RoleId,
    ) -> Result<u64, StoreError> {
        self.execute(
            "DELETE FROM user_role_assignments WHERE user_id = $1 AND role_id = $2",
            params![user_id, role_id],
        )
        .await
    }

    /// The names of the catalog roles mapped to the group named `group_name`.
    pub async fn roles_mapped_to_group(
        &mut self,
        tenant_id: &TenantId,
        group_name: &str,
    ) -> Result<Vec<String>, StoreError> {
        let query = SqlFragment::statement(
            "SELECT r.name FROM group_role_mappings gm JOIN roles r ON r.id = gm.role_id \
             WHERE gm.tenant_id = $1 AND gm.group_name_key = $2 ORDER BY r.name_key",
            vec![SqlParam::from(tenant_id), SqlParam::Text(fold(group_name))],
        );
        self.fetch_all(query, |row| row.column("name")).await
    }

    /// The id of the tenant's group with this displayName (compared without regard to case).
    pub async fn group_id_by_name(
        &mut self,
        tenant_id: &TenantId,
        display_name: &str,
    ) -> Result<Option<GroupId>, StoreError> {
        let query = SqlFragment::statement(
            "SELECT id FROM groups WHERE tenant_id = $1 AND display_name_key = $2",
            vec![
                SqlParam::from(tenant_id),
                SqlParam::Text(fold(display_name)),
            ],
        );
        Ok(self.fetch_all(query, |row| row.column("id")).await?.pop())
    }

    /// (user id, role name) for each effective role of these users as this transaction sees
    /// them: a SCIM `roles` value naming a catalog role, a group mapped to a role, their user
    /// type mapped to a role, the template their `roleTemplate` names, an admin's assignment;
    /// what `except_group` gives left out. A pair may come more than once.
    pub async fn effective_role_names(
        &mut self,
        tenant_id: &TenantId,
        user_ids: &[UserId],
        except_group: Option<&GroupId>,
    ) -> Result<Vec<(UserId, String)>, StoreError> {
        let tenant = SqlParam::from(tenant_id);
        let except = except_group.map_or(SqlParam::Null, SqlParam::from);
        self.fetch_all_for_ids(
            user_ids,
            |list, first| {
                // The tenant and the group left out follow the ids.
                let (tenant, except) = (first, first + 1);
                format!(
                    "SELECT v.user_id, r.name FROM user_role_values v \
                     JOIN roles r ON r.tenant_id = v.tenant_id AND r.name_key = v.value_key \
                     WHERE v.user_id IN ({list}) AND r.assignable \
                     UNION ALL SELECT m.member_id, r.name FROM group_members m \
                     JOIN groups g ON g.id = m.group_id \
                     JOIN group_role_mappings gm ON gm.tenant_id = g.tenant_id AND gm.group_name_key = g.display_name_key \
                     JOIN roles r ON r.id = gm.role_id \
                     WHERE m.member_id IN ({list}) AND g.tenant_id = ${tenant} \
                     AND (${except} IS NULL OR g.id <> ${except}) \
                     UNION ALL SELECT u.id, r.name FROM users u \
                     JOIN user_type_role_mappings tm ON tm.tenant_id = u.tenant_id AND tm.user_type_key = u.user_type_key \
                     JOIN roles r ON r.id = tm.role_id WHERE u.id IN ({list}) \
                     UNION ALL SELECT u.id, r.name FROM users u \
                     JOIN roles r ON r.tenant_id = u.tenant_id AND r.name_key = u.role_template_key \
                     WHERE u.id IN ({list}) AND r.is_template \
                     UNION ALL SELECT a.user_id, r.name FROM user_role_assignments a \
                     JOIN roles r ON r.id = a.role_id WHERE a.user_id IN ({list}) AND r.assignable"
                )
            },
            |row| Ok((row.column("user_id")?, row.column("name")?)),
            &[tenant, except],
        )
        .await
    }

    /// The users whose `roleTemplate` names `role` (whether or not it is a template).
    pub async fn role_template_holders(
        &mut self,
        tenant_id: &TenantId,
        role: &RoleRecord,
    ) -> Result<Vec<UserId>, StoreError> {
        let query = SqlFragment::statement(
            "SELECT id FROM users WHERE tenant_id = $1 AND role_template_key = $2 AND deleted_at IS NULL",
            params![tenant_id, fold(&role.name)],
        );
        self.fetch_all(query, |row| Ok(UserId::new(row.column::<String>("id")?)))
            .await
    }

    /// The users holding `role` by hand: a SCIM `roles` value naming it, or an admin's assignment.
    pub async fn role_holders_by_hand(
        &mut self,
        tenant_id: &TenantId,
        role: &RoleRecord,
    ) -> Result<Vec<UserId>, StoreError> {
        let query = SqlFragment::statement(
            "SELECT user_id FROM user_role_values WHERE tenant_id = $1 AND value_key = $2 \
             UNION SELECT user_id FROM user_role_assignments WHERE role_id = $3",
            params![tenant_id, fold(&role.name), &role.id],
        );
        self.fetch_all(query, |row| {
            Ok(UserId::new(row.column::<String>("user_id")?))
        })
        .await
    }

    /// The id of a user of the tenant (not deleted) by userName, compared without regard to case.
    pub async fn user_id_by_name(
        &mut self,
        tenant_id: &TenantId,
        user_name: &str,
    ) -> Result<Option<UserId>, StoreError> {
        let query = SqlFragment::statement(
            "SELECT id FROM users WHERE tenant_id = $1 AND user_name_key = $2 AND deleted_at IS NULL",
            params![tenant_id, fold(user_name)],
        );
        self.fetch_optional(query, |row| Ok(UserId::new(row.column::<String>("id")?)))
            .await
    }
}
