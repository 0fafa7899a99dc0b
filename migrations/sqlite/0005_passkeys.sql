-- Passkeys (WebAuthn credentials) and the ceremonies in flight. Times are
-- Unix milliseconds (UTC). Same number and meaning as
-- migrations/postgres/0005_passkeys.sql.
CREATE TABLE passkeys (
    -- UUIDv7: the public id of the passkey in the API.
    id              TEXT    NOT NULL PRIMARY KEY,
    user_id         TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The authenticator's credential id; one account at most.
    credential_id   BLOB    NOT NULL,
    name            TEXT    NOT NULL,
    -- The public key and its extensions, in the relying-party crate's encoding.
    public_key      BLOB    NOT NULL,
    transports      INTEGER NOT NULL,
    -- What each sign-in checks and updates: the signature counter, the
    -- backup flags (BE, BS), user verification and the attachment.
    sign_count      INTEGER NOT NULL,
    backup_eligible INTEGER NOT NULL,
    backed_up       INTEGER NOT NULL,
    user_verified   INTEGER NOT NULL,
    attachment      INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    last_used_at    INTEGER
);

CREATE UNIQUE INDEX passkeys_credential_id_key ON passkeys (credential_id);
CREATE INDEX passkeys_user_idx ON passkeys (user_id, created_at);

-- A challenge lives 5 minutes and is taken (deleted) by the request that
-- finishes its ceremony, on whichever instance.
CREATE TABLE webauthn_challenges (
    id                TEXT    NOT NULL PRIMARY KEY,
    -- 'registration' or 'authentication'.
    purpose           TEXT    NOT NULL,
    -- A registration belongs to the user and session that started it.
    user_id           TEXT    REFERENCES users (id) ON DELETE CASCADE,
    session_public_id TEXT,
    -- The ceremony's server state, in the relying-party crate's encoding.
    state             BLOB    NOT NULL,
    created_at        INTEGER NOT NULL,
    expires_at        INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX webauthn_challenges_expires_idx ON webauthn_challenges (expires_at);
