//! Reads outside write transactions: one statement, its rows mapped by one function whichever
//! engine answered (see `row.rs`). On SQLite they go through `SqliteReader`, on PostgreSQL
//! through the sqlx pool.

use std::borrow::Cow;

use rusqlite::types::Null;
use sqlx::AssertSqlSafe;

use super::TenantId;
use super::row::AnyRow;
use super::sqlite_reader::ReadError;
use super::tenants::seats_used_of;
use super::{PageSpec, Pools, SqlFragment, SqlParam, Store, StoreError, Tx, TxInner, bind_params};

/// Most ids in one `IN (…)` list; longer lists are read in chunks.
pub(crate) const IN_LIST_CHUNK: usize = 500;

/// `$first, $first+1, …` for `n` values.
pub(crate) fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Store {
    /// Every row of `sql_of(list)` for `ids`, where `list` holds the placeholders `$1, $2, …` of
    /// one chunk of the ids (see `IN_LIST_CHUNK`), each row mapped by `map`.
    pub(crate) async fn fetch_all_for_ids<I, T, F>(
        &self,
        ids: &[I],
        sql_of: impl Fn(&str) -> String,
        map: F,
    ) -> Result<Vec<T>, StoreError>
    where
        for<'i> &'i I: Into<SqlParam>,
        F: Fn(&AnyRow<'_>) -> Result<T, StoreError> + Clone + Send + 'static,
        T: Send + 'static,
    {
        let mut out = Vec::new();
        for chunk in ids.chunks(IN_LIST_CHUNK) {
            let query = SqlFragment::statement(
                sql_of(&placeholders(1, chunk.len())),
                chunk.iter().map(Into::into).collect(),
            );
            out.extend(self.fetch_all(query, map.clone()).await?);
        }
        Ok(out)
    }

    /// Every row of `query`, each mapped by `map`.
    pub(crate) async fn fetch_all<T, F>(
        &self,
        query: SqlFragment,
        map: F,
    ) -> Result<Vec<T>, StoreError>
    where
        F: Fn(&AnyRow<'_>) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        self.fetch(query, map, false).await
    }

    /// The first row of `query`, if any, mapped by `map`.
    pub(crate) async fn fetch_optional<T, F>(
        &self,
        query: SqlFragment,
        map: F,
    ) -> Result<Option<T>, StoreError>
    where
        F: Fn(&AnyRow<'_>) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        Ok(self.fetch(query, map, true).await?.pop())
    }

    async fn fetch<T, F>(
        &self,
        query: SqlFragment,
        map: F,
        first_only: bool,
    ) -> Result<Vec<T>, StoreError>
    where
        F: Fn(&AnyRow<'_>) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        match &self.pools {
            Pools::Sqlite { reader, .. } => {
                reader
                    .read(move |conn| {
                        let mut statement = conn.prepare_cached(&query.sql)?;
                        rows_of(&mut statement, &query.params, &map, first_only)
                    })
                    .await
            }
            Pools::Postgres(pool) => {
                let statement = bind_params!(sqlx::query(AssertSqlSafe(query.sql)), &query.params);
                if first_only {
                    let row = statement.fetch_optional(pool).await?;
                    row.iter().map(|row| map(&AnyRow::Postgres(row))).collect()
                } else {
                    let rows = statement.fetch_all(pool).await?;
                    rows.iter().map(|row| map(&AnyRow::Postgres(row))).collect()
                }
            }
        }
    }

    /// The `totalResults` of a list page of `rows` rows: from the page itself when it proves it,
    /// else the seat counter when every user matches, else the result of `count`
    /// (`count_statement`), built only then.
    pub(crate) async fn page_total(
        &self,
        tenant_id: &TenantId,
        count: impl FnOnce() -> SqlFragment,
        spec: &PageSpec,
        rows: usize,
    ) -> Result<i64, StoreError> {
        match spec.total_from_page(rows) {
            Some(total) => Ok(total),
            None if spec.count_is_seats => {
                let seats = SqlFragment::statement(
                    concat!("SELECT ", seats_used_of!("$1"), " AS seats_used"),
                    vec![SqlParam::from(tenant_id)],
                );
                self.fetch_one(seats, |row| row.column("seats_used")).await
            }
            None => self.fetch_one(count(), |row| row.column("n")).await,
        }
    }

    /// How the engine would run each statement, one line per step, each line led by the
    /// statement's label: SQLite's `EXPLAIN QUERY PLAN`, PostgreSQL's `EXPLAIN` (the plan for
    /// these parameter values). Nothing is executed.
    pub(crate) async fn explain_statements(
        &self,
        statements: &[(&str, SqlFragment)],
    ) -> Result<Vec<String>, StoreError> {
        let prefix = match self.dialect() {
            super::Dialect::Sqlite => "EXPLAIN QUERY PLAN ",
            super::Dialect::Postgres => "EXPLAIN (COSTS OFF) ",
        };
        let mut lines = Vec::new();
        for (label, statement) in statements {
            let explain = SqlFragment::statement(
                format!("{prefix}{}", statement.sql),
                statement.params.clone(),
            );
            // SQLite answers (id, parent, notused, detail), PostgreSQL one text column.
            let steps = self
                .fetch_all(explain, |row| match row {
                    AnyRow::Postgres(_) => row.column::<String>("QUERY PLAN"),
                    _ => row.column::<String>("detail"),
                })
                .await?;
            lines.extend(steps.into_iter().map(|step| format!("{label}: {step}")));
        }
        Ok(lines)
    }

    /// The single row of `query` (a COUNT, a row known to exist), mapped by `map`.
    pub(crate) async fn fetch_one<T, F>(&self, query: SqlFragment, map: F) -> Result<T, StoreError>
    where
        F: Fn(&AnyRow<'_>) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        self.fetch_optional(query, map).await?.ok_or_else(|| {
            StoreError::Corrupt("a statement that always answers a row answered none".into())
        })
    }
}

