//! Users, their email side table and seat accounting.

use std::borrow::Cow;

use super::row::AnyRow;
use super::tenants::seats_used_of;

use super::{ConnectionId, GroupId, TenantId, UserId};
use super::{
    EmailRow, IndexedChanges, ListPlan, ListSource, MembershipRow, Micros, SeatReservation,
    SideTableChanges, SqlFragment, SqlParam, Store, StoreError, Tombstone, Tx, UserIndex,
    UserRecord, UserStatus, count_statement, json_text, page_statement, params, sort_memberships,
};

/// The most seats a PostgreSQL connection's quota is topped up with at a time (see
/// `Tx::take_seat_by_quota`): enough that a connection takes the tenant's turn once in a few
/// dozen creates, few enough that a tenant near its limit does not strand its seats in quotas.
const SEAT_QUOTA_GRANT: i64 = 16;

/// The seat a create gets when `used` of `limit` seats are taken (counted in the tenant's turn).
fn seat_of(limit: i64, used: i64) -> SeatReservation {
    if used >= limit {
        SeatReservation::Refused { limit }
    } else {
        SeatReservation::Taken {
            filled_limit: (used + 1 == limit).then_some(limit),
        }
    }
}

macro_rules! user_columns {
    () => {
        "u.id, u.tenant_id, u.user_name, u.external_id, u.display_name, u.user_type, u.status, u.last_login_at, \
         u.doc, u.version, u.created_at, u.modified_at, u.created_by_connection, u.modified_by_connection, \
         u.admin_suspended_at, u.idp_active"
    };
}

pub(crate) use user_columns;

/// A user from a row holding `user_columns!()`.
pub(super) fn user_from_row(row: &AnyRow<'_>) -> Result<UserRecord, StoreError> {
    let status: String = row.column("status")?;
    Ok(UserRecord {
        id: row.column("id")?,
        tenant_id: row.column("tenant_id")?,
        user_name: row.column("user_name")?,
        external_id: row.column("external_id")?,
        display_name: row.column("display_name")?,
        user_type: row.column("user_type")?,
        status: UserStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("users.status '{status}'")))?,
        last_login_at: row.column("last_login_at")?,
        doc: row.document("users")?,
        version: row.column("version")?,
        created_at: row.column("created_at")?,
        modified_at: row.column("modified_at")?,
        created_by_connection: row.column("created_by_connection")?,
        modified_by_connection: row.column("modified_by_connection")?,
        admin_suspended_at: row.column("admin_suspended_at")?,
        idp_active: row.column("idp_active")?,
    })
}

/// Lower-cased key for comparisons without regard to case, identical on both engines (SQLite's
/// `lower()` folds ASCII only, so keys are folded here).
pub fn fold(text: &str) -> String {
    text.to_lowercase()
}

/// A page of users and the number of users matching, for a ListResponse; with the users' groups
/// when asked for.
#[derive(Debug, Clone)]
pub struct UserPage {
    pub total: i64,
    pub users: Vec<UserRecord>,
    pub groups: Vec<MembershipRow>,
}

/// A user and their groups from a row holding `user_columns!()` and `Dialect::member_of_column`.
fn user_and_groups_from_row(
    row: &AnyRow<'_>,
) -> Result<(UserRecord, Vec<MembershipRow>), StoreError> {
    let user = user_from_row(row)?;
    let groups = memberships_of(&user.id, row.column("member_of")?)?;
    Ok((user, groups))
}

/// The memberships in a row's `member_of` column.
fn memberships_of(
    user_id: &UserId,
    text: Option<String>,
) -> Result<Vec<MembershipRow>, StoreError> {
    let Some(text) = text else {
        return Ok(Vec::new());
    };
    let pairs: Vec<(String, String)> = serde_json::from_str(&text)
        .map_err(|e| StoreError::Corrupt(format!("group memberships of {user_id}: {e}")))?;
    let mut memberships: Vec<MembershipRow> = pairs
        .into_iter()
        .map(|(group_id, group_display_name)| MembershipRow {
            member_id: user_id.clone(),
            group_id: GroupId::new(group_id),
            group_display_name,
        })
        .collect();
    sort_memberships(&mut memberships);
    Ok(memberships)
}

/// Where a page of tombstones starts: after this one (they come newest first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TombstoneCursor {
    pub deleted_at: Micros,
    pub id: UserId,
}

