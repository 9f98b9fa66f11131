-- Switchboard schema, version 11 (PostgreSQL): the survey link mailed when an agent resolves an
-- email ticket. Keep in step with ../sqlite/0011_csat_surveys.sql.

-- One survey per ticket (a ticket reopened and resolved again is not asked twice). The link
-- carries a random secret; only its sha256 is stored, so the table alone opens no survey.
CREATE TABLE csat_surveys (
    ticket_id       BIGINT PRIMARY KEY REFERENCES tickets (id),
    token_hash      TEXT NOT NULL UNIQUE,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL
);

-- Ratings may now come from that page: source 'email'.
ALTER TABLE csat_ratings DROP CONSTRAINT csat_ratings_source_check;
ALTER TABLE csat_ratings ADD CONSTRAINT csat_ratings_source_check CHECK (source IN ('chat', 'api', 'email'));