/// The rows of an SQLite statement bound to `params` (the first only when `first_only`), each
/// mapped by `map`.
pub(super) fn rows_of<T>(
    statement: &mut rusqlite::Statement<'_>,
    params: &[SqlParam],
    map: impl Fn(&AnyRow<'_>) -> Result<T, StoreError>,
    first_only: bool,
) -> Result<Vec<T>, ReadError> {
    bind_statement(statement, params)?;
    // Column names once per statement: rusqlite looks a name up by asking SQLite for every
    // column's name (a mutex and a strlen each) per row.
    let names: Vec<String> = statement
        .column_names()
        .into_iter()
        .map(str::to_owned)
        .collect();
    let mut rows = statement.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(map(&AnyRow::SqliteRead(row, &names))?);
        if first_only {
            break;
        }
    }
    Ok(out)
}

/// Binds each placeholder `$n` of the statement to `params[n - 1]` (SQLite numbers `$n`
/// placeholders in order of appearance, which need not be their number), and each anonymous `?`
/// to the parameter in its position (multi-row inserts, see `batch.rs`).
pub(super) fn bind_statement(
    statement: &mut rusqlite::Statement<'_>,
    params: &[SqlParam],
) -> Result<(), rusqlite::Error> {
    for index in 1..=statement.parameter_count() {
        let param = match statement.parameter_name(index) {
            Some(name) => name
                .strip_prefix('$')
                .and_then(|number| number.parse::<usize>().ok())
                .and_then(|number| params.get(number.checked_sub(1)?)),
            None => index
                .checked_sub(1)
                .and_then(|position| params.get(position)),
        }
        .ok_or(rusqlite::Error::InvalidParameterCount(
            statement.parameter_count(),
            params.len(),
        ))?;
        match param {
            SqlParam::Null => statement.raw_bind_parameter(index, Null)?,
            SqlParam::Text(text) => statement.raw_bind_parameter(index, text)?,
            SqlParam::OptInt(value) => statement.raw_bind_parameter(index, value)?,
            SqlParam::Int(value) => statement.raw_bind_parameter(index, value)?,
            SqlParam::Float(value) => statement.raw_bind_parameter(index, value)?,
            SqlParam::Bool(value) => statement.raw_bind_parameter(index, value)?,
        }
    }
    Ok(())
}

