-- Sessions the user can see (a public id, the device and network that
-- started each) and the account history. Times are Unix milliseconds (UTC).
-- Same number and meaning as migrations/postgres/0003_history.sql.

-- The public id is never the token or its hash. Sessions from before this
-- migration get 128 random bits in hex; new ones get base64url.
ALTER TABLE sessions ADD COLUMN public_id TEXT;
UPDATE sessions SET public_id = lower(hex(randomblob(16))) WHERE public_id IS NULL;
CREATE UNIQUE INDEX sessions_public_id_key ON sessions (public_id);

-- The device and network a session started from, apart from the session
-- row: every authenticated request reads that row, and a User-Agent of
-- a hundred bytes or more would widen it several times over.
CREATE TABLE session_devices (
    public_id  TEXT NOT NULL PRIMARY KEY REFERENCES sessions (public_id) ON DELETE CASCADE,
    user_agent TEXT,
    address    TEXT
) WITHOUT ROWID;

CREATE TABLE events (
    -- UUIDv7: ordering by id is ordering by time, which pages rely on.
    id         TEXT    NOT NULL PRIMARY KEY,
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    type       TEXT    NOT NULL,
    at         INTEGER NOT NULL,
    address    TEXT,
    user_agent TEXT,
    -- A JSON object; never a secret.
    detail     TEXT    NOT NULL
);

CREATE INDEX events_user_idx ON events (user_id, id);
CREATE INDEX events_at_idx ON events (at);
