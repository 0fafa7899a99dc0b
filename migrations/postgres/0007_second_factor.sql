-- The second factor: TOTP, recovery codes, and sign-in challenges waiting
-- for a code. Times are Unix milliseconds (UTC). Same number and meaning as
-- migrations/sqlite/0007_second_factor.sql. (0006 is another change's.)
CREATE TABLE totp (
    user_id       TEXT   NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    -- The RFC 6238 secret sealed with the server key (nonce || ciphertext).
    sealed_secret BYTEA  NOT NULL,
    created_at    BIGINT NOT NULL,
    -- NULL while the enrolment waits for its confirming code.
    enabled_at    BIGINT,
    -- A pending enrolment is void after this; NULL once enabled.
    pending_until BIGINT,
    -- The last 30-second step whose code was accepted: that step and every
    -- earlier one are refused from then on, on every instance.
    last_step     BIGINT
);

-- Only their HMAC under the server key; a used code is deleted.
CREATE TABLE recovery_codes (
    user_id    TEXT   NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  BYTEA  NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, code_hash)
);

-- A sign-in whose first factor was right, waiting for its second: 5
-- minutes, 5 wrong codes, taken (deleted) by the code that completes it.
CREATE TABLE login_challenges (
    id              TEXT    NOT NULL PRIMARY KEY,
    user_id         TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The `login` event's detail for the first factor (JSON object).
    first_factor    TEXT    NOT NULL,
    -- The password hash the first step verified (NULL without a password):
    -- a password changed since voids the challenge.
    verified_hash   TEXT,
    -- A re-hash of that password at today's cost, stored on completion.
    rehashed_hash   TEXT,
    -- SHA-256 of a value only the browser that began the sign-in holds
    -- (a provider flow's cookie); NULL when not bound to a browser.
    browser_binding BYTEA,
    failures        INTEGER NOT NULL DEFAULT 0,
    created_at      BIGINT  NOT NULL,
    expires_at      BIGINT  NOT NULL
);

CREATE INDEX login_challenges_expires_idx ON login_challenges (expires_at);
CREATE INDEX login_challenges_user_idx ON login_challenges (user_id);
