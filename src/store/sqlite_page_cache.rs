//! SQLite's page cache for every connection of the process, without the sweep of the whole cache
//! that a commit after an index page split made.
//!
//! Why (issue #21): when SQLite splits B-tree pages it puts them in ascending order by swapping
//! their numbers through a spare number, the page just past the lock page (262,145 with 4 KiB
//! pages; `balance_nonroot`). Its page cache (`pcache1`) remembers the largest number it has
//! seen, and every commit asks it to drop the pages past the end of the database. With the
//! spare number remembered as the largest, that is no longer "the last few numbers" but, in its
//! own words, "the general case": it walks every hash slot and every cached page. With the
//! writer's 32 MB cache that walk (8,000+ pages, a cache miss each) ran inside the writer's hold
//! after most commits that split a page, and perf put 2–3 % of all the gateway's samples there.
//!
//! This wraps SQLite's own cache and keeps, per cache, a bound of its own on the largest page
//! number it holds, leaving out a page only while it carries the spare number. A truncation
//! past that bound has nothing to drop and is not passed on; any other is passed on unchanged.
//! The pages, their memory and their eviction stay SQLite's.

use std::ffi::{c_int, c_uint};
use std::mem::MaybeUninit;
use std::ptr;
use std::sync::OnceLock;

use rusqlite::ffi;

/// SQLite's lock page starts at this byte of the database file (`PENDING_BYTE`, 1 GiB).
const PENDING_BYTE: c_uint = 0x4000_0000;

/// The page cache SQLite was configured with before this one, which this one wraps.
struct Inner(ffi::sqlite3_pcache_methods2);

// SAFETY: SQLite's page cache methods are plain functions that may be called from any thread
// (a cache instance is used by one connection at a time); `pArg` is SQLite's own, never
// dereferenced here.
unsafe impl Send for Inner {}
// SAFETY: as for `Send`: the methods table is never changed after it is stored.
unsafe impl Sync for Inner {}

static INNER: OnceLock<Inner> = OnceLock::new();
/// Whether `install` put the wrapped cache in place.
static INSTALLED: OnceLock<bool> = OnceLock::new();

/// Whether this process's SQLite connections use the wrapped cache (false before the first
/// SQLite store opened, or when SQLite had started before it).
pub(super) fn installed() -> bool {
    INSTALLED.get().copied().unwrap_or(false)
}

/// Makes the wrapped cache the one every connection opened afterwards uses. Must run before
/// SQLite initialises (before any connection of the process opens); later it changes nothing
/// and SQLite's cache stays as it is (`installed` tells which).
pub(super) fn install() {
    INSTALLED.get_or_init(|| {
        // SAFETY: `sqlite3_config` copies the configured methods into `default` (all of whose
        // fields are options and pointers, valid when zeroed) or, once SQLite is initialised,
        // refuses with SQLITE_MISUSE and leaves it alone. The methods given to it next are
        // copied by SQLite as well.
        unsafe {
            let mut default = MaybeUninit::<ffi::sqlite3_pcache_methods2>::zeroed().assume_init();
            if ffi::sqlite3_config(ffi::SQLITE_CONFIG_GETPCACHE2, &raw mut default)
                != ffi::SQLITE_OK
                || default.xCreate.is_none()
            {
                return false;
            }
            let wrapped = ffi::sqlite3_pcache_methods2 {
                iVersion: 1,
                pArg: default.pArg,
                xInit: default.xInit,
                xShutdown: default.xShutdown,
                xCreate: Some(create),
                xCachesize: Some(cache_size),
                xPagecount: Some(page_count),
                xFetch: Some(fetch),
                xUnpin: Some(unpin),
                xRekey: Some(rekey),
                xTruncate: Some(truncate),
                xDestroy: Some(destroy),
                xShrink: Some(shrink),
            };
            if INNER.set(Inner(default)).is_err() {
                return false;
            }
            ffi::sqlite3_config(ffi::SQLITE_CONFIG_PCACHE2, &raw const wrapped) == ffi::SQLITE_OK
        }
    });
}

