-- User types and role templates that grant roles (issue #20). A user's userType and its tenant
-- extension's roleTemplate are kept folded beside the document, so that the store works out
-- effective roles in SQL as the rules do in Rust; and a tenant maps user types to roles as it
-- maps groups.
ALTER TABLE users ADD COLUMN user_type_key TEXT;
ALTER TABLE users ADD COLUMN role_template_key TEXT;

-- The users written before. SQLite's lower() folds ASCII only, where the gateway folds all of
-- Unicode: a user type or template with other capitals is found once its user is next written.
UPDATE users SET user_type_key = lower(user_type) WHERE user_type IS NOT NULL;
UPDATE users
SET role_template_key = lower(json_extract(doc, '$."urn:ietf:params:scim:schemas:extension:gateway:2.0:User".roleTemplate'))
WHERE json_type(doc, '$."urn:ietf:params:scim:schemas:extension:gateway:2.0:User".roleTemplate') = 'text';

CREATE INDEX users_tenant_user_type_idx ON users (tenant_id, user_type_key, id)
    WHERE deleted_at IS NULL;
CREATE INDEX users_tenant_role_template_idx ON users (tenant_id, role_template_key, id)
    WHERE deleted_at IS NULL;

-- By the user type's name: an admin maps "supervisor" before any IdP has pushed one.
CREATE TABLE user_type_role_mappings (
    tenant_id     TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_type_key TEXT NOT NULL,
    user_type     TEXT NOT NULL,
    role_id       TEXT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, user_type_key, role_id)
);
CREATE INDEX user_type_role_mappings_role_idx ON user_type_role_mappings (role_id);

-- The fixed planner statistics of migration 0024, for the new indexes: a user type is shared by
-- many users of a tenant, a template by fewer.
INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES
    ('users', 'users_tenant_user_type_idx', '1000000 100000 20000 1'),
    ('users', 'users_tenant_role_template_idx', '1000000 100000 5000 1'),
    ('user_type_role_mappings', 'sqlite_autoindex_user_type_role_mappings_1', '1000 100 2 1'),
    ('user_type_role_mappings', 'user_type_role_mappings_role_idx', '1000 2');
