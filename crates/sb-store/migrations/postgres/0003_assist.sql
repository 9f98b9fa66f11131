-- Agent assist: the similar-ticket index follows tickets in the order they were resolved (a
-- watermark on resolved_at, id), and starts from the most recent ones.
CREATE INDEX tickets_resolved ON tickets (resolved_at, id);
