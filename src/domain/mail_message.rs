//! Each mail the service sends, as a typed value rendered to a subject, a
//! plain-text part and an HTML part by compile-time templates
//! (`templates/mail/`). A mail carries no secret but the one it exists to
//! carry (a reset code, an undo link).

use askama::Template;
use serde::{Deserialize, Serialize};

use super::email::Email;

/// A mail ready to queue: where it goes and what it says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenderedMail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The mails of contract sections 10 and 12.
#[derive(Clone, Debug)]
pub enum MailMessage {
    /// A password reset code (section 10).
    ResetCode { code: String, minutes: u64 },
    /// The password was changed, through the account or by a reset.
    PasswordChanged {
        by_reset: bool,
        sessions_ended: bool,
        /// "password", "password and 2 passkeys" …
        ways_in: String,
    },
    /// To the old address after an email change, with the undo link.
    EmailChanged {
        new_email: Email,
        undo_url: String,
        days: u64,
    },
}

#[derive(Template)]
#[template(path = "mail/reset_code.txt")]
struct ResetCodeText<'a> {
    service: &'a str,
    code: &'a str,
    minutes: u64,
}

#[derive(Template)]
#[template(path = "mail/reset_code.html")]
struct ResetCodeHtml<'a> {
    service: &'a str,
    code: &'a str,
    minutes: u64,
}

#[derive(Template)]
#[template(path = "mail/password_changed.txt")]
struct PasswordChangedText<'a> {
    service: &'a str,
    by_reset: bool,
    sessions_ended: bool,
    ways_in: &'a str,
    account_url: &'a str,
}

#[derive(Template)]
#[template(path = "mail/password_changed.html")]
struct PasswordChangedHtml<'a> {
    service: &'a str,
    by_reset: bool,
    sessions_ended: bool,
    ways_in: &'a str,
    account_url: &'a str,
}

#[derive(Template)]
#[template(path = "mail/email_changed.txt")]
struct EmailChangedText<'a> {
    service: &'a str,
    masked_new: &'a str,
    undo_url: &'a str,
    days: u64,
}

#[derive(Template)]
#[template(path = "mail/email_changed.html")]
struct EmailChangedHtml<'a> {
    service: &'a str,
    masked_new: &'a str,
    undo_url: &'a str,
    days: u64,
}

impl MailMessage {
    /// The mail to `to` for the service at `public_url` (its origin).
    pub fn render(&self, to: &Email, public_url: &str) -> Result<RenderedMail, askama::Error> {
        let service = public_url
            .split_once("://")
            .map_or(public_url, |(_, host)| host);
        let account_url = format!("{public_url}/account");
        let (subject, text, html) = match self {
            Self::ResetCode { code, minutes } => (
                "Your password reset code",
                ResetCodeText {
                    service,
                    code,
                    minutes: *minutes,
                }
                .render()?,
                ResetCodeHtml {
                    service,
                    code,
                    minutes: *minutes,
                }
                .render()?,
            ),
            Self::PasswordChanged {
                by_reset,
                sessions_ended,
                ways_in,
            } => (
                "Your password was changed",
                PasswordChangedText {
                    service,
                    by_reset: *by_reset,
                    sessions_ended: *sessions_ended,
                    ways_in,
                    account_url: &account_url,
                }
                .render()?,
                PasswordChangedHtml {
                    service,
                    by_reset: *by_reset,
                    sessions_ended: *sessions_ended,
                    ways_in,
                    account_url: &account_url,
                }
                .render()?,
            ),
            Self::EmailChanged {
                new_email,
                undo_url,
                days,
            } => {
                let masked_new = mask(new_email);
                (
                    "The email address of your account was changed",
                    EmailChangedText {
                        service,
                        masked_new: &masked_new,
                        undo_url,
                        days: *days,
                    }
                    .render()?,
                    EmailChangedHtml {
                        service,
                        masked_new: &masked_new,
                        undo_url,
                        days: *days,
                    }
                    .render()?,
                )
            }
        };
        Ok(RenderedMail {
            to: to.as_str().to_owned(),
            subject: subject.to_owned(),
            text,
            html,
        })
    }
}

/// `n***@example.com`: enough for the owner to recognise, too little to reuse.
pub fn mask(email: &Email) -> String {
    let (local, domain) = email
        .as_str()
        .split_once('@')
        .unwrap_or(("", email.as_str()));
    let first = local.chars().next().map_or_else(String::new, String::from);
    format!("{first}***@{domain}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email(text: &str) -> Email {
        Email::parse(text).unwrap()
    }

    #[test]
    fn the_new_address_is_masked_to_its_first_letter_and_domain() {
        assert_eq!(mask(&email("newemail@example.com")), "n***@example.com");
        assert_eq!(mask(&email("x@sub.example.org")), "x***@sub.example.org");
    }

    #[test]
    fn a_reset_mail_carries_its_code_in_both_parts() {
        let mail = MailMessage::ResetCode {
            code: "04711".into(),
            minutes: 10,
        }
        .render(&email("ada@example.com"), "https://accounts.example.com")
        .unwrap();
        assert_eq!(mail.subject, "Your password reset code");
        assert_eq!(mail.to, "ada@example.com");
        assert!(mail.text.contains("04711") && mail.html.contains("04711"));
        assert!(mail.text.contains("accounts.example.com") && mail.text.contains("10 minutes"));
    }

    #[test]
    fn an_email_change_mail_has_the_masked_address_and_an_escaped_link() {
        let mail = MailMessage::EmailChanged {
            new_email: email("mallory@evil.example"),
            undo_url: "https://a.example/account/undo-email-change?token=abc&x=1".into(),
            days: 7,
        }
        .render(&email("ada@example.com"), "https://a.example")
        .unwrap();
        assert!(mail.text.contains("m***@evil.example"));
        assert!(!mail.text.contains("mallory"));
        assert!(mail.text.contains("token=abc&x=1"));
        assert!(mail.html.contains("token=abc&#38;x=1"), "{}", mail.html);
    }
}
