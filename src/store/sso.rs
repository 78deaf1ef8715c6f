//! SSO storage: tenants' OpenID Connect settings, login states, signing keys, sessions, and the
//! user lookups and updates a sign-in needs.

use super::row::AnyRow;
use super::{Micros, SqlFragment, SqlParam, Store, StoreError, Tx, UserStatus, params};
use super::{TenantId, UserId};

/// The ID-token claim that identifies the user (SPEC §5; default `email`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserClaim {
    /// Matched against userName, then against the users' email addresses, ignoring case.
    Email,
    /// Matched like `email` (Entra puts the UPN here, Okta the login).
    PreferredUsername,
    /// Matched against externalId exactly, then userName ignoring case.
    Sub,
    /// Entra's object id; matched like `sub`.
    Oid,
}

impl UserClaim {
    /// The claim named `name` as stored and configured.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "email" => Some(Self::Email),
            "preferred_username" => Some(Self::PreferredUsername),
            "sub" => Some(Self::Sub),
            "oid" => Some(Self::Oid),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::PreferredUsername => "preferred_username",
            Self::Sub => "sub",
            Self::Oid => "oid",
        }
    }

    /// Whether the claim is an opaque identifier (matched to externalId) rather than a name.
    pub fn is_identifier(self) -> bool {
        matches!(self, Self::Sub | Self::Oid)
    }
}

/// What `sso set` stores for a tenant. The client secret is held sealed (see `sso::secret_key`);
/// the rules over it (return targets, sealing context) live in `sso::config`.
#[derive(Debug, Clone, PartialEq)]
pub struct SsoConfig {
    pub tenant_id: TenantId,
    pub issuer: String,
    pub client_id: String,
    pub client_secret_sealed: String,
    pub scopes: Vec<String>,
    pub user_claim: UserClaim,
    pub groups_claim: Option<String>,
    pub jit: bool,
    /// Exact URLs a login may return to.
    pub redirect_allow: Vec<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A login in flight: what the callback needs to finish it.
#[derive(Debug, Clone, PartialEq)]
pub struct LoginStateRecord {
    pub state_hash: String,
    pub tenant_id: TenantId,
    pub nonce: String,
    pub pkce_verifier: String,
    pub return_to: String,
    /// The environment below the tenant an agency user signs in to, through the tenant's
    /// provider.
    pub environment_id: Option<TenantId>,
    pub created_at: Micros,
    pub expires_at: Micros,
}

/// A session signing key; the private half sealed with the gateway's secret key.
#[derive(Debug, Clone, PartialEq)]
pub struct SigningKeyRecord {
    pub kid: String,
    pub algorithm: String,
    pub public_jwk: String,
    pub private_sealed: String,
    pub created_at: Micros,
    pub retired_at: Option<Micros>,
}

/// A session the gateway issued.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRecord {
    pub id: String,
    pub tenant_id: TenantId,
    pub user_id: UserId,
    pub kid: String,
    /// The groups the identity provider named at sign-in.
    pub idp_groups: Vec<String>,
    /// The environment below the user's tenant the session is for (an agency user's), whose
    /// roles it carries; none: the user's own tenant.
    pub environment_id: Option<TenantId>,
    pub created_at: Micros,
    pub expires_at: Micros,
    pub ended_at: Option<Micros>,
}

fn list_text(list: &[String]) -> String {
    serde_json::Value::from(list.to_vec()).to_string()
}

