//! Every difference between SQLite's SQL and PostgreSQL's, as methods of one type: a new engine,
//! or a new kind of fragment, is written here once. (Whole statements that differ, such as the
//! migrations, live with their engine in `sqlite.rs` and `postgres.rs`.)

use super::filter_sql::Kind;

/// The SQL engine behind a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// A JSON path literal naming `segments`: `'$."a"."b"'` on SQLite, `'{"a","b"}'` on
    /// PostgreSQL.
    pub(super) fn json_path(self, segments: &[String]) -> String {
        let quoted: Vec<String> = segments.iter().map(|s| format!("\"{s}\"")).collect();
        match self {
            Dialect::Sqlite => format!("'$.{}'", quoted.join(".")),
            Dialect::Postgres => format!("'{{{}}}'", quoted.join(",")),
        }
    }

    /// The value at `segments` in the JSON `source` (the value itself when `segments` is empty),
    /// typed for comparison as `kind`.
    pub(super) fn json_value(self, source: &str, segments: &[String], kind: Kind) -> String {
        match self {
            Dialect::Sqlite if segments.is_empty() => source.to_string(),
            Dialect::Sqlite => format!("json_extract({source}, {})", self.json_path(segments)),
            Dialect::Postgres => {
                let text = if segments.is_empty() {
                    format!("({source} #>> '{{}}')")
                } else {
                    format!("({source} #>> {})", self.json_path(segments))
                };
                match kind {
                    Kind::Boolean => format!("({text})::boolean"),
                    Kind::Number => format!("({text})::numeric"),
                    _ => text,
                }
            }
        }
    }

    /// "Some element of the array at `path` in the user's folded document satisfies
    /// `condition`", each element as `j.value`.
    pub(super) fn some_element(self, path: &[String], condition: &str) -> String {
        let path = self.json_path(path);
        match self {
            Dialect::Sqlite => format!(
                "EXISTS (SELECT 1 FROM json_each(u.doc_folded, {path}) j WHERE {condition})"
            ),
            Dialect::Postgres => format!(
                "EXISTS (SELECT 1 FROM jsonb_array_elements(COALESCE(u.doc_folded::jsonb #> {path}, \
                 '[]'::jsonb)) j WHERE {condition})"
            ),
        }
    }

    /// The user's case-folded document as JSON the engine's functions read.
    pub(super) fn folded_document(self) -> &'static str {
        match self {
            Dialect::Sqlite => "u.doc_folded",
            Dialect::Postgres => "u.doc_folded::jsonb",
        }
    }

    /// The literal `false` as a JSON-extracted boolean compares with.
    pub(super) fn false_literal(self) -> &'static str {
        match self {
            Dialect::Sqlite => "0",
            Dialect::Postgres => "false",
        }
    }

    /// What makes text order by bytes on both engines, whatever PostgreSQL's default collation.
    pub(super) fn byte_order(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => " COLLATE \"C\"",
        }
    }

    /// `text` contains `part`.
    pub(super) fn contains(self, text: &str, part: &str) -> String {
        match self {
            Dialect::Sqlite => format!("instr({text}, {part}) > 0"),
            Dialect::Postgres => format!("strpos({text}, {part}) > 0"),
        }
    }

    /// `text` ends with `part`.
    pub(super) fn ends_with(self, text: &str, part: &str) -> String {
        match self {
            Dialect::Sqlite => format!("substr({text}, -length({part})) = {part}"),
            Dialect::Postgres => format!("right({text}, length({part})) = {part}"),
        }
    }

    /// Whether an email lookup reads the email index first (SQLite: `u.id IN (…)` built a
    /// temporary table per lookup; PostgreSQL plans `IN` as a semi-join and keeps it).
    pub(super) fn starts_email_lookups_from_the_index(self) -> bool {
        self == Dialect::Sqlite
    }

    /// The column holding a user's groups as a JSON list of `[id, displayName]`: read with the
    /// user, so that an answer that shows `groups` costs one query, not two (sorted in Rust).
    pub(super) fn member_of_column(self) -> &'static str {
        match self {
            Dialect::Sqlite => {
                "(SELECT json_group_array(json_array(g.id, g.display_name)) \
                 FROM group_members m JOIN groups g ON g.id = m.group_id WHERE m.member_id = u.id) AS member_of"
            }
            Dialect::Postgres => {
                "(SELECT COALESCE(json_agg(json_build_array(g.id, g.display_name)), \
                 '[]'::json)::text FROM group_members m JOIN groups g ON g.id = m.group_id WHERE m.member_id = u.id) \
                 AS member_of"
            }
        }
    }

    /// What a read of a row to be changed adds to lock it until the transaction ends. SQLite's
    /// write transactions already hold the database's write lock (`BEGIN IMMEDIATE`).
    pub(super) fn row_lock(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE",
        }
    }

    /// What a read of a tenant's row adds so that its settings cannot change before the
    /// transaction ends, while other writers of the tenant go on (PostgreSQL's weakest row lock;
    /// `Tx::update_tenant_settings` takes the strongest, which waits for it).
    pub(super) fn settings_lock(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR KEY SHARE",
        }
    }

    /// The statement that makes the creates of one tenant (`$1`) with a seat limit take turns
    /// until each commits: a transaction-scoped advisory lock on PostgreSQL; SQLite's one writer
    /// already does.
    pub(super) fn seat_turn(self) -> Option<&'static str> {
        match self {
            Dialect::Sqlite => None,
            Dialect::Postgres => Some("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))"),
        }
    }

    /// Whether the creates of a tenant with a seat limit take seats from quotas handed out to
    /// each connection ahead (PostgreSQL, migration 0030), rather than all taking turns: SQLite's
    /// one writer takes turns anyway.
    pub(super) fn seat_quotas(self) -> bool {
        matches!(self, Dialect::Postgres)
    }

    /// Whether one writer runs every write transaction of the database in turn (SQLite), so that
    /// what a transaction reads before it writes still holds when it commits.
    pub(super) fn one_writer_at_a_time(self) -> bool {
        matches!(self, Dialect::Sqlite)
    }

    /// The shard of a tenant's user counts this transaction adds to: on PostgreSQL its
    /// connection's own (by backend, of 64), so concurrent writers of one tenant do not queue on
    /// one row; SQLite's one writer keeps one.
    pub(super) fn counts_shard(self) -> &'static str {
        match self {
            Dialect::Sqlite => "0",
            Dialect::Postgres => "(pg_backend_pid() % 64)",
        }
    }

    /// Whether triggers on the audit trail add to the sync and tolerance counters (PostgreSQL,
    /// migrations 0012–0028: inside the server they cost no round trip) rather than the store,
    /// after appending the events (SQLite, migration 0032: its triggers made SQLite journal
    /// every page the audit insert touched).
    pub(super) fn sync_counted_by_triggers(self) -> bool {
        matches!(self, Dialect::Postgres)
    }

    /// The event feed's position columns (`txid`, `seq`). SQLite appends one transaction at a
    /// time, so `seq` is in commit order and the txid is always 0. PostgreSQL's transactions
    /// commit in another order than they took their `seq`: the feed orders by the writing
    /// transaction's id and shows only transactions older than the oldest one still running
    /// (`feed_settled`), which are all finished, so nothing can later appear before them.
    pub(super) fn feed_position(self) -> &'static str {
        match self {
            Dialect::Sqlite => "0 AS txid, seq",
            Dialect::Postgres => "txid, seq",
        }
    }

    /// The condition that keeps the feed to events whose order is final (see `feed_position`).
    pub(super) fn feed_settled(self) -> &'static str {
        match self {
            Dialect::Sqlite => "TRUE",
            Dialect::Postgres => "txid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint",
        }
    }

    /// Events after the position (`txid`, `seq` placeholders).
    pub(super) fn feed_after(self, txid: &str, seq: &str) -> String {
        match self {
            Dialect::Sqlite => format!("seq > {seq}"),
            Dialect::Postgres => format!("(txid, seq) > ({txid}, {seq})"),
        }
    }

    /// The feed's order, oldest first (or newest first).
    pub(super) fn feed_order(self, newest_first: bool) -> &'static str {
        match (self, newest_first) {
            (Dialect::Sqlite, false) => "seq",
            (Dialect::Sqlite, true) => "seq DESC",
            (Dialect::Postgres, false) => "txid, seq",
            (Dialect::Postgres, true) => "txid DESC, seq DESC",
        }
    }

    /// What a read of rows to be claimed adds so that concurrent claimers pass over each
    /// other's rows instead of waiting for them. SQLite's writer lock already serializes them.
    pub(super) fn skip_locked(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
        }
    }

    /// A time comparison told to the planner as selecting few rows, where the engine needs
    /// telling: SQLite's statistics cannot size a time range, and "changed since" (incremental
    /// sync) selects few, so its time index wins over walking the tenant in id order.
    pub(super) fn few_rows(self, test: &str) -> Option<String> {
        match self {
            Dialect::Sqlite => Some(format!("likelihood({test}, 0.001)")),
            Dialect::Postgres => None,
        }
    }
}
