//! Building the application from its settings, and serving it.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use tokio::net::TcpListener;

use crate::config::{
    Argon2Settings, BlocklistSource, Config, ConfigError, CookiePrefix, PasskeyMode, PasswordRules,
    Switch,
};
use crate::domain::passkey::RelyingParty;
use crate::domain::password::PasswordPolicy;
use crate::domain::password_blocklist::PasswordBlocklist;
use crate::domain::password_hasher::{HashingError, PasswordHasher};
use crate::domain::session::SessionPolicy;
use crate::domain::throttle;
use crate::domain::time::Timestamp;
use crate::http::client_address::ProxyTrust;
use crate::http::rate_limit::{JANITOR_INTERVAL, RateLimits, RouteQuotas};
use crate::http::serve::{ConnectionLimits, serve};
use crate::http::session::SessionCookie;
use crate::http::{AppContext, AppState};
use crate::store::{self, StoreError, StoreOptions};

/// How often expired sessions and stale throttle records are swept.
const DATABASE_SWEEP: Duration = Duration::from_secs(3600);

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("password hashing: {0}")]
    Hashing(#[from] HashingError),
    #[error("{0}")]
    Secrets(String),
}

/// The service, ready to serve.
pub struct App {
    state: AppState,
    limits: ConnectionLimits,
}

impl App {
    /// Validates `config`, opens and migrates the database, and prepares hashing.
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        config.validate()?;
        let store = store::connect(
            &config.database.database_url,
            StoreOptions {
                sqlite: config.database.sqlite_tuning(),
                max_connections: config.database.database_max_connections,
            },
        )
        .await?;
        let server_key = crate::mail::setup::server_key(&config, store.as_ref())
            .await
            .map_err(StartupError::Secrets)?;
        let mail = crate::mail::setup::mail_context(&config).map_err(StartupError::Secrets)?;
        let hasher = password_hasher(&config.argon2, config.hash_workers(), config.hash_queue)?;
        hasher.warm_up(config.hash_workers()).await?;
        let new_passwords = new_password_policy(&config.passwords)?;
        let limits_on = config.rate_limits == Switch::On;
        if !limits_on {
            tracing::warn!(
                "rate limits and the per-account throttle are OFF (--rate-limits off); never run so in production"
            );
        }
        let public_https = config
            .public_url
            .as_ref()
            .is_some_and(|origin| origin.as_str().starts_with("https://"));
        if config.cookie_secure && !public_https {
            tracing::info!(
                "the session cookie is Secure: over plain http only localhost and 127.0.0.1 keep it; from another host over plain http start with --cookie-secure false (development only)"
            );
        }
        let passkeys = passkey_mode(&config)?;
        let providers =
            crate::oauth::Providers::from_settings(&config.providers, config.public_url.as_ref())
                .map_err(|err| StartupError::Secrets(format!("sign-in providers: {err}")))?;
        if !providers.is_empty() {
            let names: Vec<&str> = providers.iter().map(|provider| provider.name()).collect();
            tracing::info!(
                providers = names.join(","),
                "sign-in providers are on: {}",
                names.join(", ")
            );
        }
        let allowed_hosts = config.allowed_hosts();
        if allowed_hosts.is_none() {
            tracing::warn!(
                listen = %config.listen,
                "every Host is answered: set --public-url (or --allowed-hosts) so that a hostile DNS name pointing here is refused"
            );
        }
        let proxies = ProxyTrust::new(
            config.trust_proxy,
            config
                .trusted_proxies
                .iter()
                .map(|network| network.0)
                .collect(),
        );
        let rate_limits = limits_on.then(|| {
            RateLimits::new(
                RouteQuotas {
                    login: config.login_rate_limit,
                    sign_up: config.sign_up_rate_limit,
                    update: config.update_rate_limit,
                    passkey: config.passkeys.passkey_rate_limit,
                    provider: config.providers.oauth_rate_limit,
                },
                proxies.clone(),
            )
        });
        let state = AppState::new(AppContext {
            store,
            hasher,
            sessions: SessionPolicy::new(config.session_lifetime, config.session_idle_timeout()),
            new_passwords,
            cookie: SessionCookie::new(
                config.cookie_prefix == CookiePrefix::Host,
                config.cookie_secure,
            ),
            root_redirect: config.root_redirect,
            metrics: crate::telemetry::handle(),
            metrics_listen: config.metrics_listen,
            body_limit: config.body_limit,
            public_origin: config.public_url.clone(),
            cors_origins: config.cors_origins.clone(),
            allowed_hosts,
            request_timeout: config.request_timeout,
            proxies,
            rate_limits,
            require_recent_auth: config.protections().require_recent_auth,
            passkeys,
            providers,
            event_retention: config.event_retention,
            server_key,
            mail,
            started_at: Instant::now(),
        });
        let limits = ConnectionLimits {
            header_read_timeout: config.header_read_timeout,
            first_byte_timeout: config.first_byte_timeout,
            idle_timeout: config.idle_timeout,
            max_connections: config.max_connections,
            max_connections_per_address: config.max_connections_per_address,
            shutdown_timeout: config.shutdown_timeout,
        };
        Ok(Self { state, limits })
    }

    /// The router, for serving or for driving in-process.
    pub fn router(&self) -> Router {
        crate::http::router(self.state.clone())
    }

    /// The hashing pool (its counters are read by tests and metrics).
    pub fn hasher(&self) -> &PasswordHasher {
        &self.state.hasher
    }

    /// Serves on `listener` until `shutdown` completes.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let metrics_server = match self.state.metrics_listen {
            Some(address) => {
                let listener = TcpListener::bind(address).await.map_err(|err| {
                    std::io::Error::new(
                        err.kind(),
                        format!("cannot listen for metrics on {address}: {err}"),
                    )
                })?;
                tracing::info!(%address, "metrics listening");
                if !address.ip().is_loopback() {
                    tracing::warn!(%address, "metrics are served beyond this host; keep the port private (firewall) or listen on loopback");
                }
                let router = crate::http::metrics::router(self.state.clone());
                Some(tokio::spawn(serve(
                    listener,
                    router,
                    self.limits,
                    std::future::pending(),
                )))
            }
            None => None,
        };
        let sweeper = tokio::spawn(sweep_expired_rows(self.state.clone()));
        let janitor = tokio::spawn(forget_idle_addresses(self.state.clone()));
        let upkeep = tokio::spawn(keep_metrics(self.state.clone()));
        let event_purge = tokio::spawn(crate::jobs::event_retention::run(self.state.clone()));
        let mail_sender = self.state.mail.as_ref().map(|mail| {
            tokio::spawn(crate::jobs::mail_sender::run(
                self.state.clone(),
                mail.mailer.clone(),
                mail.wake.clone(),
            ))
        });
        let served = serve(listener, self.router(), self.limits, shutdown).await;
        event_purge.abort();
        if let Some(mail_sender) = mail_sender {
            mail_sender.abort();
        }
        sweeper.abort();
        janitor.abort();
        upkeep.abort();
        if let Some(metrics_server) = metrics_server {
            metrics_server.abort();
        }
        self.state.store.close().await;
        served
    }
}

