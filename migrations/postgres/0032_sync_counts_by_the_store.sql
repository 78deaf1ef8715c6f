-- On SQLite the store now adds to the sync and tolerance counters itself, in the statement after
-- the audit events it appends, and that engine's triggers are dropped (its migration 0032 says
-- why). PostgreSQL keeps its triggers (migration 0028): they run inside the server, where a
-- statement of the store's would cost each write one more round trip. Nothing changes here; the
-- version keeps both engines' migrations in step.
SELECT 1;
