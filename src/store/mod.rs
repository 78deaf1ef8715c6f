//! The one storage interface, with an SQLite side (embedded default) and a PostgreSQL side
//! (production), chosen by the database URL. Both run the same SQL text wherever the dialects
//! agree (`$n` placeholders, `RETURNING`, partial indexes); `Dialect` covers the rest.

mod admin;
mod agencies;
mod audit;
mod batch;
mod dialect;
mod error;
mod events;
mod filter_sql;
mod groups;
mod ids;
mod import_jobs;
mod invitations;
mod list_plan;
mod model;
mod page_sessions;
#[cfg(test)]
mod plan_tests;
mod postgres;
mod purge;
mod read;
mod roles;
mod row;
mod sqlite;
mod sqlite_checkpointer;
mod sqlite_log_writes;
mod sqlite_page_cache;
mod sqlite_reader;
mod sqlite_writer;
mod sso;
mod statistics;
#[cfg(test)]
mod temp_database;
mod tenants;
#[cfg(test)]
mod upgrade_tests;
mod users;
mod webhooks;

pub use agencies::{Inherited, InheritedFrom, InheritedRole};
pub use audit::{AuditEntry, AuditFilter, AuditPlace};
pub use dialect::Dialect;
pub use error::{Constraint, StoreError};
pub use events::{EventRecord, EventRows, FeedEntry, FeedPosition, FeedScope};
pub use groups::GroupPage;
pub use import_jobs::{ImportCounts, ImportJobRecord, ImportJobRow};
pub use invitations::InvitationRecord;
pub use list_plan::{FilterSubject, ListPlan, ListQuery, Narrowing, RoleHolders, plan_list};
pub use model::*;
pub use sso::{LoginStateRecord, SessionRecord, SigningKeyRecord, SsoConfig, UserClaim};
pub use users::{NewUserRows, TombstoneCursor, fold};
pub use webhooks::{AttemptRecord, DeliveryState, WebhookEndpointRecord};

use std::borrow::Cow;
use std::time::Duration;

use sqlite_writer::Refusals;
use sqlx::{PgPool, Postgres, SqlitePool, Transaction};

/// How many database connections a store holds and how long a request waits for one. A request
/// holds at most one connection at a time (its transaction's, or a read's), so `max_connections`
/// requests touch the database at once and the rest wait up to `acquire_timeout`, then get
/// `StoreError::Busy` (503 with `Retry-After`) instead of waiting on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolOptions {
    /// PostgreSQL: connections per gateway process. SQLite writes always go through one
    /// connection (see `Pools::Sqlite`), so this does not apply there.
    pub max_connections: u32,
    /// Longest wait for a connection, and on SQLite for another process's write lock.
    pub acquire_timeout: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

#[derive(Clone)]
enum Pools {
    /// Writes go through one connection (`sqlite_writer.rs`) so that SQLite never has to
    /// upgrade a read transaction to a write one (the source of `SQLITE_BUSY` under
    /// concurrency); reads use their own connections (`sqlite_reader.rs`) and see the last
    /// commit through WAL. Migrations run through sqlx's migrator on a pool of their own.
    Sqlite {
        migrations: SqlitePool,
        writer: sqlite_writer::SqliteWriter,
        reader: sqlite_reader::SqliteReader,
    },
    Postgres(PgPool),
}

/// How a process uses its database connections at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolState {
    pub engine: &'static str,
    /// Connections running a statement or holding a transaction.
    pub in_use: usize,
    pub idle: usize,
    /// Requests queued for SQLite's one write connection (PostgreSQL's pool does not say).
    pub waiting: usize,
    /// The pool's size limit (PostgreSQL); SQLite opens read connections as reads need them.
    pub max: Option<usize>,
}

/// SQLite's write-ahead log as this process's checkpoint thread last saw it (for `/metrics`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogState {
    /// Pages in the log at the thread's last round.
    pub pages: u64,
    /// Times the thread held the writes to copy the log's last pages, so that it starts over.
    pub pauses: u64,
    /// How long the writes waited for those, all together.
    pub writes_paused: std::time::Duration,
}

/// How much SQLite's one write connection was used since the process started (for `/metrics`):
/// the writes of every request pass through it one at a time, so `busy` growing by nearly a
/// second each second says the writes queue for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriterLoad {
    /// How long write requests held the connection (their statements and commits), together.
    pub busy: std::time::Duration,
    /// How long the connection, let go with requests waiting for it, took to reach the next of
    /// them (handed over, not yet running), together.
    pub handoff: std::time::Duration,
    /// Transactions committed, each holding one or more requests' writes.
    pub commits: u64,
    /// Write requests whose writes those commits held.
    pub committed_requests: u64,
}

