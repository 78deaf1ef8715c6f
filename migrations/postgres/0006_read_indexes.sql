-- Indexes for reads found costly at a million users.

-- The start-up backfill of folded documents asks for users without one. Without an index that is
-- a scan of every user at every start (over a second at a million users); this partial index is
-- empty once the backfill is done, so the question costs nothing.
CREATE INDEX users_doc_folded_missing ON users (id) WHERE doc_folded IS NULL;

-- Entra looks users up by `emails[type eq "work"].value eq "…"`: with the type and the user id in
-- the index, the lookup never reads the email rows themselves (one random page fewer).
CREATE INDEX user_emails_lookup_idx ON user_emails (tenant_id, value_key, type_key, user_id);
DROP INDEX user_emails_tenant_value_idx;
