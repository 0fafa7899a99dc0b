//! The life of a session (contract section 2): absolute expiry from
//! `created_at`, idle expiry from `last_seen_at`, and how often the latter
//! is written.

use std::time::Duration;

use super::session_token::{SessionToken, SessionTokenHash};
use super::time::Timestamp;
use super::user::UserId;

/// `last_seen_at` is written at most this often per session.
const TOUCH_INTERVAL: Duration = Duration::from_secs(60);

/// The stored state of one session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRow {
    pub token_hash: SessionTokenHash,
    /// The id the session list shows: random, never the token or its hash,
    /// kept across rotation.
    pub public_id: String,
    pub user_id: UserId,
    /// Fixes the absolute expiry; kept across rotation.
    pub created_at: Timestamp,
    /// The last password proof (sign-up, login, correct `current_password`).
    pub authenticated_at: Timestamp,
    /// Drives idle expiry; written at most once per touch interval.
    pub last_seen_at: Timestamp,
    /// When the current token was issued (`loggedInAt` on the wire).
    pub logged_in_at: Timestamp,
}

/// A newly issued token and the row that stores its hash.
#[derive(Debug)]
pub struct IssuedSession {
    pub token: SessionToken,
    pub row: SessionRow,
}

/// 128 random bits, base64url without padding.
pub fn new_public_id() -> Result<String, getrandom::Error> {
    use base64::Engine as _;
    let mut bytes = [0_u8; 16];
    getrandom::fill(&mut bytes)?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// Expiry settings.
#[derive(Clone, Copy, Debug)]
pub struct SessionPolicy {
    lifetime: Duration,
    idle_timeout: Duration,
    touch_interval: Duration,
}

impl SessionPolicy {
    pub fn new(lifetime: Duration, idle_timeout: Duration) -> Self {
        // With an idle timeout under a few minutes (tests, odd deployments) a
        // once-a-minute touch would let an active session lapse.
        let touch_interval = TOUCH_INTERVAL.min(idle_timeout / 4);
        Self {
            lifetime,
            idle_timeout,
            touch_interval,
        }
    }

    /// A brand-new session for `user_id`, proven by a password just now.
    pub fn issue(
        &self,
        user_id: UserId,
        now: Timestamp,
    ) -> Result<IssuedSession, getrandom::Error> {
        let token = SessionToken::generate()?;
        let row = SessionRow {
            token_hash: token.hash(),
            public_id: new_public_id()?,
            user_id,
            created_at: now,
            authenticated_at: now,
            last_seen_at: now,
            logged_in_at: now,
        };
        Ok(IssuedSession { token, row })
    }

    /// A new token for the same session (after a successful update): the
    /// creation and, unless `reauthenticated`, the last password proof are
    /// kept; the token and `logged_in_at` are new.
    pub fn rotate(
        &self,
        current: &SessionRow,
        now: Timestamp,
        reauthenticated: bool,
    ) -> Result<IssuedSession, getrandom::Error> {
        let token = SessionToken::generate()?;
        let row = SessionRow {
            token_hash: token.hash(),
            public_id: current.public_id.clone(),
            user_id: current.user_id.clone(),
            created_at: current.created_at,
            authenticated_at: if reauthenticated {
                now
            } else {
                current.authenticated_at
            },
            last_seen_at: now,
            logged_in_at: now,
        };
        Ok(IssuedSession { token, row })
    }

    /// Whether the session may still be used at `now`.
    pub fn is_live(&self, row: &SessionRow, now: Timestamp) -> bool {
        self.is_live_at(row.created_at, row.last_seen_at, now)
    }

    /// Whether a session created and last seen at these times may be used at `now`.
    pub fn is_live_at(
        &self,
        created_at: Timestamp,
        last_seen_at: Timestamp,
        now: Timestamp,
    ) -> bool {
        now < self.absolute_expiry(created_at) && now < last_seen_at.plus(self.idle_timeout)
    }

    /// Whether this use should record `last_seen_at`.
    pub fn needs_touch(&self, row: &SessionRow, now: Timestamp) -> bool {
        now.since(row.last_seen_at) >= self.touch_interval
    }

    /// Seconds the cookie may live: the rest of the absolute lifetime.
    pub fn cookie_max_age(&self, created_at: Timestamp, now: Timestamp) -> u64 {
        self.absolute_expiry(created_at).since(now).as_secs()
    }

    /// Rows created before the first or last seen before the second are dead.
    pub fn expiry_cutoffs(&self, now: Timestamp) -> (Timestamp, Timestamp) {
        (now.minus(self.lifetime), now.minus(self.idle_timeout))
    }

    fn absolute_expiry(&self, created_at: Timestamp) -> Timestamp {
        created_at.plus(self.lifetime)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);
    const DAY: Duration = Duration::from_secs(86_400);

    fn policy() -> SessionPolicy {
        SessionPolicy::new(30 * DAY, 7 * DAY)
    }

    fn row_at(now: Timestamp) -> SessionRow {
        policy().issue(UserId::generate(), now).unwrap().row
    }

    #[test]
    fn a_new_session_has_all_four_times_equal_and_stores_only_the_hash() {
        let now = Timestamp::from_millis(1_000_000);
        let issued = policy().issue(UserId::generate(), now).unwrap();
        assert_eq!(issued.row.token_hash, issued.token.hash());
        assert_eq!(issued.row.created_at, now);
        assert_eq!(issued.row.authenticated_at, now);
        assert_eq!(issued.row.last_seen_at, now);
        assert_eq!(issued.row.logged_in_at, now);
    }

    #[test]
    fn rotation_keeps_created_and_authenticated_at_and_renews_token_and_logged_in_at() {
        let start = Timestamp::from_millis(0);
        let later = start.plus(DAY);
        let current = row_at(start);

        let rotated = policy().rotate(&current, later, false).unwrap();

        assert_ne!(rotated.row.token_hash, current.token_hash);
        assert_eq!(rotated.row.token_hash, rotated.token.hash());
        assert_eq!(rotated.row.created_at, start);
        assert_eq!(rotated.row.authenticated_at, start);
        assert_eq!(rotated.row.logged_in_at, later);
        let proven = policy().rotate(&current, later, true).unwrap();
        assert_eq!(proven.row.authenticated_at, later);
    }

    #[test]
    fn expires_when_idle_even_within_its_lifetime() {
        let start = Timestamp::from_millis(0);
        let mut row = row_at(start);
        assert!(policy().is_live(&row, start.plus(7 * DAY - MINUTE)));
        assert!(!policy().is_live(&row, start.plus(7 * DAY)));
        row.last_seen_at = start.plus(6 * DAY);
        assert!(policy().is_live(&row, start.plus(12 * DAY)));
    }

    #[test]
    fn expires_at_the_end_of_its_lifetime_however_recently_used() {
        let start = Timestamp::from_millis(0);
        let mut row = row_at(start);
        row.last_seen_at = start.plus(30 * DAY - MINUTE);
        assert!(policy().is_live(&row, start.plus(30 * DAY - Duration::from_millis(1))));
        assert!(!policy().is_live(&row, start.plus(30 * DAY)));
    }

    #[test]
    fn touches_at_most_once_a_minute() {
        let start = Timestamp::from_millis(0);
        let row = row_at(start);
        assert!(!policy().needs_touch(&row, start.plus(59 * Duration::from_secs(1))));
        assert!(policy().needs_touch(&row, start.plus(MINUTE)));
    }

    #[test]
    fn a_short_idle_timeout_touches_often_enough_to_stay_alive() {
        let short = SessionPolicy::new(Duration::from_secs(60), Duration::from_secs(4));
        let start = Timestamp::from_millis(0);
        let row = row_at(start);
        assert!(short.needs_touch(&row, start.plus(Duration::from_secs(1))));
    }

    #[test]
    fn cookie_max_age_is_the_remaining_absolute_lifetime() {
        let start = Timestamp::from_millis(0);
        assert_eq!(policy().cookie_max_age(start, start), 30 * 86_400);
        assert_eq!(policy().cookie_max_age(start, start.plus(DAY)), 29 * 86_400);
        assert_eq!(policy().cookie_max_age(start, start.plus(31 * DAY)), 0);
    }
}
