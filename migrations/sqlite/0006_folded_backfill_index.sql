-- The start-up backfill of folded documents asks for users without one. Without an index that is
-- a scan of every user at every start (over a second at a million users); this partial index is
-- empty once the backfill is done, so the question costs nothing.
CREATE INDEX users_doc_folded_missing ON users (id) WHERE doc_folded IS NULL;