/// A handle to the database. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    pools: Pools,
}

/// One database transaction: every write of a request happens inside one, with its audit event.
pub struct Tx {
    inner: TxInner,
}

enum TxInner {
    Sqlite(sqlite_writer::SqliteTx),
    Postgres(Transaction<'static, Postgres>),
}

/// Binds each `SqlParam` to a query, whatever the engine.
macro_rules! bind_params {
    ($query:expr, $params:expr) => {{
        let mut query = $query;
        for param in $params {
            query = match param {
                $crate::store::SqlParam::Null => query.bind(Option::<String>::None),
                $crate::store::SqlParam::OptInt(i) => query.bind(*i),
                $crate::store::SqlParam::Text(s) => query.bind(s.clone()),
                $crate::store::SqlParam::Int(i) => query.bind(*i),
                $crate::store::SqlParam::Float(f) => query.bind(*f),
                $crate::store::SqlParam::Bool(b) => query.bind(*b),
            };
        }
        query
    }};
}

pub(crate) use bind_params;

impl Store {
    /// Opens the database named by `url` (`sqlite://…` or `postgres://…`) with the default pool,
    /// creating an SQLite file if missing. Does not migrate.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, PoolOptions::default()).await
    }

    /// Opens the database named by `url` with these pool options.
    pub async fn connect_with(url: &str, options: PoolOptions) -> Result<Self, StoreError> {
        let pools = if url.starts_with("sqlite:") {
            let (migrations, writer, reader) = sqlite::connect(url, options).await?;
            Pools::Sqlite {
                migrations,
                writer,
                reader,
            }
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Pools::Postgres(postgres::connect(url, options).await?)
        } else {
            return Err(StoreError::UnsupportedUrl(url.to_string()));
        };
        Ok(Self { pools })
    }

    pub fn dialect(&self) -> Dialect {
        match self.pools {
            Pools::Sqlite { .. } => Dialect::Sqlite,
            Pools::Postgres(_) => Dialect::Postgres,
        }
    }

    /// SQLite's write-ahead log (for `/metrics`; `None` on PostgreSQL).
    pub fn log_state(&self) -> Option<LogState> {
        match &self.pools {
            Pools::Sqlite { writer, .. } => Some(writer.log_state()),
            Pools::Postgres(_) => None,
        }
    }

    /// How much SQLite's write connection was used (for `/metrics`; `None` on PostgreSQL).
    pub fn writer_load(&self) -> Option<WriterLoad> {
        match &self.pools {
            Pools::Sqlite { writer, .. } => Some(writer.load()),
            Pools::Postgres(_) => None,
        }
    }

    /// Whether this process's SQLite connections use the gateway's page cache
    /// (`sqlite_page_cache`; `None` on PostgreSQL).
    pub fn sqlite_page_cache_wrapped(&self) -> Option<bool> {
        match &self.pools {
            Pools::Sqlite { .. } => Some(sqlite_page_cache::installed()),
            Pools::Postgres(_) => None,
        }
    }

    /// This process's database connections now (for `/metrics`).
    pub fn pool_state(&self) -> PoolState {
        match &self.pools {
            Pools::Sqlite { writer, reader, .. } => {
                let (writing, waiting) = writer.use_now();
                let (reading, idle) = reader.use_now();
                PoolState {
                    engine: "sqlite",
                    in_use: writing + reading,
                    idle,
                    waiting,
                    max: None,
                }
            }
            Pools::Postgres(pool) => {
                let open = usize::try_from(pool.size()).unwrap_or(usize::MAX);
                let idle = pool.num_idle();
                PoolState {
                    engine: "postgres",
                    in_use: open.saturating_sub(idle),
                    idle,
                    waiting: 0,
                    max: usize::try_from(pool.options().get_max_connections()).ok(),
                }
            }
        }
    }

