//! The records the store reads and writes. Plain data: the rules live in `tenant/`.

use serde_json::{Map, Value};

pub use super::ids::*;
pub use crate::clock::Micros;

#[derive(Debug, Clone, PartialEq)]
pub struct TenantRecord {
    pub id: TenantId,
    pub slug: String,
    pub display_name: String,
    pub seat_limit: Option<i64>,
    pub seats_used: i64,
    pub immutable_attributes: Vec<String>,
    /// The tenant's own request rate per SCIM token; `None`: the gateway's default.
    pub rate_limit: Option<RateLimit>,
    /// The agency this tenant is an environment of: the roles its users hold there ripple down.
    pub parent_id: Option<TenantId>,
    pub created_at: Micros,
    pub updated_at: Micros,
}

/// Requests a SCIM token may make: `per_second` on average (0: no limit), up to `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RateLimit {
    pub per_second: u32,
    pub burst: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConnectionRecord {
    pub id: ConnectionId,
    pub tenant_id: TenantId,
    pub name: String,
    pub kind: String,
    pub created_at: Micros,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TokenRecord {
    pub id: TokenId,
    pub tenant_id: TenantId,
    pub connection_id: ConnectionId,
    pub connection_name: String,
    pub prefix: TokenPrefix,
    pub created_at: Micros,
    pub last_used_at: Option<Micros>,
    pub expires_at: Option<Micros>,
    pub revoked_at: Option<Micros>,
}

/// An operator token of the admin API (the secret is never stored, only its hash).
#[derive(Debug, Clone, PartialEq)]
pub struct AdminTokenRecord {
    pub id: AdminTokenId,
    pub name: String,
    pub prefix: TokenPrefix,
    pub created_at: Micros,
    pub last_used_at: Option<Micros>,
    pub expires_at: Option<Micros>,
    pub revoked_at: Option<Micros>,
}

/// A directory connection with the state of its tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectionSummary {
    pub connection: ConnectionRecord,
    /// Tokens neither revoked nor expired.
    pub live_tokens: i64,
    /// The last use of any of its tokens (to the minute): the connection's last request.
    pub last_used_at: Option<Micros>,
}

/// What stays of a deleted user, so that history and reports still resolve them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tombstone {
    pub id: UserId,
    pub user_name: String,
    pub display_name: Option<String>,
    pub external_id: Option<String>,
    pub deleted_at: Micros,
    pub deleted_by_connection: Option<ConnectionId>,
}

/// A tenant's users per status, as counted with every change (the stat cards).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UserCounts {
    /// Every user not deleted: the seats used.
    pub total: i64,
    pub invited: i64,
    pub active: i64,
    pub suspended: i64,
    pub seat_limit: Option<i64>,
}

/// Which sync counter of its connection a write (or a refusal) adds to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncCount {
    Create,
    Update,
    Deactivation,
    Delete,
    Rejection,
}

impl SyncCount {
    /// The `sync_counters` column it adds to (and how `audit_events.counts_as` names it).
    pub fn column(self) -> &'static str {
        match self {
            SyncCount::Create => "creates",
            SyncCount::Update => "updates",
            SyncCount::Deactivation => "deactivations",
            SyncCount::Delete => "deletes",
            SyncCount::Rejection => "rejections",
        }
    }
}

/// What a connection did over a window of time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncCounts {
    pub creates: i64,
    pub updates: i64,
    pub deactivations: i64,
    pub deletes: i64,
    pub rejections: i64,
}

impl SyncCounts {
    /// The count of one kind.
    pub fn of_kind(&mut self, kind: SyncCount) -> &mut i64 {
        match kind {
            SyncCount::Create => &mut self.creates,
            SyncCount::Update => &mut self.updates,
            SyncCount::Deactivation => &mut self.deactivations,
            SyncCount::Delete => &mut self.deletes,
            SyncCount::Rejection => &mut self.rejections,
        }
    }

    /// Writes that were applied.
    pub fn accepted(&self) -> i64 {
        self.creates + self.updates + self.deactivations + self.deletes
    }
}

/// A connection's counts over the last hour and the last day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncWindows {
    pub last_hour: SyncCounts,
    pub last_day: SyncCounts,
    /// The start of the last minute anything was counted in, within the day.
    pub last_write_minute: Option<Micros>,
}

/// How often a client-quirk tolerance fired for a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToleranceCount {
    /// The tolerance's name, as audit events list it (e.g. `capitalised_operation`).
    pub tolerance: String,
    pub last_hour: i64,
    pub last_day: i64,
}

