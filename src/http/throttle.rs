//! The per-account throttle as the handlers use it: look before a password
//! check, count a failure after a wrong one, forget after a right one. Keyed
//! by the normalised *submitted* email, so a 429 never tells whether an
//! account exists. Off with `--rate-limits off`.

use super::AppState;
use crate::domain::email::Email;
use crate::domain::throttle::{self, FailureRecord};
use crate::domain::time::Timestamp;
use crate::domain::user::UserId;
use crate::error::ApiError;
use crate::store::PasswordChangeLimit;
use crate::telemetry;

/// What the throttle knew before a password check, to settle it afterwards.
pub struct PasswordCheck {
    email: Email,
    had_failures: bool,
}

/// 429 while `email` must wait after repeated failures; otherwise a ticket
/// to report the outcome of the password check with.
pub async fn before_password_check(
    state: &AppState,
    email: &Email,
) -> Result<PasswordCheck, ApiError> {
    let record: Option<FailureRecord> = if state.account_throttle() {
        state.store.password_failures(email).await?
    } else {
        None
    };
    if let Some(wait) = throttle::retry_after(record, Timestamp::now()) {
        telemetry::throttled("password_failures");
        tracing::warn!(
            limit = "per-account password failures",
            retry_after_secs = wait.as_secs(),
            "rate limit reached: an account waits after {} failed password checks (fixed; --rate-limits off switches it off, local experiments only)",
            throttle::FREE_FAILURES,
        );
        return Err(ApiError::too_many_requests(wait));
    }
    Ok(PasswordCheck {
        email: email.clone(),
        had_failures: record.is_some(),
    })
}

impl PasswordCheck {
    /// Counts a wrong password.
    pub async fn failed(self, state: &AppState) -> Result<(), ApiError> {
        if state.account_throttle() {
            state
                .store
                .record_password_failure(&self.email, Timestamp::now())
                .await?;
        }
        Ok(())
    }

    /// A right password resets the count (no write when there was none).
    pub async fn succeeded(self, state: &AppState) -> Result<(), ApiError> {
        if state.account_throttle() && self.had_failures {
            state.store.clear_password_failures(&self.email).await?;
        }
        Ok(())
    }
}

/// 429 when the account already changed its password the maximum number of
/// times this window; otherwise the cap for the update to enforce.
pub async fn password_change_allowed(
    state: &AppState,
    user_id: &UserId,
) -> Result<Option<PasswordChangeLimit>, ApiError> {
    if !state.account_throttle() {
        return Ok(None);
    }
    let now = Timestamp::now();
    let since = now.minus(throttle::PASSWORD_CHANGE_WINDOW);
    let (changes, oldest) = state.store.password_changes_since(user_id, since).await?;
    if let Some(wait) = throttle::password_change_retry_after(changes, oldest, now) {
        telemetry::throttled("password_changes");
        tracing::warn!(
            limit = "password changes per account",
            retry_after_secs = wait.as_secs(),
            "rate limit reached: at most {} password changes per account an hour (fixed; --rate-limits off switches it off, local experiments only)",
            throttle::PASSWORD_CHANGES_PER_WINDOW,
        );
        return Err(ApiError::too_many_requests(wait));
    }
    Ok(Some(PasswordChangeLimit {
        since,
        max: throttle::PASSWORD_CHANGES_PER_WINDOW,
    }))
}