/// The largest page number a cache may hold, as far as this wrapper knows.
#[derive(Debug)]
struct KeyBound {
    /// The spare number `balance_nonroot` swaps page numbers through: the page after the lock
    /// page, which never holds data.
    spare: c_uint,
    /// No page in the cache has a larger number, except one carrying `spare`.
    largest: c_uint,
    /// A page carries `spare` right now (between the first and last swap of a split).
    spare_taken: bool,
}

impl KeyBound {
    fn new(page_size: c_int) -> Self {
        let page_size = c_uint::try_from(page_size).unwrap_or(0).max(1);
        Self {
            spare: PENDING_BYTE / page_size + 1,
            largest: 0,
            spare_taken: false,
        }
    }

    /// The cache created a page (or found one) numbered `key`.
    fn fetched(&mut self, key: c_uint) {
        self.largest = self.largest.max(key);
    }

    /// A page numbered `old` is now numbered `new`.
    fn renumbered(&mut self, old: c_uint, new: c_uint) {
        if old == self.spare {
            self.spare_taken = false;
        }
        if new == self.spare {
            self.spare_taken = true;
        } else {
            self.largest = self.largest.max(new);
        }
    }

    /// Whether dropping the pages numbered `limit` and above may drop any; when it may, the
    /// cache is truncated and its largest number is below `limit` afterwards.
    fn truncates(&mut self, limit: c_uint) -> bool {
        if limit > self.largest && !self.spare_taken {
            return false;
        }
        self.largest = self.largest.min(limit.saturating_sub(1));
        self.spare_taken = self.spare_taken && self.spare < limit;
        true
    }
}

/// One connection's cache: SQLite's own, its methods and the bound kept beside it.
struct Wrapped {
    inner: *mut ffi::sqlite3_pcache,
    methods: &'static ffi::sqlite3_pcache_methods2,
    bound: KeyBound,
}

/// # Safety
/// `cache` is a pointer `create` returned and `destroy` has not freed, used by one thread.
unsafe fn wrapped<'a>(cache: *mut ffi::sqlite3_pcache) -> &'a mut Wrapped {
    // SAFETY: per the function's contract.
    unsafe { &mut *cache.cast::<Wrapped>() }
}

unsafe extern "C" fn create(
    page_size: c_int,
    extra_size: c_int,
    purgeable: c_int,
) -> *mut ffi::sqlite3_pcache {
    // `install` stores the methods before SQLite can call this.
    let Some(methods) = INNER.get().map(|inner| &inner.0) else {
        return ptr::null_mut();
    };
    let Some(create) = methods.xCreate else {
        return ptr::null_mut();
    };
    // SAFETY: SQLite's own `xCreate` with SQLite's arguments.
    let cache = unsafe { create(page_size, extra_size, purgeable) };
    if cache.is_null() {
        return cache;
    }
    Box::into_raw(Box::new(Wrapped {
        inner: cache,
        methods,
        bound: KeyBound::new(page_size),
    }))
    .cast()
}

unsafe extern "C" fn cache_size(cache: *mut ffi::sqlite3_pcache, pages: c_int) {
    // SAFETY: SQLite passes a cache `create` made and `destroy` has not freed, from the one
    // connection that owns it.
    let cache = unsafe { wrapped(cache) };
    if let Some(method) = cache.methods.xCachesize {
        // SAFETY: SQLite's method on SQLite's cache.
        unsafe { method(cache.inner, pages) }
    }
}

unsafe extern "C" fn page_count(cache: *mut ffi::sqlite3_pcache) -> c_int {
    // SAFETY: as in `cache_size`.
    let cache = unsafe { wrapped(cache) };
    match cache.methods.xPagecount {
        // SAFETY: SQLite's method on SQLite's cache.
        Some(method) => unsafe { method(cache.inner) },
        None => 0,
    }
}

unsafe extern "C" fn fetch(
    cache: *mut ffi::sqlite3_pcache,
    key: c_uint,
    create_flag: c_int,
) -> *mut ffi::sqlite3_pcache_page {
    // SAFETY: as in `cache_size`.
    let cache = unsafe { wrapped(cache) };
    let Some(method) = cache.methods.xFetch else {
        return ptr::null_mut();
    };
    // SAFETY: SQLite's method on SQLite's cache with SQLite's arguments.
    let page = unsafe { method(cache.inner, key, create_flag) };
    if !page.is_null() {
        cache.bound.fetched(key);
    }
    page
}

