-- Telling subscribers: the outbox of notifications (written in the same transaction as the
-- change that caused each), one delivery per notification and subscriber, and the keys that
-- sign subscription links. A delivery's id is "<notification id>.<subscriber id>": receivers
-- see it as the idempotency id, so a retried delivery is recognisable as the same one.
ALTER TABLE subscribers ADD COLUMN secret TEXT;
ALTER TABLE subscribers ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;

CREATE TABLE notifications (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    subject_id  TEXT NOT NULL,
    notice      TEXT NOT NULL,
    rendered    TEXT,
    created_at  BIGINT NOT NULL,
    expanded_at BIGINT
);
CREATE INDEX notifications_waiting ON notifications (created_at) WHERE expanded_at IS NULL;

CREATE TABLE deliveries (
    id              TEXT PRIMARY KEY,
    notification_id TEXT NOT NULL,
    subscriber_id   TEXT NOT NULL,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_at         BIGINT NOT NULL,
    lease_until     BIGINT NOT NULL DEFAULT 0,
    claim           TEXT,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    done_at         BIGINT
);
CREATE INDEX deliveries_due ON deliveries (next_at) WHERE state = 'pending';
CREATE INDEX deliveries_by_claim ON deliveries (claim);
CREATE INDEX deliveries_by_subscriber ON deliveries (subscriber_id, created_at);
CREATE INDEX deliveries_dead ON deliveries (created_at) WHERE state = 'dead';

CREATE TABLE signing_keys (
    name       TEXT PRIMARY KEY,
    secret     TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
