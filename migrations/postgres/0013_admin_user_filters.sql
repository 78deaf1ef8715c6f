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

-- The values of users written before this table existed. A value is decoded as JSON only when
-- it parses as an object (PostgreSQL 15 has no `IS JSON`, so the test is a function that
-- catches the parse error).
CREATE FUNCTION scim_gateway_role_value(raw TEXT) RETURNS TEXT LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    parsed JSONB;
BEGIN
    BEGIN
        parsed := raw::jsonb;
    EXCEPTION WHEN others THEN
        RETURN raw;
    END;
    IF jsonb_typeof(parsed) <> 'object' THEN
        RETURN raw;
    END IF;
    RETURN COALESCE(
        CASE WHEN jsonb_typeof(parsed -> 'value') = 'string' THEN parsed ->> 'value' END,
        CASE WHEN jsonb_typeof(parsed -> 'displayName') = 'string' THEN parsed ->> 'displayName' END,
        raw);
END
$$;

INSERT INTO user_role_values (user_id, tenant_id, value_key)
SELECT u.id, u.tenant_id, lower(scim_gateway_role_value(r.value ->> 'value'))
FROM users u,
     jsonb_array_elements(CASE WHEN jsonb_typeof(u.doc::jsonb -> 'roles') = 'array'
                               THEN u.doc::jsonb -> 'roles' ELSE '[]'::jsonb END) r
WHERE u.deleted_at IS NULL
  AND jsonb_typeof(r.value -> 'value') = 'string'
ON CONFLICT DO NOTHING;

DROP FUNCTION scim_gateway_role_value(TEXT);
