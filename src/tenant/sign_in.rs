//! Who may sign in through SSO (SPEC §4, §5): the provisioned user the identity provider's claim
//! names, unless suspended or deleted; an `invited` user becomes `active` on first sign-in and
//! `lastLogin` is set; an unknown user is admitted only by just-in-time provisioning within the
//! seat limit. Every outcome is written to the audit trail with its reason.

use serde_json::{Map, Value, json};

use super::audit::{self, WriteContext};
use super::events::{self, UserEventType};
use super::status::UserStatus;
use super::users::{insert_new_user, new_user_record, new_user_records};
use super::{Caller, TenantError};
use crate::scim::CORE_USER_URN;
use crate::scim::schema::ResourceSchemas;
use crate::store::{AuditRecord, Micros, SessionRecord, Store, StoreError, TenantId, UserRecord};

/// Why a sign-in is refused; the text is shown to the person signing in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No provisioned user matches, and just-in-time provisioning is off.
    Unknown {
        claim: String,
        value: String,
    },
    Suspended,
    Deleted,
    /// Just-in-time provisioning would exceed the seat limit.
    SeatLimit {
        limit: i64,
    },
    /// The claim matches several users (e.g. one's userName and another's email).
    Ambiguous {
        claim: String,
        value: String,
    },
    /// The ID token lacks the claim the tenant identifies users by.
    MissingClaim {
        claim: String,
    },
    /// An agency user signing in to an environment below their tenant that they do not reach
    /// (an override there takes their access away, or their tenant is not above it).
    NoEnvironmentAccess,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Unknown { claim, value } => write!(
                f,
                "no user with {claim} '{value}' has been provisioned in this organisation; ask your administrator for access"
            ),
            Refusal::Suspended => write!(f, "your account is suspended in this organisation"),
            Refusal::Deleted => write!(f, "your account has been removed from this organisation"),
            Refusal::SeatLimit { limit } => write!(
                f,
                "this organisation has used all of its {limit} seats (seat limit {limit} reached); ask your administrator"
            ),
            Refusal::Ambiguous { claim, value } => write!(
                f,
                "{claim} '{value}' matches more than one user of this organisation; ask your administrator"
            ),
            Refusal::MissingClaim { claim } => write!(
                f,
                "the identity provider did not send the '{claim}' claim this organisation identifies users by"
            ),
            Refusal::NoEnvironmentAccess => write!(
                f,
                "your agency account has no access to this environment; ask the environment's administrator"
            ),
        }
    }
}

/// What can stop a sign-in: a refusal (audited), or a failure underneath.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("{0}")]
    Refused(Refusal),
    #[error(transparent)]
    Tenant(#[from] TenantError),
}

impl From<StoreError> for SignInError {
    fn from(err: StoreError) -> Self {
        SignInError::Tenant(TenantError::Store(err))
    }
}

/// How the claim value finds the user.
#[derive(Debug, Clone)]
pub struct SignInRequest {
    /// The claim's name, for messages and the audit trail.
    pub claim: String,
    /// The claim's value; `None` when the ID token lacks it.
    pub value: Option<String>,
    /// Also match the users' email addresses (ignoring case).
    pub by_email: bool,
    /// Also match externalId (exactly).
    pub by_external_id: bool,
    /// Create an unknown user, within the seat limit.
    pub jit: bool,
    /// The ID token's claims, for the profile of a user created just in time.
    pub claims: Map<String, Value>,
}

/// The session to open, decided before the sign-in so that it is written in the same
/// transaction.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub id: String,
    pub kid: String,
    pub idp_groups: Vec<String>,
    /// The environment below the tenant an agency user signs in to.
    pub environment_id: Option<TenantId>,
    pub expires_at: Micros,
}

