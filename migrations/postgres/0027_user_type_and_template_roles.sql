-- User types and role templates that grant roles (issue #20). A user's userType and its tenant
-- extension's roleTemplate are kept folded beside the document, so that the store works out
-- effective roles in SQL as the rules do in Rust; and a tenant maps user types to roles as it
-- maps groups.
ALTER TABLE users ADD COLUMN user_type_key TEXT;
ALTER TABLE users ADD COLUMN role_template_key TEXT;

-- The users written before.
UPDATE users SET user_type_key = lower(user_type) WHERE user_type IS NOT NULL;
UPDATE users
SET role_template_key = lower(doc::jsonb -> 'urn:ietf:params:scim:schemas:extension:gateway:2.0:User' ->> 'roleTemplate')
WHERE jsonb_typeof(doc::jsonb -> 'urn:ietf:params:scim:schemas:extension:gateway:2.0:User' -> 'roleTemplate') = 'string';

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
