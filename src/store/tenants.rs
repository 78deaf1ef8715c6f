//! Tenants, directory connections and SCIM tokens.

use super::row::AnyRow;
use super::{ConnectionId, RateLimit, TenantId, TokenId, TokenPrefix};
use super::{
    ConnectionRecord, Micros, SqlFragment, SqlParam, Store, StoreError, TenantRecord, TokenGrant,
    TokenRecord, Tx, UserCounts, params,
};

/// The seats the tenant whose id is the SQL expression `$tenant` uses: the sum of its count
/// shards (a handful of rows; see migration 0028).
macro_rules! seats_used_of {
    ($tenant:literal) => {
        concat!(
            "CAST(COALESCE((SELECT SUM(c.seats) FROM tenant_user_counts c WHERE c.tenant_id = ",
            $tenant,
            "), 0) AS BIGINT)"
        )
    };
}
pub(crate) use seats_used_of;

macro_rules! tenant_columns {
    () => {
        concat!(
            "t.id, t.slug, t.display_name, t.seat_limit, ",
            seats_used_of!("t.id"),
            " AS seats_used, t.immutable_attributes, \
             t.rate_limit_per_sec, t.rate_limit_burst, t.parent_id, t.created_at, t.updated_at"
        )
    };
}

fn tenant_from_row(row: &AnyRow<'_>) -> Result<TenantRecord, StoreError> {
    Ok(TenantRecord {
        id: row.column("id")?,
        slug: row.column("slug")?,
        display_name: row.column("display_name")?,
        seat_limit: row.column("seat_limit")?,
        seats_used: row.column("seats_used")?,
        immutable_attributes: immutables_of(row)?,
        rate_limit: rate_limit_of(
            row.column("rate_limit_per_sec")?,
            row.column("rate_limit_burst")?,
        )?,
        parent_id: row.column("parent_id")?,
        created_at: row.column("created_at")?,
        updated_at: row.column("updated_at")?,
    })
}

/// A tenant's locked attributes from its `immutable_attributes` column (a JSON array).
fn immutables_of(row: &AnyRow<'_>) -> Result<Vec<String>, StoreError> {
    let immutables: String = row.column("immutable_attributes")?;
    serde_json::from_str(&immutables)
        .map_err(|e| StoreError::Corrupt(format!("tenants.immutable_attributes: {e}")))
}

/// A tenant's rate limit from its two columns (both set, or both NULL).
fn rate_limit_of(
    per_second: Option<i64>,
    burst: Option<i64>,
) -> Result<Option<RateLimit>, StoreError> {
    let (Some(per_second), Some(burst)) = (per_second, burst) else {
        return Ok(None);
    };
    let corrupt = |_| StoreError::Corrupt("tenants.rate_limit_* out of range".into());
    Ok(Some(RateLimit {
        per_second: u32::try_from(per_second).map_err(corrupt)?,
        burst: u32::try_from(burst).map_err(corrupt)?,
    }))
}

fn token_from_row(row: &AnyRow<'_>) -> Result<TokenRecord, StoreError> {
    Ok(TokenRecord {
        id: row.column("id")?,
        tenant_id: row.column("tenant_id")?,
        connection_id: row.column("connection_id")?,
        connection_name: row.column("connection_name")?,
        prefix: row.column("prefix")?,
        created_at: row.column("created_at")?,
        last_used_at: row.column("last_used_at")?,
        expires_at: row.column("expires_at")?,
        revoked_at: row.column("revoked_at")?,
    })
}

fn list_text(list: &[String]) -> String {
    serde_json::Value::from(list.to_vec()).to_string()
}

impl Store {
    pub async fn tenant_by_slug(&self, slug: &str) -> Result<Option<TenantRecord>, StoreError> {
        let query = SqlFragment::statement(
            concat!(
                "SELECT ",
                tenant_columns!(),
                " FROM tenants t WHERE t.slug = $1"
            ),
            vec![SqlParam::Text(slug.to_string())],
        );
        self.fetch_optional(query, tenant_from_row).await
    }

    pub async fn tenant_by_id(&self, id: &TenantId) -> Result<Option<TenantRecord>, StoreError> {
        let query = SqlFragment::statement(
            concat!(
                "SELECT ",
                tenant_columns!(),
                " FROM tenants t WHERE t.id = $1"
            ),
            vec![SqlParam::from(id)],
        );
        self.fetch_optional(query, tenant_from_row).await
    }

