//! The settings of part two that need a server key or a mail relay: the
//! key itself, SMTP, and the password reset codes it sends.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use clap::Args;

use super::values::parse_duration;
use super::{ConfigError, fail};
use crate::domain::otp;

/// `--mail-url`: where mail goes, and how securely.
#[derive(Clone, PartialEq, Eq)]
pub struct MailUrl {
    pub security: MailSecurity,
    pub host: String,
    pub port: u16,
    pub credentials: Option<(String, String)>,
}

/// How the SMTP connection is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MailSecurity {
    /// `smtp://`: plain, for a relay on the same host or network.
    Plain,
    /// `smtp+starttls://`: STARTTLS required.
    StartTls,
    /// `smtps://`: TLS from the first byte.
    Tls,
}

impl std::fmt::Debug for MailUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password.
        write!(
            f,
            "MailUrl({:?}, {}:{})",
            self.security, self.host, self.port
        )
    }
}

impl FromStr for MailUrl {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || {
            format!(
                "expected smtp://, smtp+starttls:// or smtps:// and a host, as in smtp://127.0.0.1:25 (got {:?})",
                redacted(text)
            )
        };
        let (scheme, rest) = text.split_once("://").ok_or_else(invalid)?;
        let (security, default_port) = match scheme {
            "smtp" => (MailSecurity::Plain, 25),
            "smtp+starttls" => (MailSecurity::StartTls, 587),
            "smtps" => (MailSecurity::Tls, 465),
            _ => return Err(invalid()),
        };
        let authority = rest.trim_end_matches('/');
        if authority.contains(['/', '?', '#']) {
            return Err(invalid());
        }
        let (user_info, host_port) = match authority.rsplit_once('@') {
            Some((user_info, host_port)) => (Some(user_info), host_port),
            None => (None, authority),
        };
        let (host, port) = match host_port.rsplit_once(':') {
            Some((host, port)) if !host.ends_with(']') || host.starts_with('[') => {
                (host, port.parse::<u16>().map_err(|_| invalid())?)
            }
            _ => (host_port, default_port),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(invalid());
        }
        let credentials = user_info.map(|info| {
            let (user, password) = info.split_once(':').unwrap_or((info, ""));
            (percent_decode(user), percent_decode(password))
        });
        Ok(Self {
            security,
            host: host.to_owned(),
            port,
            credentials,
        })
    }
}

