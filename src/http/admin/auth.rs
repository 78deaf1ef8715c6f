//! Who calls the admin API: an operator token, or a tenant admin's gateway session, as a bearer
//! token. A SCIM token is no admin credential, whatever tenant it belongs to.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::clock::now_micros;
use crate::http::error::AdminError;
use crate::http::extract::bearer_token;
use crate::sso::SsoError;
use crate::state::AppState;
use crate::tenant::TenantError;
use crate::tenant::operators::{self, AdminActor, OPERATOR_TOKEN_MARKER};

/// The authenticated caller of an admin route; the route then asks for its permission.
pub struct Admin(pub AdminActor);

impl FromRequestParts<AppState> for Admin {
    type Rejection = AdminError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AdminError> {
        let token = bearer_token(&parts.headers).ok_or(TenantError::Unauthenticated)?;
        let now = now_micros();
        if token.starts_with(OPERATOR_TOKEN_MARKER) {
            return operators::authenticate_operator(&state.store, &token, now)
                .await?
                .map(Admin)
                .ok_or(AdminError(TenantError::Unauthenticated));
        }
        match state.sso.admin_of_session(&state.store, &token, now).await {
            Ok(actor) => Ok(Admin(actor)),
            Err(SsoError::Store(err)) => Err(AdminError(TenantError::Store(err))),
            Err(SsoError::Tenant(err @ TenantError::Store(_))) => Err(AdminError(err)),
            // Anything else is a token that is not a live session: a SCIM token, garbage, a
            // session that ended or whose user was suspended.
            Err(_) => Err(AdminError(TenantError::Unauthenticated)),
        }
    }
}
