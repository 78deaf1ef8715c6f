-- Two fewer index entries for most new users, and one fewer for every invitation (issue #21; see
-- the SQLite migration of the same number).
--
-- Most users have no user type and no role template, and nothing looks users up by a missing
-- one (the roles are worked out by joining on equal keys), so only users that have one are
-- indexed: `key = $1` implies the key is not NULL, and the planner uses the index for it.
DROP INDEX users_tenant_user_type_idx;
CREATE INDEX users_tenant_user_type_idx ON users (tenant_id, user_type_key, id)
    WHERE deleted_at IS NULL AND user_type_key IS NOT NULL;
DROP INDEX users_tenant_role_template_idx;
CREATE INDEX users_tenant_role_template_idx ON users (tenant_id, role_template_key, id)
    WHERE deleted_at IS NULL AND role_template_key IS NOT NULL;

-- Ending a user's open invitations reads the user's few invitations through
-- invitations_user_idx (which the cascade from users needs anyway).
DROP INDEX invitations_open_idx;
