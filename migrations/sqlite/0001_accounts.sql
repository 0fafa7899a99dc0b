-- Users and their server-side sessions. Times are Unix milliseconds (UTC).
CREATE TABLE users (
    id            TEXT    NOT NULL PRIMARY KEY,
    email         TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

-- Emails are stored lowercased; uniqueness lives here, not in the process.
CREATE UNIQUE INDEX users_email_key ON users (email);

CREATE TABLE sessions (
    token_hash       BLOB    NOT NULL PRIMARY KEY,
    user_id          TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at       INTEGER NOT NULL,
    authenticated_at INTEGER NOT NULL,
    last_seen_at     INTEGER NOT NULL,
    logged_in_at     INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX sessions_user_id_idx ON sessions (user_id);
