-- Switchboard schema, version 10 (SQLite): live routing — agents' skills, capacity and presence.
-- Keep in step with ../postgres/0010_routing.sql.

-- One row per user who takes routed work. Skills are JSON arrays of labels (intents, ISO 639-1
-- language codes, channels); an empty list means any. Only agents with the safety skill ever
-- receive safety-queue tickets. Presence is the status the agent set (available / away) and a
-- heartbeat the console renews while it is open: an agent is present while status is
-- 'available' and heartbeat_at is younger than the service's presence TTL. It lives here, not in
-- a process's memory, because several processes share one PostgreSQL database.
-- released_at: when the router last gave this agent's unstarted tickets back to the queue (the
-- agent went away or its heartbeat expired), so an expiry is acted on once.
CREATE TABLE agent_routing (
    user_id          BIGINT PRIMARY KEY REFERENCES users (id),
    intents          TEXT NOT NULL DEFAULT '[]',
    languages        TEXT NOT NULL DEFAULT '[]',
    channels         TEXT NOT NULL DEFAULT '[]',
    safety           BOOLEAN NOT NULL DEFAULT FALSE,
    max_open_tickets BIGINT NOT NULL DEFAULT 8 CHECK (max_open_tickets BETWEEN 0 AND 1000),
    max_chats        BIGINT NOT NULL DEFAULT 3 CHECK (max_chats BETWEEN 0 AND 1000),
    status           TEXT NOT NULL DEFAULT 'away' CHECK (status IN ('available', 'away')),
    heartbeat_at     BIGINT,
    released_at      BIGINT,
    updated_at       BIGINT NOT NULL
);
CREATE INDEX agent_routing_present ON agent_routing (status, heartbeat_at);

-- What the router reads each round: unassigned open work in the human and safety queues, most
-- urgent first.
CREATE INDEX tickets_unrouted ON tickets (priority DESC, created_at, id) WHERE assignee_id IS NULL AND queue IN ('human', 'safety') AND status IN ('new', 'open');