impl Tx {
    /// `Store::fetch_all_for_ids` inside this transaction, with `more` parameters bound after
    /// each chunk's ids: `sql_of(list, first)` numbers them from `$first` on.
    pub(crate) async fn fetch_all_for_ids<I, T>(
        &mut self,
        ids: &[I],
        sql_of: impl Fn(&str, usize) -> String,
        map: impl Fn(&AnyRow<'_>) -> Result<T, StoreError> + Clone,
        more: &[SqlParam],
    ) -> Result<Vec<T>, StoreError>
    where
        for<'i> &'i I: Into<SqlParam>,
    {
        let mut out = Vec::new();
        for chunk in ids.chunks(IN_LIST_CHUNK) {
            let mut params: Vec<SqlParam> = chunk.iter().map(Into::into).collect();
            params.extend(more.iter().cloned());
            let sql = sql_of(&placeholders(1, chunk.len()), chunk.len() + 1);
            let query = SqlFragment::statement(sql, params);
            out.extend(self.fetch_all(query, map.clone()).await?);
        }
        Ok(out)
    }

    /// Runs one statement inside this transaction; returns how many rows it changed.
    pub(crate) async fn execute(
        &mut self,
        sql: impl Into<Cow<'static, str>>,
        params: Vec<SqlParam>,
    ) -> Result<u64, StoreError> {
        // Most statements are constants: SQLite runs them without copying their text.
        self.execute_bound(&sql.into(), &params).await
    }

    /// `execute` with parameters bound ahead (SQLite binds them without copying them again).
    pub(crate) async fn execute_bound(
        &mut self,
        sql: &str,
        params: &[SqlParam],
    ) -> Result<u64, StoreError> {
        match &mut self.inner {
            TxInner::Sqlite(t) => t.execute(sql, params),
            TxInner::Postgres(t) => {
                let statement = bind_params!(sqlx::query(AssertSqlSafe(sql.to_owned())), params);
                Ok(statement.execute(&mut **t).await?.rows_affected())
            }
        }
    }

    /// The first row of `query` read inside this transaction, if any, mapped by `map`.
    pub(crate) async fn fetch_optional<T>(
        &mut self,
        query: SqlFragment,
        map: impl Fn(&AnyRow<'_>) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        match &mut self.inner {
            TxInner::Sqlite(t) => Ok(t.fetch(&query.sql, &query.params, map, true)?.pop()),
            TxInner::Postgres(t) => {
                let statement = bind_params!(sqlx::query(AssertSqlSafe(query.sql)), &query.params);
                let row = statement.fetch_optional(&mut **t).await?;
                row.as_ref().map(|row| map(&AnyRow::from(row))).transpose()
            }
        }
    }

    /// Every row of `query` read inside this transaction (so it sees the transaction's own
    /// writes, and takes no second connection), each mapped by `map`.
    pub(crate) async fn fetch_all<T>(
        &mut self,
        query: SqlFragment,
        map: impl Fn(&AnyRow<'_>) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        match &mut self.inner {
            TxInner::Sqlite(t) => t.fetch(&query.sql, &query.params, map, false),
            TxInner::Postgres(t) => {
                let statement = bind_params!(sqlx::query(AssertSqlSafe(query.sql)), &query.params);
                let rows = statement.fetch_all(&mut **t).await?;
                rows.iter().map(|row| map(&AnyRow::from(row))).collect()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn placeholders_bind_by_their_number_not_their_position() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let mut statement = conn.prepare("SELECT $2 AS second, $1 AS first").unwrap();
        let params = [SqlParam::Text("one".into()), SqlParam::Int(2)];
        bind_statement(&mut statement, &params).unwrap();
        let mut rows = statement.raw_query();
        let row = rows.next().unwrap().unwrap();
        assert_eq!(row.get::<_, String>("first").unwrap(), "one");
        assert_eq!(row.get::<_, i64>("second").unwrap(), 2);
    }
}
