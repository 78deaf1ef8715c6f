-- Agencies (issue #20, SPEC §2): a tenant may have a parent tenant, its agency. The roles a user
-- holds at the agency ripple down to every environment under it, computed when asked (one query
-- up the chain), never copied; an environment can override them for one agency user: the roles
-- listed here replace what the user would inherit there (and in the environments under it), an
-- override with no roles takes their access there away.
ALTER TABLE tenants ADD COLUMN parent_id TEXT REFERENCES tenants (id);
CREATE INDEX tenants_parent_idx ON tenants (parent_id) WHERE parent_id IS NOT NULL;

CREATE TABLE inherited_role_overrides (
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, user_id)
);

CREATE TABLE inherited_role_override_roles (
    tenant_id TEXT NOT NULL,
    user_id   TEXT NOT NULL,
    role_id   TEXT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    PRIMARY KEY (tenant_id, user_id, role_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES inherited_role_overrides (tenant_id, user_id) ON DELETE CASCADE
);
CREATE INDEX inherited_role_overrides_user_idx ON inherited_role_overrides (user_id);

-- An agency user signs in to an environment through the agency's identity provider: the login
-- and the session are the agency's (its callback, its user), and name the environment the session
-- is for, whose roles it carries.
ALTER TABLE sso_login_states ADD COLUMN environment_id TEXT REFERENCES tenants (id) ON DELETE CASCADE;
ALTER TABLE sso_sessions ADD COLUMN environment_id TEXT REFERENCES tenants (id) ON DELETE CASCADE;

-- The fixed planner statistics of migration 0024.
INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES
    ('tenants', 'tenants_parent_idx', '10000 10'),
    ('inherited_role_overrides', 'sqlite_autoindex_inherited_role_overrides_1', '10000 100 1'),
    ('inherited_role_overrides', 'inherited_role_overrides_user_idx', '10000 2'),
    ('inherited_role_override_roles', 'sqlite_autoindex_inherited_role_override_roles_1', '20000 200 2 1');
