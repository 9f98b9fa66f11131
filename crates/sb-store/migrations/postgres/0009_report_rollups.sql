-- Switchboard schema, version 9 (PostgreSQL): hourly report rollups, so that reports over months
-- and years read a few rows per hour instead of every ticket and decision (src/reports/rollup.rs).
-- Keep in step with ../sqlite/0009_report_rollups.sql.

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
-- writes nothing. `NOT dirty` keeps an already dirty row from being locked again.
CREATE FUNCTION switchboard_rollup_mark(family_name TEXT, hours BIGINT[]) RETURNS void LANGUAGE sql AS $$
    UPDATE report_rollup_hours SET dirty = TRUE WHERE family = family_name AND hour_ms = ANY (hours) AND NOT dirty;
$$;

-- Hours of a ticket's decisions (the automation rollup counts decisions by their ticket's
-- intent; `only_auto` for the automatic answers a new customer message "reopens").
CREATE FUNCTION switchboard_rollup_decision_hours(ticket BIGINT, only_auto BOOLEAN) RETURNS BIGINT[] LANGUAGE sql STABLE AS $$
    SELECT COALESCE(array_agg(DISTINCT created_at - created_at % 3600000), '{}') FROM decisions
    WHERE ticket_id = ticket AND (NOT only_auto OR route = 'auto_reply');
$$;

CREATE FUNCTION switchboard_rollup_tickets() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM switchboard_rollup_mark('tickets', ARRAY[NEW.created_at - NEW.created_at % 3600000]);
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM switchboard_rollup_mark('tickets', ARRAY[OLD.created_at - OLD.created_at % 3600000, NEW.created_at - NEW.created_at % 3600000]);
        IF OLD.intent IS DISTINCT FROM NEW.intent THEN
            PERFORM switchboard_rollup_mark('decisions', switchboard_rollup_decision_hours(NEW.id, FALSE));
        END IF;
    ELSE
        PERFORM switchboard_rollup_mark('tickets', ARRAY[OLD.created_at - OLD.created_at % 3600000]);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER tickets_rollup AFTER INSERT OR UPDATE OR DELETE ON tickets FOR EACH ROW EXECUTE FUNCTION switchboard_rollup_tickets();

CREATE FUNCTION switchboard_rollup_decisions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM switchboard_rollup_mark('decisions', ARRAY[OLD.created_at - OLD.created_at % 3600000]);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM switchboard_rollup_mark('decisions', ARRAY[NEW.created_at - NEW.created_at % 3600000]);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER decisions_rollup AFTER INSERT OR UPDATE OR DELETE ON decisions FOR EACH ROW EXECUTE FUNCTION switchboard_rollup_decisions();

-- A customer writing again after an automatic answer makes that answer "reopened".
CREATE FUNCTION switchboard_rollup_messages() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.direction = 'inbound' THEN
        PERFORM switchboard_rollup_mark('decisions', switchboard_rollup_decision_hours(OLD.ticket_id, TRUE));
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.direction = 'inbound' THEN
        PERFORM switchboard_rollup_mark('decisions', switchboard_rollup_decision_hours(NEW.ticket_id, TRUE));
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER messages_rollup_insert AFTER INSERT OR DELETE ON messages FOR EACH ROW EXECUTE FUNCTION switchboard_rollup_messages();
CREATE TRIGGER messages_rollup_update AFTER UPDATE OF ticket_id, direction ON messages FOR EACH ROW EXECUTE FUNCTION switchboard_rollup_messages();
