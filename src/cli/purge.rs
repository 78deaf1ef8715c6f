//! `purge [--older-than-days N] [--audit-older-than-days N] [--events-older-than-days N]`:
//! retention of deleted users' tombstones, SSO leftovers, old sync counters and (when asked) old
//! audit events and outbox events.

use clap::Args;
use serde_json::json;

use crate::clock::now_micros;
use crate::store::Store;
use crate::tenant::purge::{Retention, purge};

const MICROS_PER_DAY: i64 = 86_400_000_000;

#[derive(Debug, Args)]
pub struct PurgeArgs {
    /// Keep tombstones of users deleted within this many days (history and reports resolve them).
    #[arg(long, default_value_t = 90)]
    pub older_than_days: u32,
    /// Also delete audit events older than this many days (default: keep the whole trail).
    #[arg(long)]
    pub audit_older_than_days: Option<u32>,
    /// Also delete outbox events (the event feed and webhook deliveries read them) older than
    /// this many days (default: keep them).
    #[arg(long)]
    pub events_older_than_days: Option<u32>,
}

pub async fn run(store: &Store, args: PurgeArgs, as_json: bool) -> anyhow::Result<()> {
    let now = now_micros();
    let before = now - i64::from(args.older_than_days) * MICROS_PER_DAY;
    let audit_before = args
        .audit_older_than_days
        .map(|days| now - i64::from(days) * MICROS_PER_DAY);
    let events_before = args
        .events_older_than_days
        .map(|days| now - i64::from(days) * MICROS_PER_DAY);
    let retention = Retention {
        tombstones_before: before,
        audit_before,
        events_before,
    };
    let report = purge(store, retention, now).await?;
    let tombstones: i64 = report.tombstones.iter().map(|(_, n)| n).sum();
    if as_json {
        println!(
            "{}",
            json!({"tombstones": tombstones, "sessions": report.sessions, "loginStates": report.login_states,
                   "auditEvents": report.audit_events, "outboxEvents": report.outbox_events,
                   "syncCounterRows": report.sync_minutes})
        );
    } else {
        eprintln!(
            "purged {tombstones} tombstones (deleted more than {} days ago), {} ended sessions, {} stale login states, \
             {} audit events, {} outbox events, {} sync counter rows",
            args.older_than_days,
            report.sessions,
            report.login_states,
            report.audit_events,
            report.outbox_events,
            report.sync_minutes
        );
    }
    Ok(())
}
