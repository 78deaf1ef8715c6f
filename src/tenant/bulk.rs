//! Running a Bulk request (RFC 7644 §3.7): each operation through the same use-case (and so the
//! same rules, seat limits included) as its single-request form, in its own transaction, in
//! request order except where a `bulkId` reference makes an operation wait for the one it names.

use std::collections::HashMap;

use super::audit::WriteContext;
use super::invitations::InvitationPolicy;
use super::{Caller, TenantError, groups, users};
use crate::scim::bulk::{BulkMethod, BulkOperation, BulkRequest, references, substitute};
use crate::scim::filter::FilterLimits;
use crate::scim::resource::etag_of;
use crate::scim::schema::Registry;
use crate::store::{GroupId, Micros, Store, UserId};

/// The outcome of one operation; the HTTP layer turns `error` into the SCIM error body.
#[derive(Debug)]
pub struct OpOutcome {
    pub method: BulkMethod,
    pub bulk_id: Option<String>,
    pub location: Option<String>,
    pub version: Option<String>,
    /// The status of a success; a failure's comes from its error, mapped by the HTTP layer.
    pub status: u16,
    pub error: Option<TenantError>,
}

impl OpOutcome {
    /// The operation found the request's token revoked or expired (inside its transaction).
    pub fn refused_the_token(&self) -> bool {
        matches!(self.error, Some(TenantError::TokenNoLongerValid))
    }
}

enum Target {
    Users(Option<UserId>),
    Groups(Option<GroupId>),
}

fn target(path: &str) -> Option<Target> {
    let trimmed = path.trim().trim_end_matches('/');
    let mut parts = trimmed.trim_start_matches('/').splitn(2, '/');
    let kind = parts.next()?;
    let id = parts
        .next()
        .filter(|id| !id.is_empty() && !id.contains('/'));
    match kind {
        "Users" => Some(Target::Users(id.map(UserId::new))),
        "Groups" => Some(Target::Groups(id.map(GroupId::new))),
        _ => None,
    }
}

/// What every operation of a Bulk request runs with.
#[derive(Clone, Copy)]
pub struct BulkScope<'a> {
    pub store: &'a Store,
    pub registry: &'a Registry,
    pub caller: &'a Caller,
    /// The tenant's SCIM base URL, for each operation's `location`.
    pub base_url: &'a str,
    pub invitations: &'a InvitationPolicy,
}

/// Runs the operations; `clock` gives each its own time. An operation that finds the request's
/// token revoked or expired ends the request there, as `failOnErrors` does: every later one
/// would be refused alike.
pub async fn run_bulk(
    scope: &BulkScope<'_>,
    request: BulkRequest,
    limits: FilterLimits,
    clock: impl Fn() -> Micros,
) -> Vec<OpOutcome> {
    let declared: Vec<String> = request
        .operations
        .iter()
        .filter_map(|o| o.bulk_id.clone())
        .collect();
    let mut pending: Vec<(usize, BulkOperation)> =
        request.operations.into_iter().enumerate().collect();
    let mut outcomes: Vec<Option<OpOutcome>> = (0..pending.len()).map(|_| None).collect();
    let mut created: HashMap<String, String> = HashMap::new();
    let mut errors = 0;
    let stop_after = request.fail_on_errors.unwrap_or(usize::MAX);
    'rounds: while !pending.is_empty() {
        let mut progressed = false;
        let mut waiting = Vec::new();
        for (index, mut op) in std::mem::take(&mut pending) {
            if errors >= stop_after {
                break 'rounds;
            }
            let refs = references(&op);
            let unresolvable = refs
                .iter()
                .find(|r| !declared.contains(r) || failed(&outcomes, r));
            let outcome = if let Some(r) = unresolvable {
                progressed = true;
                refused(
                    &op,
                    409,
                    format!("the bulkId reference '{r}' names no operation that succeeded"),
                )
            } else if refs.iter().all(|r| created.contains_key(r)) {
                progressed = true;
                substitute(&mut op, &created);
                let outcome = execute(scope, &op, limits, clock()).await;
                if let (Some(bulk_id), Some(location)) = (&op.bulk_id, &outcome.location)
                    && outcome.error.is_none()
                    && let Some(id) = location.rsplit('/').next()
                {
                    created.insert(bulk_id.clone(), id.to_string());
                }
                outcome
            } else {
                waiting.push((index, op));
                continue;
            };
            if outcome.error.is_some() {
                errors += 1;
            }
            let token_dead = outcome.refused_the_token();
            if let Some(slot) = outcomes.get_mut(index) {
                *slot = Some(outcome);
            }
            if token_dead {
                break 'rounds;
            }
        }
        if !progressed {
            // What is left waits on itself: circular references.
            for (index, op) in waiting {
                if let Some(slot) = outcomes.get_mut(index) {
                    *slot = Some(refused(
                        &op,
                        409,
                        "circular bulkId references cannot be resolved".into(),
                    ));
                }
            }
            break;
        }
        pending = waiting;
    }
    outcomes.into_iter().flatten().collect()
}

