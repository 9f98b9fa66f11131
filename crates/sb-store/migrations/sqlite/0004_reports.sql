-- Switchboard schema, version 4 (SQLite): indexes for the reports (src/reports) and the LLM
-- usage the cost report sums. Keep in step with ../postgres/0004_reports.sql.

-- Tickets by creation time with every column the window reports read (SLA compliance,
-- category and agent performance, cost per ticket, arrivals): they are answered from the index
-- alone, without reading the wide table rows (the SLA clocks' JSON lives there).
CREATE INDEX tickets_report ON tickets (created_at, status, category, intent, severity, priority, channel, queue, route, assignee_id,
    confidence, sentiment, first_response_due_at, first_responded_at, first_response_breached, resolution_due_at, resolved_at,
    resolution_breached, sla_paused_at);
-- tickets_report starts with created_at, so it answers whatever this one did.
DROP INDEX tickets_created;

-- Open work only (the real-time metrics): its size follows the queue, not the history.
CREATE INDEX tickets_open ON tickets (queue, status, assignee_id, created_at, first_responded_at, first_response_due_at, resolved_at,
    resolution_due_at, sla_paused_at, first_response_breached, resolution_breached) WHERE status IN ('new', 'open', 'pending');

-- Resolutions by time ("resolved today"): served by tickets_resolved (resolved_at, id) of
-- migration 0003.

-- Decisions by time with their route (automation rate); replaces decisions_created.
CREATE INDEX decisions_report ON decisions (created_at, route, ticket_id, message_id);
DROP INDEX decisions_created;

-- Replies and notes written by staff, by time (agent performance); customers' messages are
-- not in it.
CREATE INDEX messages_authored ON messages (received_at, author_user_id, direction, ticket_id) WHERE author_user_id IS NOT NULL;

-- One row per call to the optional LLM provider (generated replies, summaries, translation).
CREATE TABLE llm_usage (
    id                  INTEGER PRIMARY KEY,
    ticket_id           BIGINT REFERENCES tickets (id),
    provider            TEXT NOT NULL,          -- openai, azure_openai, ollama, vllm
    model               TEXT NOT NULL,
    purpose             TEXT NOT NULL,          -- reply, summary, translation
    prompt_tokens       BIGINT NOT NULL CHECK (prompt_tokens >= 0),
    completion_tokens   BIGINT NOT NULL CHECK (completion_tokens >= 0),
    cost_micros         BIGINT NOT NULL CHECK (cost_micros >= 0),   -- millionths of the currency unit
    currency            TEXT NOT NULL,          -- ISO 4217
    created_at          BIGINT NOT NULL
);
CREATE INDEX llm_usage_created ON llm_usage (created_at, provider, model, currency, prompt_tokens, completion_tokens, cost_micros, ticket_id);
