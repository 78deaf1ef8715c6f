-- Roles that cannot be given by hand (issue #20, seed 004's "not assignable" Supervisor): such a
-- role comes only from a mapping (a group); a SCIM `roles` value naming it grants nothing and an
-- admin cannot assign it.
ALTER TABLE roles ADD COLUMN assignable BOOLEAN NOT NULL DEFAULT TRUE;