/// The hashing pool `config` asks for (the API and the admin commands hash alike).
pub fn password_hasher(
    argon2: &Argon2Settings,
    workers: usize,
    queue: usize,
) -> Result<PasswordHasher, HashingError> {
    PasswordHasher::new(argon2.cost(), workers, queue)
}

/// The policy for new passwords: minimum length and blocklist, after `--strict`.
pub fn new_password_policy(rules: &PasswordRules) -> Result<PasswordPolicy, ConfigError> {
    let blocklist = match &rules.blocklist() {
        None => None,
        Some(BlocklistSource::Common) => Some(Arc::new(PasswordBlocklist::common())),
        Some(BlocklistSource::File(path)) => Some(Arc::new(
            PasswordBlocklist::from_file(path).map_err(|err| ConfigError {
                flag: "--password-blocklist",
                reason: format!("cannot read {}: {err}", path.display()),
            })?,
        )),
    };
    Ok(PasswordPolicy::for_new_passwords(
        rules.min_length(),
        blocklist,
    ))
}

/// The relying party when passkeys are on; one start-up line says which
/// and, when they stay off, why.
fn passkey_mode(config: &Config) -> Result<Option<RelyingParty>, ConfigError> {
    match config.passkeys.mode(config.public_url.as_ref())? {
        PasskeyMode::On(relying_party) => {
            tracing::info!(
                rp_id = relying_party.id(),
                "passkeys are on for {}",
                relying_party.id()
            );
            Ok(Some(relying_party))
        }
        PasskeyMode::MissingPublicUrl => {
            tracing::warn!(
                "passkeys are OFF: --passkeys on needs --public-url (its host is the relying party id); the passkey routes answer 404"
            );
            Ok(None)
        }
        PasskeyMode::Off => {
            tracing::info!("passkeys are off (--passkeys on with --public-url turns them on)");
            Ok(None)
        }
    }
}

/// Removes expired sessions and stale throttle records from the database.
async fn sweep_expired_rows(state: AppState) {
    let mut ticks = tokio::time::interval(DATABASE_SWEEP);
    loop {
        ticks.tick().await;
        let now = Timestamp::now();
        let (created_before, seen_before) = state.sessions.expiry_cutoffs(now);
        match state
            .store
            .delete_expired_sessions(created_before, seen_before)
            .await
        {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(deleted, "expired sessions removed"),
            Err(err) => tracing::warn!(%err, "could not remove expired sessions"),
        }
        match state.store.delete_expired_challenges(now).await {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(deleted, "expired passkey challenges removed"),
            Err(err) => tracing::warn!(%err, "could not remove expired passkey challenges"),
        }
        match state.store.delete_expired_oauth_state(now).await {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(deleted, "expired provider sign-in flows removed"),
            Err(err) => tracing::warn!(%err, "could not remove expired provider sign-in flows"),
        }
        match state.store.delete_expired_second_factor_rows(now).await {
            Ok(0) => {}
            Ok(deleted) => {
                tracing::info!(deleted, "stale sign-in challenges and enrolments removed")
            }
            Err(err) => tracing::warn!(%err, "could not remove stale sign-in challenges"),
        }
        let failures_before = now.minus(throttle::FAILURE_MEMORY);
        let changes_before = now.minus(throttle::PASSWORD_CHANGE_WINDOW);
        if let Err(err) = state
            .store
            .delete_stale_throttle_records(failures_before, changes_before)
            .await
        {
            tracing::warn!(%err, "could not remove stale throttle records");
        }
    }
}

/// Folds histogram samples in, so they do not pile up between scrapes.
async fn keep_metrics(state: AppState) {
    let mut ticks = tokio::time::interval(crate::telemetry::UPKEEP_INTERVAL);
    loop {
        ticks.tick().await;
        state.metrics.run_upkeep();
    }
}

/// Keeps the per-address limiters from growing with every address seen.
async fn forget_idle_addresses(state: AppState) {
    let Some(limits) = &state.rate_limits else {
        return;
    };
    let mut ticks = tokio::time::interval(JANITOR_INTERVAL);
    loop {
        ticks.tick().await;
        limits.forget_idle_addresses();
    }
}
