//! The SMTP side of mail (contract section 9): one `lettre` async
//! transport with rustls, built from `--mail-url`, and the sending of one
//! rendered mail. Requests never call this: the outbox sender does.

use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

pub mod outbox;
pub mod setup;

use crate::config::{MailSecurity, MailUrl};
use crate::domain::mail_message::RenderedMail;

/// How long one SMTP conversation may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(20);

/// Why a mail was not sent.
#[derive(Debug, thiserror::Error)]
#[error("{reason}")]
pub struct SendFailure {
    /// A 5xx answer: retrying will not help.
    pub permanent: bool,
    /// What went wrong, never the mail's content.
    pub reason: String,
}

/// The relay and the sender address.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    pub fn new(url: &MailUrl, from: &str) -> Result<Self, String> {
        let from: Mailbox = from.parse().map_err(|err| format!("--mail-from: {err}"))?;
        let builder = match url.security {
            MailSecurity::Plain => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&url.host)
            }
            MailSecurity::StartTls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&url.host)
                    .map_err(|err| format!("--mail-url: {err}"))?
            }
            MailSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&url.host)
                .map_err(|err| format!("--mail-url: {err}"))?,
        };
        let builder = builder.port(url.port).timeout(Some(SMTP_TIMEOUT));
        let builder = match &url.credentials {
            Some((user, password)) => {
                builder.credentials(Credentials::new(user.clone(), password.clone()))
            }
            None => builder,
        };
        Ok(Self {
            transport: builder.build(),
            from,
        })
    }

    /// Sends `mail` once.
    pub async fn send(&self, mail: &RenderedMail) -> Result<(), SendFailure> {
        let refused = |reason: String| SendFailure {
            permanent: true,
            reason,
        };
        let to: Mailbox = mail
            .to
            .parse()
            .map_err(|err| refused(format!("recipient: {err}")))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&mail.subject)
            .multipart(MultiPart::alternative_plain_html(
                mail.text.clone(),
                mail.html.clone(),
            ))
            .map_err(|err| refused(format!("message: {err}")))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(err) => Err(SendFailure {
                permanent: err.is_permanent(),
                reason: describe(&err),
            }),
        }
    }
}

/// The error without the message (lettre's text never holds the body, but
/// say only the kind and the server's answer code).
fn describe(err: &lettre::transport::smtp::Error) -> String {
    match err.status() {
        Some(code) => format!("SMTP {code}: {err}"),
        None => format!("SMTP: {err}"),
    }
}