impl Store {
    /// A tenant's deleted users, most recently deleted first, after `after` when given: a keyset
    /// page on their own index, whatever the number of live users.
    pub async fn tombstones(
        &self,
        tenant_id: &TenantId,
        after: Option<&TombstoneCursor>,
        limit: i64,
    ) -> Result<Vec<Tombstone>, StoreError> {
        let mut query = SqlFragment::numbered_after(0);
        let tenant = query.bind(SqlParam::from(tenant_id));
        let mut sql = format!(
            "SELECT id, user_name, display_name, external_id, deleted_at, deleted_by_connection FROM users \
             WHERE tenant_id = {tenant} AND deleted_at IS NOT NULL"
        );
        if let Some(after) = after {
            let at = query.bind(SqlParam::Int(after.deleted_at));
            let id = query.bind(SqlParam::from(&after.id));
            sql.push_str(&format!(
                " AND (deleted_at < {at} OR (deleted_at = {at} AND id < {id}))"
            ));
        }
        let limit = query.bind(SqlParam::Int(limit));
        sql.push_str(&format!(
            " ORDER BY deleted_at DESC, id DESC LIMIT CAST({limit} AS BIGINT)"
        ));
        query.sql = sql;
        self.fetch_all(query, |row| {
            Ok(Tombstone {
                id: row.column("id")?,
                user_name: row.column("user_name")?,
                display_name: row.column("display_name")?,
                external_id: row.column("external_id")?,
                deleted_at: row.column("deleted_at")?,
                deleted_by_connection: row.column("deleted_by_connection")?,
            })
        })
        .await
    }
}

/// A statement whose `{counter} = {counter}` names the `tenants` column counting users of
/// `status`, written out per status as static text: seat statements run with every create and
/// delete, and a formatted text would be built (and looked up in the statement cache) each time.
/// A change of a tenant's user counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct UserCountsDelta {
    seats: i64,
    invited: i64,
    active: i64,
    suspended: i64,
}

impl UserCountsDelta {
    /// `n` users of `status` (each holding a seat) more, or fewer when negative.
    fn users(status: UserStatus, n: i64) -> Self {
        let mut delta = UserCountsDelta {
            seats: n,
            ..Self::default()
        };
        *delta.of_status(status) += n;
        delta
    }

    fn add(&mut self, other: Self) {
        self.seats += other.seats;
        self.invited += other.invited;
        self.active += other.active;
        self.suspended += other.suspended;
    }

    fn of_status(&mut self, status: UserStatus) -> &mut i64 {
        match status {
            UserStatus::Invited => &mut self.invited,
            UserStatus::Active => &mut self.active,
            UserStatus::Suspended => &mut self.suspended,
        }
    }
}

/// New users' rows (each user, its emails, its role values), bound before the write that
/// inserts them begins: rendering a user's documents as JSON inside the write made SQLite's one
/// writer wait for it (issue #21).
#[derive(Debug, Default)]
pub struct NewUserRows {
    /// The users' tenant (one per batch), once a user was added.
    tenant_id: Option<TenantId>,
    users: Vec<SqlParam>,
    emails: Vec<SqlParam>,
    role_values: Vec<SqlParam>,
    /// What the users add to their tenant's counts.
    counts: UserCountsDelta,
}

const INSERT_EMAILS: &str = "INSERT INTO user_emails (user_id, tenant_id, position, type_key, \
     value, value_key, is_primary) VALUES ";
const EMAIL_WIDTH: usize = 7;
const INSERT_ROLE_VALUES: &str =
    "INSERT INTO user_role_values (user_id, tenant_id, value_key) VALUES ";
const ROLE_VALUE_WIDTH: usize = 3;

/// The `user_emails` rows of `user`'s `emails`, bound (`INSERT_EMAILS`), added to `rows`.
fn email_rows(user: &UserRecord, emails: &[EmailRow], rows: &mut Vec<SqlParam>) {
    for (position, email) in emails.iter().enumerate() {
        rows.extend([
            SqlParam::from(&user.id),
            SqlParam::from(&user.tenant_id),
            SqlParam::Int(i64::try_from(position).unwrap_or(i64::MAX)),
            SqlParam::from(&email.type_key),
            SqlParam::Text(email.value.clone()),
            SqlParam::Text(email.value_key.clone()),
            SqlParam::Bool(email.primary),
        ]);
    }
}

/// The `user_role_values` rows of `user`'s role `values`, bound (`INSERT_ROLE_VALUES`), added
/// to `rows`.
fn role_value_rows(user: &UserRecord, values: &[String], rows: &mut Vec<SqlParam>) {
    for value in values {
        rows.extend([
            SqlParam::from(&user.id),
            SqlParam::from(&user.tenant_id),
            SqlParam::Text(value.clone()),
        ]);
    }
}

