//! A throw-away SQLite database file in WAL mode for the store's unit tests (writer, reader,
//! checkpointer), removed with its log when dropped, also when a test fails.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use rusqlite::Connection;

pub(super) struct TempDatabase(PathBuf);

impl TempDatabase {
    /// A new file in the temporary directory, named after `purpose`, in WAL mode.
    pub(super) fn new(purpose: &str) -> Self {
        let path = std::env::temp_dir().join(format!("{purpose}-{}.db", uuid::Uuid::new_v4()));
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "journal_mode", "wal").unwrap();
        Self(path)
    }

    pub(super) fn path(&self) -> &Path {
        &self.0
    }

    /// A read-write connection of its own.
    pub(super) fn connect(&self) -> Connection {
        Connection::open(&self.0).unwrap()
    }
}

impl Drop for TempDatabase {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut path = self.0.clone().into_os_string();
            path.push(suffix);
            std::fs::remove_file(path).ok();
        }
    }
}
