-- Switchboard schema, version 13 (PostgreSQL): indexes for the console's queue filters over
-- open work (GET /api/v1/tickets, src/tickets.rs). Keep in step with ../sqlite/0013_queue_filters.sql.
--
-- The queue lists open tickets (status new, open or pending) most urgent first (priority
-- DESC, created_at, id), 50 at a time, with the number matching. Before these indexes a filter
-- on a column no index led with read every open ticket's row. Each index below is partial on
-- open work, so its size follows the queue, not the history; the ticket list writes its
-- statuses as literals, so that generic plans can prove the predicate too. Each is one more
-- write when a ticket is created, triaged (priority, queue, category, intent change) or closed.

-- One filter column, then the list's order: the first page is the index's first entries and the
-- count an index-only scan.
CREATE INDEX tickets_active_queue ON tickets (queue, priority DESC, created_at, id) WHERE status IN ('new', 'open', 'pending');
CREATE INDEX tickets_active_category ON tickets (category, priority DESC, created_at, id) WHERE status IN ('new', 'open', 'pending');
CREATE INDEX tickets_active_intent ON tickets (intent, priority DESC, created_at, id) WHERE status IN ('new', 'open', 'pending');
CREATE INDEX tickets_active_channel ON tickets (channel, priority DESC, created_at, id) WHERE status IN ('new', 'open', 'pending');

-- "Assigned to me" and "unassigned" (assignee_id IS NULL): the list's order after the assignee
-- and status, replacing (assignee_id, status), which it still serves.
DROP INDEX tickets_assignee;
CREATE INDEX tickets_assignee ON tickets (assignee_id, status, priority DESC, created_at, id);

-- "SLA breached": the moment the ticket is or was breached (tickets::BREACH_AT, the same text:
-- an expression index serves only a query that writes the same expression), so breached open
-- tickets are one range of it. ANALYZE keeps no statistics for the expression of a partial
-- index, and without them the planner guesses a third of the rows and scans the table: the
-- extended statistics give it the expression's distribution.
CREATE INDEX tickets_active_breach ON tickets (((CASE WHEN first_response_breached OR resolution_breached THEN 0 WHEN first_responded_at IS NULL AND first_response_due_at IS NOT NULL AND (resolved_at IS NOT NULL OR resolution_due_at IS NULL OR first_response_due_at < resolution_due_at) THEN first_response_due_at WHEN resolved_at IS NULL THEN resolution_due_at END))) WHERE status IN ('new', 'open', 'pending');
CREATE STATISTICS tickets_breach_at ON ((CASE WHEN first_response_breached OR resolution_breached THEN 0 WHEN first_responded_at IS NULL AND first_response_due_at IS NOT NULL AND (resolved_at IS NOT NULL OR resolution_due_at IS NULL OR first_response_due_at < resolution_due_at) THEN first_response_due_at WHEN resolved_at IS NULL THEN resolution_due_at END)) FROM tickets;
