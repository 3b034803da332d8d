-- Herald schema, PostgreSQL. Instants are milliseconds since the Unix epoch (UTC), so both
-- engines share one set of queries; ids are 12-character base36 strings.

CREATE TABLE page (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    url         TEXT NOT NULL,
    time_zone   TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE component_groups (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT,
    position    INTEGER NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE components (
    id                    TEXT PRIMARY KEY,
    group_id              TEXT REFERENCES component_groups (id) ON DELETE SET NULL,
    name                  TEXT NOT NULL,
    description           TEXT,
    position              INTEGER NOT NULL,
    status                TEXT NOT NULL,
    showcase              BOOLEAN NOT NULL,
    only_show_if_degraded BOOLEAN NOT NULL,
    start_date            TEXT,
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL
);

-- Realtime incidents and scheduled maintenances share one table, as in Statuspage's API.
CREATE TABLE incidents (
    id              TEXT PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('incident', 'maintenance')),
    name            TEXT NOT NULL,
    status          TEXT NOT NULL,
    impact          TEXT NOT NULL,
    shortlink       TEXT,
    created_at      BIGINT NOT NULL,
    started_at      BIGINT NOT NULL,
    monitoring_at   BIGINT,
    resolved_at     BIGINT,
    updated_at      BIGINT NOT NULL,
    backfilled      BOOLEAN NOT NULL DEFAULT FALSE,
    scheduled_for   BIGINT,
    scheduled_until BIGINT,
    auto_start      BOOLEAN NOT NULL DEFAULT FALSE,
    auto_complete   BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX incidents_by_created ON incidents (kind, created_at DESC);

CREATE TABLE incident_components (
    incident_id  TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    component_id TEXT NOT NULL REFERENCES components (id) ON DELETE CASCADE,
    position     INTEGER NOT NULL,
    PRIMARY KEY (incident_id, component_id)
);

CREATE TABLE incident_updates (
    id                    TEXT PRIMARY KEY,
    incident_id           TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    status                TEXT NOT NULL,
    body                  TEXT NOT NULL,
    display_at            BIGINT NOT NULL,
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL,
    deliver_notifications BOOLEAN NOT NULL
);
CREATE INDEX incident_updates_by_incident ON incident_updates (incident_id, display_at);

CREATE TABLE update_components (
    update_id    TEXT NOT NULL REFERENCES incident_updates (id) ON DELETE CASCADE,
    component_id TEXT NOT NULL REFERENCES components (id) ON DELETE CASCADE,
    position     INTEGER NOT NULL,
    old_status   TEXT NOT NULL,
    new_status   TEXT NOT NULL,
    PRIMARY KEY (update_id, component_id)
);

CREATE TABLE postmortems (
    incident_id          TEXT PRIMARY KEY REFERENCES incidents (id) ON DELETE CASCADE,
    body                 TEXT NOT NULL,
    timeline_zone_label  TEXT,
    timeline_note        TEXT,
    contributing_factors TEXT NOT NULL,
    stabilization_steps  TEXT NOT NULL,
    impact               TEXT NOT NULL,
    corrective_actions   TEXT NOT NULL,
    published_at         BIGINT,
    updated_at           BIGINT NOT NULL
);

CREATE TABLE postmortem_timeline (
    incident_id TEXT NOT NULL REFERENCES postmortems (incident_id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    at          BIGINT NOT NULL,
    activity    TEXT NOT NULL,
    PRIMARY KEY (incident_id, position)
);

CREATE TABLE component_status_changes (
    id           BIGSERIAL PRIMARY KEY,
    component_id TEXT NOT NULL REFERENCES components (id) ON DELETE CASCADE,
    at           BIGINT NOT NULL,
    old_status   TEXT,
    new_status   TEXT NOT NULL,
    cause        TEXT NOT NULL
);
CREATE INDEX component_status_changes_by_component ON component_status_changes (component_id, at);