fn list_from(text: &str, column: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

fn config_from_row(row: &AnyRow<'_>) -> Result<SsoConfig, StoreError> {
    let scopes: String = row.column("scopes")?;
    let allow: String = row.column("redirect_allow")?;
    let claim: String = row.column("user_claim")?;
    Ok(SsoConfig {
        tenant_id: row.column("tenant_id")?,
        issuer: row.column("issuer")?,
        client_id: row.column("client_id")?,
        client_secret_sealed: row.column("client_secret_sealed")?,
        scopes: list_from(&scopes, "sso_configs.scopes")?,
        user_claim: UserClaim::from_name(&claim).ok_or_else(|| {
            StoreError::Corrupt(format!("sso_configs.user_claim: unknown claim '{claim}'"))
        })?,
        groups_claim: row.column("groups_claim")?,
        jit: row.column("jit")?,
        redirect_allow: list_from(&allow, "sso_configs.redirect_allow")?,
        created_at: row.column("created_at")?,
        updated_at: row.column("updated_at")?,
    })
}

fn key_from_row(row: &AnyRow<'_>) -> Result<SigningKeyRecord, StoreError> {
    Ok(SigningKeyRecord {
        kid: row.column("kid")?,
        algorithm: row.column("algorithm")?,
        public_jwk: row.column("public_jwk")?,
        private_sealed: row.column("private_sealed")?,
        created_at: row.column("created_at")?,
        retired_at: row.column("retired_at")?,
    })
}

macro_rules! key_columns {
    () => {
        "kid, algorithm, public_jwk, private_sealed, created_at, retired_at"
    };
}

/// The key that signs: the newest one not retired.
const CURRENT_KEY: &str = concat!(
    "SELECT ",
    key_columns!(),
    " FROM signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC, kid DESC LIMIT 1"
);

impl Store {
    /// Whether each tenant with SSO settings admits unknown users just in time, by tenant.
    pub async fn sso_jit_by_tenant(&self) -> Result<Vec<(TenantId, bool)>, StoreError> {
        let query = SqlFragment::statement("SELECT tenant_id, jit FROM sso_configs", vec![]);
        self.fetch_all(query, |row| {
            Ok((row.column("tenant_id")?, row.column("jit")?))
        })
        .await
    }

    pub async fn sso_config(&self, tenant_id: &TenantId) -> Result<Option<SsoConfig>, StoreError> {
        let query = SqlFragment::statement(
            "SELECT tenant_id, issuer, client_id, client_secret_sealed, scopes, user_claim, groups_claim, \
             jit, redirect_allow, created_at, updated_at FROM sso_configs WHERE tenant_id = $1",
            vec![SqlParam::from(tenant_id)],
        );
        self.fetch_optional(query, config_from_row).await
    }

    /// Removes the login state and returns it: a state can be taken once. (Expired ones are
    /// swept when a login starts; the caller checks the expiry of this one.)
    pub async fn take_login_state(
        &self,
        state_hash: &str,
    ) -> Result<Option<LoginStateRecord>, StoreError> {
        let mut tx = self.begin().await?;
        let query = SqlFragment::statement(
            "DELETE FROM sso_login_states WHERE state_hash = $1 \
             RETURNING state_hash, tenant_id, nonce, pkce_verifier, return_to, environment_id, created_at, expires_at",
            params![state_hash],
        );
        let taken = tx
            .fetch_optional(query, |row| {
                Ok(LoginStateRecord {
                    state_hash: row.column("state_hash")?,
                    tenant_id: row.column("tenant_id")?,
                    nonce: row.column("nonce")?,
                    pkce_verifier: row.column("pkce_verifier")?,
                    return_to: row.column("return_to")?,
                    environment_id: row.column("environment_id")?,
                    created_at: row.column("created_at")?,
                    expires_at: row.column("expires_at")?,
                })
            })
            .await?;
        tx.commit().await?;
        Ok(taken)
    }

    /// Keeps a started login, and sweeps away the expired ones.
    pub async fn insert_login_state(&self, state: &LoginStateRecord) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        tx.execute(
            "INSERT INTO sso_login_states (state_hash, tenant_id, nonce, pkce_verifier, return_to, created_at, \
             expires_at, environment_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            params![
                &state.state_hash,
                &state.tenant_id,
                &state.nonce,
                &state.pkce_verifier,
                &state.return_to,
                state.created_at,
                state.expires_at,
                &state.environment_id,
            ],
        )
        .await?;
        // Logins never finished must not pile up.
        tx.execute(
            "DELETE FROM sso_login_states WHERE expires_at < $1",
            params![state.created_at],
        )
        .await?;
        tx.commit().await
    }

    /// The key that signs new sessions: the newest one not retired.
    pub async fn current_signing_key(&self) -> Result<Option<SigningKeyRecord>, StoreError> {
        self.fetch_optional(SqlFragment::statement(CURRENT_KEY, vec![]), key_from_row)
            .await
    }

    /// Keys that sign or that signed sessions still alive: not retired, or retired after `since`.
    pub async fn published_signing_keys(
        &self,
        since: Micros,
    ) -> Result<Vec<SigningKeyRecord>, StoreError> {
        let query = SqlFragment::statement(
            concat!(
                "SELECT ",
                key_columns!(),
                " FROM signing_keys WHERE retired_at IS NULL OR retired_at > $1 ORDER BY created_at DESC, kid DESC"
            ),
            vec![SqlParam::Int(since)],
        );
        self.fetch_all(query, key_from_row).await
    }

    pub async fn session(&self, id: &str) -> Result<Option<SessionRecord>, StoreError> {
        let query = SqlFragment::statement(
            "SELECT id, tenant_id, user_id, kid, idp_groups, environment_id, created_at, expires_at, ended_at \
             FROM sso_sessions WHERE id = $1",
            vec![SqlParam::Text(id.to_string())],
        );
        self.fetch_optional(query, |row| {
            Ok(SessionRecord {
                id: row.column("id")?,
                tenant_id: row.column("tenant_id")?,
                user_id: row.column("user_id")?,
                kid: row.column("kid")?,
                idp_groups: list_from(
                    &row.column::<String>("idp_groups")?,
                    "sso_sessions.idp_groups",
                )?,
                environment_id: row.column("environment_id")?,
                created_at: row.column("created_at")?,
                expires_at: row.column("expires_at")?,
                ended_at: row.column("ended_at")?,
            })
        })
        .await
    }

    /// Ends a session (logout); false when it was already ended or is unknown.
    pub async fn end_session(&self, id: &str, now: Micros) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let ended = tx
            .execute(
                "UPDATE sso_sessions SET ended_at = $1 WHERE id = $2 AND ended_at IS NULL",
                params![now, id],
            )
            .await?;
        tx.commit().await?;
        Ok(ended > 0)
    }
}

