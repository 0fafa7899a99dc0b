//! The per-account throttle (contract section 5): after a few consecutive
//! failed password checks every further attempt waits, doubling; and a cap
//! on password changes per hour. The state lives in the database so that it
//! holds across instances; this module only decides.

use std::time::Duration;

use super::time::Timestamp;

/// Consecutive failures allowed before attempts must wait.
pub const FREE_FAILURES: u32 = 5;
const FIRST_WAIT: Duration = Duration::from_secs(1);
const LONGEST_WAIT: Duration = Duration::from_secs(15 * 60);
/// A failure record untouched this long is forgotten (and its row removed),
/// so rows for emails that have no account do not pile up.
pub const FAILURE_MEMORY: Duration = Duration::from_secs(24 * 3600);

/// Successful password changes allowed per account per window.
pub const PASSWORD_CHANGES_PER_WINDOW: u32 = 10;
pub const PASSWORD_CHANGE_WINDOW: Duration = Duration::from_secs(3600);

/// Consecutive failed password checks for one submitted email.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FailureRecord {
    pub failures: u32,
    pub last_failure_at: Timestamp,
}

/// How long attempts must wait after `failures` consecutive failures.
pub fn wait_after(failures: u32) -> Option<Duration> {
    let doublings = failures.checked_sub(FREE_FAILURES)?;
    let wait = FIRST_WAIT.saturating_mul(2_u32.saturating_pow(doublings.min(20)));
    Some(wait.min(LONGEST_WAIT))
}

/// The time left before another attempt may be checked, if any.
pub fn retry_after(record: Option<FailureRecord>, now: Timestamp) -> Option<Duration> {
    let record = record?;
    let unlocks_at = record.last_failure_at.plus(wait_after(record.failures)?);
    (now < unlocks_at).then(|| unlocks_at.since(now))
}

/// The time left before another password change is allowed, given the
/// changes of the last window (oldest first).
pub fn password_change_retry_after(
    changes_in_window: u32,
    oldest: Option<Timestamp>,
    now: Timestamp,
) -> Option<Duration> {
    if changes_in_window < PASSWORD_CHANGES_PER_WINDOW {
        return None;
    }
    let frees_at = oldest?.plus(PASSWORD_CHANGE_WINDOW);
    Some(frees_at.since(now).max(Duration::from_secs(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_are_free_then_waits_double_from_one_second_to_fifteen_minutes() {
        assert_eq!(wait_after(4), None);
        assert_eq!(wait_after(5), Some(Duration::from_secs(1)));
        assert_eq!(wait_after(6), Some(Duration::from_secs(2)));
        assert_eq!(wait_after(9), Some(Duration::from_secs(16)));
        assert_eq!(wait_after(15), Some(Duration::from_secs(900)));
        assert_eq!(wait_after(u32::MAX), Some(Duration::from_secs(900)));
    }

    #[test]
    fn an_attempt_waits_until_the_last_failure_plus_the_wait() {
        let at = Timestamp::from_millis(10_000);
        let record = Some(FailureRecord {
            failures: 6,
            last_failure_at: at,
        });
        assert_eq!(
            retry_after(record, at.plus(Duration::from_millis(500))),
            Some(Duration::from_millis(1_500))
        );
        assert_eq!(retry_after(record, at.plus(Duration::from_secs(2))), None);
        let few = Some(FailureRecord {
            failures: 4,
            last_failure_at: at,
        });
        assert_eq!(retry_after(few, at), None);
        assert_eq!(retry_after(None, at), None);
    }

    #[test]
    fn the_eleventh_password_change_in_a_window_waits_for_the_oldest_to_leave_it() {
        let now = Timestamp::from_millis(10_000_000);
        let oldest = now.minus(Duration::from_secs(600));
        assert_eq!(password_change_retry_after(9, Some(oldest), now), None);
        assert_eq!(
            password_change_retry_after(10, Some(oldest), now),
            Some(Duration::from_secs(3000))
        );
    }
}
