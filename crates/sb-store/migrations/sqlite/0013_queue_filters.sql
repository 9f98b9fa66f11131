-- Switchboard schema, version 13 (SQLite): indexes for the console's queue filters over open
-- work (GET /api/v1/tickets, src/tickets.rs). Keep in step with ../postgres/0013_queue_filters.sql.
--
-- The queue lists open tickets (status new, open or pending) most urgent first (priority
-- DESC, created_at, id), 50 at a time, with the number matching. Before these indexes a filter
-- on a column no index led with read and counted every open ticket's row. Each index below is
-- partial on open work, so its size follows the queue, not the history; the ticket list writes
-- its statuses as literals so that the planner can use them. Each is one more write when a
-- ticket is created, triaged (priority, queue, category, intent change) or closed.

-- One filter column, then the list's order: the first page is the index's first entries. status
-- comes last only so that the count reads the index alone (SQLite counts a column of the
-- partial index's WHERE as one the query needs from the table).
CREATE INDEX tickets_active_queue ON tickets (queue, priority DESC, created_at, id, status) WHERE status IN ('new', 'open', 'pending');
CREATE INDEX tickets_active_category ON tickets (category, priority DESC, created_at, id, status) WHERE status IN ('new', 'open', 'pending');
CREATE INDEX tickets_active_intent ON tickets (intent, priority DESC, created_at, id, status) WHERE status IN ('new', 'open', 'pending');
CREATE INDEX tickets_active_channel ON tickets (channel, priority DESC, created_at, id, status) WHERE status IN ('new', 'open', 'pending');

-- "Assigned to me" and "unassigned" (assignee_id IS NULL): the list's order after the assignee
-- and status, replacing (assignee_id, status), which it still serves.
DROP INDEX tickets_assignee;
CREATE INDEX tickets_assignee ON tickets (assignee_id, status, priority DESC, created_at, id);

-- "SLA breached": the moment the ticket is or was breached (tickets::BREACH_AT, the same text:
-- an expression index serves only a query that writes the same expression), so breached open
-- tickets are one range of it. status leads because SQLite without statistics prefers any
-- index with an equality on status over a range alone; priority, created_at and id follow so
-- that this index is no narrower than tickets_status_priority, which the unfiltered list keeps
-- (its order with LIMIT stops early; a narrower index with the same equality would win the
-- tie and sort every open ticket). A unit test pins each filter's plan.
CREATE INDEX tickets_active_breach ON tickets (status, (CASE WHEN first_response_breached OR resolution_breached THEN 0 WHEN first_responded_at IS NULL AND first_response_due_at IS NOT NULL AND (resolved_at IS NOT NULL OR resolution_due_at IS NULL OR first_response_due_at < resolution_due_at) THEN first_response_due_at WHEN resolved_at IS NULL THEN resolution_due_at END), priority DESC, created_at, id) WHERE status IN ('new', 'open', 'pending');
