//! Storage errors: what the rules above need to tell apart, nothing engine-specific.

/// A unique constraint the rules translate into a domain conflict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Constraint {
    UserName,
    GroupName,
    RoleName,
    TenantSlug,
    ConnectionName,
    Other(String),
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unique constraint violated: {0:?}")]
    Conflict(Constraint),
    #[error("unsupported database URL '{0}': use sqlite://PATH or postgres://…")]
    UnsupportedUrl(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(sqlx::Error),
    #[error("database error: {0}")]
    Sqlite(rusqlite::Error),
    #[error("the server is shutting down")]
    ShuttingDown,
    /// SQLite commits the writes waiting at one moment together (`sqlite_writer.rs`); that
    /// commit failed, so none of them was applied.
    #[error("the write was not applied: its group's commit failed: {0}")]
    GroupCommit(String),
    /// No database connection came free in time (the pool is exhausted, or SQLite's write lock
    /// stayed taken): the request was not applied and may be retried.
    #[error("the database is busy: no connection came free in time")]
    Busy,
    /// The engine cannot store or compare this text (PostgreSQL refuses U+0000 in `text` and
    /// `jsonb`). Rules refuse such text before it reaches the store; this is the net below them.
    #[error("text the database cannot store: {0}")]
    UnstorableText(String),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// PostgreSQL's SQLSTATEs for text it cannot hold: `character_not_in_repertoire` (a NUL byte in
/// `text`) and `untranslatable_character` (`\u0000` in `jsonb`).
const UNSTORABLE_TEXT_STATES: [&str; 2] = ["22021", "22P05"];

/// SQLite's primary result codes (the low byte of an extended code) for a lock that stayed
/// taken past the busy timeout: `SQLITE_BUSY` and `SQLITE_LOCKED`.
const SQLITE_BUSY_CODES: [i64; 2] = [5, 6];

impl StoreError {
    /// Whether the same request may succeed a moment later: nothing was applied, and the store
    /// was only busy (or this process is stopping, and another will answer; or the commit the
    /// request shared with others failed).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            StoreError::Busy | StoreError::ShuttingDown | StoreError::GroupCommit(_)
        )
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        if matches!(err, sqlx::Error::PoolTimedOut) {
            return StoreError::Busy;
        }
        if let sqlx::Error::Database(db) = &err
            && let Some(code) = db.code()
        {
            if UNSTORABLE_TEXT_STATES.contains(&code.as_ref()) {
                return StoreError::UnstorableText(db.message().to_string());
            }
            if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some()
                && code
                    .parse::<i64>()
                    .is_ok_and(|c| SQLITE_BUSY_CODES.contains(&(c & 0xff)))
            {
                return StoreError::Busy;
            }
        }
        if let sqlx::Error::Database(db) = &err
            && db.is_unique_violation()
        {
            // PostgreSQL names the constraint; SQLite names the columns in its message.
            let text = db
                .constraint()
                .map(str::to_string)
                .unwrap_or_else(|| db.message().to_string());
            return StoreError::Conflict(constraint_named(&text));
        }
        StoreError::Database(err)
    }
}

/// The constraint a unique violation's text names: PostgreSQL's constraint name, or the columns
/// SQLite's message lists.
pub(super) fn constraint_named(text: &str) -> Constraint {
    if text.contains("user_name_key") {
        Constraint::UserName
    } else if text.contains("groups_tenant_display_name_key")
        || text.contains("groups.display_name_key")
    {
        Constraint::GroupName
    } else if text.contains("roles_tenant_name_key")
        || text.contains("roles.tenant_id, roles.name_key")
    {
        Constraint::RoleName
    } else if text.contains("tenants_slug_key") || text.contains("tenants.slug") {
        Constraint::TenantSlug
    } else if text.contains("directory_connections_tenant_name_key")
        || text.contains("directory_connections.tenant_id, directory_connections.name")
    {
        Constraint::ConnectionName
    } else {
        Constraint::Other(text.to_string())
    }
}
