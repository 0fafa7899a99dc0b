//! The per-account throttle as the handlers use it: reserve the attempt
//! before a password check (it counts as a failure until it succeeds), then
//! forgive it after a right password. The reservation is one transaction in
//! the database, so a burst of concurrent attempts, through any number of
//! instances, reaches at most the free failures. Keyed by the normalised
//! *submitted* email, so a 429 never tells whether an account exists. Off
//! with `--rate-limits off`.

use super::AppState;
use crate::domain::email::Email;
use crate::domain::password::Password;
use crate::domain::password_hasher::{HashingError, Verification};
use crate::domain::throttle;
use crate::domain::time::Timestamp;
use crate::domain::user::UserId;
use crate::error::ApiError;
use crate::store::{PasswordChangeLimit, PasswordCheckReservation};
use crate::telemetry;

/// A password check the throttle let through, counted as a failure already.
pub struct PasswordCheck {
    /// `None` when the throttle is off.
    email: Option<Email>,
}

/// 429 while `email` must wait after repeated failures; otherwise the
/// attempt is reserved (counted) and the ticket runs the check.
pub async fn reserve_password_check(
    state: &AppState,
    email: &Email,
) -> Result<PasswordCheck, ApiError> {
    if !state.account_throttle() {
        return Ok(PasswordCheck { email: None });
    }
    match state
        .store
        .reserve_password_check(email, Timestamp::now())
        .await?
    {
        PasswordCheckReservation::Reserved => Ok(PasswordCheck {
            email: Some(email.clone()),
        }),
        PasswordCheckReservation::Wait(wait) => {
            telemetry::throttled("password_failures");
            tracing::warn!(
                limit = "per-account password failures",
                retry_after_secs = wait.as_secs(),
                "rate limit reached: an account waits after {} failed password checks (fixed; --rate-limits off switches it off, local experiments only)",
                throttle::FREE_FAILURES,
            );
            Err(ApiError::too_many_requests(wait))
        }
    }
}

impl PasswordCheck {
    /// Verifies `password` against `stored` (the dummy hash when `None`). A
    /// full hashing queue checked nothing, so it gives the reservation back.
    pub async fn verify(
        &self,
        state: &AppState,
        password: Password,
        stored: Option<String>,
    ) -> Result<Verification, ApiError> {
        match state.hasher.verify(password, stored).await {
            Ok(verification) => Ok(verification),
            Err(err @ HashingError::Busy) => {
                if let Some(email) = &self.email {
                    state.store.release_password_check(email).await?;
                }
                Err(err.into())
            }
            Err(err) => Err(err.into()),
        }
    }

    /// A wrong password: the reservation stays, as the failure it is.
    pub fn failed(self) {}

    /// A right password or code that completes no sign-in (a password
    /// before its second factor, a code on an account route): not a
    /// failure, and no reset of the earlier ones either.
    pub async fn released(self, state: &AppState) -> Result<(), ApiError> {
        if let Some(email) = &self.email {
            state.store.release_password_check(email).await?;
        }
        Ok(())
    }

    /// A right password forgets the failures, this reservation included.
    pub async fn succeeded(self, state: &AppState) -> Result<(), ApiError> {
        if let Some(email) = &self.email {
            state.store.clear_password_failures(email).await?;
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

/// The cap on password changes for a change that checks it inside its own
/// transaction (a reset by code); none with the throttle off.
pub fn password_change_limit(state: &AppState, now: Timestamp) -> Option<PasswordChangeLimit> {
    state.account_throttle().then(|| PasswordChangeLimit {
        since: now.minus(throttle::PASSWORD_CHANGE_WINDOW),
        max: throttle::PASSWORD_CHANGES_PER_WINDOW,
    })
}
