-- Switchboard schema, version 1 (SQLite). Keep in step with ../postgres/0001_initial.sql: the
-- conformance suite runs the same tests on both.
-- Times are milliseconds since the Unix epoch (UTC) in every *_at column: one representation on
-- both backends, so reports bucket with the same integer arithmetic.

CREATE TABLE customers (
    id              INTEGER PRIMARY KEY,
    external_id     TEXT UNIQUE,
    email           TEXT UNIQUE,            -- lower-cased
    phone           TEXT,
    name            TEXT,
    vip             BOOLEAN NOT NULL DEFAULT FALSE,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    erased_at       BIGINT                  -- set by a data-subject erasure (GDPR); PII columns are then NULL
);
CREATE INDEX customers_phone ON customers (phone);

CREATE TABLE users (
    id              INTEGER PRIMARY KEY,
    email           TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('admin', 'supervisor', 'agent', 'compliance', 'viewer')),
    password_hash   TEXT NOT NULL,          -- argon2 PHC string
    active          BOOLEAN NOT NULL DEFAULT TRUE,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);

CREATE TABLE sessions (
    token_hash      TEXT PRIMARY KEY,       -- sha256 of the cookie value; the value itself is never stored
    user_id         BIGINT NOT NULL REFERENCES users (id),
    csrf_token      TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    last_seen_at    BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_tokens (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL,
    token_hash      TEXT NOT NULL UNIQUE,   -- sha256 of the secret; shown once at creation
    prefix          TEXT NOT NULL,          -- first characters, to recognise a token in lists
    scopes          TEXT NOT NULL,          -- comma-separated: ingest, read, write, admin
    created_by      BIGINT REFERENCES users (id),
    created_at      BIGINT NOT NULL,
    last_used_at    BIGINT,
    revoked_at      BIGINT
);

CREATE TABLE tickets (
    id                      INTEGER PRIMARY KEY,
    customer_id             BIGINT REFERENCES customers (id),
    channel                 TEXT NOT NULL,
    conversation_key        TEXT,           -- channel-specific thread key (chat conversation, email thread root)
    subject                 TEXT,
    status                  TEXT NOT NULL CHECK (status IN ('new', 'open', 'pending', 'resolved', 'closed', 'merged')),
    queue                   TEXT NOT NULL DEFAULT 'triage' CHECK (queue IN ('triage', 'auto', 'human', 'safety')),
    category                TEXT,
    intent                  TEXT,
    severity                TEXT,
    confidence              DOUBLE PRECISION,
    sentiment               DOUBLE PRECISION,
    priority                INTEGER NOT NULL DEFAULT 0,
    route                   TEXT,
    assignee_id             BIGINT REFERENCES users (id),
    sla_policy              TEXT,
    sla                     TEXT,           -- JSON: the ticket's SLA clocks (policy, calendar, pauses)
    first_response_due_at   BIGINT,
    resolution_due_at       BIGINT,
    first_responded_at      BIGINT,
    resolved_at             BIGINT,
    sla_paused_at           BIGINT,         -- set while waiting on the customer
    sla_paused_ms           BIGINT NOT NULL DEFAULT 0,
    first_response_breached BOOLEAN NOT NULL DEFAULT FALSE,
    resolution_breached     BOOLEAN NOT NULL DEFAULT FALSE,
    merged_into             BIGINT REFERENCES tickets (id),
    created_at              BIGINT NOT NULL,
    updated_at              BIGINT NOT NULL,
    last_message_at         BIGINT NOT NULL
);
CREATE INDEX tickets_status_priority ON tickets (status, priority DESC, created_at);
CREATE INDEX tickets_customer ON tickets (customer_id, created_at);
CREATE INDEX tickets_conversation ON tickets (channel, conversation_key);
CREATE INDEX tickets_assignee ON tickets (assignee_id, status);
CREATE INDEX tickets_created ON tickets (created_at);

CREATE TABLE messages (
    id                  INTEGER PRIMARY KEY,
    ticket_id           BIGINT NOT NULL REFERENCES tickets (id),
    channel             TEXT NOT NULL,
    external_id         TEXT,
    direction           TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound', 'note')),
    author_user_id      BIGINT REFERENCES users (id),
    content_type        TEXT NOT NULL,      -- of raw_payload: application/json, message/rfc822, text/plain
    raw_payload         BLOB NOT NULL,      -- exactly as received
    subject             TEXT,
    body                TEXT NOT NULL,      -- the text triage reads (inbound) or the text sent (outbound)
    body_is_html        BOOLEAN NOT NULL DEFAULT FALSE,
    metadata            TEXT,               -- JSON
    stage               TEXT NOT NULL CHECK (stage IN ('raw', 'enriched', 'triaged', 'failed', 'none')),
    attempts            INTEGER NOT NULL DEFAULT 0,
    next_attempt_at     BIGINT,
    last_error          TEXT,
    claimed_by          TEXT,
    claimed_until       BIGINT,
    received_at         BIGINT NOT NULL,
    triaged_at          BIGINT
);
CREATE UNIQUE INDEX messages_external ON messages (channel, external_id);
CREATE INDEX messages_ticket ON messages (ticket_id, id);
CREATE INDEX messages_pending ON messages (stage, next_attempt_at);

-- One row per triage run of a message: re-triage after a model update adds rows, never replaces.
CREATE TABLE triage_results (
    id              INTEGER PRIMARY KEY,
    message_id      BIGINT NOT NULL REFERENCES messages (id),
    ticket_id       BIGINT NOT NULL REFERENCES tickets (id),
    model_name      TEXT NOT NULL,
    model_version   TEXT NOT NULL,
    result          TEXT NOT NULL,          -- JSON TriageResult
    latency_us      BIGINT NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX triage_results_message ON triage_results (message_id, id);

-- The decision record: route, reason, thresholds, model versions, workflow result, priority.
CREATE TABLE decisions (
    id              INTEGER PRIMARY KEY,
    ticket_id       BIGINT NOT NULL REFERENCES tickets (id),
    message_id      BIGINT NOT NULL REFERENCES messages (id),
    triage_id       BIGINT NOT NULL REFERENCES triage_results (id),
    route           TEXT NOT NULL CHECK (route IN ('auto_reply', 'human_queue', 'safety_queue')),
    reason_code     TEXT NOT NULL,
    priority        INTEGER NOT NULL,
    record          TEXT NOT NULL,          -- JSON decision record
    created_at      BIGINT NOT NULL
);
CREATE INDEX decisions_ticket ON decisions (ticket_id, id);
CREATE INDEX decisions_created ON decisions (created_at);

CREATE TABLE sla_policies (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,
    definition      TEXT NOT NULL,          -- JSON policy (matchers, durations, calendar)
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);

CREATE TABLE sla_events (
    id              INTEGER PRIMARY KEY,
    ticket_id       BIGINT NOT NULL REFERENCES tickets (id),
    kind            TEXT NOT NULL,          -- first_response_breached, resolution_breached, at_risk
    deadline_at     BIGINT NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE UNIQUE INDEX sla_events_once ON sla_events (ticket_id, kind, deadline_at);

-- Append-only: the triggers below refuse UPDATE and DELETE.
CREATE TABLE compliance_records (
    id              INTEGER PRIMARY KEY,
    ticket_id       BIGINT NOT NULL REFERENCES tickets (id),
    message_id      BIGINT NOT NULL REFERENCES messages (id),
    intent          TEXT NOT NULL,
    severity        TEXT NOT NULL,
    redacted_text   TEXT NOT NULL,
    record          TEXT NOT NULL,          -- JSON: entities, model, decision reason
    created_at      BIGINT NOT NULL
);
CREATE INDEX compliance_records_ticket ON compliance_records (ticket_id);
CREATE TRIGGER compliance_records_no_update BEFORE UPDATE ON compliance_records
BEGIN SELECT RAISE(ABORT, 'compliance_records is append-only'); END;
CREATE TRIGGER compliance_records_no_delete BEFORE DELETE ON compliance_records
BEGIN SELECT RAISE(ABORT, 'compliance_records is append-only'); END;

-- The demo store's orders (the built-in order connector).
CREATE TABLE orders (
    id                  INTEGER PRIMARY KEY,
    number              TEXT NOT NULL UNIQUE,   -- upper-cased, without '#'
    customer_email      TEXT,
    customer_name       TEXT,
    status              TEXT NOT NULL,
    placed_at           BIGINT NOT NULL,
    shipped_at          BIGINT,
    delivered_at        BIGINT,
    promised_delivery   TEXT,                   -- ISO date
    carrier             TEXT,
    tracking_number     TEXT,
    total_minor         BIGINT NOT NULL,
    currency            TEXT NOT NULL,
    items               TEXT NOT NULL           -- JSON array of items
);
CREATE INDEX orders_customer ON orders (customer_email, placed_at);

-- Replies waiting to be sent by their channel.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    ticket_id       BIGINT NOT NULL REFERENCES tickets (id),
    message_id      BIGINT NOT NULL REFERENCES messages (id),
    channel         TEXT NOT NULL,
    recipient       TEXT,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'delivered_inline')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_error      TEXT,
    claimed_by      TEXT,
    claimed_until   BIGINT,
    created_at      BIGINT NOT NULL,
    sent_at         BIGINT
);
CREATE INDEX outbox_pending ON outbox (status, next_attempt_at);

-- Hash-chained audit trail: hash = sha256(prev_hash || canonical entry).
CREATE TABLE audit_log (
    id              INTEGER PRIMARY KEY,
    at              BIGINT NOT NULL,
    actor           TEXT NOT NULL,          -- user:<id>, token:<id>, system
    action          TEXT NOT NULL,
    entity_type     TEXT NOT NULL,
    entity_id       TEXT NOT NULL,
    details         TEXT NOT NULL,          -- JSON
    prev_hash       TEXT NOT NULL,
    hash            TEXT NOT NULL
);
CREATE INDEX audit_log_entity ON audit_log (entity_type, entity_id);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
