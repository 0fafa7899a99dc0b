//! Start-up of part two's secrets and mail: the server key (loaded, or
//! created beside a SQLite database) checked against what the database
//! already holds, and the mailer when `--mail-url` is set.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use super::Mailer;
use crate::config::{Config, DatabaseUrl};
use crate::domain::server_key::ServerKey;
use crate::store::Store;

/// What the check row holds, sealed.
const KEY_CHECK: &[u8] = b"neptun-accounts server key check";
/// The key file beside a SQLite database when none is named.
const DEFAULT_KEY_FILE: &str = "neptun-accounts.key";

/// Mail, when it is on.
#[derive(Clone)]
pub struct MailContext {
    pub mailer: Mailer,
    /// `--public-url`: where mailed links point.
    pub public_url: String,
    pub otp_digits: u32,
    pub otp_lifetime: Duration,
    /// Wakes the sender when a request queued a mail.
    pub wake: Arc<Notify>,
}

/// The server key in force, proven to open what the database holds.
pub async fn server_key(config: &Config, store: &dyn Store) -> Result<ServerKey, String> {
    let key = match (&config.mail.secret_key_file, &config.database.database_url) {
        (Some(path), _) => ServerKey::load(path),
        (None, DatabaseUrl::Sqlite(database)) => {
            let path = database.parent().map_or_else(
                || PathBuf::from(DEFAULT_KEY_FILE),
                |folder| folder.join(DEFAULT_KEY_FILE),
            );
            ServerKey::load_or_create(&path)
        }
        // Refused by the configuration already.
        (None, DatabaseUrl::Postgres(_)) => {
            return Err("--secret-key-file is required with PostgreSQL".into());
        }
    }
    .map_err(|err| err.to_string())?;
    let sealed = key.seal(KEY_CHECK).map_err(|err| err.to_string())?;
    let stored = store
        .server_key_check(sealed)
        .await
        .map_err(|err| err.to_string())?;
    match key.open(&stored) {
        Ok(opened) if opened == KEY_CHECK => Ok(key),
        _ => Err("the server key does not open what this database holds: start with the --secret-key-file it was first started with".into()),
    }
}

/// The mailer and reset settings, or `None` (with a start-up line) when mail is off.
pub fn mail_context(config: &Config) -> Result<Option<MailContext>, String> {
    let (Some(url), Some(from), Some(public_url)) = (
        &config.mail.mail_url,
        &config.mail.mail_from,
        &config.public_url,
    ) else {
        tracing::info!(
            "mail is off (no --mail-url): password reset by code and change notifications are unavailable"
        );
        return Ok(None);
    };
    let mailer = Mailer::new(url, from)?;
    tracing::info!(relay = %url.host, port = url.port, "mail is on");
    Ok(Some(MailContext {
        mailer,
        public_url: public_url.as_str().to_owned(),
        otp_digits: config.mail.otp_digits(config.passwords.strict),
        otp_lifetime: config.mail.otp_lifetime,
        wake: Arc::new(Notify::new()),
    }))
}
