-- Monitoring: monitors with their last state, probe results (raw, per minute, per day),
-- per-component automation, alert integrations, team alert channels and system metrics.
-- Configuration is kept as JSON text of the domain types; instants are milliseconds.
CREATE TABLE monitors (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    component_id    TEXT,
    heartbeat_token TEXT UNIQUE,
    spec            TEXT NOT NULL,
    state           TEXT NOT NULL,
    last_result     TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);

-- outcome: 0 up, 1 degraded, 2 down.
CREATE TABLE monitor_results (
    monitor_id TEXT NOT NULL,
    at         BIGINT NOT NULL,
    outcome    SMALLINT NOT NULL,
    latency_ms BIGINT,
    reason     TEXT
);
CREATE INDEX monitor_results_by_monitor ON monitor_results (monitor_id, at);
CREATE INDEX monitor_results_by_time ON monitor_results (at);

CREATE TABLE monitor_minutes (
    monitor_id     TEXT NOT NULL,
    start          BIGINT NOT NULL,
    up             BIGINT NOT NULL,
    degraded       BIGINT NOT NULL,
    down           BIGINT NOT NULL,
    latency_sum_ms BIGINT NOT NULL,
    latency_max_ms BIGINT NOT NULL,
    PRIMARY KEY (monitor_id, start)
);
CREATE INDEX monitor_minutes_by_time ON monitor_minutes (start);

CREATE TABLE monitor_days (
    monitor_id     TEXT NOT NULL,
    start          BIGINT NOT NULL,
    up             BIGINT NOT NULL,
    degraded       BIGINT NOT NULL,
    down           BIGINT NOT NULL,
    latency_sum_ms BIGINT NOT NULL,
    latency_max_ms BIGINT NOT NULL,
    PRIMARY KEY (monitor_id, start)
);

CREATE TABLE component_automation (
    component_id TEXT PRIMARY KEY,
    settings     TEXT NOT NULL
);

CREATE TABLE automation_state (
    component_id TEXT PRIMARY KEY,
    state        TEXT NOT NULL
);

CREATE TABLE integrations (
    id         TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    settings   TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

CREATE TABLE alert_channels (
    id       TEXT PRIMARY KEY,
    settings TEXT NOT NULL
);

CREATE TABLE metrics (
    id       TEXT PRIMARY KEY,
    position BIGINT NOT NULL,
    settings TEXT NOT NULL
);

CREATE TABLE metric_points (
    metric_id TEXT NOT NULL,
    at        BIGINT NOT NULL,
    value     DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (metric_id, at)
);