/// Signs a user in: finds or (JIT) creates them, records the login and opens the session, all in
/// one transaction; or refuses, and records why.
pub async fn sign_in(
    store: &Store,
    schemas: ResourceSchemas<'_>,
    caller: &Caller,
    request: &SignInRequest,
    session: &NewSession,
    now: Micros,
) -> Result<UserRecord, SignInError> {
    match try_sign_in(store, schemas, caller, request, session, now).await {
        Ok(user) => Ok(user),
        Err(err) => {
            let reason = match &err {
                SignInError::Refused(refusal) => Some(refusal.to_string()),
                SignInError::Tenant(e) if e.is_rejection() => Some(e.to_string()),
                SignInError::Tenant(_) => None,
            };
            if let Some(reason) = reason {
                record_refusal(store, caller, &reason, 403, request.value.clone(), now).await;
            }
            Err(err)
        }
    }
}

/// Records a sign-in that failed before a user could be looked for (bad ID token, provider
/// error): the tenant's admins see those too.
pub async fn record_failed_sign_in(
    store: &Store,
    caller: &Caller,
    reason: &str,
    status: u16,
    now: Micros,
) {
    record_refusal(store, caller, reason, status, None, now).await;
}

/// A refused sign-in's audit record and event, in a transaction of their own (the refused one
/// was rolled back). A failure to record is logged, never allowed to hide the refusal.
async fn record_refusal(
    store: &Store,
    caller: &Caller,
    reason: &str,
    status: u16,
    claim_value: Option<String>,
    now: Micros,
) {
    let mut event = login_event(caller, now, None);
    event.outcome = "rejected".into();
    event.http_status = i64::from(status);
    event.reason = Some(reason.to_string());
    let told = events::sign_in_refused_event(caller, reason, claim_value.as_deref(), now);
    event.target_name = claim_value;
    let recorded = async {
        let mut tx = store.begin().await?;
        tx.insert_audit(&event).await?;
        tx.insert_event(&told).await?;
        tx.commit().await
    };
    if let Err(err) = recorded.await {
        tracing::error!(error = %err, "could not record a refused sign-in");
    }
}

fn login_event(caller: &Caller, now: Micros, user: Option<&UserRecord>) -> AuditRecord {
    let mut event = audit::event(caller, "sso.login", now);
    event.target_type = Some("User".into());
    event.target_id = user.map(|u| u.id.to_string());
    event.target_name = user.map(|u| u.user_name.clone());
    event
}

