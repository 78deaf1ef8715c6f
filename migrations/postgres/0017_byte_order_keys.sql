-- The columns filters compare and sort as text hold byte order ("C"), as SQLite does: the filter
-- compiler writes `COLLATE "C"` so both engines order text alike, and an index serves such a
-- comparison only when it has the same collation. Before this, `userName sw "ada"` on a database
-- whose default collation is anything else (C.UTF-8 included) read the whole tenant. Equality is
-- unchanged (the keys are folded by the gateway, and every collation here is deterministic).
ALTER TABLE users ALTER COLUMN user_name_key TYPE TEXT COLLATE "C";
ALTER TABLE users ALTER COLUMN display_name_key TYPE TEXT COLLATE "C";
ALTER TABLE users ALTER COLUMN external_id TYPE TEXT COLLATE "C";
ALTER TABLE user_emails ALTER COLUMN value_key TYPE TEXT COLLATE "C";
ALTER TABLE user_emails ALTER COLUMN type_key TYPE TEXT COLLATE "C";
ALTER TABLE groups ALTER COLUMN display_name_key TYPE TEXT COLLATE "C";
ALTER TABLE groups ALTER COLUMN external_id TYPE TEXT COLLATE "C";