fn redacted(url: &str) -> String {
    match (url.split_once("://"), url.rfind('@')) {
        (Some((scheme, _)), Some(at)) => format!("{scheme}://***{}", &url[at..]),
        _ => url.to_owned(),
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let hex = bytes.get(index + 1..index + 3).and_then(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
        });
        match (bytes[index], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                index += 3;
            }
            (byte, _) => {
                out.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The server key, mail and password reset.
#[derive(Args, Clone, Debug)]
#[command(next_help_heading = "Server key, mail and password reset")]
pub struct MailSettings {
    /// 32 random bytes that seal secrets the service reads back (TOTP
    /// secrets, unsent mail) and key the HMAC of reset and recovery codes,
    /// whether or not mail is on. SQLite: `neptun-accounts.key` beside the database
    /// by default, created 0600; PostgreSQL: required, shared by every instance.
    #[arg(long, env = "NEPTUN_SECRET_KEY_FILE", value_name = "PATH")]
    pub secret_key_file: Option<PathBuf>,

    /// SMTP relay: `smtp://[user:pass@]host[:port]`, `smtp+starttls://…`
    /// (port 587) or `smtps://…` (port 465). Without it, mail and password
    /// reset are off.
    #[arg(long, env = "NEPTUN_MAIL_URL", value_name = "URL")]
    pub mail_url: Option<MailUrl>,

    /// The sender of every mail: `Name <address>` or an address.
    #[arg(long, env = "NEPTUN_MAIL_FROM", value_name = "MAILBOX")]
    pub mail_from: Option<String>,

    /// Digits of a password reset code (default 5; 8 under --strict).
    #[arg(long, env = "NEPTUN_OTP_DIGITS", value_name = "N")]
    pub otp_digits: Option<u32>,

    /// How long a password reset code works.
    #[arg(long, env = "NEPTUN_OTP_LIFETIME", default_value = "10m", value_parser = parse_duration, value_name = "DURATION")]
    pub otp_lifetime: Duration,
}

impl MailSettings {
    /// Digits in force: the flag, else `--strict`'s 8, else NEPTUN's 5.
    pub fn otp_digits(&self, strict: bool) -> u32 {
        self.otp_digits.unwrap_or(if strict {
            otp::STRICT_DIGITS
        } else {
            otp::DEFAULT_DIGITS
        })
    }

    /// `public_url_set`: whether `--public-url` was given (mail links need it).
    pub fn validate(&self, public_url_set: bool) -> Result<(), ConfigError> {
        if let Some(digits) = self.otp_digits
            && !(4..=10).contains(&digits)
        {
            return fail("--otp-digits", "must be between 4 and 10");
        }
        if self.mail_url.is_some() {
            match &self.mail_from {
                None => return fail("--mail-from", "is required with --mail-url"),
                Some(from) if from.parse::<lettre::message::Mailbox>().is_err() => {
                    return fail(
                        "--mail-from",
                        "is not a mailbox like \"NEPTUN <accounts@example.com>\"",
                    );
                }
                Some(_) => {}
            }
            if !public_url_set {
                return fail(
                    "--public-url",
                    "is required with --mail-url (mails carry links to it)",
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mail_urls_name_their_security_port_and_credentials() {
        let plain: MailUrl = "smtp://127.0.0.1:2525".parse().unwrap();
        assert_eq!(
            (plain.security, plain.host.as_str(), plain.port),
            (MailSecurity::Plain, "127.0.0.1", 2525)
        );
        assert_eq!(plain.credentials, None);
        let tls: MailUrl = "smtps://user%40x:p%3Ass@mail.example.com".parse().unwrap();
        assert_eq!((tls.security, tls.port), (MailSecurity::Tls, 465));
        assert_eq!(tls.credentials, Some(("user@x".into(), "p:ss".into())));
        let starttls: MailUrl = "smtp+starttls://mail.example.com".parse().unwrap();
        assert_eq!(
            (starttls.security, starttls.port),
            (MailSecurity::StartTls, 587)
        );
        for bad in [
            "http://x",
            "smtp://",
            "smtp://host:port",
            "smtp://host/path",
            "mail.example.com",
        ] {
            assert!(bad.parse::<MailUrl>().is_err(), "{bad}");
        }
        let shown = format!("{:?}", "smtps://u:secret@h".parse::<MailUrl>().unwrap());
        assert!(!shown.contains("secret"), "{shown}");
        let err = "ftp://u:secret@h".parse::<MailUrl>().unwrap_err();
        assert!(!err.contains("secret"), "{err}");
    }

    fn settings(url: Option<&str>, from: Option<&str>) -> MailSettings {
        MailSettings {
            secret_key_file: None,
            mail_url: url.map(|url| url.parse().unwrap()),
            mail_from: from.map(str::to_owned),
            otp_digits: None,
            otp_lifetime: Duration::from_secs(600),
        }
    }

    #[test]
    fn mail_needs_a_sender_and_a_public_url() {
        let url = Some("smtp://127.0.0.1:25");
        let flag = |result: Result<(), ConfigError>| result.err().map(|err| err.flag);
        assert_eq!(
            flag(settings(url, None).validate(true)),
            Some("--mail-from")
        );
        assert_eq!(
            flag(settings(url, Some("not a mailbox")).validate(true)),
            Some("--mail-from")
        );
        assert_eq!(
            flag(settings(url, Some("N <a@example.com>")).validate(false)),
            Some("--public-url")
        );
        assert!(
            settings(url, Some("N <a@example.com>"))
                .validate(true)
                .is_ok()
        );
        assert!(
            settings(None, None).validate(false).is_ok(),
            "mail off needs neither"
        );
    }
}
