//! Turning a mail into an outbox row and back: rendered, serialised and
//! sealed with the server key, so an unsent code or link is never readable
//! in the database.

use crate::domain::email::Email;
use crate::domain::mail_message::{MailMessage, RenderedMail};
use crate::domain::server_key::ServerKey;
use crate::domain::time::Timestamp;
use crate::store::mail::{ClaimedMail, OutboxMail};

/// Why a mail could not be queued or read back.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("rendering a mail: {0}")]
    Render(#[from] askama::Error),
    #[error("sealing a mail: {0}")]
    Seal(String),
    #[error("the mail's body does not open with this server key")]
    Unsealable,
}

/// `message` to `to`, ready to insert with the change that causes it.
pub fn outbox_mail(
    key: &ServerKey,
    public_url: &str,
    to: &Email,
    message: &MailMessage,
    now: Timestamp,
) -> Result<OutboxMail, OutboxError> {
    let rendered = message.render(to, public_url)?;
    let body = serde_json::to_vec(&rendered).map_err(|err| OutboxError::Seal(err.to_string()))?;
    let sealed_body = key
        .seal(&body)
        .map_err(|err| OutboxError::Seal(err.to_string()))?;
    Ok(OutboxMail {
        id: uuid::Uuid::now_v7().hyphenated().to_string(),
        to: rendered.to,
        subject: rendered.subject,
        sealed_body,
        created_at: now,
    })
}

/// The mail a sender claimed, opened.
pub fn open_mail(key: &ServerKey, claimed: &ClaimedMail) -> Result<RenderedMail, OutboxError> {
    let sealed = claimed
        .sealed_body
        .as_deref()
        .ok_or(OutboxError::Unsealable)?;
    let body = key.open(sealed).map_err(|_| OutboxError::Unsealable)?;
    serde_json::from_slice(&body).map_err(|_| OutboxError::Unsealable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queued_mail_hides_its_code_and_opens_with_the_key() {
        let key = ServerKey::from_bytes([9; 32]);
        let to = Email::parse("ada@example.com").unwrap();
        let message = MailMessage::ResetCode {
            code: "31415".into(),
            minutes: 10,
        };
        let row = outbox_mail(&key, "https://a.example", &to, &message, Timestamp::now()).unwrap();
        assert!(!row.sealed_body.windows(5).any(|window| window == b"31415"));
        let claimed = ClaimedMail {
            id: row.id.clone(),
            to: row.to.clone(),
            subject: row.subject.clone(),
            sealed_body: Some(row.sealed_body.clone()),
            attempts: 1,
            created_at: row.created_at,
        };
        assert!(open_mail(&key, &claimed).unwrap().text.contains("31415"));
        assert!(open_mail(&ServerKey::from_bytes([1; 32]), &claimed).is_err());
    }
}
