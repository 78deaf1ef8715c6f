//! Groups and their membership join table. Membership changes are single-row inserts and deletes:
//! adding or removing k members costs k rows, and concurrent changes to one group lose nothing.

use std::borrow::Cow;

use super::read::{IN_LIST_CHUNK, placeholders};
use super::row::AnyRow;
use super::{GroupId, TenantId, UserId};
use super::{
    GroupRecord, ListPlan, ListSource, MemberRow, MembershipRow, Micros, SqlFragment, SqlParam,
    Store, StoreError, Tx, count_statement, json_text, page_statement, params, sort_memberships,
    users::fold,
};

macro_rules! group_columns {
    () => {
        "g.id, g.tenant_id, g.display_name, g.external_id, g.doc, g.version, g.created_at, g.modified_at, \
         g.created_by_connection, g.modified_by_connection"
    };
}

/// A group from a row holding `group_columns!()`.
fn group_from_row(row: &AnyRow<'_>) -> Result<GroupRecord, StoreError> {
    Ok(GroupRecord {
        id: row.column("id")?,
        tenant_id: row.column("tenant_id")?,
        display_name: row.column("display_name")?,
        external_id: row.column("external_id")?,
        doc: row.document("groups")?,
        version: row.column("version")?,
        created_at: row.column("created_at")?,
        modified_at: row.column("modified_at")?,
        created_by_connection: row.column("created_by_connection")?,
        modified_by_connection: row.column("modified_by_connection")?,
    })
}

/// A page of groups and the number of groups matching.
#[derive(Debug, Clone)]
pub struct GroupPage {
    pub total: i64,
    pub groups: Vec<GroupRecord>,
}

/// A member's id from a row holding `member_id`.
fn member_id_from_row(row: &AnyRow<'_>) -> Result<UserId, StoreError> {
    Ok(UserId::new(row.column::<String>("member_id")?))
}

/// What a groups list reads.
fn groups_source() -> ListSource {
    ListSource {
        columns: Cow::Borrowed(group_columns!()),
        from: "groups g",
        scope: Cow::Borrowed("g.tenant_id = $1"),
        id: "g.id",
        repeats: false,
    }
}

impl Store {
    pub async fn group_by_id(
        &self,
        tenant_id: &TenantId,
        id: &GroupId,
    ) -> Result<Option<GroupRecord>, StoreError> {
        let query = SqlFragment::statement(
            concat!(
                "SELECT ",
                group_columns!(),
                " FROM groups g WHERE g.tenant_id = $1 AND g.id = $2"
            ),
            vec![SqlParam::from(tenant_id), SqlParam::Text(id.to_string())],
        );
        self.fetch_optional(query, group_from_row).await
    }

    /// Groups of a tenant as `plan` selects, orders and pages them.
    pub async fn list_groups(
        &self,
        tenant_id: &TenantId,
        plan: &ListPlan,
    ) -> Result<GroupPage, StoreError> {
        let condition = &plan.condition;
        let spec = &plan.page_spec(false);
        let source = groups_source();
        let list_sql = page_statement(&source, tenant_id, condition, spec);
        let groups = if spec.limit > 0 {
            self.fetch_all(list_sql, group_from_row).await?
        } else {
            Vec::new()
        };
        let total = self
            .page_total(
                tenant_id,
                || count_statement(&source, tenant_id, condition),
                spec,
                groups.len(),
            )
            .await?;
        Ok(GroupPage { total, groups })
    }

    /// How the engine runs a groups list (`list_groups`): the plan of its page, then of its count.
    pub async fn explain_list_groups(
        &self,
        tenant_id: &TenantId,
        plan: &ListPlan,
    ) -> Result<Vec<String>, StoreError> {
        let source = groups_source();
        let page = page_statement(&source, tenant_id, &plan.condition, &plan.page_spec(false));
        let count = count_statement(&source, tenant_id, &plan.condition);
        self.explain_statements(&[("page", page), ("count", count)])
            .await
    }

