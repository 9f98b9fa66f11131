-- Switchboard schema, version 7 (PostgreSQL): outbox claims counted, and the automatic-answer budget
-- indexed. Keep in step with ../sqlite/0007_outbox_claims.sql.

-- How many times a sender claimed the entry. An entry claimed more than once was in the hands
-- of a sender before (one that failed, crashed or lost its lease), so it may have reached the
-- server already: the SMTP sender looks for its Message-ID in the Sent folder before sending.
ALTER TABLE outbox ADD COLUMN claims BIGINT NOT NULL DEFAULT 0;

-- The loop guard counts a sender's automatic answers of the last hour before each automatic
-- email answer: by channel, lower-cased recipient and time, without a scan of the outbox.
CREATE INDEX outbox_recipient_recent ON outbox (channel, LOWER(recipient), created_at);
