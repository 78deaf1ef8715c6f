-- The tenant's role catalog (roles and role templates with their permissions), group-to-role
-- mappings by group displayName, and roles an admin assigned to a user.

CREATE TABLE roles (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    name_key    TEXT NOT NULL,
    description TEXT,
    permissions TEXT NOT NULL,
    is_template BOOLEAN NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    CONSTRAINT roles_tenant_name_key UNIQUE (tenant_id, name_key)
);

-- By group name, not id: an admin maps "Sales" before any IdP has pushed the group.
CREATE TABLE group_role_mappings (
    tenant_id      TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    group_name_key TEXT NOT NULL,
    group_name     TEXT NOT NULL,
    role_id        TEXT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    created_at     BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, group_name_key, role_id)
);

CREATE TABLE user_role_assignments (
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role_id     TEXT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    assigned_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, role_id)
);