    /// Applies pending migrations (embedded in the binary).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match &self.pools {
            Pools::Sqlite { migrations, .. } => sqlite::migrator().run(migrations).await?,
            Pools::Postgres(pool) => postgres::migrator().run(pool).await?,
        }
        Ok(())
    }

    /// Starts a write transaction. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`)
    /// so that other processes on the same file wait in the busy handler instead of failing.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        self.begin_with(Refusals::Anytime).await
    }

    /// `begin` for a write whose every refusal comes before its first write (a failed statement
    /// writes nothing): on SQLite it costs no savepoint of its own; giving it up after it wrote
    /// rolls back every write committed with it (see `sqlite_writer`).
    pub async fn begin_refusing_first(&self) -> Result<Tx, StoreError> {
        self.begin_with(Refusals::BeforeWriting).await
    }

    async fn begin_with(&self, refusals: Refusals) -> Result<Tx, StoreError> {
        let inner = match &self.pools {
            Pools::Sqlite { writer, .. } => TxInner::Sqlite(writer.begin(refusals).await?),
            Pools::Postgres(pool) => TxInner::Postgres(pool.begin().await?),
        };
        Ok(Tx { inner })
    }

    /// Whether the database answers (for `/readyz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.fetch_one(
            SqlFragment::statement("SELECT 1 AS one", vec![]),
            |_| Ok(()),
        )
        .await
    }

    pub async fn close(&self) {
        match &self.pools {
            Pools::Sqlite {
                migrations, reader, ..
            } => {
                migrations.close().await;
                reader.close();
            }
            Pools::Postgres(pool) => pool.close().await,
        }
    }
}

impl Tx {
    pub async fn commit(self) -> Result<(), StoreError> {
        match self.inner {
            TxInner::Sqlite(t) => t.commit().await?,
            TxInner::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }

    /// Marks a point this transaction can roll back to without ending: one row of an import
    /// fails alone. Savepoints do not nest here; each `savepoint` is released or rolled back
    /// before the next.
    pub async fn savepoint(&mut self) -> Result<(), StoreError> {
        self.execute_text("SAVEPOINT row_write").await
    }

    /// Keeps what was written since `savepoint`.
    pub async fn release_savepoint(&mut self) -> Result<(), StoreError> {
        self.execute_text("RELEASE SAVEPOINT row_write").await
    }

    /// Undoes what was written since `savepoint` (on PostgreSQL, also after a failed statement),
    /// and ends the savepoint.
    pub async fn rollback_to_savepoint(&mut self) -> Result<(), StoreError> {
        self.execute_text("ROLLBACK TO SAVEPOINT row_write").await?;
        self.execute_text("RELEASE SAVEPOINT row_write").await
    }

    /// Ends the transaction without keeping anything (a dry run).
    pub async fn rollback(self) -> Result<(), StoreError> {
        match self.inner {
            TxInner::Sqlite(t) => t.rollback()?,
            TxInner::Postgres(t) => t.rollback().await?,
        }
        Ok(())
    }

    async fn execute_text(&mut self, sql: &'static str) -> Result<(), StoreError> {
        match &mut self.inner {
            TxInner::Sqlite(t) => t.execute_batch(sql)?,
            TxInner::Postgres(t) => {
                sqlx::raw_sql(sql).execute(&mut **t).await?;
            }
        }
        Ok(())
    }

    pub fn dialect(&self) -> Dialect {
        match self.inner {
            TxInner::Sqlite(_) => Dialect::Sqlite,
            TxInner::Postgres(_) => Dialect::Postgres,
        }
    }
}

/// The order of a list query's rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListOrder {
    /// By id: the default, and the order of cursor paging.
    Id { descending: bool },
    /// An `ORDER BY` list built by `filter_sql::order_by`, ending with the id as tie-break.
    Expression(String),
}

/// Which rows of a list query to fetch, in what order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageSpec {
    pub order: ListOrder,
    pub offset: i64,
    pub limit: i64,
    /// Keyset paging: only rows whose id is greater than this one (ordered by id).
    pub after_id: Option<String>,
    /// Every visible row matches (no filter) and the tenant's seat counter holds their number, so
    /// no COUNT needs to run.
    pub count_is_seats: bool,
}

impl PageSpec {
    /// The total when the page itself proves it: a first page that is not full holds every match.
    fn total_from_page(&self, rows: usize) -> Option<i64> {
        let rows = i64::try_from(rows).unwrap_or(i64::MAX);
        (self.offset == 0 && self.after_id.is_none() && self.limit > 0 && rows < self.limit)
            .then_some(rows)
    }
}

