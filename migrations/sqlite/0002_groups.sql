-- Groups and their membership. Membership is a join table so that adding or removing k members
-- costs k rows, whatever the size of the group.

CREATE TABLE groups (
    id                     TEXT PRIMARY KEY,
    tenant_id              TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    display_name           TEXT NOT NULL,
    display_name_key       TEXT NOT NULL,
    external_id            TEXT,
    doc                    TEXT NOT NULL,
    version                BIGINT NOT NULL,
    created_at             BIGINT NOT NULL,
    modified_at            BIGINT NOT NULL,
    created_by_connection  TEXT,
    modified_by_connection TEXT
);
-- displayName is unique per tenant, compared without regard to case.
CREATE UNIQUE INDEX groups_tenant_display_name_key ON groups (tenant_id, display_name_key);
CREATE INDEX groups_tenant_id_idx ON groups (tenant_id, id);
CREATE INDEX groups_tenant_external_id_idx ON groups (tenant_id, external_id);
CREATE INDEX groups_tenant_modified_idx ON groups (tenant_id, modified_at);

CREATE TABLE group_members (
    group_id    TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    member_id   TEXT NOT NULL,
    member_type TEXT NOT NULL,
    tenant_id   TEXT NOT NULL,
    added_at    BIGINT NOT NULL,
    PRIMARY KEY (group_id, member_id)
);
-- A user's groups, and removing a deleted user from every group.
CREATE INDEX group_members_member_idx ON group_members (member_id);
