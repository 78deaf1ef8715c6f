-- Query plans that do not depend on when statistics were gathered (issue #21).
--
-- SQLite plans with sqlite_stat1. Gathered by ANALYZE, it describes the data of that moment: a
-- tenant loaded after it was gathered (an IdP's first sync) was planned as if it did not exist,
-- and `externalId eq` walked the whole tenant in id order instead of searching its index. Instead
-- of gathering, the statistics are written here once, describing the shape the gateway is built
-- for -- large tenants, unique or nearly unique names and ids, few groups per user -- so every
-- database, new or old, small or large, plans each statement alike, and a test pins those plans
-- (tests/api/plans.rs). The gateway no longer runs ANALYZE or `PRAGMA optimize`, which would
-- replace these rows with the data of the moment.
--
-- The lookups by externalId and displayName also take the id as their last index column, so that
-- their index gives the list order itself (as on PostgreSQL, which gathers its own statistics).
DROP INDEX users_tenant_external_id_idx;
CREATE INDEX users_tenant_external_id_idx ON users (tenant_id, external_id, id) WHERE deleted_at IS NULL;
DROP INDEX users_tenant_display_name_idx;
CREATE INDEX users_tenant_display_name_idx ON users (tenant_id, display_name_key, id) WHERE deleted_at IS NULL;
DROP INDEX groups_tenant_external_id_idx;
CREATE INDEX groups_tenant_external_id_idx ON groups (tenant_id, external_id, id);

-- Creates sqlite_stat1 when missing without reading any table.
ANALYZE sqlite_schema;
DELETE FROM sqlite_stat1;
-- Each row: the index's row count, then the rows one value of its first column selects, of its
-- first two, and so on (https://sqlite.org/fileformat2.html#stat1tab). The scale: a million users
-- in tenants of a hundred thousand, ten million audit events and events, groups of a thousand.
INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES
    ('users', 'sqlite_autoindex_users_1', '1000000 1'),
    ('users', 'users_tenant_id_idx', '1000000 100000 1'),
    ('users', 'users_tenant_user_name_key', '1000000 100000 1'),
    ('users', 'users_tenant_external_id_idx', '1000000 100000 1 1'),
    ('users', 'users_tenant_display_name_idx', '1000000 100000 2 1'),
    ('users', 'users_tenant_modified_idx', '1000000 100000 2'),
    ('users', 'users_tenant_connection_idx', '1000000 100000 50000 1'),
    ('users', 'users_tenant_deleted_idx', '100000 10000 2 1'),
    ('users', 'users_doc_folded_missing', '1 1'),
    ('user_emails', 'sqlite_autoindex_user_emails_1', '1200000 2 1'),
    ('user_emails', 'user_emails_lookup_idx', '1200000 120000 1 1 1'),
    ('user_role_values', 'sqlite_autoindex_user_role_values_1', '1000000 2 1'),
    ('user_role_values', 'user_role_values_tenant_value_idx', '1000000 100000 10000 1'),
    ('user_role_assignments', 'sqlite_autoindex_user_role_assignments_1', '100000 2 1'),
    ('user_role_assignments', 'user_role_assignments_role_idx', '100000 1000 1'),
    ('groups', 'sqlite_autoindex_groups_1', '100000 1'),
    ('groups', 'groups_tenant_id_idx', '100000 10000 1'),
    ('groups', 'groups_tenant_display_name_key', '100000 10000 1'),
    ('groups', 'groups_tenant_external_id_idx', '100000 10000 1 1'),
    ('groups', 'groups_tenant_modified_idx', '100000 10000 2'),
    ('group_members', 'sqlite_autoindex_group_members_1', '10000000 1000 1'),
    ('group_members', 'group_members_member_idx', '10000000 10'),
    ('group_role_mappings', 'sqlite_autoindex_group_role_mappings_1', '1000 100 2 1'),
    ('roles', 'sqlite_autoindex_roles_1', '1000 1'),
    ('roles', 'sqlite_autoindex_roles_2', '1000 100 1'),
    ('tenants', 'sqlite_autoindex_tenants_1', '100 1'),
    ('tenants', 'sqlite_autoindex_tenants_2', '100 1'),
    ('directory_connections', 'sqlite_autoindex_directory_connections_1', '1000 1'),
    ('directory_connections', 'sqlite_autoindex_directory_connections_2', '1000 10 1'),
    ('scim_tokens', 'sqlite_autoindex_scim_tokens_1', '1000 1'),
    ('scim_tokens', 'sqlite_autoindex_scim_tokens_2', '1000 1'),
    ('scim_tokens', 'scim_tokens_tenant_idx', '1000 10 1'),
    ('admin_tokens', 'sqlite_autoindex_admin_tokens_1', '100 1'),
    ('admin_tokens', 'sqlite_autoindex_admin_tokens_2', '100 1'),
    ('admin_tokens', 'admin_tokens_prefix_idx', '100 1'),
    ('audit_events', 'audit_events_tenant_at_idx', '10000000 1000000 2'),
    ('audit_events', 'audit_events_target_idx', '10000000 1000000 10 1'),
    ('audit_events', 'audit_events_connection_idx', '10000000 1000000 2'),
    ('audit_events', 'audit_events_connection_rejected_idx', '100000 10000 2'),
    ('events', 'events_tenant_seq_idx', '10000000 1000000 1'),
    ('sync_counters', 'sqlite_autoindex_sync_counters_1', '1000000 10000 8 1'),
    ('tolerance_counters', 'sqlite_autoindex_tolerance_counters_1', '1000000 10000 8 2 1'),
    ('sso_configs', 'sqlite_autoindex_sso_configs_1', '100 1'),
    ('sso_login_states', 'sqlite_autoindex_sso_login_states_1', '10000 1'),
    ('sso_login_states', 'sso_login_states_expiry_idx', '10000 1'),
    ('sso_sessions', 'sqlite_autoindex_sso_sessions_1', '100000 1'),
    ('sso_sessions', 'sso_sessions_user_idx', '100000 2'),
    ('signing_keys', 'sqlite_autoindex_signing_keys_1', '10 1'),
    ('invitations', 'sqlite_autoindex_invitations_1', '1000000 1'),
    ('invitations', 'invitations_open_idx', '100000 1'),
    ('invitations', 'invitations_user_idx', '1000000 2'),
    ('page_sessions', 'sqlite_autoindex_page_sessions_1', '1000 1'),
    ('page_sessions', 'page_sessions_expires_idx', '1000 1'),
    ('webhook_endpoints', 'sqlite_autoindex_webhook_endpoints_1', '100 1'),
    ('webhook_endpoints', 'webhook_endpoints_due_idx', '100 1'),
    ('webhook_endpoints', 'webhook_endpoints_tenant_idx', '100 2'),
    ('webhook_attempts', 'webhook_attempts_endpoint_idx', '1000000 10000 1'),
    ('import_jobs', 'sqlite_autoindex_import_jobs_1', '1000 1'),
    ('import_jobs', 'import_jobs_tenant_idx', '1000 10 1'),
    ('import_job_rows', 'sqlite_autoindex_import_job_rows_1', '10000000 100000 1');
