-- Subscribers (delivery comes with its own tables) and reusable incident templates.
-- Component lists are JSON arrays of ids.
CREATE TABLE subscribers (
    id            TEXT PRIMARY KEY,
    mode          TEXT NOT NULL,
    email         TEXT,
    endpoint      TEXT,
    component_ids TEXT NOT NULL,
    incident_id   TEXT,
    state         TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX subscribers_by_state ON subscribers (state, mode);

CREATE TABLE incident_templates (
    id                        TEXT PRIMARY KEY,
    name                      TEXT NOT NULL,
    title                     TEXT NOT NULL,
    body                      TEXT NOT NULL,
    update_status             TEXT,
    component_ids             TEXT NOT NULL,
    should_send_notifications BOOLEAN NOT NULL,
    created_at                BIGINT NOT NULL,
    updated_at                BIGINT NOT NULL
);
