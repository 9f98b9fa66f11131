-- Switchboard schema, version 12 (SQLite): admins' changes to the decision policy and the SLA
-- policies, stored as overrides of the configuration file. Keep in step with
-- ../postgres/0012_policy_overrides.sql.

-- One row per thing an admin changed (kind, subject): the general auto-reply threshold (kind
-- 'auto_reply_general', subject 'general'), one intent's auto-reply threshold ('auto_reply_intent',
-- the intent) or one SLA policy's targets ('sla_policy', the policy's name). value is the JSON
-- override; NULL means "reset to the configuration" (the row stays, so the version never goes
-- back and a stale edit made before a reset is still a conflict). version starts at 1 and grows
-- by one per change.
CREATE TABLE policy_overrides (
    kind            TEXT NOT NULL CHECK (kind IN ('auto_reply_general', 'auto_reply_intent', 'sla_policy')),
    subject         TEXT NOT NULL,
    value           TEXT,
    version         BIGINT NOT NULL CHECK (version >= 1),
    changed_by      TEXT NOT NULL,
    changed_by_user_id BIGINT,
    changed_at      BIGINT NOT NULL,
    PRIMARY KEY (kind, subject)
);

-- Raised by one in the transaction of every override change: a server process reads this one
-- row every few seconds and reloads the overrides only when it moved.
CREATE TABLE policy_revision (
    id              BIGINT PRIMARY KEY CHECK (id = 1),
    revision        BIGINT NOT NULL
);
INSERT INTO policy_revision (id, revision) VALUES (1, 0);
