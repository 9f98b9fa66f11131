-- Switchboard schema, version 14 (PostgreSQL): rollups of the counts the agent and cost reports
-- add up beside the tickets — agents' replies (and which of them was the agent's first on its
-- ticket), customer ratings, LLM calls (and which was the ticket's first with that model) — so
-- those reports read a few rows per hour too (src/reports/rollup.rs, the "count" families).
-- Keep in step with ../sqlite/0014_count_rollups.sql.

-- Three more families.
ALTER TABLE report_rollup_hours DROP CONSTRAINT report_rollup_hours_family_check,
    ADD CONSTRAINT report_rollup_hours_family_check CHECK (family IN ('tickets', 'decisions', 'replies', 'csat', 'llm'));
ALTER TABLE report_rollup_days DROP CONSTRAINT report_rollup_days_family_check,
    ADD CONSTRAINT report_rollup_days_family_check CHECK (family IN ('tickets', 'decisions', 'replies', 'csat', 'llm'));

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
CREATE INDEX csat_ratings_rated ON csat_ratings (rated_at) INCLUDE (agent_user_id, rating);

-- What makes a count hour dirty. A reply's "first" depends on the author's earlier replies on
-- the same ticket, so a reply written, moved (a merge) or deleted marks the hours of that
-- author's later replies on the ticket too; the same for LLM calls per ticket and model.
CREATE FUNCTION switchboard_rollup_reply_hours(ticket BIGINT, author BIGINT, since BIGINT) RETURNS BIGINT[] LANGUAGE sql STABLE AS $$
    SELECT COALESCE(array_agg(DISTINCT received_at - received_at % 3600000), '{}') FROM messages
    WHERE ticket_id = ticket AND author_user_id = author AND direction = 'outbound' AND received_at >= since;
$$;

CREATE FUNCTION switchboard_rollup_replies() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.author_user_id IS NOT NULL AND OLD.direction = 'outbound' THEN
        PERFORM switchboard_rollup_mark('replies', ARRAY[OLD.received_at - OLD.received_at % 3600000]);
        PERFORM switchboard_rollup_mark('replies', switchboard_rollup_reply_hours(OLD.ticket_id, OLD.author_user_id, CASE WHEN TG_OP = 'DELETE' THEN OLD.received_at ELSE 0 END));
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.author_user_id IS NOT NULL AND NEW.direction = 'outbound' THEN
        PERFORM switchboard_rollup_mark('replies', switchboard_rollup_reply_hours(NEW.ticket_id, NEW.author_user_id, CASE WHEN TG_OP = 'INSERT' THEN NEW.received_at ELSE 0 END));
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER messages_rollup_reply AFTER INSERT OR DELETE ON messages FOR EACH ROW EXECUTE FUNCTION switchboard_rollup_replies();
CREATE TRIGGER messages_rollup_reply_update AFTER UPDATE OF ticket_id, author_user_id, direction, received_at ON messages FOR EACH ROW EXECUTE FUNCTION switchboard_rollup_replies();

CREATE FUNCTION switchboard_rollup_csat() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM switchboard_rollup_mark('csat', ARRAY[OLD.rated_at - OLD.rated_at % 3600000]);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM switchboard_rollup_mark('csat', ARRAY[NEW.rated_at - NEW.rated_at % 3600000]);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER csat_rollup AFTER INSERT OR UPDATE OR DELETE ON csat_ratings FOR EACH ROW EXECUTE FUNCTION switchboard_rollup_csat();

CREATE FUNCTION switchboard_rollup_llm_hours(ticket BIGINT, provider_name TEXT, model_name TEXT, currency_code TEXT, since BIGINT) RETURNS BIGINT[] LANGUAGE sql STABLE AS $$
    SELECT COALESCE(array_agg(DISTINCT created_at - created_at % 3600000), '{}') FROM llm_usage
    WHERE ticket_id = ticket AND provider = provider_name AND model = model_name AND currency = currency_code AND created_at >= since;
$$;

CREATE FUNCTION switchboard_rollup_llm() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM switchboard_rollup_mark('llm', ARRAY[OLD.created_at - OLD.created_at % 3600000]);
        PERFORM switchboard_rollup_mark('llm', switchboard_rollup_llm_hours(OLD.ticket_id, OLD.provider, OLD.model, OLD.currency, CASE WHEN TG_OP = 'DELETE' THEN OLD.created_at ELSE 0 END));
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM switchboard_rollup_mark('llm', ARRAY[NEW.created_at - NEW.created_at % 3600000]);
        PERFORM switchboard_rollup_mark('llm', switchboard_rollup_llm_hours(NEW.ticket_id, NEW.provider, NEW.model, NEW.currency, CASE WHEN TG_OP = 'INSERT' THEN NEW.created_at ELSE 0 END));
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER llm_usage_rollup AFTER INSERT OR UPDATE OR DELETE ON llm_usage FOR EACH ROW EXECUTE FUNCTION switchboard_rollup_llm();
