-- Switchboard schema, version 6 (SQLite): conversations of the customer chat widget. Keep in
-- step with ../postgres/0006_chat.sql.

-- One row per chat a customer started. The customer proves it is theirs with a secret handed
-- out once at the start and stored here only as its sha256. Its messages are ordinary chat
-- messages whose tickets carry the conversation key `chat-{id}`.
CREATE TABLE chat_conversations (
    id              INTEGER PRIMARY KEY,
    token_sha256    TEXT NOT NULL UNIQUE,
    customer_name   TEXT NOT NULL,
    customer_email  TEXT NOT NULL,
    created_at      BIGINT NOT NULL
);
