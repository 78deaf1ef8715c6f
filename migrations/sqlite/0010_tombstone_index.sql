-- Deleted users (tombstones) listed apart, newest first, without walking the live users.
CREATE INDEX users_tenant_deleted_idx ON users (tenant_id, deleted_at, id) WHERE deleted_at IS NOT NULL;
