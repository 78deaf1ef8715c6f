//! Identifier types: each kind of id is its own type, so that a tenant's slug passed where its
//! id is wanted, or a group's id where a user's is, does not compile:
//!
//! ```compile_fail
//! # use scim_gateway::store::{GroupId, Store, TenantId};
//! # async fn mix_up(store: &Store, tenant: &TenantId, group: &GroupId) {
//! store.user_by_id(tenant, group).await; // a group's id where a user's is wanted
//! # }
//! ```
//!
//! ```compile_fail
//! # use scim_gateway::store::{Store, UserId};
//! # async fn mix_up(store: &Store, user: &UserId) {
//! store.user_by_id("acme", user).await; // a tenant's slug where its id is wanted
//! # }
//! ```
//!
//! ```
//! # use scim_gateway::store::{Store, TenantId, UserId};
//! # async fn right(store: &Store, tenant: &TenantId, user: &UserId) {
//! store.user_by_id(tenant, user).await.ok();
//! # }
//! ```

use std::fmt;

use super::StoreError;
use super::model::SqlParam;
use super::row::{AnyRow, ColumnValue};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// An id as stored or as a client named it. Not checked: an id that names nothing
            /// finds nothing.
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                Self(id)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&$name> for SqlParam {
            fn from(id: &$name) -> Self {
                SqlParam::Text(id.0.clone())
            }
        }

        impl From<Option<&$name>> for SqlParam {
            fn from(id: Option<&$name>) -> Self {
                id.map_or(SqlParam::Null, SqlParam::from)
            }
        }

        impl From<&Option<$name>> for SqlParam {
            fn from(id: &Option<$name>) -> Self {
                SqlParam::from(id.as_ref())
            }
        }

        // Bound as text on every engine, like the `String` it wraps.
        impl<DB: sqlx::Database> sqlx::Type<DB> for $name
        where
            String: sqlx::Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <String as sqlx::Type<DB>>::type_info()
            }

            fn compatible(ty: &DB::TypeInfo) -> bool {
                <String as sqlx::Type<DB>>::compatible(ty)
            }
        }

        impl<'q, DB: sqlx::Database> sqlx::Encode<'q, DB> for $name
        where
            String: sqlx::Encode<'q, DB>,
        {
            fn encode_by_ref(
                &self,
                buf: &mut <DB as sqlx::Database>::ArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <String as sqlx::Encode<'q, DB>>::encode_by_ref(&self.0, buf)
            }
        }

        impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for $name
        where
            String: sqlx::Decode<'r, DB>,
        {
            fn decode(
                value: <DB as sqlx::Database>::ValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                <String as sqlx::Decode<'r, DB>>::decode(value).map(Self)
            }
        }

        impl ColumnValue for $name {
            fn read(row: &AnyRow<'_>, column: &str) -> Result<Self, StoreError> {
                String::read(row, column).map(Self)
            }
        }

        impl ColumnValue for Option<$name> {
            fn read(row: &AnyRow<'_>, column: &str) -> Result<Self, StoreError> {
                Option::<String>::read(row, column).map(|id| id.map($name))
            }
        }
    };
}

/// Generates new ids: time-ordered (UUIDv7), so that rows of one tenant created together sit
/// together in the primary-key index.
macro_rules! generated {
    ($($name:ident),*) => {$(
        impl $name {
            pub fn generate() -> Self {
                Self(uuid::Uuid::now_v7().to_string())
            }
        }
    )*};
}

id_type!(
    /// A tenant's internal id. Not its slug: the slug is what URLs and the CLI name.
    TenantId
);
id_type!(
    /// A SCIM User's `id`.
    UserId
);
id_type!(
    /// A SCIM Group's `id`.
    GroupId
);
id_type!(
    /// A directory connection's id.
    ConnectionId
);
id_type!(
    /// A SCIM bearer token's id (not the token, and not its visible prefix).
    TokenId
);
id_type!(
    /// A role's id in a tenant's catalog.
    RoleId
);
id_type!(
    /// An operator token's id (see `tenant::operators`).
    AdminTokenId
);
id_type!(
    /// The short visible start of a SCIM token that admins recognise it by; never the secret.
    TokenPrefix
);

generated!(
    TenantId,
    UserId,
    GroupId,
    ConnectionId,
    TokenId,
    RoleId,
    AdminTokenId
);