impl Tx {
    /// Turns a tenant's just-in-time provisioning on or off; whether it was on before, or
    /// `None` when the tenant has no SSO settings to turn it on in.
    pub async fn set_sso_jit(
        &mut self,
        tenant_id: &TenantId,
        jit: bool,
        now: Micros,
    ) -> Result<Option<bool>, StoreError> {
        let query = SqlFragment::statement(
            "SELECT jit FROM sso_configs WHERE tenant_id = $1",
            params![tenant_id],
        );
        let before = self
            .fetch_optional(query, |row| row.column::<bool>("jit"))
            .await?;
        if before.is_some_and(|was| was != jit) {
            self.execute(
                "UPDATE sso_configs SET jit = $1, updated_at = $2 WHERE tenant_id = $3",
                params![jit, now, tenant_id],
            )
            .await?;
        }
        Ok(before)
    }

    /// Whether a deleted user (a tombstone) of the tenant carries this userName (ignoring case)
    /// or externalId, as this transaction sees it.
    pub async fn tombstone_matches(
        &mut self,
        tenant_id: &TenantId,
        value: &str,
    ) -> Result<bool, StoreError> {
        let query = SqlFragment::statement(
            "SELECT 1 AS found FROM users WHERE tenant_id = $1 AND deleted_at IS NOT NULL \
             AND (user_name_key = $2 OR external_id = $3) LIMIT 1",
            vec![
                SqlParam::from(tenant_id),
                SqlParam::Text(super::users::fold(value)),
                SqlParam::Text(value.to_string()),
            ],
        );
        Ok(!self.fetch_all(query, |_| Ok(())).await?.is_empty())
    }

    pub async fn upsert_sso_config(&mut self, config: &SsoConfig) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO sso_configs (tenant_id, issuer, client_id, client_secret_sealed, scopes, user_claim, \
             groups_claim, jit, redirect_allow, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (tenant_id) DO UPDATE SET issuer = excluded.issuer, client_id = excluded.client_id, \
             client_secret_sealed = excluded.client_secret_sealed, scopes = excluded.scopes, \
             user_claim = excluded.user_claim, groups_claim = excluded.groups_claim, jit = excluded.jit, \
             redirect_allow = excluded.redirect_allow, updated_at = excluded.updated_at",
            params![
                &config.tenant_id,
                &config.issuer,
                &config.client_id,
                &config.client_secret_sealed,
                list_text(&config.scopes),
                config.user_claim.as_str(),
                &config.groups_claim,
                config.jit,
                list_text(&config.redirect_allow),
                config.created_at,
                config.updated_at,
            ],
        )
        .await?;
        Ok(())
    }

    /// Adds a key and retires every other key that still signs: the new key signs from now on.
    pub async fn rotate_in_signing_key(
        &mut self,
        key: &SigningKeyRecord,
        now: Micros,
    ) -> Result<(), StoreError> {
        self.execute(
            "UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NULL",
            params![now],
        )
        .await?;
        self.execute(
            "INSERT INTO signing_keys (kid, algorithm, public_jwk, private_sealed, created_at, retired_at) \
             VALUES ($1, $2, $3, $4, $5, NULL)",
            params![
                &key.kid,
                &key.algorithm,
                &key.public_jwk,
                &key.private_sealed,
                key.created_at,
            ],
        )
        .await?;
        Ok(())
    }

    /// The key that signs, read under the write lock so that two processes starting together
    /// create one key, not two.
    pub async fn current_signing_key(&mut self) -> Result<Option<SigningKeyRecord>, StoreError> {
        self.fetch_optional(SqlFragment::statement(CURRENT_KEY, vec![]), key_from_row)
            .await
    }

    pub async fn insert_session(&mut self, session: &SessionRecord) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO sso_sessions (id, tenant_id, user_id, kid, idp_groups, created_at, expires_at, ended_at, \
             environment_id) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8)",
            params![
                &session.id,
                &session.tenant_id,
                &session.user_id,
                &session.kid,
                list_text(&session.idp_groups),
                session.created_at,
                session.expires_at,
                &session.environment_id,
            ],
        )
        .await?;
        Ok(())
    }

    /// Records a successful sign-in: `lastLogin`, the status it leads to, a new version.
    pub async fn record_sign_in(
        &mut self,
        tenant_id: &TenantId,
        user_id: &UserId,
        status: UserStatus,
        now: Micros,
    ) -> Result<(), StoreError> {
        self.execute(
            "UPDATE users SET last_login_at = $1, status = $2, version = version + 1, modified_at = $1 \
             WHERE tenant_id = $3 AND id = $4 AND deleted_at IS NULL",
            params![now, status.as_str(), tenant_id, user_id],
        )
        .await?;
        Ok(())
    }
}
