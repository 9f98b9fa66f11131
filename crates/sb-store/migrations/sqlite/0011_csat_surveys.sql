-- Switchboard schema, version 11 (SQLite): the survey link mailed when an agent resolves an
-- email ticket. Keep in step with ../postgres/0011_csat_surveys.sql.

-- One survey per ticket (a ticket reopened and resolved again is not asked twice). The link
-- carries a random secret; only its sha256 is stored, so the table alone opens no survey.
CREATE TABLE csat_surveys (
    ticket_id       BIGINT PRIMARY KEY REFERENCES tickets (id),
    token_hash      TEXT NOT NULL UNIQUE,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL
);

-- Ratings may now come from that page: source 'email'. SQLite cannot change a CHECK in place,
-- so the table is rebuilt with its rows.
CREATE TABLE csat_ratings_v10 (
    ticket_id       BIGINT PRIMARY KEY REFERENCES tickets (id),
    rating          BIGINT NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment         TEXT,
    agent_user_id   BIGINT,
    source          TEXT NOT NULL CHECK (source IN ('chat', 'api', 'email')),
    rated_at        BIGINT NOT NULL
);
INSERT INTO csat_ratings_v10 (ticket_id, rating, comment, agent_user_id, source, rated_at)
    SELECT ticket_id, rating, comment, agent_user_id, source, rated_at FROM csat_ratings;
DROP TABLE csat_ratings;
ALTER TABLE csat_ratings_v10 RENAME TO csat_ratings;
CREATE INDEX csat_ratings_rated ON csat_ratings (rated_at);
