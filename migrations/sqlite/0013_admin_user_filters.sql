-- What the admin users table filters by, each served by an index: a user's SCIM `roles` values
-- (decoded: Entra sends each as a JSON-encoded object; folded like role names), the users an
-- admin assigned a role, and the connection that provisioned a user.
CREATE TABLE user_role_values (
    user_id   TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    tenant_id TEXT NOT NULL,
    value_key TEXT NOT NULL,
    PRIMARY KEY (user_id, value_key)
);
CREATE INDEX user_role_values_tenant_value_idx ON user_role_values (tenant_id, value_key, user_id);
CREATE INDEX user_role_assignments_role_idx ON user_role_assignments (role_id, user_id);
CREATE INDEX users_tenant_connection_idx ON users (tenant_id, created_by_connection, id) WHERE deleted_at IS NULL;

-- The values of users written before this table existed. SQLite's lower() folds ASCII only,
-- where the gateway folds all of Unicode: a role value with other capitals pushed before this
-- migration is found again once its user is next written.
INSERT OR IGNORE INTO user_role_values (user_id, tenant_id, value_key)
SELECT u.id, u.tenant_id, lower(
    CASE
        WHEN json_valid(json_extract(r.value, '$.value'))
             AND json_type(json_extract(r.value, '$.value')) = 'object'
        THEN COALESCE(
            CASE WHEN json_type(json_extract(r.value, '$.value'), '$.value') = 'text'
                 THEN json_extract(json_extract(r.value, '$.value'), '$.value') END,
            CASE WHEN json_type(json_extract(r.value, '$.value'), '$.displayName') = 'text'
                 THEN json_extract(json_extract(r.value, '$.value'), '$.displayName') END,
            json_extract(r.value, '$.value'))
        ELSE json_extract(r.value, '$.value')
    END)
FROM users u, json_each(u.doc, '$.roles') r
WHERE u.deleted_at IS NULL
  AND json_type(u.doc, '$.roles') = 'array'
  AND json_type(r.value, '$.value') = 'text';