    /// The members of these groups, in the order of their ids, each with its display name (the
    /// user's `displayName`, else `userName`): one primary-key join per member.
    pub async fn group_members(&self, group_ids: &[GroupId]) -> Result<Vec<MemberRow>, StoreError> {
        self.fetch_all_for_ids(
            group_ids,
            |list| {
                format!(
                    "SELECT m.group_id, m.member_id, m.member_type, \
                     COALESCE(u.display_name, u.user_name) AS display FROM group_members m \
                     LEFT JOIN users u ON u.id = m.member_id \
                     WHERE m.group_id IN ({list}) ORDER BY m.group_id, m.member_id"
                )
            },
            |row| {
                Ok(MemberRow {
                    group_id: row.column("group_id")?,
                    member_id: row.column("member_id")?,
                    member_type: row.column("member_type")?,
                    display: row.column("display")?,
                })
            },
        )
        .await
    }

    /// The groups these members belong to.
    pub async fn groups_of_members(
        &self,
        member_ids: &[UserId],
    ) -> Result<Vec<MembershipRow>, StoreError> {
        self.fetch_all_for_ids(member_ids, memberships_of, membership_from_row)
            .await
            .map(|mut memberships| {
                sort_memberships(&mut memberships);
                memberships
            })
    }
}

/// The statement reading the groups of the members whose ids are the placeholders `list`.
fn memberships_of(list: &str) -> String {
    format!(
        "SELECT m.member_id, g.id AS group_id, g.display_name FROM group_members m \
         JOIN groups g ON g.id = m.group_id WHERE m.member_id IN ({list})"
    )
}

fn membership_from_row(row: &AnyRow<'_>) -> Result<MembershipRow, StoreError> {
    Ok(MembershipRow {
        member_id: row.column("member_id")?,
        group_id: row.column("group_id")?,
        group_display_name: row.column("display_name")?,
    })
}

impl Tx {
    /// The groups `member_id` belongs to, as this transaction sees them. An update's answer
    /// reads them here: on SQLite the write connection's cache holds the pages, where a read
    /// connection reads them from the file again after every commit (issue #21).
    pub async fn groups_of_member(
        &mut self,
        member_id: &UserId,
    ) -> Result<Vec<MembershipRow>, StoreError> {
        let query = SqlFragment::statement(memberships_of("$1"), vec![SqlParam::from(member_id)]);
        let mut memberships = self.fetch_all(query, membership_from_row).await?;
        sort_memberships(&mut memberships);
        Ok(memberships)
    }

    /// The group, locked against concurrent document changes until the transaction ends.
    pub async fn group_for_update(
        &mut self,
        tenant_id: &TenantId,
        id: &GroupId,
    ) -> Result<Option<GroupRecord>, StoreError> {
        let sql = format!(
            "SELECT {} FROM groups g WHERE g.tenant_id = $1 AND g.id = $2{}",
            group_columns!(),
            self.dialect().row_lock()
        );
        self.fetch_optional(
            SqlFragment::statement(sql, params![tenant_id, id]),
            group_from_row,
        )
        .await
    }