async fn try_sign_in(
    store: &Store,
    schemas: ResourceSchemas<'_>,
    caller: &Caller,
    request: &SignInRequest,
    session: &NewSession,
    now: Micros,
) -> Result<UserRecord, SignInError> {
    let Some(value) = request.value.clone().filter(|v| !v.is_empty()) else {
        return Err(SignInError::Refused(Refusal::MissingClaim {
            claim: request.claim.clone(),
        }));
    };
    let tenant_id = &caller.tenant.id;
    let mut tx = store.begin().await?;
    let mut candidates = tx
        .sign_in_candidates(tenant_id, &value, request.by_email, request.by_external_id)
        .await?;
    let (mut user, mut event) = match candidates.len() {
        0 => {
            if tx.tombstone_matches(tenant_id, &value).await? {
                return Err(SignInError::Refused(Refusal::Deleted));
            }
            if !request.jit {
                return Err(SignInError::Refused(Refusal::Unknown {
                    claim: request.claim.clone(),
                    value,
                }));
            }
            let ctx = WriteContext {
                store,
                schemas,
                caller,
                now,
                invitations: None,
            };
            let user = create_just_in_time(&mut tx, &ctx, request, &value).await?;
            let mut event = login_event(caller, now, Some(&user));
            event.reason = Some("created just in time".into());
            (user, event)
        }
        1 => {
            let user = candidates.remove(0);
            let event = login_event(caller, now, Some(&user));
            (user, event)
        }
        _ => {
            // userName wins over email addresses; several users by email alone is ambiguous.
            let by_name: Vec<UserRecord> = candidates
                .into_iter()
                .filter(|u| u.user_name.to_lowercase() == value.to_lowercase())
                .collect();
            match <[UserRecord; 1]>::try_from(by_name) {
                Ok([user]) => {
                    let event = login_event(caller, now, Some(&user));
                    (user, event)
                }
                Err(_) => {
                    return Err(SignInError::Refused(Refusal::Ambiguous {
                        claim: request.claim.clone(),
                        value,
                    }));
                }
            }
        }
    };
    let status = user.status;
    if status == UserStatus::Suspended {
        return Err(SignInError::Refused(Refusal::Suspended));
    }
    if let Some(environment) = &session.environment_id {
        // Checked before anything is recorded: a refused agency user's sign-in changes nothing
        // at the agency either.
        let reached = tx.inherited_roles(environment, &user.id).await?;
        if reached.is_none_or(|held| held.overridden && held.roles.is_empty()) {
            return Err(SignInError::Refused(Refusal::NoEnvironmentAccess));
        }
    }
    tx.record_sign_in(tenant_id, &user.id, UserStatus::Active, now)
        .await?;
    tx.move_status(tenant_id, status, UserStatus::Active)
        .await?;
    if status == UserStatus::Invited {
        // The first sign-in is what an invitation was for: its link is used up.
        tx.end_open_invitation(&user.id, "used", now).await?;
        event.changed_attributes = vec!["status".into(), "lastLogin".into()];
    } else {
        event.changed_attributes = vec!["lastLogin".into()];
    }
    user.status = UserStatus::Active;
    user.last_login_at = Some(now);
    tx.insert_session(&SessionRecord {
        id: session.id.clone(),
        tenant_id: tenant_id.clone(),
        user_id: user.id.clone(),
        kid: session.kid.clone(),
        idp_groups: session.idp_groups.clone(),
        environment_id: session.environment_id.clone(),
        created_at: now,
        expires_at: session.expires_at,
        ended_at: None,
    })
    .await?;
    tx.insert_audit(&event).await?;
    // As `record_sign_in` wrote it.
    user.version += 1;
    user.modified_at = now;
    let signed_in = events::user_event(
        caller,
        schemas,
        UserEventType::SignedIn,
        &user,
        &event.changed_attributes,
        now,
    );
    tx.insert_event(&signed_in).await?;
    tx.commit().await?;
    Ok(user)
}

/// Creates the user an unknown claim names, from the ID token's profile claims, taking a seat.
async fn create_just_in_time(
    tx: &mut crate::store::Tx,
    ctx: &WriteContext<'_>,
    request: &SignInRequest,
    user_name: &str,
) -> Result<UserRecord, SignInError> {
    let claim = |name: &str| request.claims.get(name).and_then(Value::as_str);
    let mut body = Map::new();
    body.insert("schemas".into(), json!([CORE_USER_URN]));
    body.insert("userName".into(), user_name.into());
    if let Some(email) = claim("email") {
        body.insert(
            "emails".into(),
            json!([{"value": email, "type": "work", "primary": true}]),
        );
    }
    let mut name = Map::new();
    if let Some(given) = claim("given_name") {
        name.insert("givenName".into(), given.into());
    }
    if let Some(family) = claim("family_name") {
        name.insert("familyName".into(), family.into());
    }
    if !name.is_empty() {
        body.insert("name".into(), Value::Object(name));
    }
    if let Some(display) = claim("name") {
        body.insert("displayName".into(), display.into());
    }
    let (user, tolerances) =
        new_user_record(ctx.schemas, ctx.caller, &Value::Object(body), ctx.now)?;
    let mut records = new_user_records(ctx, &user, &tolerances);
    records.audit.reason = Some("created just in time at sign-in".to_string());
    insert_new_user(tx, ctx, &user, records, None)
        .await
        .map_err(|e| match e {
            TenantError::SeatLimitReached { limit } => {
                SignInError::Refused(Refusal::SeatLimit { limit })
            }
            other => SignInError::Tenant(other),
        })?;
    Ok(user)
}
