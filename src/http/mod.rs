//! The HTTP surface: parsing, authorisation and rendering. Handlers read top
//! to bottom like the contract's numbered steps.

mod account_page;
mod address_slots;
mod auth;
pub mod client_address;
mod client_origin;
mod cookie_header;
mod events;
mod front_door;
mod guard;
mod health;
mod identities;
mod json_body;
pub mod metrics;
mod notifications;
mod oauth;
pub mod openapi;
mod passkey_login;
mod passkeys;
mod password_reset;
pub mod rate_limit;
mod recent_auth;
mod request_id;
mod router;
mod second_factor_codes;
mod second_factor_login;
pub mod serve;
pub mod session;
mod sessions;
mod throttle;
mod totp;
mod undo;
mod users;
mod validation;

use std::sync::Arc;
use std::time::{Duration, Instant};

pub use router::router;

use self::rate_limit::RateLimits;
use crate::config::Origin;
use crate::domain::password::PasswordPolicy;
use crate::domain::password_hasher::PasswordHasher;
use crate::domain::session::SessionPolicy;
use crate::store::Store;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState(Arc<AppContext>);

/// The parts of the running service.
pub struct AppContext {
    pub store: Arc<dyn Store>,
    pub hasher: PasswordHasher,
    pub sessions: SessionPolicy,
    pub new_passwords: PasswordPolicy,
    /// The session cookie's name (`--cookie-prefix`) and `Secure` attribute.
    pub cookie: session::SessionCookie,
    /// `GET /` redirects to the account page.
    pub root_redirect: bool,
    /// Renders `/metrics`.
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
    /// `--metrics-listen`: `/metrics` is served there (and nowhere when unset).
    pub metrics_listen: Option<std::net::SocketAddr>,
    pub body_limit: usize,
    /// `--public-url`, when set, is the only own origin.
    pub public_origin: Option<Origin>,
    /// `--allowed-hosts` after its defaults; `None` answers every host.
    pub allowed_hosts: Option<Vec<crate::config::AllowedHost>>,
    /// Origins allowed credentialed CORS; also exempt from cross-site refusal.
    pub cors_origins: Vec<Origin>,
    pub request_timeout: Duration,
    /// `--trust-proxy` and `--trusted-proxies`: who the client is.
    pub proxies: client_address::ProxyTrust,
    /// Per-address limits; `None` with `--rate-limits off`.
    pub rate_limits: Option<RateLimits>,
    /// Seals what must be read back; keys the HMAC of reset codes.
    pub server_key: crate::domain::server_key::ServerKey,
    /// Mail and password reset, when `--mail-url` is set.
    pub mail: Option<crate::mail::setup::MailContext>,
    /// `--event-retention`: older events are purged.
    pub event_retention: Duration,
    /// The relying party when passkeys are on (`--passkeys on` and
    /// `--public-url`); their routes exist only then.
    pub passkeys: Option<crate::domain::passkey::RelyingParty>,
    /// The configured sign-in providers (section 14); their routes exist
    /// only for those configured.
    pub providers: crate::oauth::Providers,
    /// `--require-recent-auth`, after `--strict`.
    pub require_recent_auth: Option<Duration>,
    pub started_at: Instant,
}

impl AppState {
    pub fn new(context: AppContext) -> Self {
        Self(Arc::new(context))
    }
}

impl AppContext {
    /// Whether the per-account throttle applies: with the per-address limits,
    /// as `--rate-limits` switches both.
    pub fn account_throttle(&self) -> bool {
        self.rate_limits.is_some()
    }
}

impl std::ops::Deref for AppState {
    type Target = AppContext;

    fn deref(&self) -> &AppContext {
        &self.0
    }
}
