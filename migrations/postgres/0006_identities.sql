-- Sign-in providers (contract section 14): linked identities, the flows in
-- flight and the links that wait for the owner's confirmation. Times are
-- Unix milliseconds (UTC). Same number and meaning as
-- migrations/sqlite/0006_identities.sql.
CREATE TABLE identities (
    -- UUIDv7: the public id of the identity in the API.
    id           TEXT    NOT NULL PRIMARY KEY,
    user_id      TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- 'github', 'google' or an --oidc name.
    provider     TEXT    NOT NULL,
    -- The provider's stable id of the person; never matched by email.
    subject      TEXT    NOT NULL,
    -- The verified address the provider last reported.
    email        TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    last_used_at BIGINT
);

CREATE UNIQUE INDEX identities_provider_subject_key ON identities (provider, subject);
CREATE INDEX identities_user_idx ON identities (user_id, created_at);

-- A flow lives 10 minutes and is taken (deleted) by its callback, on
-- whichever instance, only from the browser that holds its cookie.
CREATE TABLE oauth_flows (
    -- The `state` sent to the provider.
    state           TEXT    NOT NULL PRIMARY KEY,
    provider        TEXT    NOT NULL,
    -- SHA-256 of the flow cookie's value.
    browser_binding BYTEA   NOT NULL,
    pkce_verifier   TEXT    NOT NULL,
    nonce           TEXT,
    redirect_path   TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL,
    expires_at      BIGINT  NOT NULL
);

CREATE INDEX oauth_flows_expires_idx ON oauth_flows (expires_at);

-- An identity whose email belongs to an account (or that came back to a
-- signed-in browser): linked only when that account's owner confirms,
-- from the same browser, within 10 minutes.
CREATE TABLE oauth_pending_links (
    id              TEXT    NOT NULL PRIMARY KEY,
    browser_binding BYTEA   NOT NULL,
    user_id         TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider        TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    email           TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL,
    expires_at      BIGINT  NOT NULL
);

CREATE INDEX oauth_pending_links_binding_idx ON oauth_pending_links (browser_binding, user_id);
CREATE INDEX oauth_pending_links_expires_idx ON oauth_pending_links (expires_at);
