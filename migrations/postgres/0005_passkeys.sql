-- Passkeys (WebAuthn credentials) and the ceremonies in flight. Times are
-- Unix milliseconds (UTC). Same number and meaning as
-- migrations/sqlite/0005_passkeys.sql.
CREATE TABLE passkeys (
    -- UUIDv7: the public id of the passkey in the API.
    id              TEXT     NOT NULL PRIMARY KEY,
    user_id         TEXT     NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The authenticator's credential id; one account at most.
    credential_id   BYTEA    NOT NULL,
    name            TEXT     NOT NULL,
    -- The public key and its extensions, in the relying-party crate's encoding.
    public_key      BYTEA    NOT NULL,
    transports      SMALLINT NOT NULL,
    -- What each sign-in checks and updates: the signature counter, the
    -- backup flags (BE, BS), user verification and the attachment.
    sign_count      BIGINT   NOT NULL,
    backup_eligible BOOLEAN  NOT NULL,
    backed_up       BOOLEAN  NOT NULL,
    user_verified   BOOLEAN  NOT NULL,
    attachment      SMALLINT NOT NULL,
    created_at      BIGINT   NOT NULL,
    last_used_at    BIGINT
);

CREATE UNIQUE INDEX passkeys_credential_id_key ON passkeys (credential_id);
CREATE INDEX passkeys_user_idx ON passkeys (user_id, created_at);

-- A challenge lives 5 minutes and is taken (deleted) by the request that
-- finishes its ceremony, on whichever instance.
CREATE TABLE webauthn_challenges (
    id                TEXT   NOT NULL PRIMARY KEY,
    -- 'registration' or 'authentication'.
    purpose           TEXT   NOT NULL,
    -- A registration belongs to the user and session that started it.
    user_id           TEXT   REFERENCES users (id) ON DELETE CASCADE,
    session_public_id TEXT,
    -- The ceremony's server state, in the relying-party crate's encoding.
    state             BYTEA  NOT NULL,
    created_at        BIGINT NOT NULL,
    expires_at        BIGINT NOT NULL
);

CREATE INDEX webauthn_challenges_expires_idx ON webauthn_challenges (expires_at);
