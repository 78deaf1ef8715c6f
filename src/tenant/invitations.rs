//! Invitations (SPEC §4 statuses, §6): an invited user gets a single-use link that leads to the
//! tenant's SSO login for them. Issued when the user is created, reissued on request (the old
//! link stops working), ended by the first sign-in. Only a hash of the link's secret is kept;
//! the link itself goes to the host product in an `invitation.issued` event, which delivers it.

use super::audit;
use super::document::primary_email;
use super::events::new_event;
use super::operators::{AdminActor, AdminPermission, tenant_for};
use super::status::UserStatus;
use super::tokens::{hash_token, new_secret};
use super::{Caller, TenantError};
use crate::clock::datetime_of;
use crate::scim::resource::format_datetime;
use crate::store::{EventRecord, InvitationRecord, Micros, Store, Tx, UserId, UserRecord};

/// Marks a secret as an invitation's (so one pasted in the wrong place is recognised).
const INVITATION_MARKER: &str = "inv_";

/// How long an invitation lasts when not configured: seven days.
pub const DEFAULT_INVITATION_TTL_HOURS: u64 = 7 * 24;

/// Where invitation links point and how long they last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitationPolicy {
    /// The URL people reach the gateway at, without a trailing slash.
    pub public_url: String,
    pub ttl: Micros,
}

impl InvitationPolicy {
    pub fn new(public_url: &str, ttl_hours: u64) -> Self {
        let hours = i64::try_from(ttl_hours).unwrap_or(i64::MAX);
        Self {
            public_url: public_url.trim_end_matches('/').to_string(),
            ttl: hours.saturating_mul(3_600_000_000),
        }
    }
}

/// A link just issued: shown once (to the admin who asked, and in the event).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedInvitation {
    /// Whose it is.
    pub user_name: String,
    pub link: String,
    pub expires_at: Micros,
}

/// An invitation made, not yet stored: the hash of its secret, its record, the event telling
/// the host product its link, and the link itself.
pub(super) struct PreparedInvitation {
    pub token_hash: String,
    pub record: InvitationRecord,
    pub event: EventRecord,
    pub issued: IssuedInvitation,
}

/// A new invitation for `user`, with its `invitation.issued` event.
pub(super) fn prepare(
    caller: &Caller,
    policy: &InvitationPolicy,
    user: &UserRecord,
    now: Micros,
) -> PreparedInvitation {
    let secret = new_secret(INVITATION_MARKER);
    let expires_at = now.saturating_add(policy.ttl);
    let record = InvitationRecord {
        tenant_id: caller.tenant.id.clone(),
        user_id: user.id.clone(),
        issued_at: now,
        expires_at,
        ended_at: None,
        ended_how: None,
    };
    let link = format!(
        "{}/sso/{}/invite/{}",
        policy.public_url,
        caller.tenant.slug,
        secret.expose()
    );
    let mut event = new_event(caller, "invitation.issued", now);
    event.resource_type = Some("User".into());
    event.resource_id = Some(user.id.to_string());
    event.resource_version = Some(user.version);
    event
        .data
        .insert("userName".into(), user.user_name.clone().into());
    if let Some(email) = primary_email(&user.doc) {
        event.data.insert("email".into(), email.into());
    }
    event.data.insert("link".into(), link.clone().into());
    event.data.insert(
        "expiresAt".into(),
        format_datetime(datetime_of(expires_at)).into(),
    );
    PreparedInvitation {
        token_hash: hash_token(secret.expose()),
        record,
        event,
        issued: IssuedInvitation {
            user_name: user.user_name.clone(),
            link,
            expires_at,
        },
    }
}

/// Issues `user` a new invitation in `tx`, ending the open one as replaced.
async fn reissue_in(
    tx: &mut Tx,
    caller: &Caller,
    policy: &InvitationPolicy,
    user: &UserRecord,
    now: Micros,
) -> Result<IssuedInvitation, TenantError> {
    tx.end_open_invitation(&user.id, "replaced", now).await?;
    let prepared = prepare(caller, policy, user, now);
    tx.insert_invitations(&[(prepared.token_hash, prepared.record)])
        .await?;
    tx.insert_event(&prepared.event).await?;
    Ok(prepared.issued)
}

