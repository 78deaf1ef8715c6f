//! Multi-row INSERTs: many records of one kind in a few statements, so that a batch of an
//! import costs a few round trips to the database instead of one per record.

use super::read::placeholders;
use super::{Dialect, SqlParam, StoreError, Tx};

/// Most parameters one statement binds (SQLite allows 32766, PostgreSQL 65535).
const MAX_PARAMS: usize = 4000;
/// Rows up to which SQLite inserts them one statement a row.
///
/// SQLite runs a statement that writes several rows, and that a constraint may stop halfway,
/// inside a statement journal: every page it changes is first copied aside, so that a failure
/// takes back only that statement. A write request's few rows (a create's two events, a user's
/// emails, a member added) paid that copy for two or three rows (issue #21); a statement a row
/// needs no journal, since a single-row INSERT fails before it writes or not at all.
const ROW_BY_ROW_UP_TO: usize = 4;

impl Tx {
    /// Inserts rows of `width` parameters each (`params` holds them one row after another) with
    /// `head`, an `INSERT INTO table (columns) VALUES` clause, a chunk of rows per statement.
    pub(super) async fn insert_rows(
        &mut self,
        head: &str,
        width: usize,
        params: &[SqlParam],
    ) -> Result<(), StoreError> {
        let rows_per_statement = (MAX_PARAMS / width.max(1)).max(1);
        if params.is_empty() {
            return Ok(());
        }
        // SQLite finds a numbered parameter (`$7`) by walking the list of the statement's
        // names, so binding numbered ones costs the square of their number: with 8,000 a
        // statement, binding took three quarters of an import's time (perf). Anonymous `?` have
        // no names to walk.
        let anonymous = vec!["?"; width].join(", ");
        for chunk in params.chunks(rows_per_statement * width.max(1)) {
            let rows = chunk.len() / width.max(1);
            if self.dialect() == Dialect::Sqlite && rows <= ROW_BY_ROW_UP_TO {
                let sql = format!("{head}({anonymous})");
                for row in chunk.chunks(width.max(1)) {
                    self.execute_bound(&sql, row).await?;
                }
                continue;
            }
            let mut sql = String::with_capacity(head.len() + rows * (width * 6 + 4));
            sql.push_str(head);
            for row in 0..rows {
                if row > 0 {
                    sql.push_str(", ");
                }
                sql.push('(');
                match self.dialect() {
                    Dialect::Sqlite => sql.push_str(&anonymous),
                    Dialect::Postgres => sql.push_str(&placeholders(row * width + 1, width)),
                }
                sql.push(')');
            }
            self.execute_bound(&sql, chunk).await?;
        }
        Ok(())
    }
}
