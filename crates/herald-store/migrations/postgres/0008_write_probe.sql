-- One row per instance, overwritten by the readiness check to learn whether the database still
-- takes writes (a full disk or a read-only database is not seen by a read).
CREATE TABLE write_probe (
    instance TEXT PRIMARY KEY,
    filler   BYTEA NOT NULL,
    at       BIGINT NOT NULL
);