/// Whether the operation with this bulkId ran and failed.
fn failed(outcomes: &[Option<OpOutcome>], bulk_id: &str) -> bool {
    outcomes
        .iter()
        .flatten()
        .any(|o| o.bulk_id.as_deref() == Some(bulk_id) && o.error.is_some())
}

fn refused(op: &BulkOperation, status: u16, detail: String) -> OpOutcome {
    OpOutcome {
        method: op.method,
        bulk_id: op.bulk_id.clone(),
        location: None,
        version: None,
        status,
        error: Some(TenantError::Scim(crate::scim::ScimError::new(
            status, None, detail,
        ))),
    }
}

async fn execute(
    scope: &BulkScope<'_>,
    op: &BulkOperation,
    limits: FilterLimits,
    now: Micros,
) -> OpOutcome {
    let BulkScope {
        store,
        registry,
        caller,
        base_url,
        invitations,
    } = *scope;
    let caller = Caller {
        request_summary: Some(format!("Bulk {} {}", op.method.as_str(), op.path)),
        ..caller.clone()
    };
    let data = op.data.clone().unwrap_or_default();
    let version = op.version.as_deref();
    let done = |status: u16, location: Option<String>, etag: Option<String>| OpOutcome {
        method: op.method,
        bulk_id: op.bulk_id.clone(),
        location,
        version: etag,
        status,
        error: None,
    };
    let (Some(user_schemas), Some(group_schemas)) =
        (registry.user(), registry.resource_schemas("Group"))
    else {
        return refused(op, 500, "the schemas are missing".into());
    };
    let user_done = |status: u16, u: users::User| {
        done(
            status,
            Some(format!("{base_url}/Users/{}", u.id)),
            Some(etag_of(u.version)),
        )
    };
    let group_done = |status: u16, g: groups::Group| {
        done(
            status,
            Some(format!("{base_url}/Groups/{}", g.id)),
            Some(etag_of(g.version)),
        )
    };
    let users_ctx = WriteContext {
        store,
        schemas: user_schemas,
        caller: &caller,
        now,
        invitations: Some(invitations),
    };
    let groups_ctx = WriteContext {
        schemas: group_schemas,
        ..users_ctx
    };
    let result = match (op.method, target(&op.path)) {
        (BulkMethod::Post, Some(Target::Users(None))) => users::create_user(&users_ctx, &data)
            .await
            .map(|u| user_done(201, u)),
        (BulkMethod::Post, Some(Target::Groups(None))) => groups::create_group(&groups_ctx, &data)
            .await
            .map(|g| group_done(201, g)),
        (BulkMethod::Put, Some(Target::Users(Some(id)))) => {
            users::replace_user(&users_ctx, &id, &data, version)
                .await
                .map(|updated| user_done(200, updated.user))
        }
        (BulkMethod::Put, Some(Target::Groups(Some(id)))) => {
            groups::replace_group(&groups_ctx, &id, &data, version)
                .await
                .map(|g| group_done(200, g))
        }
        (BulkMethod::Patch, Some(Target::Users(Some(id)))) => {
            users::patch_user(&users_ctx, &id, &data, version, limits)
                .await
                .map(|updated| user_done(200, updated.user))
        }
        (BulkMethod::Patch, Some(Target::Groups(Some(id)))) => {
            groups::patch_group(&groups_ctx, &id, &data, version, limits)
                .await
                .map(|g| group_done(200, g))
        }
        (BulkMethod::Delete, Some(Target::Users(Some(id)))) => {
            users::delete_user(&users_ctx, &id, version)
                .await
                .map(|()| done(204, Some(format!("{base_url}/Users/{id}")), None))
        }
        (BulkMethod::Delete, Some(Target::Groups(Some(id)))) => {
            groups::delete_group(&groups_ctx, &id, version)
                .await
                .map(|()| done(204, Some(format!("{base_url}/Groups/{id}")), None))
        }
        (_, Some(_)) => {
            return refused(
                op,
                400,
                format!("{} is not allowed on '{}'", op.method.as_str(), op.path),
            );
        }
        (_, None) => {
            return refused(
                op,
                404,
                format!("'{}' is not a Users or Groups path", op.path),
            );
        }
    };
    result.unwrap_or_else(|error| OpOutcome {
        method: op.method,
        bulk_id: op.bulk_id.clone(),
        location: None,
        version: None,
        status: 0, // replaced by the mapped error's status
        error: Some(error),
    })
}
