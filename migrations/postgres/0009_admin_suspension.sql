-- An admin's suspension, which the identity provider's `active` does not lift, and the `active`
-- the identity provider last sent (the status a lifted suspension returns to).
ALTER TABLE users ADD COLUMN admin_suspended_at BIGINT;
ALTER TABLE users ADD COLUMN idp_active BOOLEAN NOT NULL DEFAULT TRUE;
UPDATE users SET idp_active = FALSE WHERE status = 'suspended';
