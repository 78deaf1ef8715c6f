-- A tenant's own request rate per SCIM token (issue #19): requests per second and the burst a
-- token may spend at once. NULL: the gateway's default (`serve --token-rate-limit`); 0 requests
-- per second: no limit.
ALTER TABLE tenants ADD COLUMN rate_limit_per_sec INTEGER CHECK (rate_limit_per_sec IS NULL OR rate_limit_per_sec >= 0);
ALTER TABLE tenants ADD COLUMN rate_limit_burst INTEGER CHECK (rate_limit_burst IS NULL OR rate_limit_burst >= 1);