impl NewUserRows {
    const USER_WIDTH: usize = 21;

    /// The rows of one user.
    pub fn of(user: &UserRecord, index: &UserIndex) -> Self {
        let mut rows = Self::default();
        rows.push(user, index);
        rows
    }

    /// Adds a user of the same tenant.
    pub fn push(&mut self, user: &UserRecord, index: &UserIndex) {
        let connection =
            |v: &Option<ConnectionId>| v.as_ref().map_or(SqlParam::Null, SqlParam::from);
        self.users.extend([
            SqlParam::from(&user.id),
            SqlParam::from(&user.tenant_id),
            SqlParam::Text(user.user_name.clone()),
            SqlParam::Text(fold(&user.user_name)),
            SqlParam::from(&user.external_id),
            SqlParam::from(&user.display_name),
            SqlParam::from(user.display_name.as_deref().map(fold)),
            SqlParam::from(&user.user_type),
            SqlParam::Text(user.status.as_str().to_string()),
            SqlParam::OptInt(user.last_login_at),
            SqlParam::Text(json_text(&user.doc)),
            SqlParam::Int(user.version),
            SqlParam::Int(user.created_at),
            SqlParam::Int(user.modified_at),
            connection(&user.created_by_connection),
            connection(&user.modified_by_connection),
            SqlParam::Text(json_text(&index.folded)),
            SqlParam::OptInt(user.admin_suspended_at),
            SqlParam::Bool(user.idp_active),
            SqlParam::from(&index.user_type_key),
            SqlParam::from(&index.role_template_key),
        ]);
        email_rows(user, &index.emails, &mut self.emails);
        role_value_rows(user, &index.role_values, &mut self.role_values);
        self.tenant_id.get_or_insert_with(|| user.tenant_id.clone());
        self.counts.add(UserCountsDelta::users(user.status, 1));
    }

    /// Adds the users of `other` (of the same tenant) after these.
    pub fn append(&mut self, other: NewUserRows) {
        self.users.extend(other.users);
        self.emails.extend(other.emails);
        self.role_values.extend(other.role_values);
        if self.tenant_id.is_none() {
            self.tenant_id = other.tenant_id;
        }
        self.counts.add(other.counts);
    }
}

impl Store {
    pub async fn user_by_id(
        &self,
        tenant_id: &TenantId,
        id: &UserId,
    ) -> Result<Option<UserRecord>, StoreError> {
        let query = SqlFragment::statement(
            concat!(
                "SELECT ",
                user_columns!(),
                " FROM users u WHERE u.tenant_id = $1 AND u.id = $2 AND u.deleted_at IS NULL"
            ),
            vec![SqlParam::from(tenant_id), SqlParam::Text(id.to_string())],
        );
        self.fetch_optional(query, user_from_row).await
    }

    /// A user with their groups (see `Dialect::member_of_column`).
    pub async fn user_with_groups(
        &self,
        tenant_id: &TenantId,
        id: &UserId,
    ) -> Result<Option<(UserRecord, Vec<MembershipRow>)>, StoreError> {
        let query = self.user_with_groups_statement(tenant_id, id);
        self.fetch_optional(query, user_and_groups_from_row).await
    }

    fn user_with_groups_statement(&self, tenant_id: &TenantId, id: &UserId) -> SqlFragment {
        SqlFragment::statement(
            format!(
                "SELECT {}, {} FROM users u WHERE u.tenant_id = $1 AND u.id = $2 AND u.deleted_at IS NULL",
                user_columns!(),
                self.dialect().member_of_column()
            ),
            vec![SqlParam::from(tenant_id), SqlParam::Text(id.to_string())],
        )
    }

    /// Users of a tenant as `plan` selects, orders and pages them, with their groups when
    /// `with_groups`. `count_is_seats`: every user matches, so the seat counter is the total.
    pub async fn list_users(
        &self,
        tenant_id: &TenantId,
        plan: &ListPlan,
        count_is_seats: bool,
        with_groups: bool,
    ) -> Result<UserPage, StoreError> {
        let condition = &plan.condition;
        let spec = &plan.page_spec(count_is_seats);
        let source = self.users_source(plan, with_groups);
        let list_sql = page_statement(&source, tenant_id, condition, spec);
        let (users, groups) = if spec.limit > 0 {
            let rows = if with_groups {
                self.fetch_all(list_sql, user_and_groups_from_row).await?
            } else {
                self.fetch_all(list_sql, |row| Ok((user_from_row(row)?, Vec::new())))
                    .await?
            };
            let mut users = Vec::with_capacity(rows.len());
            let mut groups = Vec::new();
            for (user, memberships) in rows {
                users.push(user);
                groups.extend(memberships);
            }
            (users, groups)
        } else {
            (Vec::new(), Vec::new())
        };
        let total = self
            .page_total(
                tenant_id,
                || count_statement(&source, tenant_id, condition),
                spec,
                users.len(),
            )
            .await?;
        Ok(UserPage {
            total,
            users,
            groups,
        })
    }

