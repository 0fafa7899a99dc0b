-- The per-account throttle: consecutive failed password checks per
-- submitted email (an account need not exist), and successful password
-- changes per user. Times are Unix milliseconds (UTC).
-- Same number and meaning as migrations/sqlite/0002_throttle.sql.
CREATE TABLE password_failures (
    email           TEXT   NOT NULL PRIMARY KEY,
    failures        BIGINT NOT NULL,
    last_failure_at BIGINT NOT NULL
);

CREATE INDEX password_failures_last_failure_idx ON password_failures (last_failure_at);

CREATE TABLE password_changes (
    user_id    TEXT   NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    changed_at BIGINT NOT NULL
);

CREATE INDEX password_changes_user_idx ON password_changes (user_id, changed_at);
CREATE INDEX password_changes_changed_idx ON password_changes (changed_at);
