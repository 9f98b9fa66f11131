-- Switchboard schema, version 8 (SQLite): customer satisfaction ratings. Keep in step with
-- ../postgres/0008_csat.sql.

-- One rating per ticket, 1 (very unhappy) to 5 (very happy); a later rating of the same ticket
-- replaces the earlier one. It is about the agent the ticket was assigned to when it was rated,
-- which the agent-performance report averages.
CREATE TABLE csat_ratings (
    ticket_id       BIGINT PRIMARY KEY REFERENCES tickets (id),
    rating          BIGINT NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment         TEXT,
    agent_user_id   BIGINT,
    source          TEXT NOT NULL CHECK (source IN ('chat', 'api')),
    rated_at        BIGINT NOT NULL
);
CREATE INDEX csat_ratings_rated ON csat_ratings (rated_at);