    /// What a users list reads: the users, from the email index when the filter pins an email
    /// (see `ListPlan::email_rows`), with their groups when `with_groups`.
    fn users_source(&self, plan: &ListPlan, with_groups: bool) -> ListSource {
        let columns = if with_groups {
            Cow::Owned(format!(
                "{}, {}",
                user_columns!(),
                self.dialect().member_of_column()
            ))
        } else {
            Cow::Borrowed(user_columns!())
        };
        let visible = "u.tenant_id = $1 AND u.deleted_at IS NULL";
        match plan.email_rows.as_deref() {
            None => ListSource {
                columns,
                from: "users u",
                scope: Cow::Borrowed(visible),
                id: "u.id",
                repeats: false,
            },
            // Start from the email index and join each user: the id order and keyset are read
            // from the index too (`e.user_id`), so SQLite needs neither a temporary table for
            // `u.id IN (…)` nor a sort. A user with two equal emails comes twice: grouped by id.
            Some(rows) => ListSource {
                columns,
                from: "user_emails e CROSS JOIN users u ON u.id = e.user_id",
                scope: Cow::Owned(format!("e.tenant_id = $1 AND {rows} AND {visible}")),
                id: "e.user_id",
                repeats: true,
            },
        }
    }

    /// How the engine runs a users list (`list_users`): the plan of its page, then of its count.
    pub async fn explain_list_users(
        &self,
        tenant_id: &TenantId,
        plan: &ListPlan,
        with_groups: bool,
    ) -> Result<Vec<String>, StoreError> {
        let source = self.users_source(plan, with_groups);
        let page = page_statement(&source, tenant_id, &plan.condition, &plan.page_spec(false));
        let count = count_statement(&source, tenant_id, &plan.condition);
        self.explain_statements(&[("page", page), ("count", count)])
            .await
    }

    /// How the engine runs `GET /Users/{id}` (`user_with_groups`).
    pub async fn explain_user_with_groups(
        &self,
        tenant_id: &TenantId,
        id: &UserId,
    ) -> Result<Vec<String>, StoreError> {
        let read = self.user_with_groups_statement(tenant_id, id);
        self.explain_statements(&[("read", read)]).await
    }
}

impl Store {
    /// Users whose folded document is missing (written before it existed), a batch at a time.
    pub async fn users_without_folded_doc(
        &self,
        limit: i64,
    ) -> Result<Vec<UserRecord>, StoreError> {
        let query = SqlFragment::statement(
            concat!(
                "SELECT ",
                user_columns!(),
                " FROM users u WHERE u.doc_folded IS NULL LIMIT $1"
            ),
            vec![SqlParam::Int(limit)],
        );
        self.fetch_all(query, user_from_row).await
    }
}