/// What a valid bearer token resolves to.
#[derive(Debug, Clone)]
pub struct TokenGrant {
    pub token_id: TokenId,
    pub last_used_at: Option<Micros>,
    pub tenant: std::sync::Arc<TenantRecord>,
    pub connection_id: ConnectionId,
    pub connection_name: String,
    /// The connection's kind hint (entra, okta, generic, …).
    pub connection_kind: String,
}

/// An email as indexed in the side table (lower-cased keys for comparisons without regard to case).
#[derive(Debug, Clone, PartialEq)]
pub struct EmailRow {
    pub type_key: Option<String>,
    pub value: String,
    pub value_key: String,
    pub primary: bool,
}

/// A user's lifecycle status (SPEC §4), as stored. The transitions are rules of the tenant
/// (`tenant::status`); what each status means to SCIM and to queries is here, in one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserStatus {
    Invited,
    Active,
    Suspended,
}

impl UserStatus {
    /// The one status SCIM reports as `active: false`; filters on `active` compare with it.
    pub const SCIM_INACTIVE: UserStatus = UserStatus::Suspended;

    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Invited => "invited",
            UserStatus::Active => "active",
            UserStatus::Suspended => "suspended",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "invited" => Some(UserStatus::Invited),
            "active" => Some(UserStatus::Active),
            "suspended" => Some(UserStatus::Suspended),
            _ => None,
        }
    }

    /// SCIM `active` is true for invited and active users.
    pub fn scim_active(self) -> bool {
        self != Self::SCIM_INACTIVE
    }
}

/// Whether a new user got a seat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeatReservation {
    /// `filled_limit`: the tenant's limit, when this user took its last free seat.
    Taken { filled_limit: Option<i64> },
    /// Every seat is held; `limit` is the tenant's limit as this transaction saw it.
    Refused { limit: i64 },
}

/// The queryable forms of a user's document, written beside it: the email side table and the
/// document with case-insensitive values folded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserIndex {
    pub emails: Vec<EmailRow>,
    pub folded: Map<String, Value>,
    /// The SCIM `roles` values, decoded and folded, each once: the admin users table filters
    /// by effective role through them.
    pub role_values: Vec<String>,
    /// The user's `userType` and the tenant extension's `roleTemplate`, folded: the roles mapped
    /// to the type and the template it names are part of the effective roles worked out in SQL.
    pub user_type_key: Option<String>,
    pub role_template_key: Option<String>,
}

/// Which side tables of a user an update rewrites: only those whose attribute changed, so that
/// a PATCH of a name costs no email or role rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SideTableChanges {
    pub emails: bool,
    pub role_values: bool,
}

/// Which of a user's indexed columns an update changes; it sets only those. SQLite rewrites a
/// row's entry in every index one of whose columns an UPDATE sets, even to the value it had: a
/// leaf page somewhere in the index, written to the log and copied into the database file. A
/// PATCH of a name that set all of them wrote 7.3 pages instead of 2 (issue #21).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IndexedChanges {
    /// The folded userName (its uniqueness key).
    pub user_name: bool,
    pub external_id: bool,
    /// The folded displayName.
    pub display_name: bool,
    /// The folded userType.
    pub user_type: bool,
    /// The folded roleTemplate.
    pub role_template: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UserRecord {
    pub id: UserId,
    pub tenant_id: TenantId,
    pub user_name: String,
    pub external_id: Option<String>,
    pub display_name: Option<String>,
    pub user_type: Option<String>,
    pub status: UserStatus,
    pub last_login_at: Option<Micros>,
    /// The stored SCIM document (see `scim::resource`), without `active`, which `status` carries.
    pub doc: Map<String, Value>,
    pub version: i64,
    pub created_at: Micros,
    pub modified_at: Micros,
    pub created_by_connection: Option<ConnectionId>,
    pub modified_by_connection: Option<ConnectionId>,
    /// When an admin suspended the user; the identity provider's `active` does not lift it.
    pub admin_suspended_at: Option<Micros>,
    /// The `active` the identity provider last sent (true when it never sent one).
    pub idp_active: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GroupRecord {
    pub id: GroupId,
    pub tenant_id: TenantId,
    pub display_name: String,
    pub external_id: Option<String>,
    /// The stored SCIM document without `members`, which live in their own table.
    pub doc: Map<String, Value>,
    pub version: i64,
    pub created_at: Micros,
    pub modified_at: Micros,
    pub created_by_connection: Option<ConnectionId>,
    pub modified_by_connection: Option<ConnectionId>,
}

/// A member of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRow {
    pub group_id: GroupId,
    pub member_id: String,
    pub member_type: String,
    /// The member's display name, when the member still exists.
    pub display: Option<String>,
}

