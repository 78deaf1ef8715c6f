//! The write connection's log written in one call a commit: a VFS over SQLite's own (unix) that
//! gathers the frames a transaction appends to the write-ahead log and hands them to the file
//! together when the commit's last frame is in.
//!
//! Why (issue #21): SQLite writes each frame of a commit with two calls, its 24-byte header and
//! its page. A create touches 17 pages of the tenant's tables and indexes when four clients
//! write (a commit holds two or three creates), so its commit made about 35 `pwrite` calls while
//! every other write waited for the connection; perf put 16.5 % of the gateway's samples in
//! them. Handed over in one call, the kernel does the same copying once per commit instead of
//! once per call.
//!
//! Why it is safe: SQLite lets readers see a commit only by updating the log's index (shared
//! memory) after `sqlite3WalFrames` wrote the frames, and the commit frame is the last one it
//! writes. The frames are handed to the file when the commit frame's page is written, inside
//! that write call, before SQLite touches the index, and a failure is that call's failure: the
//! commit fails as if the disk had refused the frame. Whatever else SQLite asks of the log (a
//! read of frames the transaction spilled, a sync, its size, a truncation, closing it) first
//! writes what is gathered. Only the log of the connection opened with this VFS goes through it;
//! the database file and every other connection use SQLite's own methods unchanged, so locks
//! and the shared index stay SQLite's own.

use std::ffi::{CStr, c_int, c_void};
use std::ptr;
use std::sync::OnceLock;

use rusqlite::ffi;

/// The VFS's name, for `Connection::open_with_flags_and_vfs`.
const NAME: &CStr = c"scim-gateway-log-writes";
/// A frame header's size in the log; bytes 4–7 of it are nonzero in a commit frame's.
const FRAME_HEADER_BYTES: usize = 24;
/// Gathered bytes beyond which a long transaction's frames are written before its commit.
const MOST_GATHERED_BYTES: usize = 1 << 20;
/// The most bytes handed to the unix file in one write: it writes at most 128 KiB - 1 a call
/// (its `seekAndWriteFd` keeps 17 bits of the length; SQLite itself never writes more than a
/// 64 KiB page at once).
const MOST_BYTES_A_CALL: usize = 64 * 1024;

/// The VFS for the write connection, registered on first use; `None` when SQLite's default VFS
/// is not the unix one this wraps (the connection then uses SQLite's default as it is).
pub(super) fn vfs() -> Option<&'static CStr> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    REGISTERED.get_or_init(register).then_some(NAME)
}

fn register() -> bool {
    // SAFETY: `sqlite3_vfs_find` returns SQLite's registered default VFS (static, never freed)
    // or null. The copy keeps its methods, which ignore the VFS pointer they are given (checked
    // for the unix VFS, the only one wrapped), and reaches the original through `pAppData`. The
    // copy is leaked: SQLite keeps the pointer for the rest of the process.
    unsafe {
        let default = ffi::sqlite3_vfs_find(ptr::null());
        if default.is_null() || CStr::from_ptr((*default).zName) != c"unix" {
            return false;
        }
        let mut vfs = ptr::read(default);
        let Ok(size) = c_int::try_from(LOG_FILE_HEADER) else {
            return false;
        };
        vfs.szOsFile = size + (*default).szOsFile;
        vfs.zName = NAME.as_ptr();
        vfs.pAppData = default.cast();
        vfs.pNext = ptr::null_mut();
        vfs.xOpen = Some(open);
        ffi::sqlite3_vfs_register(Box::into_raw(Box::new(vfs)), 0) == ffi::SQLITE_OK
    }
}

/// An open log: SQLite's `sqlite3_file` with this module's methods, what is gathered, and (at
/// `LOG_FILE_HEADER` bytes from the start) the file as the unix VFS opened it.
#[repr(C)]
struct LogFile {
    base: ffi::sqlite3_file,
    gathered: *mut Gathered,
}

/// Where the unix VFS's file starts inside a `LogFile`'s allocation (8-byte aligned).
const LOG_FILE_HEADER: usize = std::mem::size_of::<LogFile>().next_multiple_of(8);

