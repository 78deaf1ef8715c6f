//! The user status lifecycle (SPEC §4): invited → active on first sign-in; `active: false`
//! suspends; `active: true` restores `active`, or `invited` if the user never signed in.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Invited,
    Active,
    Suspended,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Invited => "invited",
            Status::Active => "active",
            Status::Suspended => "suspended",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "invited" => Some(Status::Invited),
            "active" => Some(Status::Active),
            "suspended" => Some(Status::Suspended),
            _ => None,
        }
    }

    /// SCIM `active` is true for invited and active users.
    pub fn scim_active(self) -> bool {
        self != Status::Suspended
    }

    /// The status of a newly provisioned user; `active` absent counts as true.
    pub fn on_create(active: Option<bool>) -> Self {
        match active {
            Some(false) => Status::Suspended,
            _ => Status::Invited,
        }
    }

    /// The status after a client sets `active` (or leaves it out, which changes nothing).
    pub fn after_update(self, active: Option<bool>, has_signed_in: bool) -> Self {
        match active {
            None => self,
            Some(false) => Status::Suspended,
            Some(true) if self != Status::Suspended => self,
            Some(true) if has_signed_in => Status::Active,
            Some(true) => Status::Invited,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Status::*;
    use super::*;

    #[test]
    fn the_lifecycle_follows_active() {
        assert_eq!(Status::on_create(None), Invited);
        assert_eq!(Status::on_create(Some(false)), Suspended);
        assert_eq!(Invited.after_update(Some(false), false), Suspended);
        assert_eq!(Suspended.after_update(Some(true), false), Invited);
        assert_eq!(Suspended.after_update(Some(true), true), Active);
        assert_eq!(Active.after_update(Some(true), true), Active);
        assert_eq!(Active.after_update(None, true), Active);
        assert!(!Suspended.scim_active() && Invited.scim_active());
    }
}
