//! The per-account throttle's rows: failed password checks per submitted
//! email and password changes per account. Kept apart from the account and
//! session operations; every [`super::Store`] is one of these too.

use std::time::Duration;

use async_trait::async_trait;

use super::StoreError;
use crate::domain::email::Email;
use crate::domain::time::Timestamp;
use crate::domain::user::UserId;

/// The answer to a request to check a password.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasswordCheckReservation {
    /// The attempt is counted as a failure already; the check may run.
    Reserved,
    /// The email must wait this long after its failures; nothing was counted.
    Wait(Duration),
}

/// The throttle's operations, each one transaction.
#[async_trait]
pub trait ThrottleStore: Send + Sync + 'static {
    /// In one transaction, so that concurrent attempts (on any instance)
    /// cannot all pass a look taken before any of them failed: refuses when
    /// `email` must wait after its failures, else counts this attempt as one
    /// more failure (until [`Self::clear_password_failures`] forgives it).
    async fn reserve_password_check(
        &self,
        email: &Email,
        now: Timestamp,
    ) -> Result<PasswordCheckReservation, StoreError>;

    /// Takes back a reservation whose password was never checked (the
    /// hashing queue was full).
    async fn release_password_check(&self, email: &Email) -> Result<(), StoreError>;

    /// Forgets the failures of `email` after a correct password.
    async fn clear_password_failures(&self, email: &Email) -> Result<(), StoreError>;

    /// Successful password changes of `user_id` since `since`: how many, and
    /// when the oldest of them happened.
    async fn password_changes_since(
        &self,
        user_id: &UserId,
        since: Timestamp,
    ) -> Result<(u32, Option<Timestamp>), StoreError>;

    /// Removes failure records untouched since `failures_before` and password
    /// changes older than `changes_before`; returns how many rows.
    async fn delete_stale_throttle_records(
        &self,
        failures_before: Timestamp,
        changes_before: Timestamp,
    ) -> Result<u64, StoreError>;
}
