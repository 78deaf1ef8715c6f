-- Operator-wide webhook endpoints read every tenant's events in feed order. On SQLite that is
-- `seq`, the rowid: no index is needed. This migration keeps both engines' numbering in step.
SELECT 1;
