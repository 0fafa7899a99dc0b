//! The passkey settings (contract section 13), a group of their own so that
//! `serve`'s settings stay small: passkeys are off until switched on, and
//! need `--public-url` (its host is the relying party id).

use clap::Args;

use super::ConfigError;
use super::values::{Origin, RateQuota, Switch};
use crate::domain::passkey::RelyingParty;

/// Passkeys (WebAuthn).
#[derive(Args, Clone, Debug)]
#[command(next_help_heading = "Passkeys")]
pub struct PasskeySettings {
    /// `on` lets users add passkeys and sign in with them; needs
    /// --public-url, whose host is the relying party id.
    #[arg(
        long,
        env = "NEPTUN_PASSKEYS",
        default_value = "off",
        value_enum,
        value_name = "on|off"
    )]
    pub passkeys: Switch,

    /// Passkey sign-ins per client address (`N/PERIOD`); the request for
    /// sign-in options has a limit of the same size of its own.
    #[arg(
        long,
        env = "NEPTUN_PASSKEY_RATE_LIMIT",
        default_value = "20/1m",
        value_name = "N/PERIOD"
    )]
    pub passkey_rate_limit: RateQuota,
}

/// Whether passkeys run, and if not, why.
#[derive(Debug)]
pub enum PasskeyMode {
    On(RelyingParty),
    Off,
    /// `--passkeys on` without `--public-url`.
    MissingPublicUrl,
}

impl PasskeySettings {
    /// The relying party for `public_url` when passkeys are on.
    pub fn mode(&self, public_url: Option<&Origin>) -> Result<PasskeyMode, ConfigError> {
        if self.passkeys == Switch::Off {
            return Ok(PasskeyMode::Off);
        }
        let Some(origin) = public_url else {
            return Ok(PasskeyMode::MissingPublicUrl);
        };
        RelyingParty::new(origin.as_str(), origin.host())
            .map(PasskeyMode::On)
            .map_err(|reason| ConfigError {
                flag: "--public-url",
                reason: format!("passkeys need a public URL on a domain name: {reason}"),
            })
    }

    /// Refuses a `--public-url` that cannot be a relying party (an IP
    /// address) when passkeys are on.
    pub fn validate(&self, public_url: Option<&Origin>) -> Result<(), ConfigError> {
        self.mode(public_url).map(|_| ())
    }
}