    /// The tenant's users per status: one row, whatever the tenant's size.
    pub async fn user_counts(&self, tenant_id: &TenantId) -> Result<UserCounts, StoreError> {
        let query = SqlFragment::statement(
            "SELECT t.seat_limit, \
             CAST(COALESCE(SUM(c.seats), 0) AS BIGINT) AS seats, \
             CAST(COALESCE(SUM(c.invited), 0) AS BIGINT) AS invited, \
             CAST(COALESCE(SUM(c.active), 0) AS BIGINT) AS active, \
             CAST(COALESCE(SUM(c.suspended), 0) AS BIGINT) AS suspended \
             FROM tenants t LEFT JOIN tenant_user_counts c ON c.tenant_id = t.id \
             WHERE t.id = $1 GROUP BY t.id, t.seat_limit",
            vec![SqlParam::from(tenant_id)],
        );
        let counts = self
            .fetch_optional(query, |row| {
                Ok(UserCounts {
                    total: row.column("seats")?,
                    invited: row.column("invited")?,
                    active: row.column("active")?,
                    suspended: row.column("suspended")?,
                    seat_limit: row.column("seat_limit")?,
                })
            })
            .await?;
        Ok(counts.unwrap_or_default())
    }

    pub async fn list_tenants(&self) -> Result<Vec<TenantRecord>, StoreError> {
        let query = SqlFragment::statement(
            concat!(
                "SELECT ",
                tenant_columns!(),
                " FROM tenants t ORDER BY t.slug"
            ),
            vec![],
        );
        self.fetch_all(query, tenant_from_row).await
    }

    /// Resolves a token hash to its tenant and connection, if the token is neither revoked nor
    /// expired. One indexed query per request: a revocation takes effect at once.
    pub async fn token_grant(
        &self,
        token_hash: &str,
        now: Micros,
    ) -> Result<Option<TokenGrant>, StoreError> {
        let query = SqlFragment::statement(
            concat!(
                "SELECT ",
                tenant_columns!(),
                ", k.id AS token_id, k.last_used_at, c.id AS connection_id, c.name AS connection_name, c.kind AS connection_kind",
                " FROM scim_tokens k JOIN directory_connections c ON c.id = k.connection_id",
                " JOIN tenants t ON t.id = k.tenant_id",
                " WHERE k.token_hash = $1 AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > $2)"
            ),
            vec![SqlParam::Text(token_hash.to_string()), SqlParam::Int(now)],
        );
        self.fetch_optional(query, |row| {
            Ok(TokenGrant {
                token_id: row.column("token_id")?,
                last_used_at: row.column("last_used_at")?,
                connection_id: row.column("connection_id")?,
                connection_name: row.column("connection_name")?,
                connection_kind: row.column("connection_kind")?,
                tenant: std::sync::Arc::new(tenant_from_row(row)?),
            })
        })
        .await
    }

    pub async fn list_tokens(&self, tenant_id: &TenantId) -> Result<Vec<TokenRecord>, StoreError> {
        let query = SqlFragment::statement(
            "SELECT k.id, k.tenant_id, k.connection_id, c.name AS connection_name, k.prefix, k.created_at, \
             k.last_used_at, k.expires_at, k.revoked_at \
             FROM scim_tokens k JOIN directory_connections c ON c.id = k.connection_id \
             WHERE k.tenant_id = $1 ORDER BY k.created_at, k.id",
            vec![SqlParam::from(tenant_id)],
        );
        self.fetch_all(query, token_from_row).await
    }

    /// Records when a token was last used. Callers throttle it: it is a write.
    pub async fn touch_token(&self, token_id: &TokenId, now: Micros) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        tx.execute(
            "UPDATE scim_tokens SET last_used_at = $1 WHERE id = $2",
            params![now, token_id],
        )
        .await?;
        tx.commit().await
    }
}