/// Frames written by SQLite and not yet handed to the file: `bytes` belong at `offset`.
#[derive(Default)]
struct Gathered {
    bytes: Vec<u8>,
    offset: i64,
    /// The last write was a commit frame's header: the next one is its page, the commit's end.
    commit_page_next: bool,
    /// Writes handed to the unix file so far (for the tests).
    writes: u64,
}

/// Opens a file: the log through `LogFile`, anything else as the unix VFS does.
unsafe extern "C" fn open(
    vfs: *mut ffi::sqlite3_vfs,
    name: ffi::sqlite3_filename,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    // SAFETY: SQLite calls this with the VFS registered above (whose `pAppData` is the unix
    // VFS) and `file` pointing at `szOsFile` bytes for the file; the unix VFS's file fits in
    // them, at their start or `LOG_FILE_HEADER` bytes in.
    unsafe {
        let unix = (*vfs).pAppData.cast::<ffi::sqlite3_vfs>();
        let Some(unix_open) = (*unix).xOpen else {
            return ffi::SQLITE_CANTOPEN;
        };
        if flags & ffi::SQLITE_OPEN_WAL == 0 {
            return unix_open(unix, name, file, flags, out_flags);
        }
        let log = file.cast::<LogFile>();
        // Null until opened: SQLite calls no method of a file whose open failed.
        (*log).base.pMethods = ptr::null();
        (*log).gathered = ptr::null_mut();
        let rc = unix_open(unix, name, inner(file), flags, out_flags);
        if rc == ffi::SQLITE_OK {
            (*log).gathered = Box::into_raw(Box::default());
            (*log).base.pMethods = &LOG_METHODS;
        }
        rc
    }
}

/// Version 1: a log has no shared memory or memory mapping of its own (the database file has).
static LOG_METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    iVersion: 1,
    xClose: Some(close),
    xRead: Some(read),
    xWrite: Some(write),
    xTruncate: Some(truncate),
    xSync: Some(sync),
    xFileSize: Some(file_size),
    xLock: Some(lock),
    xUnlock: Some(unlock),
    xCheckReservedLock: Some(check_reserved_lock),
    xFileControl: Some(file_control),
    xSectorSize: Some(sector_size),
    xDeviceCharacteristics: Some(device_characteristics),
    xShmMap: None,
    xShmLock: None,
    xShmBarrier: None,
    xShmUnmap: None,
    xFetch: None,
    xUnfetch: None,
};

/// The unix VFS's file inside a `LogFile`.
///
/// # Safety
/// `file` points at a `LogFile` allocation of the registered VFS's `szOsFile` bytes.
unsafe fn inner(file: *mut ffi::sqlite3_file) -> *mut ffi::sqlite3_file {
    // SAFETY: the allocation is `LOG_FILE_HEADER` plus the unix file's size (see `register`).
    unsafe { file.cast::<u8>().add(LOG_FILE_HEADER).cast() }
}

/// The unix file's methods.
///
/// # Safety
/// `file` is an open `LogFile`.
unsafe fn methods(file: *mut ffi::sqlite3_file) -> &'static ffi::sqlite3_io_methods {
    // SAFETY: an open unix file's methods are a static table of the unix VFS.
    unsafe { &*(*inner(file)).pMethods }
}

/// Hands what is gathered to the file; SQLite's result code.
///
/// # Safety
/// `file` is an open `LogFile`, used by one thread at a time (its connection's).
unsafe fn hand_over(file: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: `gathered` is the `LogFile`'s own box, alive while it is open.
    unsafe {
        let gathered = &mut *(*file.cast::<LogFile>()).gathered;
        if gathered.bytes.is_empty() {
            return ffi::SQLITE_OK;
        }
        let Some(unix_write) = methods(file).xWrite else {
            return ffi::SQLITE_IOERR_WRITE;
        };
        let mut rc = ffi::SQLITE_OK;
        let mut offset = gathered.offset;
        for chunk in gathered.bytes.chunks(MOST_BYTES_A_CALL) {
            let Ok(amount) = c_int::try_from(chunk.len()) else {
                rc = ffi::SQLITE_IOERR_WRITE;
                break;
            };
            rc = unix_write(inner(file), chunk.as_ptr().cast(), amount, offset);
            gathered.writes += 1;
            if rc != ffi::SQLITE_OK {
                break;
            }
            offset += i64::from(amount);
        }
        // Written or not, these bytes are done with: a failed write fails the transaction.
        gathered.bytes.clear();
        gathered.commit_page_next = false;
        rc
    }
}

