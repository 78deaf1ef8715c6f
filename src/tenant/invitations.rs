//! Invitations (SPEC §4 statuses, §6): an invited user gets a single-use link that leads to the
//! tenant's SSO login for them. Issued when the user is created, reissued on request (the old
//! link stops working), ended by the first sign-in. Only a hash of the link's secret is kept;
//! the link itself goes to the host product in an `invitation.issued` event, which delivers it.
//!
//! A link's secret begins with the time it was issued (`inv_`, 13 hex digits of microseconds,
//! `.`, then 32 random bytes), and the invitation is stored under that time followed by the
//! secret's hash (`lookup_key`). Why: stored under the hash alone, every create put its
//! invitation into a random leaf of the index; with userNames, externalIds and emails arriving
//! in order (as wrk sends them), a fifth of the log pages creates wrote were that index's
//! (issue #21). Ordered by time, new invitations go to the end of the index. Links issued
//! before carry no time and are still found under their hash.

use super::audit;
use super::document::primary_email;
use super::events::new_event;
use super::operators::{AdminActor, AdminPermission, tenant_for};
use super::status::UserStatus;
use super::tokens::{TokenSecret, hash_token, new_secret};
use super::{Caller, TenantError};
use crate::clock::datetime_of;
use crate::scim::resource::format_datetime;
use crate::store::{EventRecord, InvitationRecord, Micros, Store, Tx, UserId, UserRecord};

/// Marks a secret as an invitation's (so one pasted in the wrong place is recognised).
const INVITATION_MARKER: &str = "inv_";
/// Hex digits of the issue time at the start of a link's secret (microseconds: until 2255).
const ISSUED_DIGITS: usize = 13;

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

/// An invitation made, not yet stored: the key it is stored under, its record, the event telling
/// the host product its link, and the link itself.
pub(super) struct PreparedInvitation {
    pub lookup_key: String,
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
    let secret = new_link_secret(now);
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
        lookup_key: lookup_key(secret.expose()),
        record,
        event,
        issued: IssuedInvitation {
            user_name: user.user_name.clone(),
            link,
            expires_at,
        },
    }
}

/// A new link's secret, issued at `now`.
fn new_link_secret(now: Micros) -> TokenSecret {
    let issued = u64::try_from(now).unwrap_or_default();
    new_secret(&format!("{INVITATION_MARKER}{issued:0ISSUED_DIGITS$x}."))
}

/// The key the invitation of the link secret `secret` is stored under: the secret's issue time,
/// `.` and its hash; only the hash for a secret without a time (issued before the time was
/// added, or made up).
fn lookup_key(secret: &str) -> String {
    let issued = secret
        .strip_prefix(INVITATION_MARKER)
        .and_then(|rest| rest.split_once('.'))
        .map(|(issued, _)| issued)
        .filter(|issued| {
            issued.len() == ISSUED_DIGITS
                && issued
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        });
    match issued {
        Some(issued) => format!("{issued}.{}", hash_token(secret)),
        None => hash_token(secret),
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
    tx.insert_invitations(&[(prepared.lookup_key, prepared.record)])
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
    let found = store.invitation_by_key(&lookup_key(secret)).await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invitations_are_stored_in_the_order_their_links_were_issued() {
        let issued_at = 1_796_646_084_609_770;
        // Microseconds apart, and a digit far up the time apart: the random part never decides.
        let times = [0, 1, 2, 16, 255, 4_096, 1 << 40].map(|later| issued_at + later);
        let mut keys: Vec<(String, Micros)> = times
            .iter()
            .flat_map(|&now| (0..5).map(move |_| (lookup_key(new_link_secret(now).expose()), now)))
            .collect();
        for (key, now) in &keys {
            assert!(key.starts_with(&format!("{now:013x}.")), "{key}");
            assert_eq!(key.len(), ISSUED_DIGITS + 1 + 64, "{key}");
        }
        keys.sort();
        let issued_in_key_order: Vec<Micros> = keys.iter().map(|(_, now)| *now).collect();
        assert!(
            issued_in_key_order.is_sorted(),
            "keys out of issue order: {keys:?}"
        );
    }

    #[test]
    fn a_link_without_an_issue_time_is_looked_up_by_its_hash_alone() {
        let issued_before = format!("{INVITATION_MARKER}{}", "A".repeat(43));
        for secret in [
            issued_before.as_str(),
            "inv_",
            "inv_.",
            "inv_madeup",
            "inv_0000000000000",
            "inv_000000000000.x",
            "inv_ABCDEF0123456.x",
            "inv_00000000000g0.x",
            "inv_é€000000000.x",
            "scgw_0000000000000.x",
        ] {
            assert_eq!(lookup_key(secret), hash_token(secret), "{secret}");
        }
    }
}