/// Which user an admin means: by id (the API, the pages) or by userName (the CLI).
#[derive(Debug, Clone, Copy)]
pub enum UserRef<'a> {
    Id(&'a UserId),
    Name(&'a str),
}

/// Issues a new invitation to an invited user of tenant `slug` (the old link stops working),
/// audited as `user.invite` by `actor`. A user who has signed in, or is suspended, has none to
/// resend. Needs `users:manage`.
pub async fn resend(
    store: &Store,
    actor: &AdminActor,
    slug: &str,
    user: UserRef<'_>,
    policy: &InvitationPolicy,
    now: Micros,
) -> Result<IssuedInvitation, TenantError> {
    let tenant = tenant_for(store, actor, slug, AdminPermission::UsersManage).await?;
    let caller = actor.caller_in(tenant, format!("resend invitation in {slug}"));
    let tenant_id = &caller.tenant.id;
    let mut tx = store.begin().await?;
    let found = match user {
        UserRef::Id(id) => tx.user_for_update(tenant_id, id).await?,
        UserRef::Name(name) => tx.user_by_name_for_update(tenant_id, name).await?,
    };
    let user = found.ok_or_else(|| match user {
        UserRef::Id(id) => TenantError::NotFound(format!("User {id}")),
        UserRef::Name(name) => TenantError::NotFound(format!("User '{name}'")),
    })?;
    if user.status != UserStatus::Invited {
        return Err(TenantError::NotInvited {
            user_name: user.user_name,
            status: user.status.as_str(),
        });
    }
    let issued = reissue_in(&mut tx, &caller, policy, &user, now).await?;
    let mut event = audit::event(&caller, "user.invite", now);
    event.actor = actor.label();
    event.target_type = Some("User".into());
    event.target_id = Some(user.id.to_string());
    event.target_name = Some(user.user_name.clone());
    event.reason =
        Some("a new invitation link was issued; the previous one no longer works".into());
    tx.insert_audit(&event).await?;
    tx.commit().await?;
    Ok(issued)
}

/// Why an invitation link does not lead to a sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvitationRefusal {
    /// No such link in this tenant (a mistyped, made-up or another tenant's link).
    #[error("this invitation link is not valid")]
    Unknown,
    #[error("this invitation has already been used: sign in as usual")]
    Used,
    #[error("this invitation was replaced by a newer one: use the link in the latest invitation")]
    Replaced,
    #[error("this invitation has expired: ask your administrator to send a new one")]
    Expired,
    #[error("this invitation is no longer valid: the account was suspended or removed")]
    Withdrawn,
}

/// What a valid link leads to: the tenant's sign-in for this user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedInvitation {
    pub user_name: String,
}

/// Checks the invitation link `secret` of the tenant `slug`. Opening it does not use it up: the
/// sign-in it leads to does.
pub async fn open(
    store: &Store,
    slug: &str,
    secret: &str,
    now: Micros,
) -> Result<Result<OpenedInvitation, InvitationRefusal>, TenantError> {
    let Some(tenant) = store.tenant_by_slug(slug).await? else {
        return Ok(Err(InvitationRefusal::Unknown));
    };
    let found = store.invitation_by_hash(&hash_token(secret)).await?;
    let Some(invitation) = found.filter(|i| i.tenant_id == tenant.id) else {
        return Ok(Err(InvitationRefusal::Unknown));
    };
    let refusal = match invitation.ended_how.as_deref() {
        Some("used") => Some(InvitationRefusal::Used),
        Some(_) => Some(InvitationRefusal::Replaced),
        None if invitation.expires_at <= now => Some(InvitationRefusal::Expired),
        None => None,
    };
    if let Some(refusal) = refusal {
        return Ok(Err(refusal));
    }
    Ok(
        match store.user_by_id(&tenant.id, &invitation.user_id).await? {
            Some(user) if user.status == UserStatus::Invited => Ok(OpenedInvitation {
                user_name: user.user_name,
            }),
            Some(user) if user.status == UserStatus::Active => Err(InvitationRefusal::Used),
            _ => Err(InvitationRefusal::Withdrawn),
        },
    )
}
