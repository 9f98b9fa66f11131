-- Switchboard schema, version 9 (SQLite): hourly report rollups, so that reports over months
-- and years read a few rows per hour instead of every ticket and decision (src/reports/rollup.rs).
-- Keep in step with ../postgres/0009_report_rollups.sql.

-- One row per family and UTC hour that has been rolled up. `dirty` is set by the triggers
-- below when a row the hour's rollup summed changes; `*_valid_until` is the earliest running
-- deadline among the hour's tickets when it was built (its breach counts hold until then);
-- NULL means nothing in the hour depends on the clock. `generation` numbers the builds, so a
-- day's rollup knows whether its hours were rebuilt since it summed them.
CREATE TABLE report_rollup_hours (
    family                      TEXT NOT NULL CHECK (family IN ('tickets', 'decisions')),
    hour_ms                     BIGINT NOT NULL,
    dirty                       BOOLEAN NOT NULL DEFAULT TRUE,
    built_at                    BIGINT,
    generation                  BIGINT NOT NULL DEFAULT 0,
    first_response_valid_until  BIGINT,
    resolution_valid_until      BIGINT,
    PRIMARY KEY (family, hour_ms)
);

-- UTC days whose 24 hours are rolled up, summed once more: a day row holds when every hour of
-- the day is current and none was rebuilt after it (the largest generation it summed).
CREATE TABLE report_rollup_days (
    family          TEXT NOT NULL CHECK (family IN ('tickets', 'decisions')),
    day_ms          BIGINT NOT NULL,
    generation      BIGINT NOT NULL,
    PRIMARY KEY (family, day_ms)
);

-- Tickets created in an hour (`span_hours` 1) or a UTC day (24; `hour_ms` is its start), merged
-- ones left out, summed per breakdown: `dimension` names what key1/key2/agent_id hold (`all`,
-- `category`, `intent`, `priority`, `severity`, `channel`, `category_intent`, `agent`).
CREATE TABLE report_rollup_tickets (
    hour_ms                 BIGINT NOT NULL,
    span_hours              BIGINT NOT NULL,
    dimension               TEXT NOT NULL,
    key1                    TEXT,
    key2                    TEXT,
    agent_id                BIGINT,
    n_tickets               BIGINT NOT NULL,
    first_none              BIGINT NOT NULL,
    first_met               BIGINT NOT NULL,
    first_breached          BIGINT NOT NULL,
    resolution_none         BIGINT NOT NULL,
    resolution_met          BIGINT NOT NULL,
    resolution_breached     BIGINT NOT NULL,
    n_auto_replied          BIGINT NOT NULL,
    n_resolved              BIGINT NOT NULL,
    n_sla_breached          BIGINT NOT NULL,
    sum_first_response_ms   BIGINT NOT NULL,
    n_first_response        BIGINT NOT NULL,
    sum_resolution_ms       BIGINT NOT NULL,
    n_resolution            BIGINT NOT NULL,
    sum_confidence          DOUBLE PRECISION NOT NULL,
    n_confidence            BIGINT NOT NULL,
    sum_sentiment           DOUBLE PRECISION NOT NULL,
    n_sentiment             BIGINT NOT NULL,
    n_negative              BIGINT NOT NULL
);
CREATE INDEX report_rollup_tickets_dimension ON report_rollup_tickets (dimension, span_hours, hour_ms);

-- Decisions made in an hour or a UTC day, per the intent of their ticket.
CREATE TABLE report_rollup_decisions (
    hour_ms         BIGINT NOT NULL,
    span_hours      BIGINT NOT NULL,
    intent          TEXT,
    n_decisions     BIGINT NOT NULL,
    n_auto_replied  BIGINT NOT NULL,
    n_human_queue   BIGINT NOT NULL,
    n_safety_queue  BIGINT NOT NULL,
    n_reopened      BIGINT NOT NULL
);
CREATE INDEX report_rollup_decisions_hour ON report_rollup_decisions (span_hours, hour_ms);

