//! The user status lifecycle (SPEC §4): invited → active on first sign-in; `active: false`
//! suspends; `active: true` restores `active`, or `invited` if the user never signed in.
//!
//! An admin can suspend a user too. That suspension holds whatever the identity provider sends
//! afterwards (Okta sends `active: true` with every full PUT, which would otherwise lift it the
//! next time a profile changes); the provider's `active` is still recorded, and when an admin
//! lifts the suspension the user returns to what the provider last said.

use crate::store::UserRecord;
pub use crate::store::UserStatus;

/// What a client's write that sets `active` (or leaves it out) makes of the user: their status
/// and the identity provider's `active` to remember.
pub fn after_provider_update(user: &UserRecord, active: Option<bool>) -> (UserStatus, bool) {
    let idp_active = active.unwrap_or(user.idp_active);
    if user.admin_suspended_at.is_some() {
        return (UserStatus::Suspended, idp_active);
    }
    (
        user.status
            .after_update(active, user.last_login_at.is_some()),
        idp_active,
    )
}

/// The status a user returns to when an admin lifts their suspension: what the identity
/// provider last said.
pub fn after_admin_reactivation(user: &UserRecord) -> UserStatus {
    match (user.idp_active, user.last_login_at) {
        (false, _) => UserStatus::Suspended,
        (true, Some(_)) => UserStatus::Active,
        (true, None) => UserStatus::Invited,
    }
}

impl UserStatus {
    /// The status of a newly provisioned user; `active` absent counts as true.
    pub fn on_create(active: Option<bool>) -> Self {
        match active {
            Some(false) => UserStatus::Suspended,
            _ => UserStatus::Invited,
        }
    }

    /// The status after a client sets `active` (or leaves it out, which changes nothing).
    pub fn after_update(self, active: Option<bool>, has_signed_in: bool) -> Self {
        match active {
            None => self,
            Some(false) => UserStatus::Suspended,
            Some(true) if self != UserStatus::Suspended => self,
            Some(true) if has_signed_in => UserStatus::Active,
            Some(true) => UserStatus::Invited,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::UserStatus::*;
    use super::*;

    #[test]
    fn the_lifecycle_follows_active() {
        assert_eq!(UserStatus::on_create(None), Invited);
        assert_eq!(UserStatus::on_create(Some(false)), Suspended);
        assert_eq!(Invited.after_update(Some(false), false), Suspended);
        assert_eq!(Suspended.after_update(Some(true), false), Invited);
        assert_eq!(Suspended.after_update(Some(true), true), Active);
        assert_eq!(Active.after_update(Some(true), true), Active);
        assert_eq!(Active.after_update(None, true), Active);
        assert!(!Suspended.scim_active() && Invited.scim_active());
    }

    fn user(status: UserStatus, held: bool, idp_active: bool, signed_in: bool) -> UserRecord {
        UserRecord {
            id: crate::store::UserId::new("u"),
            tenant_id: crate::store::TenantId::new("t"),
            user_name: "u".into(),
            external_id: None,
            display_name: None,
            user_type: None,
            status,
            last_login_at: signed_in.then_some(1),
            doc: serde_json::Map::new(),
            version: 1,
            created_at: 0,
            modified_at: 0,
            created_by_connection: None,
            modified_by_connection: None,
            admin_suspended_at: held.then_some(1),
            idp_active,
        }
    }

    #[test]
    fn an_admin_suspension_holds_and_the_providers_word_is_kept_for_when_it_is_lifted() {
        let held = user(Suspended, true, true, true);
        assert_eq!(after_provider_update(&held, Some(true)), (Suspended, true));
        assert_eq!(
            after_provider_update(&held, Some(false)),
            (Suspended, false)
        );
        assert_eq!(after_provider_update(&held, None), (Suspended, true));
        let free = user(Active, false, true, true);
        assert_eq!(
            after_provider_update(&free, Some(false)),
            (Suspended, false)
        );
        assert_eq!(
            after_admin_reactivation(&user(Suspended, true, true, true)),
            Active
        );
        assert_eq!(
            after_admin_reactivation(&user(Suspended, true, true, false)),
            Invited
        );
        assert_eq!(
            after_admin_reactivation(&user(Suspended, true, false, true)),
            Suspended
        );
    }
}