unsafe extern "C" fn unpin(
    cache: *mut ffi::sqlite3_pcache,
    page: *mut ffi::sqlite3_pcache_page,
    discard: c_int,
) {
    // SAFETY: as in `cache_size`.
    let cache = unsafe { wrapped(cache) };
    if let Some(method) = cache.methods.xUnpin {
        // SAFETY: SQLite's method on SQLite's cache with SQLite's arguments.
        unsafe { method(cache.inner, page, discard) }
    }
}

unsafe extern "C" fn rekey(
    cache: *mut ffi::sqlite3_pcache,
    page: *mut ffi::sqlite3_pcache_page,
    old: c_uint,
    new: c_uint,
) {
    // SAFETY: as in `cache_size`.
    let cache = unsafe { wrapped(cache) };
    if let Some(method) = cache.methods.xRekey {
        // SAFETY: SQLite's method on SQLite's cache with SQLite's arguments.
        unsafe { method(cache.inner, page, old, new) };
        cache.bound.renumbered(old, new);
    }
}

unsafe extern "C" fn truncate(cache: *mut ffi::sqlite3_pcache, limit: c_uint) {
    // SAFETY: as in `cache_size`.
    let cache = unsafe { wrapped(cache) };
    if let Some(method) = cache.methods.xTruncate
        && cache.bound.truncates(limit)
    {
        // SAFETY: SQLite's method on SQLite's cache.
        unsafe { method(cache.inner, limit) }
    }
}

unsafe extern "C" fn destroy(cache: *mut ffi::sqlite3_pcache) {
    // SAFETY: `cache` came from `create` and SQLite never uses it after this call.
    let cache = unsafe { Box::from_raw(cache.cast::<Wrapped>()) };
    if let Some(method) = cache.methods.xDestroy {
        // SAFETY: SQLite's method on SQLite's cache, destroyed once.
        unsafe { method(cache.inner) }
    }
}

unsafe extern "C" fn shrink(cache: *mut ffi::sqlite3_pcache) {
    // SAFETY: as in `cache_size`.
    let cache = unsafe { wrapped(cache) };
    if let Some(method) = cache.methods.xShrink {
        // SAFETY: SQLite's method on SQLite's cache.
        unsafe { method(cache.inner) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bound for 4 KiB pages, whose spare number is 262,145.
    fn bound() -> KeyBound {
        let bound = KeyBound::new(4096);
        assert_eq!(bound.spare, 262_145);
        bound
    }

    #[test]
    fn a_split_swapping_through_the_spare_number_leaves_no_truncation_to_pass_on() {
        let mut bound = bound();
        for page in 1..=40 {
            bound.fetched(page);
        }
        // `balance_nonroot` swapping pages 40 and 12 through the spare number.
        bound.renumbered(40, bound.spare);
        bound.renumbered(12, 40);
        bound.renumbered(bound.spare, 12);
        // The commit drops what lies past the database's 40 pages: nothing.
        assert!(!bound.truncates(41));
    }

    #[test]
    fn a_truncation_at_or_below_a_cached_page_is_passed_on_and_lowers_the_bound() {
        let mut bound = bound();
        bound.fetched(30);
        assert!(!bound.truncates(31));
        assert!(bound.truncates(30));
        // Pages 21 and up are gone: a later truncation above them has nothing to drop.
        assert!(bound.truncates(21));
        assert!(!bound.truncates(21));
        bound.renumbered(5, 25);
        assert!(bound.truncates(25));
    }

    #[test]
    fn a_page_carrying_the_spare_number_is_always_truncated() {
        let mut bound = bound();
        bound.fetched(10);
        bound.renumbered(10, bound.spare);
        assert!(bound.truncates(1_000));
        // That truncation dropped it.
        assert!(!bound.truncates(1_000));
    }

    #[test]
    fn pages_past_the_lock_page_of_a_large_database_count() {
        let mut bound = bound();
        bound.fetched(300_000);
        assert!(bound.truncates(262_146));
        assert!(!bound.truncates(262_146));
    }
}
