-- Several instances on one database: each instance says it is alive, and units of work
-- (a component's monitors, say) are leased to one instance at a time. A lease that is not
-- renewed expires, and another instance takes the unit over; `next_due` carries the time the
-- unit's next run was planned for when an instance hands a unit over on purpose.
CREATE TABLE instances (
    id      TEXT PRIMARY KEY,
    seen_at BIGINT NOT NULL
);

CREATE TABLE leases (
    key        TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    next_due   BIGINT
);
CREATE INDEX leases_holder ON leases (holder);
