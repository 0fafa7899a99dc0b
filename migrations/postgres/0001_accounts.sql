-- Users and their server-side sessions. Times are Unix milliseconds (UTC).
-- Same number and meaning as migrations/sqlite/0001_accounts.sql.
CREATE TABLE users (
    id            TEXT   NOT NULL PRIMARY KEY,
    email         TEXT   NOT NULL,
    password_hash TEXT   NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

-- Emails are stored lowercased; uniqueness lives here, not in the process.
CREATE UNIQUE INDEX users_email_key ON users (email);

CREATE TABLE sessions (
    token_hash       BYTEA  NOT NULL PRIMARY KEY,
    user_id          TEXT   NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at       BIGINT NOT NULL,
    authenticated_at BIGINT NOT NULL,
    last_seen_at     BIGINT NOT NULL,
    logged_in_at     BIGINT NOT NULL
);

CREATE INDEX sessions_user_id_idx ON sessions (user_id);