/// What a list query reads.
pub(crate) struct ListSource {
    pub columns: Cow<'static, str>,
    /// The `FROM` clause: the resource's table and alias, possibly joined from a side table.
    pub from: &'static str,
    /// What is visible besides the filter, with the tenant as `$1`.
    pub scope: Cow<'static, str>,
    /// The resource's id as `from` reads it: for keyset paging, for the id order, and to group by
    /// when `from` can repeat a resource.
    pub id: &'static str,
    /// `from` joins a side table, so one resource can come in several rows.
    pub repeats: bool,
}

/// The page statement of a list query over `source`, filtered by `condition` (a compiled filter
/// built with `SqlFragment::numbered_after(1)`).
pub(crate) fn page_statement(
    source: &ListSource,
    tenant_id: &TenantId,
    condition: &SqlFragment,
    spec: &PageSpec,
) -> SqlFragment {
    let mut page = tenant_and_filter_params(tenant_id, condition);
    let mut sql = String::with_capacity(512 + source.columns.len() + condition.sql.len());
    for part in [
        "SELECT ",
        &source.columns,
        " FROM ",
        source.from,
        " WHERE ",
        &source.scope,
        " AND (",
        &condition.sql,
        ")",
    ] {
        sql.push_str(part);
    }
    if let Some(after) = &spec.after_id {
        let p = page.bind(SqlParam::Text(after.clone()));
        for part in [" AND ", source.id, " > ", &p] {
            sql.push_str(part);
        }
    }
    if source.repeats {
        sql.push_str(" GROUP BY ");
        sql.push_str(source.id);
    }
    sql.push_str(" ORDER BY ");
    match &spec.order {
        ListOrder::Id { descending } => {
            sql.push_str(source.id);
            sql.push_str(if *descending { " DESC" } else { " ASC" });
        }
        ListOrder::Expression(list) => sql.push_str(list),
    }
    // SQLite's planner reads a bare `LIMIT ?` value to plan the sort, which marks the prepared
    // statement to be compiled again whenever the parameter is bound (every execution); behind
    // a CAST the value is opaque and the cached statement is reused. Found with perf: the
    // re-preparing cost a quarter of an indexed lookup.
    let limit = page.bind(SqlParam::Int(spec.limit));
    let offset = page.bind(SqlParam::Int(spec.offset));
    for part in [
        " LIMIT CAST(",
        &limit,
        " AS BIGINT) OFFSET CAST(",
        &offset,
        " AS BIGINT)",
    ] {
        sql.push_str(part);
    }
    page.sql = sql;
    page
}

/// A list statement's parameters so far: the tenant (`$1`), then the filter's.
fn tenant_and_filter_params(tenant_id: &TenantId, condition: &SqlFragment) -> SqlFragment {
    let mut params = Vec::with_capacity(condition.params.len() + 4);
    params.push(SqlParam::from(tenant_id));
    params.extend(condition.params.iter().cloned());
    SqlFragment::statement(String::new(), params)
}

/// The statement counting every match of a list query (see `page_statement`).
pub(crate) fn count_statement(
    source: &ListSource,
    tenant_id: &TenantId,
    condition: &SqlFragment,
) -> SqlFragment {
    let mut count = tenant_and_filter_params(tenant_id, condition);
    let counted = if source.repeats {
        format!("COUNT(DISTINCT {})", source.id)
    } else {
        "COUNT(*)".to_string()
    };
    count.sql = format!(
        "SELECT {counted} AS n FROM {} WHERE {} AND ({})",
        source.from, source.scope, condition.sql
    );
    count
}

/// A migrator over migrations embedded in the binary: (version, description, SQL).
fn migrator_of(files: &[(i64, &'static str, &'static str)]) -> sqlx::migrate::Migrator {
    use sqlx::SqlSafeStr;
    use sqlx::migrate::{Migration, MigrationType, Migrator};
    Migrator::with_migrations(
        files
            .iter()
            .map(|(version, description, sql)| {
                Migration::new(
                    *version,
                    (*description).into(),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

/// A document as stored, serialized in place (wrapping it in a `Value` would copy it first).
pub(crate) fn json_text(doc: &serde_json::Map<String, serde_json::Value>) -> String {
    // A map of JSON values with string keys always serializes; `Value::to_string` makes the
    // same assumption.
    serde_json::to_string(doc).unwrap_or_else(|_| String::from("{}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn both_engines_have_the_same_migration_versions() {
        let versions = |m: sqlx::migrate::Migrator| m.iter().map(|m| m.version).collect::<Vec<_>>();
        assert_eq!(
            versions(super::sqlite::migrator()),
            versions(super::postgres::migrator())
        );
        assert!(!versions(super::sqlite::migrator()).is_empty());
    }
}
