//! Every setting of the service, defined once: flag, environment variable,
//! default and help line. `serve` takes them all; each admin command takes
//! only the groups that apply to it (`shared`). `--help` and the README's
//! configuration table come from here.

mod mail;
mod network;
mod passkeys;
mod providers;
mod serve;
mod shared;
mod values;

use std::time::Duration;

pub use self::mail::{MailSecurity, MailSettings, MailUrl};
pub use self::network::{AllowedHost, ProxyNetwork};
pub use self::passkeys::{PasskeyMode, PasskeySettings};
pub use self::providers::{ClientCredentials, OidcProviderSetting, ProviderSettings, ProviderUrl};
pub use self::serve::Config;
pub use self::shared::{Argon2Settings, DatabaseSettings, PasswordRules, SQLITE_MMAP_MIB_MAX};
pub use self::values::{
    BlocklistSource, CookiePrefix, DatabaseUrl, LogFormat, Origin, RateQuota, SqliteSynchronous,
    Switch,
};

/// A setting that parsed but cannot work.
#[derive(Debug, thiserror::Error)]
#[error("invalid setting {flag}: {reason}")]
pub struct ConfigError {
    pub flag: &'static str,
    pub reason: String,
}

fn fail(flag: &'static str, reason: &str) -> Result<(), ConfigError> {
    Err(ConfigError {
        flag,
        reason: reason.to_owned(),
    })
}

/// The optional protections after `--strict` filled in what was not set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Protections {
    pub require_recent_auth: Option<Duration>,
    pub password_min_length: usize,
    pub password_blocklist: Option<BlocklistSource>,
}
