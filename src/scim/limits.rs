//! The sizes of attribute values a request may carry (SPEC §8): every string, the values of a
//! multi-valued attribute, the members one PATCH operation names. Explicit and configurable, so
//! that one client cannot store a megabyte in a `displayName` or ten thousand `emails` that
//! every later read then carries.

use super::{ScimError, ScimType};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttributeLimits {
    /// Characters (not bytes) in one string value; binary values (certificates) are bounded
    /// only by the body size.
    pub max_string_chars: usize,
    /// Values of one multi-valued attribute (`emails`, `skills`, `roles`, …); a group's
    /// `members` are bounded by `max_members_per_operation` and the body size instead.
    pub max_values: usize,
    /// Members one PATCH operation adds, removes or replaces.
    pub max_members_per_operation: usize,
}

impl Default for AttributeLimits {
    fn default() -> Self {
        Self {
            max_string_chars: 2_048,
            max_values: 100,
            max_members_per_operation: 1_000,
        }
    }
}

impl AttributeLimits {
    /// `invalidValue` for a string of `label` over the limit.
    pub fn check_string(&self, label: &str, text: &str) -> Result<(), ScimError> {
        // A string has no more characters than bytes: count only when it could be over.
        if text.len() > self.max_string_chars && text.chars().count() > self.max_string_chars {
            return Err(ScimError::invalid_value(format!(
                "'{label}' is longer than the limit of {} characters",
                self.max_string_chars
            )));
        }
        Ok(())
    }

    /// `invalidValue` for a multi-valued attribute `label` with more values than the limit.
    pub fn check_values(&self, label: &str, count: usize) -> Result<(), ScimError> {
        if count > self.max_values {
            return Err(ScimError::invalid_value(format!(
                "'{label}' has {count} values, more than the limit of {}",
                self.max_values
            )));
        }
        Ok(())
    }

    /// `tooMany` for one PATCH operation naming more members than the limit.
    pub fn check_members(&self, count: usize) -> Result<(), ScimError> {
        if count > self.max_members_per_operation {
            return Err(ScimError::bad_request(
                ScimType::TooMany,
                format!(
                    "the operation names {count} members, more than the limit of {} per operation; split it",
                    self.max_members_per_operation
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_measured_in_characters() {
        let limits = AttributeLimits {
            max_string_chars: 3,
            ..AttributeLimits::default()
        };
        assert!(limits.check_string("a", "ééé").is_ok());
        let err = limits.check_string("a", "éééé").unwrap_err();
        assert_eq!(err.scim_type, Some(ScimType::InvalidValue));
        assert!(
            err.detail.contains("limit of 3 characters"),
            "{}",
            err.detail
        );
    }
}