    pub async fn insert_group(&mut self, group: &GroupRecord) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO groups (id, tenant_id, display_name, display_name_key, external_id, doc, version, \
             created_at, modified_at, created_by_connection, modified_by_connection) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            params![
                &group.id,
                &group.tenant_id,
                &group.display_name,
                fold(&group.display_name),
                &group.external_id,
                json_text(&group.doc),
                group.version,
                group.created_at,
                group.modified_at,
                &group.created_by_connection,
                &group.modified_by_connection,
            ],
        )
        .await?;
        Ok(())
    }

    pub async fn update_group(&mut self, group: &GroupRecord) -> Result<(), StoreError> {
        self.execute(
            "UPDATE groups SET display_name = $1, display_name_key = $2, external_id = $3, doc = $4, version = $5, \
             modified_at = $6, modified_by_connection = $7 WHERE id = $8 AND tenant_id = $9",
            params![
                &group.display_name,
                fold(&group.display_name),
                &group.external_id,
                json_text(&group.doc),
                group.version,
                group.modified_at,
                &group.modified_by_connection,
                &group.id,
                &group.tenant_id,
            ],
        )
        .await?;
        Ok(())
    }

    /// Deletes a group; its memberships go with it (foreign key cascade).
    pub async fn delete_group(
        &mut self,
        tenant_id: &TenantId,
        id: &GroupId,
    ) -> Result<(), StoreError> {
        self.execute("DELETE FROM group_members WHERE group_id = $1", params![id])
            .await?;
        self.execute(
            "DELETE FROM groups WHERE tenant_id = $1 AND id = $2",
            params![tenant_id, id],
        )
        .await?;
        Ok(())
    }

    /// Which of `ids` are users of the tenant that are not deleted.
    pub async fn existing_user_ids(
        &mut self,
        tenant_id: &TenantId,
        ids: &[UserId],
    ) -> Result<Vec<UserId>, StoreError> {
        let mut found = Vec::new();
        for chunk in ids.chunks(IN_LIST_CHUNK) {
            let sql = format!(
                "SELECT id FROM users WHERE tenant_id = $1 AND deleted_at IS NULL AND id IN ({})",
                placeholders(2, chunk.len())
            );
            let mut params = vec![SqlParam::from(tenant_id)];
            params.extend(chunk.iter().map(SqlParam::from));
            let query = SqlFragment::statement(sql, params);
            found.extend(
                self.fetch_all(query, |row| Ok(UserId::new(row.column::<String>("id")?)))
                    .await?,
            );
        }
        Ok(found)
    }

    /// Adds members that are not members yet; returns how many were added.
    /// Adds these users as members; returns those that were not members already.
    pub async fn add_members(
        &mut self,
        tenant_id: &TenantId,
        group_id: &GroupId,
        member_ids: &[UserId],
        now: Micros,
    ) -> Result<Vec<UserId>, StoreError> {
        let mut added = Vec::new();
        for member_id in member_ids {
            let inserted = self
                .execute(
                    "INSERT INTO group_members (group_id, member_id, member_type, tenant_id, added_at) \
                     VALUES ($1, $2, 'User', $3, $4) ON CONFLICT (group_id, member_id) DO NOTHING",
                    params![group_id, member_id, tenant_id, now],
                )
                .await?;
            if inserted > 0 {
                added.push(member_id.clone());
            }
        }
        Ok(added)
    }

    /// Removes these members; returns those that were members.
    pub async fn remove_members(
        &mut self,
        group_id: &GroupId,
        member_ids: &[UserId],
    ) -> Result<Vec<UserId>, StoreError> {
        let mut removed = Vec::new();
        for chunk in member_ids.chunks(IN_LIST_CHUNK) {
            let sql = format!(
                "DELETE FROM group_members WHERE group_id = $1 AND member_id IN ({}) RETURNING member_id",
                placeholders(2, chunk.len())
            );
            let mut params = vec![SqlParam::Text(group_id.to_string())];
            params.extend(chunk.iter().map(SqlParam::from));
            let query = SqlFragment::statement(sql, params);
            removed.extend(self.fetch_all(query, member_id_from_row).await?);
        }
        Ok(removed)
    }

    /// Empties a group; returns who its members were.
    pub async fn remove_all_members(
        &mut self,
        group_id: &GroupId,
    ) -> Result<Vec<UserId>, StoreError> {
        let query = SqlFragment::statement(
            "DELETE FROM group_members WHERE group_id = $1 RETURNING member_id",
            params![group_id],
        );
        self.fetch_all(query, member_id_from_row).await
    }

    /// Takes a member out of every group (a deleted user loses its memberships); the groups it
    /// left get a new version. Returns how many groups it left.
    pub async fn remove_from_all_groups(
        &mut self,
        member_id: &UserId,
        now: Micros,
    ) -> Result<u64, StoreError> {
        self.execute(
            "UPDATE groups SET version = version + 1, modified_at = $1 \
             WHERE id IN (SELECT group_id FROM group_members WHERE member_id = $2)",
            params![now, member_id],
        )
        .await?;
        self.execute(
            "DELETE FROM group_members WHERE member_id = $1",
            params![member_id],
        )
        .await
    }
}

impl Tx {
    /// Every member id of a group (for a PUT or a replace of the whole list, which compare).
    pub async fn member_ids_of(&mut self, group_id: &GroupId) -> Result<Vec<UserId>, StoreError> {
        let query = SqlFragment::statement(
            "SELECT member_id FROM group_members WHERE group_id = $1",
            params![group_id],
        );
        self.fetch_all(query, member_id_from_row).await
    }
}
