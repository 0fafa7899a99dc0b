//! The second factor's rows (contract section 15): a user's TOTP (pending
//! or on) with the last step used, the recovery codes' hashes, and sign-in
//! challenges waiting for a code. A code is spent inside the transaction of
//! the change it proves, by a conditional update (the step) or a delete
//! (the recovery code), so no code works twice on any instance; a refused
//! code writes its `second_factor_failed` event in that same transaction.
//! Every [`super::Store`] is one of these.

use async_trait::async_trait;
use serde_json::Value;

use super::{NewSession, StoreError};
use crate::domain::email::Email;
use crate::domain::event::NewEvent;
use crate::domain::time::Timestamp;
use crate::domain::totp::{BrowserBinding, RecoveryCodeHash};
use crate::domain::user::UserId;

/// A user's TOTP row as stored.
#[derive(Clone, Debug)]
pub struct TotpRecord {
    pub sealed_secret: Vec<u8>,
    /// `None` while the enrolment is pending.
    pub enabled_at: Option<Timestamp>,
    /// The end of a pending enrolment.
    pub pending_until: Option<Timestamp>,
}

impl TotpRecord {
    /// TOTP is on (confirmed).
    pub fn is_enabled(&self) -> bool {
        self.enabled_at.is_some()
    }

    /// A pending enrolment that can still be confirmed at `now`.
    pub fn is_pending_at(&self, now: Timestamp) -> bool {
        self.enabled_at.is_none() && self.pending_until.is_some_and(|until| until > now)
    }
}

/// What the presented code proved, as the handler could tell from the
/// secret; the store spends it (or finds it spent) atomically.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proof {
    /// A TOTP code of this step: accepted only if the step is later than
    /// the last one used, which it becomes.
    TotpStep(i64),
    /// A recovery code: accepted only if its hash is stored, then deleted.
    RecoveryCode(RecoveryCodeHash),
    /// A code that matched nothing.
    Wrong,
}

/// The events a proof may write: `failed` if it is refused, `recovery_used`
/// if a recovery code is spent.
#[derive(Clone, Debug)]
pub struct ProofEvents {
    pub failed: NewEvent,
    pub recovery_used: NewEvent,
}

/// What a change that needs a code came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checked {
    /// The code was spent and the change made.
    Done,
    /// The code was wrong, or used already: nothing changed but the
    /// failure's event.
    Refused,
    /// There was nothing to check it against (no TOTP on, no enrolment
    /// pending); nothing was written.
    NotEnabled,
}

/// Confirming a pending enrolment: the step of its code, the hashes of the
/// first recovery codes, and the events.
#[derive(Clone, Debug)]
pub struct TotpConfirmation {
    pub user_id: UserId,
    /// `None`: the code matched no step of the pending secret.
    pub step: Option<i64>,
    pub recovery_codes: Vec<RecoveryCodeHash>,
    pub now: Timestamp,
    pub enabled: NewEvent,
    pub failed: NewEvent,
}

/// A sign-in challenge about to be stored.
#[derive(Clone, Debug)]
pub struct NewLoginChallenge {
    /// 128 random bits, base64url: the API's `challenge_id`.
    pub id: String,
    pub user_id: UserId,
    /// The `login` event's detail for the first factor.
    pub first_factor: Value,
    /// The password hash the first factor verified, if it was a password.
    pub verified_hash: Option<String>,
    pub rehashed_hash: Option<String>,
    pub binding: Option<BrowserBinding>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// A live challenge as the second step reads it.
#[derive(Clone, Debug)]
pub struct PendingLogin {
    pub user_id: UserId,
    pub email: Email,
    pub first_factor: Value,
    pub binding: Option<BrowserBinding>,
    /// The user's sealed TOTP secret, `None` if TOTP went off meanwhile.
    pub sealed_secret: Option<Vec<u8>>,
}

/// The second step of a sign-in, as the handler judged it.
#[derive(Clone, Debug)]
pub struct SecondFactorSignIn {
    pub challenge_id: String,
    pub proof: Proof,
    /// Started only if the proof holds, with its `login` event.
    pub session: NewSession,
    pub events: ProofEvents,
    pub now: Timestamp,
}

/// What the second step came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignInOutcome {
    /// The session is stored; the challenge is gone.
    SignedIn,
    /// A wrong or spent code: counted on the challenge, which dies at the
    /// fifth.
    Refused,
    /// The challenge is unknown, stale or used up, or the password changed
    /// since it began.
    Expired,
}

#[async_trait]
pub trait SecondFactorStore: Send + Sync + 'static {
    /// The user's TOTP row, pending or on.
    async fn find_totp(&self, user_id: &UserId) -> Result<Option<TotpRecord>, StoreError>;

    /// Starts (or replaces) a pending enrolment with `sealed_secret` until
    /// `pending_until`. `false`, and nothing written, when TOTP is on.
    async fn begin_totp_enrolment(
        &self,
        user_id: &UserId,
        sealed_secret: Vec<u8>,
        now: Timestamp,
        pending_until: Timestamp,
    ) -> Result<bool, StoreError>;

    /// In one transaction: turns the pending enrolment on at the code's
    /// step, stores the recovery codes and the `totp_enabled` event; or, for
    /// a code that matched nothing, writes the `second_factor_failed`
    /// event. `NotEnabled` when nothing is pending at `now`.
    async fn confirm_totp(&self, confirmation: TotpConfirmation) -> Result<Checked, StoreError>;

    /// In one transaction: spends the proof, then removes TOTP and the
    /// recovery codes with `disabled` (the `totp_disabled` event).
    async fn disable_totp(
        &self,
        user_id: &UserId,
        proof: Proof,
        disabled: NewEvent,
        events: ProofEvents,
    ) -> Result<Checked, StoreError>;

    /// In one transaction: spends the proof, then replaces every recovery
    /// code with `codes` and writes `renewed`.
    async fn renew_recovery_codes(
        &self,
        user_id: &UserId,
        proof: Proof,
        codes: Vec<RecoveryCodeHash>,
        renewed: NewEvent,
        events: ProofEvents,
        now: Timestamp,
    ) -> Result<Checked, StoreError>;

    /// Without a code (the admin's reset for an owner who lost both
    /// device and codes): removes TOTP, the recovery codes and the user's
    /// sign-in challenges, with `disabled`. `false`, and nothing written,
    /// if TOTP was not on.
    async fn remove_second_factor(
        &self,
        user_id: &UserId,
        disabled: NewEvent,
    ) -> Result<bool, StoreError>;

    /// Stores a sign-in challenge.
    async fn create_login_challenge(&self, challenge: NewLoginChallenge) -> Result<(), StoreError>;

    /// The challenge `id` if it is live at `now` (fresh, fewer than five
    /// wrong codes), with what its second step needs.
    async fn find_login_challenge(
        &self,
        id: &str,
        now: Timestamp,
    ) -> Result<Option<PendingLogin>, StoreError>;

    /// In one transaction: if the challenge is still live and its password
    /// unchanged, spends the proof, deletes the challenge and stores the
    /// session (and any re-hash); a refused proof counts one wrong code
    /// and writes its event.
    async fn complete_login_challenge(
        &self,
        sign_in: SecondFactorSignIn,
    ) -> Result<SignInOutcome, StoreError>;

    /// Removes stale sign-in challenges and pending enrolments; how many.
    async fn delete_expired_second_factor_rows(&self, now: Timestamp) -> Result<u64, StoreError>;
}