-- What makes a rolled-up hour dirty. An hour without a row is not rolled up (reports read its
-- tickets), so the common case — a change to a ticket of the current hour — finds no row and
-- writes nothing.
CREATE TRIGGER tickets_rollup_insert AFTER INSERT ON tickets BEGIN
    UPDATE report_rollup_hours SET dirty = TRUE WHERE family = 'tickets' AND hour_ms = new.created_at - new.created_at % 3600000 AND NOT dirty;
END;
CREATE TRIGGER tickets_rollup_update AFTER UPDATE ON tickets BEGIN
    UPDATE report_rollup_hours SET dirty = TRUE
    WHERE family = 'tickets' AND hour_ms IN (old.created_at - old.created_at % 3600000, new.created_at - new.created_at % 3600000) AND NOT dirty;
END;
-- The automation rollup counts decisions by their ticket's intent.
CREATE TRIGGER tickets_rollup_intent AFTER UPDATE OF intent ON tickets WHEN old.intent IS NOT new.intent BEGIN
    UPDATE report_rollup_hours SET dirty = TRUE
    WHERE family = 'decisions' AND NOT dirty AND hour_ms IN (SELECT created_at - created_at % 3600000 FROM decisions WHERE ticket_id = new.id);
END;
CREATE TRIGGER tickets_rollup_delete AFTER DELETE ON tickets BEGIN
    UPDATE report_rollup_hours SET dirty = TRUE WHERE family = 'tickets' AND hour_ms = old.created_at - old.created_at % 3600000 AND NOT dirty;
END;
CREATE TRIGGER decisions_rollup_insert AFTER INSERT ON decisions BEGIN
    UPDATE report_rollup_hours SET dirty = TRUE WHERE family = 'decisions' AND hour_ms = new.created_at - new.created_at % 3600000 AND NOT dirty;
END;
CREATE TRIGGER decisions_rollup_update AFTER UPDATE ON decisions BEGIN
    UPDATE report_rollup_hours SET dirty = TRUE
    WHERE family = 'decisions' AND hour_ms IN (old.created_at - old.created_at % 3600000, new.created_at - new.created_at % 3600000) AND NOT dirty;
END;
CREATE TRIGGER decisions_rollup_delete AFTER DELETE ON decisions BEGIN
    UPDATE report_rollup_hours SET dirty = TRUE WHERE family = 'decisions' AND hour_ms = old.created_at - old.created_at % 3600000 AND NOT dirty;
END;
-- A customer writing again after an automatic answer makes that answer "reopened".
CREATE TRIGGER messages_rollup_insert AFTER INSERT ON messages WHEN new.direction = 'inbound' BEGIN
    UPDATE report_rollup_hours SET dirty = TRUE
    WHERE family = 'decisions' AND NOT dirty
      AND hour_ms IN (SELECT created_at - created_at % 3600000 FROM decisions WHERE ticket_id = new.ticket_id AND route = 'auto_reply');
END;
CREATE TRIGGER messages_rollup_update AFTER UPDATE OF ticket_id, direction ON messages WHEN old.direction = 'inbound' OR new.direction = 'inbound' BEGIN
    UPDATE report_rollup_hours SET dirty = TRUE
    WHERE family = 'decisions' AND NOT dirty
      AND hour_ms IN (SELECT created_at - created_at % 3600000 FROM decisions WHERE ticket_id IN (old.ticket_id, new.ticket_id) AND route = 'auto_reply');
END;
CREATE TRIGGER messages_rollup_delete AFTER DELETE ON messages WHEN old.direction = 'inbound' BEGIN
    UPDATE report_rollup_hours SET dirty = TRUE
    WHERE family = 'decisions' AND NOT dirty
      AND hour_ms IN (SELECT created_at - created_at % 3600000 FROM decisions WHERE ticket_id = old.ticket_id AND route = 'auto_reply');
END;
