-- Two fewer index entries for most new users, and one fewer for every invitation (issue #21).
-- A create writes every index page its user lands on into the log at its commit; with four
-- clients that was 53 pages a commit, two or three creates.
--
-- Most users have no user type and no role template, and nothing looks users up by a missing
-- one (the roles are worked out by joining on equal keys), so only users that have one are
-- indexed: a query that asks for a key still uses the index, since `key = ?` implies the key is
-- not NULL.
DROP INDEX users_tenant_user_type_idx;
CREATE INDEX users_tenant_user_type_idx ON users (tenant_id, user_type_key, id)
    WHERE deleted_at IS NULL AND user_type_key IS NOT NULL;
DROP INDEX users_tenant_role_template_idx;
CREATE INDEX users_tenant_role_template_idx ON users (tenant_id, role_template_key, id)
    WHERE deleted_at IS NULL AND role_template_key IS NOT NULL;

-- Ending a user's open invitations reads the user's few invitations through
-- invitations_user_idx (which the cascade from users needs anyway); a second index of the open
-- ones saved nothing.
DROP INDEX invitations_open_idx;

-- Dropping an index drops its fixed planner statistics (migrations 0024 and 0027): the same again.
DELETE FROM sqlite_stat1
WHERE idx IN ('users_tenant_user_type_idx', 'users_tenant_role_template_idx', 'invitations_open_idx');
INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES
    ('users', 'users_tenant_user_type_idx', '1000000 100000 20000 1'),
    ('users', 'users_tenant_role_template_idx', '1000000 100000 5000 1');
