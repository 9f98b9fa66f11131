-- Switchboard schema, version 5 (SQLite): alerts, webhooks and their delivery log. Keep in step
-- with ../postgres/0005_alerts.sql. (Version 4 is reserved for the reports' indexes.)

-- An alert is raised by a rule for a key (`queue_depth`, `vip_ticket:123`), seen again while
-- its condition holds (one open alert per key: de-duplication), and resolved when it stops.
CREATE TABLE alerts (
    id              INTEGER PRIMARY KEY,
    rule            TEXT NOT NULL,
    dedup_key       TEXT NOT NULL,
    severity        TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    status          TEXT NOT NULL CHECK (status IN ('open', 'resolved')),
    title           TEXT NOT NULL,
    details         TEXT NOT NULL,          -- JSON: the figures behind it
    value           DOUBLE PRECISION,
    threshold       DOUBLE PRECISION,
    occurrences     BIGINT NOT NULL,
    first_seen_at   BIGINT NOT NULL,
    last_seen_at    BIGINT NOT NULL,
    resolved_at     BIGINT,
    resolved_by     TEXT                    -- `system` when the condition cleared, else the person
);
CREATE UNIQUE INDEX alerts_one_open_per_key ON alerts (dedup_key) WHERE status = 'open';
CREATE INDEX alerts_recent ON alerts (first_seen_at);

CREATE TABLE webhooks (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL,
    url             TEXT NOT NULL,
    secret          TEXT NOT NULL,          -- HMAC-SHA256 key of the signature header
    active          BOOLEAN NOT NULL,
    created_by      TEXT,
    created_at      BIGINT NOT NULL
);

-- One row per (webhook, event): retried with backoff until delivered or out of attempts.
CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY,
    webhook_id      BIGINT NOT NULL REFERENCES webhooks (id),
    alert_id        BIGINT NOT NULL REFERENCES alerts (id),
    event           TEXT NOT NULL,          -- alert.raised | alert.resolved
    payload         TEXT NOT NULL,          -- the JSON body, exactly as signed and sent
    status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    claimed_until   BIGINT,
    last_status     BIGINT,                 -- HTTP status of the last attempt
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    delivered_at    BIGINT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, id);

-- The volume rule counts inbound messages per hour window.
CREATE INDEX messages_received ON messages (received_at);
