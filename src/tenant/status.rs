//! The user status lifecycle (SPEC §4): invited → active on first sign-in; `active: false`
//! suspends; `active: true` restores `active`, or `invited` if the user never signed in.

pub use crate::store::UserStatus;

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
}
