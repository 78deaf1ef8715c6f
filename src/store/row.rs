//! A result row of any engine, so that one function maps a record whichever driver read it:
//! sqlx on PostgreSQL, rusqlite on SQLite (reads and write transactions alike).

use sqlx::Row;
use sqlx::postgres::PgRow;

use super::StoreError;

pub(crate) enum AnyRow<'a> {
    Postgres(&'a PgRow),
    /// A rusqlite row and its statement's column names, in order.
    SqliteRead(&'a rusqlite::Row<'a>, &'a [String]),
}

/// A column type every engine decodes the same way.
pub(crate) trait ColumnValue: Sized {
    fn read(row: &AnyRow<'_>, column: &str) -> Result<Self, StoreError>;
}

macro_rules! column_value {
    ($($ty:ty),*) => {$(
        impl ColumnValue for $ty {
            fn read(row: &AnyRow<'_>, column: &str) -> Result<Self, StoreError> {
                Ok(match row {
                    AnyRow::Postgres(r) => r.try_get(column)?,
                    AnyRow::SqliteRead(r, names) => r
                        .get(column_index(names, column)?)
                        .map_err(StoreError::Sqlite)?,
                })
            }
        }
    )*};
}

column_value!(String, Option<String>, i64, Option<i64>, bool, Option<bool>);

/// Where `column` is among a statement's column `names` (ignoring ASCII case, as SQLite does).
fn column_index(names: &[String], column: &str) -> Result<usize, StoreError> {
    names
        .iter()
        .position(|name| name.eq_ignore_ascii_case(column))
        .ok_or_else(|| StoreError::Sqlite(rusqlite::Error::InvalidColumnName(column.to_string())))
}

impl AnyRow<'_> {
    pub(crate) fn column<T: ColumnValue>(&self, column: &str) -> Result<T, StoreError> {
        T::read(self, column)
    }

    /// A stored resource document (`table.doc`): JSON text holding an object.
    pub(crate) fn document(
        &self,
        table: &str,
    ) -> Result<serde_json::Map<String, serde_json::Value>, StoreError> {
        let text: String = self.column("doc")?;
        match serde_json::from_str(&text) {
            Ok(serde_json::Value::Object(map)) => Ok(map),
            _ => Err(StoreError::Corrupt(format!(
                "{table}.doc is not a JSON object"
            ))),
        }
    }
}

impl<'a> From<&'a PgRow> for AnyRow<'a> {
    fn from(row: &'a PgRow) -> Self {
        AnyRow::Postgres(row)
    }
}
