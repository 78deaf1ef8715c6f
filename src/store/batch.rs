//! Multi-row INSERTs: many records of one kind in a few statements, so that a batch of an
//! import costs a few round trips to the database instead of one per record.

use sqlx::AssertSqlSafe;

use super::read::placeholders;
use super::{SqlParam, StoreError, Tx, bind_params, on_tx};

/// Most parameters one statement binds (SQLite allows 32766, PostgreSQL 65535).
const MAX_PARAMS: usize = 30_000;

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
        for chunk in params.chunks(rows_per_statement * width.max(1)) {
            let rows = chunk.len() / width.max(1);
            let mut sql = String::with_capacity(head.len() + rows * (width * 6 + 4));
            sql.push_str(head);
            for row in 0..rows {
                if row > 0 {
                    sql.push_str(", ");
                }
                sql.push('(');
                sql.push_str(&placeholders(row * width + 1, width));
                sql.push(')');
            }
            on_tx!(self, |conn| {
                bind_params!(sqlx::query(AssertSqlSafe(sql)), chunk)
                    .execute(&mut *conn)
                    .await?;
            });
        }
        Ok(())
    }
}
