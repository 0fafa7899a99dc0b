//! The outbox, password reset codes and email-change undo links
//! (contract sections 9, 10 and 12). Every change writes its mail and its
//! event in its own transaction; the sender claims mail with a lease, so
//! several instances never send one twice.

use std::time::Duration;

use async_trait::async_trait;

use super::{PasswordChangeLimit, StoreError};
use crate::domain::client::ClientOrigin;
use crate::domain::email::Email;
use crate::domain::session_token::SessionTokenHash;
use crate::domain::time::Timestamp;
use crate::domain::user::{User, UserId};

/// A mail to queue: its body already sealed with the server key.
#[derive(Clone, Debug)]
pub struct OutboxMail {
    pub id: String,
    pub to: String,
    pub subject: String,
    pub sealed_body: Vec<u8>,
    pub created_at: Timestamp,
}

/// A mail a sender has claimed.
#[derive(Clone, Debug)]
pub struct ClaimedMail {
    pub id: String,
    pub to: String,
    pub subject: String,
    pub sealed_body: Option<Vec<u8>>,
    /// Attempts so far, this one included.
    pub attempts: u32,
    pub created_at: Timestamp,
}

/// What became of a sending attempt.
#[derive(Clone, Debug)]
pub enum Delivery {
    Sent,
    /// A temporary failure: try again at `at`.
    Retry {
        at: Timestamp,
        error: String,
    },
    /// Refused for good (a 5xx), or too old to keep trying.
    Failed {
        error: String,
    },
}

/// A reset code for `email` if it has an account (section 10 `create`).
#[derive(Clone, Debug)]
pub struct ResetCodeRequest {
    pub email: Email,
    pub code_mac: [u8; 32],
    pub expires_at: Timestamp,
    /// The mail carrying the code, addressed to `email`.
    pub mail: OutboxMail,
    pub now: Timestamp,
    /// Codes already issued for the email since this time count…
    pub codes_since: Timestamp,
    /// …and from this many on, nothing is issued or sent.
    pub max_codes: u32,
    pub origin: ClientOrigin,
}

/// A password reset by code (section 10 `validate`).
#[derive(Clone, Debug)]
pub struct PasswordResetByCode {
    pub email: Email,
    pub code_mac: [u8; 32],
    pub password_hash: String,
    pub now: Timestamp,
    /// Wrong tries are counted per email from this time on.
    pub failures_since: Timestamp,
    pub tries_per_code: u32,
    pub tries_per_account: u32,
    pub change_limit: Option<PasswordChangeLimit>,
    /// "Your password was changed", addressed to `email`.
    pub mail: Option<OutboxMail>,
    pub origin: ClientOrigin,
}

/// How a reset by code ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResetOutcome {
    Reset {
        user_id: UserId,
        sessions_ended: u64,
    },
    /// Unknown email, wrong, void, expired or used code: one answer.
    Invalid,
    TooManyPasswordChanges {
        oldest: Timestamp,
    },
}

/// An undo link to store with an email change.
#[derive(Clone, Debug)]
pub struct NewUndoLink {
    pub token_hash: SessionTokenHash,
    pub old_email: Email,
    pub new_email: Email,
    pub expires_at: Timestamp,
}

/// An undo link as stored.
#[derive(Clone, Debug)]
pub struct UndoLink {
    pub user_id: UserId,
    pub old_email: Email,
    pub usable: bool,
}

/// Restoring the old address (section 12 "Undo").
#[derive(Clone, Debug)]
pub struct EmailChangeUndo {
    pub token_hash: SessionTokenHash,
    /// The address the link restores, as read before: the undo fails if
    /// the link changed meanwhile.
    pub old_email: Email,
    pub now: Timestamp,
    /// A reset code for the restored address, and its mail.
    pub code_mac: [u8; 32],
    pub code_expires_at: Timestamp,
    pub mail: Option<OutboxMail>,
    pub origin: ClientOrigin,
}

/// How an undo ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UndoOutcome {
    Restored {
        user: User,
        sessions_ended: u64,
    },
    /// Unknown, used or expired.
    Invalid,
    /// Another account took the old address meanwhile; the link stays usable.
    EmailTaken,
}

#[async_trait]
pub trait MailStore: Send + Sync {
    /// Stores `sealed` as the server key's check unless one is stored
    /// already; returns the stored one.
    async fn server_key_check(&self, sealed: Vec<u8>) -> Result<Vec<u8>, StoreError>;

    /// Claims up to `batch` mails due at `now` for `lease`, counting an attempt.
    async fn claim_mail(
        &self,
        now: Timestamp,
        lease: Duration,
        batch: u32,
    ) -> Result<Vec<ClaimedMail>, StoreError>;

    /// Records what became of a claimed mail (a sent or failed one loses its body).
    async fn finish_mail(
        &self,
        id: &str,
        delivery: Delivery,
        now: Timestamp,
    ) -> Result<(), StoreError>;

    /// Mails waiting to be sent.
    async fn queued_mail(&self) -> Result<u64, StoreError>;

    /// Section 10 `create`: always records the request; for an existing
    /// account under the cap, replaces its code and queues the mail and a
    /// `password_reset_requested` event. True if a code was issued.
    async fn request_reset_code(&self, request: ResetCodeRequest) -> Result<bool, StoreError>;

    /// Section 10 `validate`, in one transaction.
    async fn reset_password_by_code(
        &self,
        reset: PasswordResetByCode,
    ) -> Result<ResetOutcome, StoreError>;

    /// The undo link with this token hash, if any.
    async fn find_undo_link(
        &self,
        token_hash: SessionTokenHash,
        now: Timestamp,
    ) -> Result<Option<UndoLink>, StoreError>;

    /// Restores the old address, in one transaction.
    async fn undo_email_change(&self, undo: EmailChangeUndo) -> Result<UndoOutcome, StoreError>;
}
