-- Accepted callback requests and their delivery to Genesys (the outbox), the numbers behind the
-- per-number limits, and Idempotency-Key records. Times are Unix milliseconds (UTC).

CREATE TABLE callbacks (
    id              TEXT PRIMARY KEY,       -- random and unguessable: it is the visitor's receipt
    queue_id        TEXT NOT NULL,
    numbers         TEXT,                   -- JSON array of E.164 numbers; NULL once settled
    number_hint     TEXT NOT NULL,          -- last two digits, all a status answer may show
    user_name       TEXT,                   -- NULL once settled
    scheduled_time  TEXT,                   -- RFC 3339
    country_code    TEXT,
    client_address  TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'created', 'failed')),
    accepted_at     INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    conversation_id TEXT,
    settled_at      INTEGER
);
CREATE INDEX callbacks_due ON callbacks (status, next_attempt_at);
CREATE INDEX callbacks_by_address ON callbacks (client_address, accepted_at);
CREATE INDEX callbacks_by_queue ON callbacks (queue_id, status);
CREATE INDEX callbacks_by_time ON callbacks (accepted_at);

-- One row per number of a request: what the per-number limits count. Kept for a day.
CREATE TABLE callback_numbers (
    callback_id TEXT NOT NULL REFERENCES callbacks (id) ON DELETE CASCADE,
    number      TEXT NOT NULL,
    queue_id    TEXT NOT NULL,
    accepted_at INTEGER NOT NULL
);
CREATE INDEX callback_numbers_by_number ON callback_numbers (number, accepted_at);

CREATE TABLE idempotency_keys (
    key         TEXT PRIMARY KEY,
    body_digest TEXT NOT NULL,              -- SHA-256 of the request body, hex
    callback_id TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX idempotency_keys_by_time ON idempotency_keys (created_at);
