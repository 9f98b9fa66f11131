-- Switchboard schema, version 13 (SQLite): indexes for the console's queue filters over open
-- work (GET /api/v1/tickets, src/tickets.rs). Keep in step with ../postgres/0013_queue_filters.sql.
--
-- The queue lists open tickets (status new, open or pending) most urgent first (priority DESC,
-- created_at, id), 50 at a time, with the number matching. The ticket list writes its statuses
-- as literals so that partial indexes of open work apply. One index is added (one more write
-- per ticket created, triaged or closed) and one widened; the category, intent and channel
-- filters were given none: an index per filter column (tried: the column, then the list's
-- order) made them index reads but cost about a fifth of the API's ingest rate at saturation
-- (docs/benchmarks.md), for filters that already answer in about 10 ms at 10,000 open tickets.

-- "Assigned to me" and "unassigned" (assignee_id IS NULL): the list's order after the assignee
-- and status, so the first page is the first entries of each status; replaces (assignee_id,
-- status), which it still serves.
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
