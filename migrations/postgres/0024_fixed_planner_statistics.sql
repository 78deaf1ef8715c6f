-- Query plans that do not depend on when statistics were gathered (issue #21).
--
-- The lookups by externalId and displayName take the id as their last index column, so their
-- index both finds the rows and gives the list order. The gateway also gives each lookup table
-- its first statistics within seconds of its first 50 rows (src/store/statistics.rs).
DROP INDEX users_tenant_external_id_idx;
CREATE INDEX users_tenant_external_id_idx ON users (tenant_id, external_id, id) WHERE deleted_at IS NULL;
DROP INDEX users_tenant_display_name_idx;
CREATE INDEX users_tenant_display_name_idx ON users (tenant_id, display_name_key, id) WHERE deleted_at IS NULL;
DROP INDEX groups_tenant_external_id_idx;
CREATE INDEX groups_tenant_external_id_idx ON groups (tenant_id, external_id, id);
