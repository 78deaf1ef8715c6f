-- What the admin API reads without scanning: a tenant's users per status, and its audit trail by id.

-- Users per status, kept beside `seats_used` in the transaction of every change of a user's
-- status (create, suspension, reactivation, first sign-in, delete): the stat cards read one row.
ALTER TABLE tenants ADD COLUMN users_invited BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN users_active BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN users_suspended BIGINT NOT NULL DEFAULT 0;
UPDATE tenants SET
    users_invited = (SELECT COUNT(*) FROM users u
                     WHERE u.tenant_id = tenants.id AND u.deleted_at IS NULL AND u.status = 'invited'),
    users_active = (SELECT COUNT(*) FROM users u
                    WHERE u.tenant_id = tenants.id AND u.deleted_at IS NULL AND u.status = 'active'),
    users_suspended = (SELECT COUNT(*) FROM users u
                       WHERE u.tenant_id = tenants.id AND u.deleted_at IS NULL AND u.status = 'suspended');

-- Audit pages walk a tenant's events newest first by id (a keyset: a page deep in the trail
-- costs what a first page does).
CREATE INDEX audit_events_tenant_id_idx ON audit_events (tenant_id, id);