unsafe extern "C" fn write(
    file: *mut ffi::sqlite3_file,
    data: *const c_void,
    amount: c_int,
    offset: i64,
) -> c_int {
    // SAFETY: SQLite passes its open log and `amount` readable bytes at `data`.
    unsafe {
        let Ok(length) = usize::try_from(amount) else {
            return ffi::SQLITE_IOERR_WRITE;
        };
        let data = std::slice::from_raw_parts(data.cast::<u8>(), length);
        let gathered = &mut *(*file.cast::<LogFile>()).gathered;
        let gathered_end = i64::try_from(gathered.bytes.len())
            .ok()
            .and_then(|length| gathered.offset.checked_add(length));
        if !gathered.bytes.is_empty() && gathered_end != Some(offset) {
            let rc = hand_over(file);
            if rc != ffi::SQLITE_OK {
                return rc;
            }
        }
        let gathered = &mut *(*file.cast::<LogFile>()).gathered;
        if gathered.bytes.is_empty() {
            gathered.offset = offset;
        }
        gathered.bytes.extend_from_slice(data);
        let ends_commit = gathered.commit_page_next && length != FRAME_HEADER_BYTES;
        gathered.commit_page_next = length == FRAME_HEADER_BYTES
            && data
                .get(4..8)
                .is_some_and(|size_after_commit| size_after_commit != [0; 4]);
        if ends_commit || gathered.bytes.len() >= MOST_GATHERED_BYTES {
            return hand_over(file);
        }
        ffi::SQLITE_OK
    }
}

unsafe extern "C" fn close(file: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: SQLite closes an open log once; its box is freed here and never used again.
    unsafe {
        let handed = hand_over(file);
        let closed = methods(file)
            .xClose
            .map_or(ffi::SQLITE_OK, |close| close(inner(file)));
        let log = file.cast::<LogFile>();
        drop(Box::from_raw((*log).gathered));
        (*log).gathered = ptr::null_mut();
        if handed != ffi::SQLITE_OK {
            handed
        } else {
            closed
        }
    }
}

/// Defines a method that hands over what is gathered, then calls the unix file's `$method`.
macro_rules! after_hand_over {
    ($name:ident, $method:ident ( $($arg:ident : $type:ty),* )) => {
        unsafe extern "C" fn $name(file: *mut ffi::sqlite3_file $(, $arg: $type)*) -> c_int {
            // SAFETY: SQLite calls methods of its open log, with the arguments the unix
            // file's method takes.
            unsafe {
                let rc = hand_over(file);
                if rc != ffi::SQLITE_OK {
                    return rc;
                }
                match methods(file).$method {
                    Some(method) => method(inner(file) $(, $arg)*),
                    None => ffi::SQLITE_MISUSE,
                }
            }
        }
    };
}

after_hand_over!(read, xRead(data: *mut c_void, amount: c_int, offset: i64));
after_hand_over!(truncate, xTruncate(size: i64));
after_hand_over!(sync, xSync(flags: c_int));
after_hand_over!(file_size, xFileSize(size: *mut i64));
after_hand_over!(lock, xLock(level: c_int));
after_hand_over!(unlock, xUnlock(level: c_int));
after_hand_over!(check_reserved_lock, xCheckReservedLock(out: *mut c_int));
after_hand_over!(file_control, xFileControl(op: c_int, arg: *mut c_void));

unsafe extern "C" fn sector_size(file: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: as in `after_hand_over`.
    unsafe {
        methods(file)
            .xSectorSize
            .map_or(0, |method| method(inner(file)))
    }
}

