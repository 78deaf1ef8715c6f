-- The scimType a rejection was answered with, so that sync state shows it beside the status.
ALTER TABLE audit_events ADD COLUMN scim_type TEXT;
