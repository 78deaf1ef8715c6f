//! The SQLite email-index rewrite: a top-level term that pins one email's value (Entra's
//! `emails[type eq "work"].value eq …`, Okta's `emails.value eq …`) becomes a condition on one
//! row of `user_emails`, so the list starts from the email index instead of `u.id IN (…)`.

use super::*;

/// A user filter term that asks for an email of one given value.
#[derive(Clone, Copy)]
pub(super) enum EmailTerm<'f> {
    /// `emails[… value eq "x" …]`: the value among the bracket's conjuncts.
    Bracket {
        path: &'f AttrPath,
        filter: &'f Filter,
    },
    /// `emails.value eq "x"` or `emails eq "x"`.
    Compare {
        path: &'f AttrPath,
        value: &'f CompValue,
    },
}

pub(super) fn email_term(term: &Filter) -> Option<EmailTerm<'_>> {
    let is_core_emails = |path: &AttrPath| {
        path.attr.eq_ignore_ascii_case("emails")
            && path
                .urn
                .as_deref()
                .is_none_or(|urn| urn.eq_ignore_ascii_case(CORE_USER_URN))
    };
    fn pins_value_inside(inner: &Filter) -> bool {
        match inner {
            Filter::Compare {
                path,
                op: CompareOp::Eq,
                value: CompValue::Str(_),
            } => {
                path.urn.is_none()
                    && path.sub_attr.is_none()
                    && path.attr.eq_ignore_ascii_case("value")
            }
            Filter::And(parts) => parts.iter().any(pins_value_inside),
            _ => false,
        }
    }
    match term {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: value @ CompValue::Str(_),
        } if is_core_emails(path)
            && path
                .sub_attr
                .as_deref()
                .is_none_or(|s| s.eq_ignore_ascii_case("value")) =>
        {
            Some(EmailTerm::Compare { path, value })
        }
        Filter::ValuePath { path, filter }
            if is_core_emails(path) && path.sub_attr.is_none() && pins_value_inside(filter) =>
        {
            Some(EmailTerm::Bracket { path, filter })
        }
        _ => None,
    }
}

impl<'a> Compiler<'a> {
    /// An email term as a condition on one email row `e`.
    pub(super) fn email_row_condition(
        &self,
        term: EmailTerm<'_>,
        out: &mut SqlFragment,
    ) -> Result<String, ScimError> {
        match term {
            EmailTerm::Bracket { path, filter } => {
                let (side, parent) = self.multi_valued(path)?;
                self.compile(filter, Scope::Side(&side, parent), out)
            }
            EmailTerm::Compare { path, value } => {
                let operand = self.resolve(path, Scope::Resource)?;
                self.comparison(&operand, path, CompareOp::Eq, value, out)
            }
        }
    }
}
