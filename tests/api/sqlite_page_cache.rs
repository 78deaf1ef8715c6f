//! SQLite's page cache as the gateway sets it up for the whole process (`sqlite_page_cache`):
//! in place once an SQLite store has opened, and SQLite on it keeps every page right through
//! splits, rolled-back growth and savepoints.

use rusqlite::Connection;
use scim_gateway::store::Store;

/// Rows of `t` as (id, value), in id order.
fn rows(conn: &Connection) -> Vec<(i64, String)> {
    let mut statement = conn.prepare("SELECT id, v FROM t ORDER BY id").unwrap();
    statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// A value that sorts far from its neighbours, so that the index on `v` splits pages out of
/// order (the splits that renumber pages through the spare number).
fn value(id: i64, generation: &str) -> String {
    format!(
        "{:016x}-{generation}-{}",
        id.wrapping_mul(0x7F4A_7C15_9E37_79B9),
        "x".repeat(300)
    )
}

#[tokio::test]
async fn sqlite_keeps_every_page_on_the_gateways_page_cache() {
    let url = crate::helpers::fresh_sqlite_url();
    let store = Store::connect(&url).await.unwrap();
    assert_eq!(store.sqlite_page_cache_wrapped(), Some(true));

    let path = url.strip_prefix("sqlite://").unwrap().to_string() + ".cache-test";
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA cache_size = -512;
         CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL);
         CREATE INDEX t_v ON t (v);",
    )
    .unwrap();
    let insert = |from: i64, to: i64, generation: &str| {
        for id in from..to {
            conn.execute(
                "INSERT INTO t (id, v) VALUES (?1, ?2)",
                (id, value(id, generation)),
            )
            .unwrap();
        }
    };

    conn.execute_batch("BEGIN").unwrap();
    insert(0, 2_000, "kept");
    conn.execute_batch("COMMIT").unwrap();
    // Growth rolled back: the pages past the database's end must leave the cache.
    conn.execute_batch("BEGIN").unwrap();
    insert(2_000, 6_000, "rolled-back");
    conn.execute_batch("ROLLBACK").unwrap();
    // A savepoint's growth rolled back inside a transaction that commits.
    conn.execute_batch("BEGIN").unwrap();
    insert(2_000, 3_000, "kept");
    conn.execute_batch("SAVEPOINT s").unwrap();
    insert(3_000, 7_000, "rolled-back");
    conn.execute_batch("ROLLBACK TO s; RELEASE s").unwrap();
    insert(3_000, 4_000, "kept");
    conn.execute_batch("COMMIT").unwrap();

    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    let expected: Vec<(i64, String)> = (0..4_000).map(|id| (id, value(id, "kept"))).collect();
    assert!(
        rows(&conn) == expected,
        "the table differs from what was committed"
    );
    // A connection with a cold cache reads the same from the file.
    let fresh = Connection::open(&path).unwrap();
    assert!(
        rows(&fresh) == expected,
        "the file differs from what was committed"
    );

    drop((conn, fresh, store));
    let store_path = url.strip_prefix("sqlite://").unwrap();
    for file in [store_path, &path] {
        for suffix in ["", "-wal", "-shm"] {
            std::fs::remove_file(format!("{file}{suffix}")).ok();
        }
    }
}
