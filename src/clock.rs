//! The one place that reads the wall clock; everything else receives `now` as microseconds.

use time::OffsetDateTime;

/// Microseconds since the Unix epoch, UTC: the one time representation of the gateway, and of
/// both database engines.
pub type Micros = i64;

pub fn now_micros() -> Micros {
    micros_of(OffsetDateTime::now_utc())
}

pub fn micros_of(t: OffsetDateTime) -> Micros {
    i64::try_from(t.unix_timestamp_nanos() / 1000).unwrap_or(i64::MAX)
}

pub fn datetime_of(micros: Micros) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}
