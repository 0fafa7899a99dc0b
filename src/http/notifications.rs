//! The mails an account change sends (contract section 12,
//! "Notifications"), built before the change's transaction and queued in
//! it: a password change tells the account's address; an email change
//! tells the *old* address, with the new one masked and an undo link.

use std::time::Duration;

use super::AppState;
use crate::domain::email::Email;
use crate::domain::mail_message::MailMessage;
use crate::domain::session_token::SessionToken;
use crate::domain::time::Timestamp;
use crate::error::ApiError;
use crate::mail::outbox::outbox_mail;
use crate::store::mail::{NewUndoLink, OutboxMail};

/// How long an undo link works.
pub const UNDO_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);
pub const UNDO_PATH: &str = "/account/undo-email-change";

/// What an update queues with itself.
#[derive(Default)]
pub struct UpdateNotices {
    pub mails: Vec<OutboxMail>,
    pub undo_link: Option<NewUndoLink>,
}

/// The notices of an update from `old_email`: `new_email` when it changes,
/// and whether the password changes. Nothing when mail is off.
pub fn update_notices(
    state: &AppState,
    old_email: &Email,
    new_email: Option<&Email>,
    password_changed: bool,
    now: Timestamp,
) -> Result<UpdateNotices, ApiError> {
    let Some(mail) = &state.mail else {
        return Ok(UpdateNotices::default());
    };
    let mut notices = UpdateNotices::default();
    if password_changed {
        let message = MailMessage::PasswordChanged {
            by_reset: false,
            sessions_ended: false,
            ways_in: "your password".into(),
        };
        notices
            .mails
            .push(queue(state, &mail.public_url, old_email, &message, now)?);
    }
    if let Some(new_email) = new_email {
        let token = SessionToken::generate()?;
        let undo_url = format!("{}{UNDO_PATH}?token={}", mail.public_url, token.as_str());
        let message = MailMessage::EmailChanged {
            new_email: new_email.clone(),
            undo_url,
            days: UNDO_LIFETIME.as_secs() / 86_400,
        };
        notices
            .mails
            .push(queue(state, &mail.public_url, old_email, &message, now)?);
        notices.undo_link = Some(NewUndoLink {
            token_hash: token.hash(),
            old_email: old_email.clone(),
            new_email: new_email.clone(),
            expires_at: now.plus(UNDO_LIFETIME),
        });
    }
    Ok(notices)
}

/// `message` to `to` as an outbox row.
pub fn queue(
    state: &AppState,
    public_url: &str,
    to: &Email,
    message: &MailMessage,
    now: Timestamp,
) -> Result<OutboxMail, ApiError> {
    outbox_mail(&state.server_key, public_url, to, message, now)
        .map_err(|err| ApiError::Internal(err.into()))
}

/// Tells the sender of this instance that mail is waiting.
pub fn wake_sender(state: &AppState) {
    if let Some(mail) = &state.mail {
        mail.wake.notify_one();
    }
}