/// A group a user belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipRow {
    pub member_id: UserId,
    pub group_id: GroupId,
    pub group_display_name: String,
}

/// Puts memberships in the order users see their groups: by display name, ignoring case. Sorted
/// here rather than in SQL so that both engines agree (PostgreSQL would sort by its collation)
/// and SQLite needs no temporary B-tree per user for an ordered `json_group_array`.
pub(crate) fn sort_memberships(memberships: &mut [MembershipRow]) {
    memberships.sort_by_cached_key(|m| super::users::fold(&m.group_display_name));
}

/// A role of a tenant's catalog (or a role template), with its permissions (`category:action`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleRecord {
    pub id: RoleId,
    pub tenant_id: TenantId,
    pub name: String,
    pub description: Option<String>,
    pub permissions: Vec<String>,
    pub is_template: bool,
    /// Whether the role may be given by hand (a SCIM `roles` value, an admin's assignment);
    /// otherwise it comes only from a group mapping.
    pub assignable: bool,
    pub created_at: Micros,
    pub updated_at: Micros,
}

/// A tenant's group-to-role mapping, by group displayName.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRoleMapping {
    pub group_name: String,
    pub role_id: RoleId,
}

/// Users of this `userType` (compared without regard to case) hold the role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserTypeRoleMapping {
    pub user_type: String,
    pub role_id: RoleId,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditRecord {
    pub tenant_id: Option<TenantId>,
    pub connection_id: Option<ConnectionId>,
    pub at: Micros,
    pub actor: String,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub target_name: Option<String>,
    pub outcome: String,
    pub http_status: i64,
    pub reason: Option<String>,
    pub changed_attributes: Vec<String>,
    pub tolerances: Vec<String>,
    pub request_summary: Option<String>,
    /// The `scimType` a rejection was answered with, if any.
    pub scim_type: Option<String>,
    /// The sync counter of `connection_id` this event adds to, counted with it.
    pub counts_as: Option<SyncCount>,
}

/// A parameter of generated SQL; values are always bound, never spliced into the text.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlParam {
    /// A text NULL.
    Null,
    Text(String),
    OptInt(Option<i64>),
    Int(i64),
    Float(f64),
    Bool(bool),
}

impl From<&str> for SqlParam {
    fn from(text: &str) -> Self {
        SqlParam::Text(text.to_string())
    }
}

impl From<String> for SqlParam {
    fn from(text: String) -> Self {
        SqlParam::Text(text)
    }
}

impl From<&String> for SqlParam {
    fn from(text: &String) -> Self {
        SqlParam::Text(text.clone())
    }
}

impl From<Option<&str>> for SqlParam {
    fn from(text: Option<&str>) -> Self {
        text.map_or(SqlParam::Null, SqlParam::from)
    }
}

impl From<&Option<String>> for SqlParam {
    fn from(text: &Option<String>) -> Self {
        SqlParam::from(text.as_deref())
    }
}

impl From<Option<String>> for SqlParam {
    fn from(text: Option<String>) -> Self {
        text.map_or(SqlParam::Null, SqlParam::Text)
    }
}

impl From<i64> for SqlParam {
    fn from(value: i64) -> Self {
        SqlParam::Int(value)
    }
}

impl From<Option<i64>> for SqlParam {
    fn from(value: Option<i64>) -> Self {
        SqlParam::OptInt(value)
    }
}

impl From<bool> for SqlParam {
    fn from(value: bool) -> Self {
        SqlParam::Bool(value)
    }
}

/// The parameters of a statement, in placeholder order, from any value `SqlParam` converts.
macro_rules! params {
    ($($value:expr),* $(,)?) => {
        vec![$($crate::store::SqlParam::from($value)),*]
    };
}
pub(crate) use params;

/// A piece of SQL with `$n` placeholders (both engines accept them) and its parameters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SqlFragment {
    pub sql: String,
    pub params: Vec<SqlParam>,
    /// Placeholders `$1`..`$reserved` belong to the statement this fragment goes into.
    reserved: usize,
}

impl SqlFragment {
    /// A fragment whose own placeholders start after `reserved` ones of the enclosing statement.
    pub fn numbered_after(reserved: usize) -> Self {
        Self {
            reserved,
            ..Self::default()
        }
    }

    /// A whole statement and its parameters, in placeholder order.
    pub fn statement(sql: impl Into<String>, params: Vec<SqlParam>) -> Self {
        Self {
            sql: sql.into(),
            params,
            reserved: 0,
        }
    }

    /// Appends a bound parameter and returns its placeholder.
    pub fn bind(&mut self, param: SqlParam) -> String {
        self.params.push(param);
        format!("${}", self.reserved + self.params.len())
    }
}
