//! The settings of `neptun-accounts serve`: the groups it shares with the
//! admin commands, and those only a running service needs (listening,
//! cookies, sessions, limits, logging).

use std::net::SocketAddr;
use std::time::Duration;

use clap::{ArgAction, Args};

use super::mail::MailSettings;
use super::network::{AllowedHost, ProxyNetwork};
use super::passkeys::PasskeySettings;
use super::providers::ProviderSettings;
use super::shared::{Argon2Settings, DatabaseSettings, PasswordRules, STRICT_RECENT_AUTH};
use super::values::{CookiePrefix, LogFormat, Origin, RateQuota, Switch, parse_duration};
use super::{ConfigError, Protections, fail};

/// Settings of `neptun-accounts serve`.
#[derive(Args, Clone, Debug)]
pub struct Config {
    /// Address and port to listen on.
    #[arg(
        long,
        env = "NEPTUN_LISTEN",
        default_value = "127.0.0.1:3000",
        value_name = "ADDR:PORT"
    )]
    pub listen: SocketAddr,

    /// The service's public origin (`https://accounts.example.com`); POST, PATCH
    /// and DELETE from any other origin are refused. When unset, the own origin
    /// is `http(s)://` plus the request's `Host`.
    #[arg(long, env = "NEPTUN_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<Origin>,

    /// The `Host` names the service answers to (`HOST[:PORT],…`; without a
    /// port any port; `*` any host); others get 421. Default: listening on
    /// loopback, the loopback names and the `--public-url` host; otherwise
    /// the `--public-url` host, or any host when it is unset.
    #[arg(
        long,
        env = "NEPTUN_ALLOWED_HOSTS",
        value_name = "HOST",
        value_delimiter = ','
    )]
    pub allowed_hosts: Vec<AllowedHost>,

    /// An origin allowed credentialed CORS (repeatable; env: comma-separated).
    #[arg(
        long = "cors-origin",
        env = "NEPTUN_CORS_ORIGINS",
        value_name = "ORIGIN",
        value_delimiter = ','
    )]
    pub cors_origins: Vec<Origin>,

    /// A connection must deliver a request head within this time, counted from
    /// accept or from the request's first byte (cuts off slowloris clients).
    #[arg(long, env = "NEPTUN_HEADER_READ_TIMEOUT", default_value = "10s", value_parser = parse_duration, value_name = "DURATION")]
    pub header_read_timeout: Duration,

    /// A new connection that has sent no byte yet is closed after this
    /// (shorter than the header-read timeout: silent connections only hold
    /// slots).
    #[arg(long, env = "NEPTUN_FIRST_BYTE_TIMEOUT", default_value = "5s", value_parser = parse_duration, value_name = "DURATION")]
    pub first_byte_timeout: Duration,

    /// A keep-alive connection idle this long between requests is closed.
    #[arg(long, env = "NEPTUN_IDLE_TIMEOUT", default_value = "60s", value_parser = parse_duration, value_name = "DURATION")]
    pub idle_timeout: Duration,

    /// A request (body upload included) not answered within this time gets 408.
    #[arg(long, env = "NEPTUN_REQUEST_TIMEOUT", default_value = "30s", value_parser = parse_duration, value_name = "DURATION")]
    pub request_timeout: Duration,

    /// Open connections at most; past that, new ones wait to be accepted.
    #[arg(
        long,
        env = "NEPTUN_MAX_CONNECTIONS",
        default_value_t = 1024,
        value_name = "N"
    )]
    pub max_connections: usize,

    /// Open connections one client address may hold (IPv6: one /64); one
    /// more is closed at once, so one client cannot take every slot.
    #[arg(
        long,
        env = "NEPTUN_MAX_CONNECTIONS_PER_ADDRESS",
        default_value_t = 64,
        value_name = "N"
    )]
    pub max_connections_per_address: usize,

    /// On SIGTERM or SIGINT, how long requests in flight may take to finish
    /// before their connections are cut.
    #[arg(
        long,
        env = "NEPTUN_SHUTDOWN_TIMEOUT",
        default_value = "30s",
        value_parser = parse_duration,
        value_name = "DURATION"
    )]
    pub shutdown_timeout: Duration,

    /// Proxies in front of the service: the client address is the Nth address
    /// from the right of `X-Forwarded-For` (0: the socket's peer address).
    #[arg(
        long,
        env = "NEPTUN_TRUST_PROXY",
        default_value_t = 0,
        value_name = "N"
    )]
    pub trust_proxy: usize,

    /// The proxies whose `X-Forwarded-For` is read (`CIDR,…`; a bare
    /// address is one host); from any other peer the header is ignored.
    /// Default with `--trust-proxy`: loopback (a proxy on the same host).
    #[arg(
        long,
        env = "NEPTUN_TRUSTED_PROXIES",
        value_name = "CIDR",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<ProxyNetwork>,

    /// `off` switches every rate limit and the per-account throttle off (for
    /// benchmarks only).
    #[arg(
        long,
        env = "NEPTUN_RATE_LIMITS",
        default_value = "on",
        value_enum,
        value_name = "on|off"
    )]
    pub rate_limits: Switch,

    /// Logins per client address (`N/PERIOD`; a burst of N is allowed).
    #[arg(
        long,
        env = "NEPTUN_LOGIN_RATE_LIMIT",
        default_value = "20/1m",
        value_name = "N/PERIOD"
    )]
    pub login_rate_limit: RateQuota,

    /// Sign-ups per client address (`N/PERIOD`).
    #[arg(
        long,
        env = "NEPTUN_SIGN_UP_RATE_LIMIT",
        default_value = "10/10m",
        value_name = "N/PERIOD"
    )]
    pub sign_up_rate_limit: RateQuota,

    /// Account updates (PATCH) per client address (`N/PERIOD`).
    #[arg(
        long,
        env = "NEPTUN_UPDATE_RATE_LIMIT",
        default_value = "30/1m",
        value_name = "N/PERIOD"
    )]
    pub update_rate_limit: RateQuota,

    /// A PATCH that changes email or password needs a password proof this
    /// recent, or a correct `current_password` (off unless set).
    #[arg(long, env = "NEPTUN_REQUIRE_RECENT_AUTH", value_parser = parse_duration, value_name = "DURATION")]
    pub require_recent_auth: Option<Duration>,

    /// Serve `/metrics` on this address (a private port; loopback
    /// recommended). Unset: no metrics are served; never on `--listen`.
    #[arg(long, env = "NEPTUN_METRICS_LISTEN", value_name = "ADDR:PORT")]
    pub metrics_listen: Option<SocketAddr>,

    /// Answer `GET /` with a redirect to the account page (`/account`).
    #[arg(
        long,
        env = "NEPTUN_ROOT_REDIRECT",
        default_value = "true",
        action = ArgAction::Set,
        value_name = "true|false"
    )]
    pub root_redirect: bool,

    /// Mark the session cookie `Secure`; `false` only for plain-http development.
    #[arg(
        long,
        env = "NEPTUN_COOKIE_SECURE",
        default_value = "true",
        action = ArgAction::Set,
        value_name = "true|false"
    )]
    pub cookie_secure: bool,

    /// `host` names the session cookie `__Host-neptun-session`, which
    /// browsers keep only for this exact host over HTTPS (needs Secure).
    #[arg(
        long,
        env = "NEPTUN_COOKIE_PREFIX",
        default_value = "none",
        value_enum,
        value_name = "none|host"
    )]
    pub cookie_prefix: CookiePrefix,

    /// A session unused for this long ends (default 7d, or the lifetime when
    /// that is shorter).
    #[arg(long, env = "NEPTUN_SESSION_IDLE_TIMEOUT", value_parser = parse_duration, value_name = "DURATION")]
    pub session_idle_timeout: Option<Duration>,

    /// A session ends this long after it was created, however much it is used.
    #[arg(long, env = "NEPTUN_SESSION_LIFETIME", default_value = "30d", value_parser = parse_duration, value_name = "DURATION")]
    pub session_lifetime: Duration,

    /// Account events older than this are deleted (checked a few times per
    /// retention period, at most hourly).
    #[arg(long, env = "NEPTUN_EVENT_RETENTION", default_value = "90d", value_parser = parse_duration, value_name = "DURATION")]
    pub event_retention: Duration,

    /// Largest accepted request body in bytes; larger ones get 413.
    #[arg(
        long,
        env = "NEPTUN_BODY_LIMIT",
        default_value_t = 16_384,
        value_name = "BYTES"
    )]
    pub body_limit: usize,

    /// Log format; the level comes from `RUST_LOG` (default `info`).
    #[arg(
        long,
        env = "NEPTUN_LOG_FORMAT",
        default_value = "text",
        value_enum,
        value_name = "text|json"
    )]
    pub log_format: LogFormat,

    /// Threads that hash passwords at once (default: the number of cores).
    #[arg(long, env = "NEPTUN_HASH_WORKERS", value_name = "N")]
    pub hash_workers: Option<usize>,

    /// Requests that may wait for a hashing thread; past that, 503.
    #[arg(
        long,
        env = "NEPTUN_HASH_QUEUE",
        default_value_t = 64,
        value_name = "N"
    )]
    pub hash_queue: usize,

    // The groups last: clap keeps a group's help heading for what follows.
    #[command(flatten)]
    pub database: DatabaseSettings,

    #[command(flatten)]
    pub argon2: Argon2Settings,

    #[command(flatten)]
    pub passwords: PasswordRules,

    #[command(flatten)]
    pub mail: MailSettings,

    #[command(flatten)]
    pub passkeys: PasskeySettings,

    #[command(flatten)]
    pub providers: ProviderSettings,
}

