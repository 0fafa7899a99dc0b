-- The per-account throttle: consecutive failed password checks per
-- submitted email (an account need not exist), and successful password
-- changes per user. Times are Unix milliseconds (UTC).
CREATE TABLE password_failures (
    email           TEXT    NOT NULL PRIMARY KEY,
    failures        INTEGER NOT NULL,
    last_failure_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX password_failures_last_failure_idx ON password_failures (last_failure_at);

CREATE TABLE password_changes (
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    changed_at INTEGER NOT NULL
);

CREATE INDEX password_changes_user_idx ON password_changes (user_id, changed_at);
CREATE INDEX password_changes_changed_idx ON password_changes (changed_at);