impl Tx {
    pub async fn set_folded_doc(
        &mut self,
        user_id: &UserId,
        folded: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<(), StoreError> {
        self.execute(
            "UPDATE users SET doc_folded = $1 WHERE id = $2",
            params![json_text(folded), user_id],
        )
        .await?;
        Ok(())
    }

    /// Takes one of the tenant's seats for a user of `status`, or says it cannot. The tenant's
    /// limit is read with its settings locked (a limit set meanwhile waits for this commit). A
    /// tenant without a limit counts the seat in this connection's shard without waiting for
    /// anyone. With a limit, the limit holds whatever the number of gateway processes: on
    /// PostgreSQL a seat comes from this connection's quota when it has one
    /// (`take_seat_by_quota`); otherwise the tenant's creates take turns until each commits
    /// (`seat_turn`) and count the seats used.
    pub async fn reserve_seat(
        &mut self,
        tenant_id: &TenantId,
        status: UserStatus,
    ) -> Result<SeatReservation, StoreError> {
        let reservation = match self.seat_limit(tenant_id).await? {
            None => SeatReservation::Taken { filled_limit: None },
            Some(limit) if self.dialect().seat_quotas() => {
                self.take_seat_by_quota(tenant_id, limit).await?
            }
            Some(limit) => seat_of(limit, self.seats_used_in_turn(tenant_id).await?),
        };
        self.take_decided_seat(tenant_id, status, reservation).await
    }

    /// Whether a create will get a seat, decided before it writes anything (a write begun with
    /// `Store::begin_refusing_first` refuses before its first write); `take_decided_seat` takes
    /// it later in the same transaction without reading again. On SQLite the one writer takes
    /// the seat in this same turn, so the decision holds until the commit; on PostgreSQL `None`:
    /// `reserve_seat` decides as it writes, and a refusal there undoes only its own transaction.
    pub async fn seat_in_advance(
        &mut self,
        tenant_id: &TenantId,
    ) -> Result<Option<SeatReservation>, StoreError> {
        if !self.dialect().one_writer_at_a_time() {
            return Ok(None);
        }
        Ok(Some(match self.seat_limit(tenant_id).await? {
            None => SeatReservation::Taken { filled_limit: None },
            Some(limit) => seat_of(limit, self.seats_used_now(tenant_id).await?),
        }))
    }

    /// Counts the seat of a user of `status` that `reservation` took (nothing if it was refused).
    pub async fn take_decided_seat(
        &mut self,
        tenant_id: &TenantId,
        status: UserStatus,
        reservation: SeatReservation,
    ) -> Result<SeatReservation, StoreError> {
        if let SeatReservation::Taken { .. } = reservation {
            self.add_user_counts(tenant_id, UserCountsDelta::users(status, 1))
                .await?;
        }
        Ok(reservation)
    }

    /// A seat of a tenant with `limit`, on PostgreSQL. First from this connection's quota: a
    /// row of its own shard, so concurrent creates through other connections do not wait for
    /// each other. When the quota is empty, the tenant's turn is taken and the seats used and
    /// the quotas outstanding are read in one snapshot (a create in flight elsewhere has moved
    /// its seat from a quota to the count, or not yet: the sum is the same). The seat comes from
    /// those neither used nor in a quota, and this connection's quota is topped up with a few
    /// more, always leaving one free seat out of every quota: so the create that takes the last
    /// seat comes this way, with the quotas taken back first, and knows it filled the tenant.
    async fn take_seat_by_quota(
        &mut self,
        tenant_id: &TenantId,
        limit: i64,
    ) -> Result<SeatReservation, StoreError> {
        let shard = self.dialect().counts_shard();
        let from_quota = format!(
            "UPDATE tenant_seat_quotas SET quota = quota - 1 \
             WHERE tenant_id = $1 AND shard = {shard} AND quota > 0 RETURNING quota"
        );
        let taken = self
            .fetch_all(
                SqlFragment::statement(from_quota, params![tenant_id]),
                |row| row.column::<i64>("quota"),
            )
            .await?;
        if !taken.is_empty() {
            return Ok(SeatReservation::Taken { filled_limit: None });
        }
        self.take_seat_turn(tenant_id).await?;
        let (used, granted) = self
            .fetch_all(
                SqlFragment::statement(
                    concat!(
                        "SELECT ",
                        seats_used_of!("$1"),
                        " AS seats_used, CAST(COALESCE((SELECT SUM(q.quota) FROM tenant_seat_quotas q \
                         WHERE q.tenant_id = $1), 0) AS BIGINT) AS granted"
                    ),
                    params![tenant_id],
                ),
                |row| Ok((row.column::<i64>("seats_used")?, row.column::<i64>("granted")?)),
            )
            .await?
            .pop()
            .unwrap_or((0, 0));
        let mut free = limit - used - granted;
        if free <= 1 && granted > 0 {
            free = limit - self.take_back_seat_quotas(tenant_id).await?;
        }
        if free < 1 {
            return Ok(SeatReservation::Refused { limit });
        }
        let grant = (free - 2).clamp(0, SEAT_QUOTA_GRANT);
        if grant > 0 {
            let top_up = format!(
                "INSERT INTO tenant_seat_quotas (tenant_id, shard, quota) VALUES ($1, {shard}, $2) \
                 ON CONFLICT (tenant_id, shard) DO UPDATE SET quota = tenant_seat_quotas.quota + excluded.quota"
            );
            self.execute(top_up, params![tenant_id, grant]).await?;
        }
        Ok(SeatReservation::Taken {
            filled_limit: (free == 1).then_some(limit),
        })
    }

    /// Empties every quota of the tenant (waiting for the creates that are taking seats from
    /// them to commit) and returns the seats used afterwards.
    pub(super) async fn take_back_seat_quotas(
        &mut self,
        tenant_id: &TenantId,
    ) -> Result<i64, StoreError> {
        self.execute(
            "UPDATE tenant_seat_quotas SET quota = 0 WHERE tenant_id = $1 AND quota > 0",
            params![tenant_id],
        )
        .await?;
        self.seats_used_now(tenant_id).await
    }

    /// Gives back the seat of a deleted user of `status`.
    pub async fn release_seat(
        &mut self,
        tenant_id: &TenantId,
        status: UserStatus,
    ) -> Result<(), StoreError> {
        self.add_user_counts(tenant_id, UserCountsDelta::users(status, -1))
            .await
    }

    /// Moves one user of the tenant from one status's count to another's.
    pub async fn move_status(
        &mut self,
        tenant_id: &TenantId,
        from: UserStatus,
        to: UserStatus,
    ) -> Result<(), StoreError> {
        if from == to {
            return Ok(());
        }
        let mut delta = UserCountsDelta::users(to, 1);
        delta.seats = 0;
        *delta.of_status(from) -= 1;
        self.add_user_counts(tenant_id, delta).await
    }

    /// Adds `delta` to the tenant's counts, in this connection's shard.
    async fn add_user_counts(
        &mut self,
        tenant_id: &TenantId,
        delta: UserCountsDelta,
    ) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO tenant_user_counts (tenant_id, shard, seats, invited, active, suspended) \
             VALUES ($1, {}, $2, $3, $4, $5) ON CONFLICT (tenant_id, shard) DO UPDATE SET \
             seats = tenant_user_counts.seats + excluded.seats, \
             invited = tenant_user_counts.invited + excluded.invited, \
             active = tenant_user_counts.active + excluded.active, \
             suspended = tenant_user_counts.suspended + excluded.suspended",
            self.dialect().counts_shard()
        );
        let UserCountsDelta {
            seats,
            invited,
            active,
            suspended,
        } = delta;
        self.execute(sql, params![tenant_id, seats, invited, active, suspended])
            .await?;
        Ok(())
    }

    /// The tenant's seat limit, its settings locked against change until this transaction ends.
    async fn seat_limit(&mut self, tenant_id: &TenantId) -> Result<Option<i64>, StoreError> {
        let sql = format!(
            "SELECT seat_limit FROM tenants WHERE id = $1{}",
            self.dialect().settings_lock()
        );
        self.fetch_all(SqlFragment::statement(sql, params![tenant_id]), |row| {
            row.column::<Option<i64>>("seat_limit")
        })
        .await?
        .pop()
        .ok_or_else(|| StoreError::Corrupt(format!("tenant {tenant_id} is missing")))
    }

    /// Makes this transaction the tenant's only seat taker until it commits (see `reserve_seat`).
    async fn take_seat_turn(&mut self, tenant_id: &TenantId) -> Result<(), StoreError> {
        if let Some(turn) = self.dialect().seat_turn() {
            self.execute(turn, params![tenant_id]).await?;
        }
        Ok(())
    }

    /// The seats the tenant uses, as committed (and written by this transaction) now.
    async fn seats_used_now(&mut self, tenant_id: &TenantId) -> Result<i64, StoreError> {
        let seats = SqlFragment::statement(
            concat!("SELECT ", seats_used_of!("$1"), " AS seats_used"),
            params![tenant_id],
        );
        Ok(self
            .fetch_all(seats, |row| row.column::<i64>("seats_used"))
            .await?
            .pop()
            .unwrap_or(0))
    }

    /// The seats used, counted in the tenant's turn (`take_seat_turn`) so that the count stays
    /// right until this transaction commits.
    async fn seats_used_in_turn(&mut self, tenant_id: &TenantId) -> Result<i64, StoreError> {
        self.take_seat_turn(tenant_id).await?;
        self.seats_used_now(tenant_id).await
    }

    /// The user, locked against concurrent writers until the transaction ends.
    pub async fn user_for_update(
        &mut self,
        tenant_id: &TenantId,
        id: &UserId,
    ) -> Result<Option<UserRecord>, StoreError> {
        let sql = format!(
            "SELECT {} FROM users u WHERE u.tenant_id = $1 AND u.id = $2 AND u.deleted_at IS NULL{}",
            user_columns!(),
            self.dialect().row_lock()
        );
        self.fetch_optional(
            SqlFragment::statement(sql, params![tenant_id, id]),
            user_from_row,
        )
        .await
    }

    /// The live user of the tenant whose userName is `user_name` ignoring case, locked like
    /// `user_for_update`.
    pub async fn user_by_name_for_update(
        &mut self,
        tenant_id: &TenantId,
        user_name: &str,
    ) -> Result<Option<UserRecord>, StoreError> {
        // The unique index on live folded names allows one at most.
        Ok(self
            .users_by_names_for_update(tenant_id, &[user_name])
            .await?
            .pop())
    }

    /// The live users of the tenant with these userNames (ignoring case), locked like
    /// `user_for_update`; a few hundred names a statement.
    pub async fn users_by_names_for_update(
        &mut self,
        tenant_id: &TenantId,
        user_names: &[&str],
    ) -> Result<Vec<UserRecord>, StoreError> {
        let mut found = Vec::new();
        for chunk in user_names.chunks(super::read::IN_LIST_CHUNK) {
            let mut params = Vec::with_capacity(chunk.len() + 1);
            params.push(SqlParam::from(tenant_id));
            params.extend(chunk.iter().map(|name| SqlParam::Text(fold(name))));
            let sql = format!(
                "SELECT {} FROM users u WHERE u.tenant_id = $1 AND u.deleted_at IS NULL \
                 AND u.user_name_key IN ({}){}",
                user_columns!(),
                super::read::placeholders(2, chunk.len()),
                self.dialect().row_lock()
            );
            let query = SqlFragment::statement(sql, params);
            found.extend(self.fetch_all(query, user_from_row).await?);
        }
        Ok(found)
    }

    /// The tenant's seats used and limit, for a batch of creates: taken like `reserve_seat`'s,
    /// so that what the batch counts as free stays free until it commits (the seats used are
    /// not counted for a tenant without a limit).
    pub async fn seats_for_update(
        &mut self,
        tenant_id: &TenantId,
    ) -> Result<(i64, Option<i64>), StoreError> {
        let Some(limit) = self.seat_limit(tenant_id).await? else {
            return Ok((0, None));
        };
        self.take_seat_turn(tenant_id).await?;
        // The batch counts free seats itself: the quotas handed out are taken back first.
        let used = if self.dialect().seat_quotas() {
            self.take_back_seat_quotas(tenant_id).await?
        } else {
            self.seats_used_now(tenant_id).await?
        };
        Ok((used, Some(limit)))
    }

    /// Counts `count` more invited users in the tenant's seats without checking the limit: a dry
    /// run of an import rolls each batch back, and the next batch must still see the seats the
    /// earlier ones would have taken.
    pub async fn hold_invited_seats(
        &mut self,
        tenant_id: &TenantId,
        count: i64,
    ) -> Result<(), StoreError> {
        self.add_user_counts(
            tenant_id,
            UserCountsDelta::users(UserStatus::Invited, count),
        )
        .await
    }

    /// Live users of the tenant a sign-in claim names, locked like `user_for_update`: by userName
    /// ignoring case, by email address ignoring case (`by_email`), or by exact externalId
    /// (`by_external_id`).
    pub async fn sign_in_candidates(
        &mut self,
        tenant_id: &TenantId,
        value: &str,
        by_email: bool,
        by_external_id: bool,
    ) -> Result<Vec<UserRecord>, StoreError> {
        let sql = format!(
            "SELECT {} FROM users u WHERE u.tenant_id = $1 AND u.deleted_at IS NULL AND (u.user_name_key = $2 \
             OR ($4 AND u.external_id = $3) \
             OR ($5 AND u.id IN (SELECT e.user_id FROM user_emails e WHERE e.tenant_id = $1 AND e.value_key = $2))) \
             ORDER BY u.id{}",
            user_columns!(),
            self.dialect().row_lock()
        );
        let query = SqlFragment::statement(
            sql,
            params![tenant_id, fold(value), value, by_external_id, by_email],
        );
        self.fetch_all(query, user_from_row).await
    }

    /// Inserts one user with its side tables (`insert_new_users`).
    pub async fn insert_user(
        &mut self,
        user: &UserRecord,
        index: &UserIndex,
    ) -> Result<(), StoreError> {
        self.insert_new_users(&NewUserRows::of(user, index)).await
    }

    /// Inserts new users bound ahead, with their side tables; counting their seats is the
    /// caller's (`reserve_seat`, `take_decided_seat`).
    pub async fn insert_new_users(&mut self, rows: &NewUserRows) -> Result<(), StoreError> {
        self.insert_rows(
            "INSERT INTO users (id, tenant_id, user_name, user_name_key, external_id, display_name, \
             display_name_key, user_type, status, last_login_at, doc, version, created_at, modified_at, \
             created_by_connection, modified_by_connection, doc_folded, admin_suspended_at, idp_active, \
             user_type_key, role_template_key) VALUES ",
            NewUserRows::USER_WIDTH,
            &rows.users,
        )
        .await?;
        self.insert_rows(INSERT_EMAILS, EMAIL_WIDTH, &rows.emails)
            .await?;
        self.insert_rows(INSERT_ROLE_VALUES, ROLE_VALUE_WIDTH, &rows.role_values)
            .await
    }

    /// Writes a new version of a user read with `user_for_update` in this transaction: the
    /// indexed columns `indexed` names, the others, and the side tables `changes` names.
    pub async fn update_user(
        &mut self,
        user: &UserRecord,
        index: &UserIndex,
        indexed: IndexedChanges,
        changes: SideTableChanges,
    ) -> Result<(), StoreError> {
        let mut params = params![
            &user.user_name,
            &user.display_name,
            &user.user_type,
            user.status.as_str(),
            user.last_login_at,
            json_text(&user.doc),
            user.version,
            user.modified_at,
            &user.modified_by_connection,
            json_text(&index.folded),
            user.admin_suspended_at,
            user.idp_active,
            &user.id,
            &user.tenant_id,
        ];
        let mut sql = String::from(
            "UPDATE users SET user_name = $1, display_name = $2, user_type = $3, status = $4, \
             last_login_at = $5, doc = $6, version = $7, modified_at = $8, \
             modified_by_connection = $9, doc_folded = $10, admin_suspended_at = $11, \
             idp_active = $12",
        );
        // Each key column that changed, as `, column = $n` with its value as parameter n.
        let mut set = |column: &str, value: SqlParam| {
            params.push(value);
            sql.push_str(&format!(", {column} = ${}", params.len()));
        };
        if indexed.user_name {
            set("user_name_key", fold(&user.user_name).into());
        }
        if indexed.external_id {
            set("external_id", (&user.external_id).into());
        }
        if indexed.display_name {
            set(
                "display_name_key",
                user.display_name.as_deref().map(fold).into(),
            );
        }
        if indexed.user_type {
            set("user_type_key", (&index.user_type_key).into());
        }
        if indexed.role_template {
            set("role_template_key", (&index.role_template_key).into());
        }
        sql.push_str(" WHERE id = $13 AND tenant_id = $14");
        self.execute(sql, params).await?;
        if changes.emails {
            self.execute(
                "DELETE FROM user_emails WHERE user_id = $1",
                params![&user.id],
            )
            .await?;
            let mut rows = Vec::new();
            email_rows(user, &index.emails, &mut rows);
            self.insert_rows(INSERT_EMAILS, EMAIL_WIDTH, &rows).await?;
        }
        if changes.role_values {
            self.execute(
                "DELETE FROM user_role_values WHERE user_id = $1",
                params![&user.id],
            )
            .await?;
            let mut rows = Vec::new();
            role_value_rows(user, &index.role_values, &mut rows);
            self.insert_rows(INSERT_ROLE_VALUES, ROLE_VALUE_WIDTH, &rows)
                .await?;
        }
        Ok(())
    }

    /// Inserts many users of one tenant at once (seeding and imports), a few hundred rows per
    /// statement; the seat counter follows, but checking the limit is the caller's.
    pub async fn insert_users_batch(&mut self, rows: &NewUserRows) -> Result<(), StoreError> {
        self.insert_new_users(rows).await?;
        // Keep the seat counter equal to the number of users (it also answers unfiltered counts),
        // and each status's count to its users.
        if let Some(tenant_id) = &rows.tenant_id {
            self.add_user_counts(tenant_id, rows.counts).await?;
        }
        Ok(())
    }

    /// Turns a user into a tombstone: id, userName, displayName and externalId stay for history;
    /// the document and the email index go.
    pub async fn tombstone_user(
        &mut self,
        tenant_id: &TenantId,
        id: &UserId,
        now: Micros,
        connection_id: Option<&ConnectionId>,
    ) -> Result<(), StoreError> {
        self.execute(
            "UPDATE users SET deleted_at = $1, deleted_by_connection = $2, doc = '{}', doc_folded = '{}', \
             version = version + 1 \
             WHERE tenant_id = $3 AND id = $4 AND deleted_at IS NULL",
            params![now, connection_id, tenant_id, id],
        )
        .await?;
        self.execute("DELETE FROM user_emails WHERE user_id = $1", params![id])
            .await?;
        self.execute(
            "DELETE FROM user_role_values WHERE user_id = $1",
            params![id],
        )
        .await?;
        Ok(())
    }
}
