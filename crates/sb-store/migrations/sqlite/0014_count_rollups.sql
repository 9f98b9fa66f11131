-- Switchboard schema, version 14 (SQLite): rollups of the counts the agent and cost reports add
-- up beside the tickets — agents' replies (and which of them was the agent's first on its
-- ticket), customer ratings, LLM calls (and which was the ticket's first with that model) — so
-- those reports read a few rows per hour too (src/reports/rollup.rs, the "count" families).
-- Keep in step with ../postgres/0014_count_rollups.sql.

-- Three more families. SQLite cannot change a CHECK in place, and rollups are an accelerator
-- the builder fills again in the background (reports scan meanwhile and give the same rows),
-- so the state tables are made anew, empty, and the rows they described are dropped.
DROP TABLE report_rollup_hours;
DROP TABLE report_rollup_days;
DELETE FROM report_rollup_tickets;
DELETE FROM report_rollup_decisions;
CREATE TABLE report_rollup_hours (
    family                      TEXT NOT NULL CHECK (family IN ('tickets', 'decisions', 'replies', 'csat', 'llm')),
    hour_ms                     BIGINT NOT NULL,
    dirty                       BOOLEAN NOT NULL DEFAULT TRUE,
    built_at                    BIGINT,
    generation                  BIGINT NOT NULL DEFAULT 0,
    first_response_valid_until  BIGINT,
    resolution_valid_until      BIGINT,
    PRIMARY KEY (family, hour_ms)
);
CREATE TABLE report_rollup_days (
    family          TEXT NOT NULL CHECK (family IN ('tickets', 'decisions', 'replies', 'csat', 'llm')),
    day_ms          BIGINT NOT NULL,
    generation      BIGINT NOT NULL,
    PRIMARY KEY (family, day_ms)
);

-- One table for the three count families, per hour (`span_hours` 1) or UTC day (24):
-- - `replies`: agent_id = the author; c0 replies, c1 replies that were the author's first on
--   their ticket;
-- - `csat`: agent_id = the rated agent; c0 ratings, c1 the sum of the ratings;
-- - `llm`: key1/key2/key3 = provider, model, currency; c0 calls, c1 prompt tokens, c2
--   completion tokens, c3 cost in micros, c4 calls that were their ticket's first with that
--   provider, model and currency.
CREATE TABLE report_rollup_counts (
    family      TEXT NOT NULL,
    hour_ms     BIGINT NOT NULL,
    span_hours  BIGINT NOT NULL,
    key1        TEXT,
    key2        TEXT,
    key3        TEXT,
    agent_id    BIGINT,
    c0          BIGINT NOT NULL,
    c1          BIGINT NOT NULL,
    c2          BIGINT NOT NULL,
    c3          BIGINT NOT NULL,
    c4          BIGINT NOT NULL
);
CREATE INDEX report_rollup_counts_hour ON report_rollup_counts (family, span_hours, hour_ms);

-- "The ticket's first call with this model" is a probe per call.
CREATE INDEX llm_usage_ticket ON llm_usage (ticket_id, provider, model, currency, created_at) WHERE ticket_id IS NOT NULL;
-- Ratings by time with what the agent report sums.
DROP INDEX csat_ratings_rated;
CREATE INDEX csat_ratings_rated ON csat_ratings (rated_at, agent_user_id, rating);

-- What makes a count hour dirty. A reply's "first" depends on the author's earlier replies on
-- the same ticket, so a reply written, moved (a merge) or deleted marks the hours of that
-- author's later replies on the ticket too; the same for LLM calls per ticket and model.
CREATE TRIGGER messages_rollup_reply_insert AFTER INSERT ON messages WHEN new.author_user_id IS NOT NULL AND new.direction = 'outbound' BEGIN
    UPDATE report_rollup_hours SET dirty = TRUE
    WHERE family = 'replies' AND NOT dirty AND hour_ms IN (
        SELECT received_at - received_at % 3600000 FROM messages
        WHERE ticket_id = new.ticket_id AND author_user_id = new.author_user_id AND direction = 'outbound' AND received_at >= new.received_at);
END;
CREATE TRIGGER messages_rollup_reply_update AFTER UPDATE OF ticket_id, author_user_id, direction, received_at ON messages
WHEN (old.author_user_id IS NOT NULL AND old.direction = 'outbound') OR (new.author_user_id IS NOT NULL AND new.direction = 'outbound') BEGIN
    UPDATE report_rollup_hours SET dirty = TRUE
    WHERE family = 'replies' AND NOT dirty AND (hour_ms = old.received_at - old.received_at % 3600000 OR hour_ms IN (
        SELECT received_at - received_at % 3600000 FROM messages
        WHERE ticket_id IN (old.ticket_id, new.ticket_id) AND author_user_id IN (old.author_user_id, new.author_user_id) AND direction = 'outbound'));
END;
CREATE TRIGGER messages_rollup_reply_delete AFTER DELETE ON messages WHEN old.author_user_id IS NOT NULL AND old.direction = 'outbound' BEGIN
    UPDATE report_rollup_hours SET dirty = TRUE
    WHERE family = 'replies' AND NOT dirty AND (hour_ms = old.received_at - old.received_at % 3600000 OR hour_ms IN (
        SELECT received_at - received_at % 3600000 FROM messages
        WHERE ticket_id = old.ticket_id AND author_user_id = old.author_user_id AND direction = 'outbound' AND received_at >= old.received_at));
END;
CREATE TRIGGER csat_rollup_insert AFTER INSERT ON csat_ratings BEGIN
    UPDATE report_rollup_hours SET dirty = TRUE WHERE family = 'csat' AND NOT dirty AND hour_ms = new.rated_at - new.rated_at % 3600000;
END;
CREATE TRIGGER csat_rollup_update AFTER UPDATE ON csat_ratings BEGIN
    UPDATE report_rollup_hours SET dirty = TRUE
    WHERE family = 'csat' AND NOT dirty AND hour_ms IN (old.rated_at - old.rated_at % 3600000, new.rated_at - new.rated_at % 3600000);
END;
CREATE TRIGGER csat_rollup_delete AFTER DELETE ON csat_ratings BEGIN
    UPDATE report_rollup_hours SET dirty = TRUE WHERE family = 'csat' AND NOT dirty AND hour_ms = old.rated_at - old.rated_at % 3600000;
END;
CREATE TRIGGER llm_usage_rollup_insert AFTER INSERT ON llm_usage BEGIN
    UPDATE report_rollup_hours SET dirty = TRUE
    WHERE family = 'llm' AND NOT dirty AND (hour_ms = new.created_at - new.created_at % 3600000 OR hour_ms IN (
        SELECT created_at - created_at % 3600000 FROM llm_usage
        WHERE ticket_id = new.ticket_id AND provider = new.provider AND model = new.model AND currency = new.currency AND created_at >= new.created_at));
END;
CREATE TRIGGER llm_usage_rollup_update AFTER UPDATE ON llm_usage BEGIN
    UPDATE report_rollup_hours SET dirty = TRUE
    WHERE family = 'llm' AND NOT dirty AND (hour_ms IN (old.created_at - old.created_at % 3600000, new.created_at - new.created_at % 3600000) OR hour_ms IN (
        SELECT created_at - created_at % 3600000 FROM llm_usage WHERE ticket_id IN (old.ticket_id, new.ticket_id)));
END;
CREATE TRIGGER llm_usage_rollup_delete AFTER DELETE ON llm_usage BEGIN
    UPDATE report_rollup_hours SET dirty = TRUE
    WHERE family = 'llm' AND NOT dirty AND (hour_ms = old.created_at - old.created_at % 3600000 OR hour_ms IN (
        SELECT created_at - created_at % 3600000 FROM llm_usage
        WHERE ticket_id = old.ticket_id AND provider = old.provider AND model = old.model AND currency = old.currency AND created_at >= old.created_at));
END;
