-- The sync and tolerance counters are added to by the store, in the statement after the audit
-- events it appends (Tx::insert_audits), no longer by triggers on the trail (issue #21).
--
-- A trigger makes SQLite treat the audit insert as a statement that writes several tables and
-- may fail halfway, so it opened a statement journal for it and copied every page the insert
-- and the trigger touched into it first (perf, creates with 32 clients: 1.8 % of the gateway's
-- samples in `subjournalPageIfRequired`, and the counter upsert ran as a sub-program). Counted
-- by the store, a create held the writer 79–83 µs against 86–90 (three runs each, alternating).
DROP TRIGGER audit_events_count_sync;
DROP TRIGGER audit_events_count_tolerances;
