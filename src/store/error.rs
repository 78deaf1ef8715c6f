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
    Read(rusqlite::Error),
    #[error("the server is shutting down")]
    ShuttingDown,
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &err
            && db.is_unique_violation()
        {
            // PostgreSQL names the constraint; SQLite names the columns in its message.
            let text = db
                .constraint()
                .map(str::to_string)
                .unwrap_or_else(|| db.message().to_string());
            let constraint = if text.contains("user_name_key") {
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
                Constraint::Other(text)
            };
            return StoreError::Conflict(constraint);
        }
        StoreError::Database(err)
    }
}
