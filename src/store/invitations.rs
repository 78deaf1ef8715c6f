//! Invitations of invited users (migration 0022): the key each is looked up under (its link's
//! issue time and the hash of its secret; see `tenant::invitations`), whose user it is, when it
//! expires, and how it ended (used at the first sign-in, or replaced by a newer one).
//!
//! The column is still called `token_hash`: before issue #21 it held the hash alone, and the
//! invitations issued then are still found under it.

use super::row::AnyRow;
use super::{Micros, SqlFragment, SqlParam, Store, StoreError, TenantId, Tx, UserId, params};

/// An invitation as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitationRecord {
    pub tenant_id: TenantId,
    pub user_id: UserId,
    pub issued_at: Micros,
    pub expires_at: Micros,
    pub ended_at: Option<Micros>,
    /// `used` or `replaced` once ended.
    pub ended_how: Option<String>,
}

fn invitation_from_row(row: &AnyRow<'_>) -> Result<InvitationRecord, StoreError> {
    Ok(InvitationRecord {
        tenant_id: row.column("tenant_id")?,
        user_id: row.column("user_id")?,
        issued_at: row.column("issued_at")?,
        expires_at: row.column("expires_at")?,
        ended_at: row.column("ended_at")?,
        ended_how: row.column("ended_how")?,
    })
}

fn by_key(lookup_key: &str) -> SqlFragment {
    SqlFragment::statement(
        "SELECT tenant_id, user_id, issued_at, expires_at, ended_at, ended_how \
         FROM invitations WHERE token_hash = $1",
        vec![SqlParam::Text(lookup_key.to_string())],
    )
}

impl Store {
    /// The invitation stored under `lookup_key`, whatever its tenant or state.
    pub async fn invitation_by_key(
        &self,
        lookup_key: &str,
    ) -> Result<Option<InvitationRecord>, StoreError> {
        self.fetch_optional(by_key(lookup_key), invitation_from_row)
            .await
    }
}

impl Tx {
    /// Stores new invitations, each under its lookup key, a few hundred to a statement.
    pub async fn insert_invitations(
        &mut self,
        invitations: &[(String, InvitationRecord)],
    ) -> Result<(), StoreError> {
        let mut params = Vec::with_capacity(invitations.len() * 5);
        for (lookup_key, invitation) in invitations {
            params.extend([
                SqlParam::Text(lookup_key.clone()),
                SqlParam::from(&invitation.tenant_id),
                SqlParam::from(&invitation.user_id),
                SqlParam::Int(invitation.issued_at),
                SqlParam::Int(invitation.expires_at),
            ]);
        }
        self.insert_rows(
            "INSERT INTO invitations (token_hash, tenant_id, user_id, issued_at, expires_at) VALUES ",
            5,
            &params,
        )
        .await
    }

    /// Ends the user's open invitation, if any, as `how` (`used` or `replaced`); whether there
    /// was one.
    pub async fn end_open_invitation(
        &mut self,
        user_id: &UserId,
        how: &str,
        now: Micros,
    ) -> Result<bool, StoreError> {
        let ended = self
            .execute(
                "UPDATE invitations SET ended_at = $2, ended_how = $3 \
                 WHERE user_id = $1 AND ended_at IS NULL",
                params![user_id, now, how],
            )
            .await?;
        Ok(ended > 0)
    }
}