unsafe extern "C" fn device_characteristics(file: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: as in `after_hand_over`.
    unsafe {
        methods(file)
            .xDeviceCharacteristics
            .map_or(0, |method| method(inner(file)))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use rusqlite::{Connection, OpenFlags};

    use super::super::temp_database::TempDatabase;
    use super::*;

    /// A connection to `database` through this VFS, as the store's writer opens it.
    fn writer(database: &TempDatabase) -> Connection {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn =
            Connection::open_with_flags_and_vfs(database.path(), flags, vfs().unwrap()).unwrap();
        conn.pragma_update(None, "synchronous", "NORMAL").unwrap();
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, a TEXT, b TEXT, c BLOB); \
             CREATE INDEX IF NOT EXISTS t_a ON t (a); CREATE INDEX IF NOT EXISTS t_b ON t (b);",
        )
        .unwrap();
        conn
    }

    /// How many writes `conn`'s log handed to the file so far.
    fn log_writes(conn: &Connection) -> u64 {
        let mut file: *mut ffi::sqlite3_file = ptr::null_mut();
        // SAFETY: the file control writes the log's `sqlite3_file` pointer, opened by this VFS
        // (its methods are checked) and alive as long as `conn`, used by this thread alone.
        unsafe {
            let rc = ffi::sqlite3_file_control(
                conn.handle(),
                c"main".as_ptr(),
                ffi::SQLITE_FCNTL_JOURNAL_POINTER,
                (&raw mut file).cast(),
            );
            assert_eq!(rc, ffi::SQLITE_OK);
            assert!(ptr::eq((*file).pMethods, &raw const LOG_METHODS));
            (*(*file.cast::<LogFile>()).gathered).writes
        }
    }

    fn insert(conn: &Connection, id: i64) {
        conn.execute(
            "INSERT INTO t (id, a, b, c) VALUES (?1, ?2, ?3, zeroblob(300))",
            rusqlite::params![id, format!("a{}", id * 7919 % 1000), format!("b{id}")],
        )
        .unwrap();
    }

    fn count(conn: &Connection) -> i64 {
        conn.query_row("SELECT count(*) FROM t", [], |row| row.get(0))
            .unwrap()
    }

    #[test]
    fn each_commit_reaches_the_log_in_one_write_and_other_connections_see_it_at_once() {
        let database = TempDatabase::new("log-writes");
        let conn = writer(&database);
        let other = database.connect();
        let before = log_writes(&conn);
        for id in 0..100 {
            // Three tables' pages (the rows and two indexes): six writes a commit from SQLite.
            insert(&conn, id);
            assert_eq!(
                count(&other),
                id + 1,
                "a commit the other connection missed"
            );
        }
        assert_eq!(log_writes(&conn) - before, 100);
    }

    #[test]
    fn a_transaction_larger_than_its_cache_reads_back_what_it_spilled() {
        let database = TempDatabase::new("log-writes-spill");
        let conn = writer(&database);
        // Ten pages of cache: the transaction writes its changed pages to the log before it
        // commits, reads them back and writes some again.
        conn.pragma_update(None, "cache_size", 10).unwrap();
        conn.execute_batch("BEGIN").unwrap();
        for id in 0..3_000 {
            insert(&conn, id);
        }
        conn.execute("UPDATE t SET b = 'x' || b WHERE id % 3 = 0", [])
            .unwrap();
        conn.execute_batch("COMMIT").unwrap();
        let other = database.connect();
        assert_eq!(count(&other), 3_000);
        let changed: i64 = other
            .query_row("SELECT count(*) FROM t WHERE b LIKE 'x%'", [], |row| {
                row.get(0)
            })
            .unwrap();
        assert_eq!(changed, 1_000);
        let check: String = other
            .query_row("PRAGMA integrity_check", [], |row| row.get(0))
            .unwrap();
        assert_eq!(check, "ok");
    }

    #[test]
    fn a_transaction_rolled_back_after_spilling_leaves_the_log_readable() {
        let database = TempDatabase::new("log-writes-rollback");
        let conn = writer(&database);
        insert(&conn, 0);
        conn.pragma_update(None, "cache_size", 10).unwrap();
        conn.execute_batch("BEGIN").unwrap();
        for id in 1..2_000 {
            insert(&conn, id);
        }
        conn.execute_batch("ROLLBACK").unwrap();
        insert(&conn, 1);
        let other = database.connect();
        assert_eq!(count(&other), 2);
        let check: String = other
            .query_row("PRAGMA integrity_check", [], |row| row.get(0))
            .unwrap();
        assert_eq!(check, "ok");
    }
}