impl Tx {
    pub async fn insert_tenant(&mut self, tenant: &TenantRecord) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO tenants (id, slug, display_name, seat_limit, immutable_attributes, parent_id, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            params![
                &tenant.id,
                &tenant.slug,
                &tenant.display_name,
                tenant.seat_limit,
                list_text(&tenant.immutable_attributes),
                &tenant.parent_id,
                tenant.created_at,
                tenant.updated_at,
            ],
        )
        .await?;
        Ok(())
    }

    /// Updates the settings of a tenant (not its counts, which only the writes of its users
    /// move). The row is locked first the strongest way, so that the new settings wait for the
    /// writes that read the old ones (`Dialect::settings_lock`) to commit.
    pub async fn update_tenant_settings(
        &mut self,
        tenant: &TenantRecord,
    ) -> Result<(), StoreError> {
        let lock = format!(
            "SELECT id FROM tenants WHERE id = $1{}",
            self.dialect().row_lock()
        );
        self.fetch_all(SqlFragment::statement(lock, params![&tenant.id]), |row| {
            row.column::<String>("id")
        })
        .await?;
        self.execute(
            "UPDATE tenants SET display_name = $1, seat_limit = $2, immutable_attributes = $3, \
             rate_limit_per_sec = $4, rate_limit_burst = $5, updated_at = $6 WHERE id = $7",
            params![
                &tenant.display_name,
                tenant.seat_limit,
                list_text(&tenant.immutable_attributes),
                tenant.rate_limit.map(|r| i64::from(r.per_second)),
                tenant.rate_limit.map(|r| i64::from(r.burst)),
                tenant.updated_at,
                &tenant.id,
            ],
        )
        .await?;
        if self.dialect().seat_quotas() {
            // Seats handed out under the old limit are taken back (see `Tx::reserve_seat`).
            self.take_back_seat_quotas(&tenant.id).await?;
        }
        Ok(())
    }

    /// Whether the SCIM token is live (neither revoked nor expired at `now`) as this transaction
    /// sees it. On SQLite the writes and a revocation take turns, so no write commits after a
    /// revocation did; PostgreSQL reads what was committed when the statement ran (no row lock:
    /// every write of a token share-locking its one row would pile up multixacts).
    pub async fn token_is_live(
        &mut self,
        token_id: &TokenId,
        now: Micros,
    ) -> Result<bool, StoreError> {
        let query = SqlFragment::statement(
            "SELECT id FROM scim_tokens WHERE id = $1 AND revoked_at IS NULL \
             AND (expires_at IS NULL OR expires_at > $2)",
            params![token_id, now],
        );
        Ok(self
            .fetch_optional(query, |row| row.column::<String>("id"))
            .await?
            .is_some())
    }

    /// The tenant's locked attributes, its settings locked against change until this
    /// transaction ends (as `seat_limit` does): a write checks the policy in force when it
    /// commits, not the one its (possibly reused) grant carried.
    pub async fn locked_attributes(
        &mut self,
        tenant_id: &TenantId,
    ) -> Result<Vec<String>, StoreError> {
        let sql = format!(
            "SELECT immutable_attributes FROM tenants WHERE id = $1{}",
            self.dialect().settings_lock()
        );
        self.fetch_all(
            SqlFragment::statement(sql, params![tenant_id]),
            immutables_of,
        )
        .await?
        .pop()
        .ok_or_else(|| StoreError::Corrupt(format!("tenant {tenant_id} is missing")))
    }

    pub async fn tenant_by_slug(&mut self, slug: &str) -> Result<Option<TenantRecord>, StoreError> {
        let query = SqlFragment::statement(
            concat!(
                "SELECT ",
                tenant_columns!(),
                " FROM tenants t WHERE t.slug = $1"
            ),
            params![slug],
        );
        self.fetch_optional(query, tenant_from_row).await
    }

    pub async fn connection_by_name(
        &mut self,
        tenant_id: &TenantId,
        name: &str,
    ) -> Result<Option<ConnectionRecord>, StoreError> {
        let query = SqlFragment::statement(
            "SELECT id, tenant_id, name, kind, created_at FROM directory_connections WHERE tenant_id = $1 AND name = $2",
            params![tenant_id, name],
        );
        self.fetch_optional(query, |row| {
            Ok(ConnectionRecord {
                id: ConnectionId::new(row.column::<String>("id")?),
                tenant_id: TenantId::new(row.column::<String>("tenant_id")?),
                name: row.column("name")?,
                kind: row.column("kind")?,
                created_at: row.column("created_at")?,
            })
        })
        .await
    }

    pub async fn insert_connection(
        &mut self,
        connection: &ConnectionRecord,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO directory_connections (id, tenant_id, name, kind, created_at) VALUES ($1, $2, $3, $4, $5)",
            params![
                &connection.id,
                &connection.tenant_id,
                &connection.name,
                &connection.kind,
                connection.created_at,
            ],
        )
        .await?;
        Ok(())
    }

    pub async fn insert_token(
        &mut self,
        token: &TokenRecord,
        token_hash: &str,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO scim_tokens (id, tenant_id, connection_id, prefix, token_hash, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            params![
                &token.id,
                &token.tenant_id,
                &token.connection_id,
                &token.prefix,
                token_hash,
                token.created_at,
                token.expires_at,
            ],
        )
        .await?;
        Ok(())
    }

    /// Revokes the live tokens of a tenant whose visible prefix is `prefix`; returns how many.
    pub async fn revoke_tokens(
        &mut self,
        tenant_id: &TenantId,
        prefix: &TokenPrefix,
        now: Micros,
    ) -> Result<u64, StoreError> {
        self.execute(
            "UPDATE scim_tokens SET revoked_at = $1 WHERE tenant_id = $2 AND prefix = $3 AND revoked_at IS NULL",
            params![now, tenant_id, prefix],
        )
        .await
    }

    /// Makes the live tokens of a connection expire at `at` (token rotation's grace period).
    pub async fn expire_connection_tokens(
        &mut self,
        connection_id: &ConnectionId,
        at: Micros,
    ) -> Result<u64, StoreError> {
        self.execute(
            "UPDATE scim_tokens SET expires_at = $1 WHERE connection_id = $2 AND revoked_at IS NULL \
             AND (expires_at IS NULL OR expires_at > $1)",
            params![at, connection_id],
        )
        .await
    }
}