/// The idle timeout when none is given, unless the lifetime is shorter.
const DEFAULT_SESSION_IDLE_TIMEOUT: Duration = Duration::from_secs(7 * 24 * 3600);

impl Config {
    /// Hashing threads: the flag, else the number of cores.
    pub fn hash_workers(&self) -> usize {
        self.hash_workers.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        })
    }

    /// The idle timeout in force: the setting, else 7 days clamped to the
    /// lifetime (so `--session-lifetime 1h` alone starts).
    pub fn session_idle_timeout(&self) -> Duration {
        self.session_idle_timeout
            .unwrap_or(DEFAULT_SESSION_IDLE_TIMEOUT.min(self.session_lifetime))
    }

    /// The hosts answered, `None` for any: `--allowed-hosts`, else (against
    /// DNS rebinding, where a hostile name resolves to a local service) the
    /// loopback names when listening on loopback, plus the public host.
    pub fn allowed_hosts(&self) -> Option<Vec<AllowedHost>> {
        if !self.allowed_hosts.is_empty() {
            return Some(self.allowed_hosts.clone());
        }
        let public = self
            .public_url
            .as_ref()
            .and_then(|origin| origin.authority().parse::<AllowedHost>().ok());
        if self.listen.ip().is_loopback() {
            let loopback = ["localhost", "127.0.0.1", "[::1]"].map(AllowedHost::any_port);
            Some(loopback.into_iter().chain(public).collect())
        } else {
            public.map(|host| vec![host])
        }
    }

    /// The optional protections in force: explicit settings, then `--strict`'s
    /// recommendations, then the defaults that keep NEPTUN clients working.
    pub fn protections(&self) -> Protections {
        Protections {
            require_recent_auth: self
                .require_recent_auth
                .or(self.passwords.strict.then_some(STRICT_RECENT_AUTH)),
            password_min_length: self.passwords.min_length(),
            password_blocklist: self.passwords.blocklist(),
        }
    }

    /// Checks the relations between settings that a single value parser cannot see.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.database.validate()?;
        self.argon2.validate()?;
        self.passwords.validate()?;
        self.mail.validate(self.public_url.is_some())?;
        if matches!(self.database.database_url, super::DatabaseUrl::Postgres(_))
            && self.mail.secret_key_file.is_none()
        {
            // Every instance must seal and open alike.
            return fail(
                "--secret-key-file",
                "is required with a postgres:// database, the same file on every instance",
            );
        }
        self.passkeys.validate(self.public_url.as_ref())?;
        self.providers.validate(self.public_url.is_some())?;
        // Only two explicit, contradictory values are an error; a default
        // idle timeout follows a shorter lifetime.
        if let Some(idle) = self.session_idle_timeout
            && idle > self.session_lifetime
        {
            return fail(
                "--session-idle-timeout",
                "must not be longer than --session-lifetime",
            );
        }
        if self.hash_workers == Some(0) {
            return fail("--hash-workers", "must be at least 1");
        }
        if self.max_connections == 0 {
            return fail("--max-connections", "must be at least 1");
        }
        if self.cookie_prefix == CookiePrefix::Host && !self.cookie_secure {
            return fail(
                "--cookie-prefix",
                "host needs a Secure cookie; it cannot go with --cookie-secure false",
            );
        }
        if !self.trusted_proxies.is_empty() && self.trust_proxy == 0 {
            return fail(
                "--trusted-proxies",
                "has no effect without --trust-proxy N (how many proxies are in front)",
            );
        }
        if self.max_connections_per_address == 0 {
            return fail("--max-connections-per-address", "must be at least 1");
        }
        if self.first_byte_timeout.is_zero() {
            return fail("--first-byte-timeout", "must be longer than 0s");
        }
        if self.body_limit < 256 {
            return fail("--body-limit", "must be at least 256 bytes");
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "serve_tests.rs"]
mod tests;
