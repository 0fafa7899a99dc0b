-- Mail and password reset (contract sections 9, 10 and 12). Times are Unix
-- milliseconds (UTC). Same number and meaning as
-- migrations/postgres/0004_mail.sql.

-- Mail waiting to be sent, written in the transaction of the change that
-- causes it. The body is sealed with the server key and erased once the
-- mail is sent or has failed.
CREATE TABLE outbox (
    id              TEXT    NOT NULL PRIMARY KEY,
    recipient       TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    sealed_body     BLOB,
    status          TEXT    NOT NULL CHECK (status IN ('queued', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    -- A sender's claim: no other sender takes the row before this time.
    lease_until     INTEGER,
    created_at      INTEGER NOT NULL,
    finished_at     INTEGER,
    last_error      TEXT
);

CREATE INDEX outbox_due_idx ON outbox (status, next_attempt_at);

-- The latest reset code of an account: only its HMAC under the server key.
CREATE TABLE password_reset_codes (
    user_id     TEXT    NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    code_mac    BLOB    NOT NULL,
    expires_at  INTEGER NOT NULL,
    wrong_tries INTEGER NOT NULL DEFAULT 0
);

-- Every `create`, by submitted email (an account need not exist); `issued`
-- when a code was made, for the per-account cap.
CREATE TABLE password_reset_requests (
    email        TEXT    NOT NULL,
    requested_at INTEGER NOT NULL,
    issued       INTEGER NOT NULL
);

CREATE INDEX password_reset_requests_email_idx ON password_reset_requests (email, requested_at);

-- Wrong `validate` tries by submitted email, in a 24-hour window.
CREATE TABLE password_reset_failures (
    email             TEXT    NOT NULL PRIMARY KEY,
    failures          INTEGER NOT NULL,
    window_started_at INTEGER NOT NULL
) WITHOUT ROWID;

-- The undo link of an email change, mailed to the old address.
CREATE TABLE email_change_undo (
    token_hash BLOB    NOT NULL PRIMARY KEY,
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    old_email  TEXT    NOT NULL,
    new_email  TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
) WITHOUT ROWID;

CREATE INDEX email_change_undo_user_idx ON email_change_undo (user_id, created_at);

-- Something sealed with the server key at first start: a start with
-- another key cannot open it and stops, instead of failing row by row.
CREATE TABLE server_key_check (
    id     INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    sealed BLOB    NOT NULL
);
