//! Sessions of the admin pages for operators: a hash of each session's cookie secret, the
//! operator token it was opened with, and when it ends. Read joined to the token, so that a
//! revoked or expired operator token ends its sessions at once.

use super::admin::{ADMIN_TOKEN_COLUMNS, admin_token_from_row};
use super::{
    AdminTokenId, AdminTokenRecord, Micros, SqlFragment, SqlParam, Store, StoreError, Tx, params,
};

impl Store {
    /// The live operator token behind the page session with this secret hash, while both the
    /// session and the token last.
    pub async fn page_session_token(
        &self,
        secret_hash: &str,
        now: Micros,
    ) -> Result<Option<AdminTokenRecord>, StoreError> {
        let columns = ADMIN_TOKEN_COLUMNS
            .split(", ")
            .map(|c| format!("t.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let query = SqlFragment::statement(
            format!(
                "SELECT {columns} FROM page_sessions s JOIN admin_tokens t ON t.id = s.admin_token_id \
                 WHERE s.secret_hash = $1 AND s.expires_at > $2 \
                 AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > $2)"
            ),
            vec![SqlParam::Text(secret_hash.to_string()), SqlParam::Int(now)],
        );
        self.fetch_optional(query, admin_token_from_row).await
    }
}

impl Tx {
    /// Opens a page session; sessions that have ended are cleared on the way (an index range).
    pub async fn insert_page_session(
        &mut self,
        secret_hash: &str,
        token: &AdminTokenId,
        now: Micros,
        expires_at: Micros,
    ) -> Result<(), StoreError> {
        self.execute(
            "DELETE FROM page_sessions WHERE expires_at <= $1",
            params![now],
        )
        .await?;
        self.execute(
            "INSERT INTO page_sessions (secret_hash, admin_token_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4)",
            params![secret_hash, token, now, expires_at],
        )
        .await?;
        Ok(())
    }

    /// Ends a page session; whether there was one.
    pub async fn delete_page_session(&mut self, secret_hash: &str) -> Result<bool, StoreError> {
        let deleted = self
            .execute(
                "DELETE FROM page_sessions WHERE secret_hash = $1",
                params![secret_hash],
            )
            .await?;
        Ok(deleted > 0)
    }
}
