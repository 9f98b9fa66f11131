-- Switchboard schema, version 13 (PostgreSQL): indexes for the console's queue filters over
-- open work (GET /api/v1/tickets, src/tickets.rs). Keep in step with ../sqlite/0013_queue_filters.sql.
--
-- The queue lists open tickets (status new, open or pending) most urgent first (priority DESC,
-- created_at, id), 50 at a time, with the number matching. The ticket list writes its statuses
-- as literals, so that generic plans can prove a partial index's predicate too. One index is
-- added (one more write per ticket created, triaged or closed); the category, intent and
-- channel filters were given none (see the SQLite file). Unlike SQLite's, tickets_assignee
-- stays (assignee_id, status): PostgreSQL 15 cannot read a list order after a status IN list
-- from an index, and the widened index made "unassigned" slower (docs/benchmarks.md).

-- "SLA breached": the moment the ticket is or was breached (tickets::BREACH_AT, the same text:
-- an expression index serves only a query that writes the same expression), so breached open
-- tickets are one range of it. ANALYZE keeps no statistics for the expression of a partial
-- index, and without them the planner guesses a third of the rows and scans the table: the
-- extended statistics give it the expression's distribution.
CREATE INDEX tickets_active_breach ON tickets (((CASE WHEN first_response_breached OR resolution_breached THEN 0 WHEN first_responded_at IS NULL AND first_response_due_at IS NOT NULL AND (resolved_at IS NOT NULL OR resolution_due_at IS NULL OR first_response_due_at < resolution_due_at) THEN first_response_due_at WHEN resolved_at IS NULL THEN resolution_due_at END))) WHERE status IN ('new', 'open', 'pending');
CREATE STATISTICS tickets_breach_at ON ((CASE WHEN first_response_breached OR resolution_breached THEN 0 WHEN first_responded_at IS NULL AND first_response_due_at IS NOT NULL AND (resolved_at IS NOT NULL OR resolution_due_at IS NULL OR first_response_due_at < resolution_due_at) THEN first_response_due_at WHEN resolved_at IS NULL THEN resolution_due_at END)) FROM tickets;
