-- CSV imports run through the admin API: each job's progress and counts, and its per-row
-- report (written after each batch of rows commits), read back by the admin who started it.
CREATE TABLE import_jobs (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    actor           TEXT NOT NULL,
    connection_name TEXT NOT NULL,
    dry_run         BOOLEAN NOT NULL,
    total_rows      BIGINT NOT NULL,
    rows_done       BIGINT NOT NULL DEFAULT 0,
    created         BIGINT NOT NULL DEFAULT 0,
    updated         BIGINT NOT NULL DEFAULT 0,
    unchanged       BIGINT NOT NULL DEFAULT 0,
    rejected        BIGINT NOT NULL DEFAULT 0,
    state           TEXT NOT NULL,
    error           TEXT,
    started_at      BIGINT NOT NULL,
    heartbeat_at    BIGINT NOT NULL,
    finished_at     BIGINT
);
CREATE INDEX import_jobs_tenant_idx ON import_jobs (tenant_id, started_at);
CREATE TABLE import_job_rows (
    job_id    TEXT NOT NULL REFERENCES import_jobs (id) ON DELETE CASCADE,
    line      BIGINT NOT NULL,
    user_name TEXT NOT NULL,
    outcome   TEXT NOT NULL,
    reason    TEXT,
    PRIMARY KEY (job_id, line)
);
