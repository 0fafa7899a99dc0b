//! Every setting of the service, defined once: flag, environment variable,
//! default and help line. `--help` and the README's table come from here.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use clap::{ArgAction, Args, ValueEnum};

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

    /// Database URL: `sqlite://PATH` (created if missing; its folder must exist)
    /// or `postgres://USER:PASSWORD@HOST:PORT/DB` for several instances.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://neptun-accounts.db",
        value_name = "URL"
    )]
    pub database_url: DatabaseUrl,

    /// Most PostgreSQL connections this instance opens (size it so that every
    /// instance together stays under the server's `max_connections`).
    #[arg(
        long,
        env = "NEPTUN_DATABASE_MAX_CONNECTIONS",
        default_value_t = 10,
        value_name = "N"
    )]
    pub database_max_connections: usize,

    /// The service's public origin (`https://accounts.example.com`); POST, PATCH
    /// and DELETE from any other origin are refused. When unset, the own origin
    /// is `http(s)://` plus the request's `Host`.
    #[arg(long, env = "NEPTUN_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<Origin>,

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

    /// `off` switches every rate limit and the per-account throttle off (for
    /// benchmarks only).
    #[arg(long, env = "NEPTUN_RATE_LIMITS", default_value = "on", value_enum)]
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

    /// Shortest new password, in characters (default 8; 15 under --strict).
    #[arg(long, env = "NEPTUN_PASSWORD_MIN_LENGTH", value_name = "N")]
    pub password_min_length: Option<usize>,

    /// Refuse common new passwords: `common` (the bundled list) or a file
    /// with one password a line.
    #[arg(long, env = "NEPTUN_PASSWORD_BLOCKLIST", value_name = "common|FILE")]
    pub password_blocklist: Option<BlocklistSource>,

    /// The recommended protections at once: recent authentication 10m,
    /// minimum length 15, the bundled blocklist (explicit settings win).
    #[arg(
        long,
        env = "NEPTUN_STRICT",
        default_value = "false",
        default_missing_value = "true",
        num_args = 0..=1,
        action = ArgAction::Set,
        value_name = "true|false"
    )]
    pub strict: bool,

    /// Serve `/metrics` on this address only (a private port), instead of on
    /// the main listener.
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

    /// A session unused for this long ends (humantime: `90s`, `15m`, `7d`).
    #[arg(long, env = "NEPTUN_SESSION_IDLE_TIMEOUT", default_value = "7d", value_parser = parse_duration, value_name = "DURATION")]
    pub session_idle_timeout: Duration,

    /// A session ends this long after it was created, however much it is used.
    #[arg(long, env = "NEPTUN_SESSION_LIFETIME", default_value = "30d", value_parser = parse_duration, value_name = "DURATION")]
    pub session_lifetime: Duration,

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

    /// Argon2id memory cost in KiB.
    #[arg(
        long,
        env = "NEPTUN_ARGON2_MEMORY_KIB",
        default_value_t = crate::domain::password_hasher::DEFAULT_ARGON2_MEMORY_KIB,
        value_name = "KIB"
    )]
    pub argon2_memory_kib: u32,

    /// Argon2id iterations (time cost).
    #[arg(
        long,
        env = "NEPTUN_ARGON2_ITERATIONS",
        default_value_t = crate::domain::password_hasher::DEFAULT_ARGON2_ITERATIONS,
        value_name = "N"
    )]
    pub argon2_iterations: u32,

    /// Argon2id parallelism (lanes).
    #[arg(
        long,
        env = "NEPTUN_ARGON2_PARALLELISM",
        default_value_t = crate::domain::password_hasher::DEFAULT_ARGON2_PARALLELISM,
        value_name = "N"
    )]
    pub argon2_parallelism: u32,

    /// Largest accepted request body in bytes; larger ones get 413.
    #[arg(
        long,
        env = "NEPTUN_BODY_LIMIT",
        default_value_t = 16_384,
        value_name = "BYTES"
    )]
    pub body_limit: usize,

    /// SQLite durability: `normal` survives a process crash, `full` also a power loss.
    #[arg(
        long,
        env = "NEPTUN_SQLITE_SYNCHRONOUS",
        default_value = "normal",
        value_enum
    )]
    pub sqlite_synchronous: SqliteSynchronous,

    /// Log format; the level comes from `RUST_LOG` (default `info`).
    #[arg(long, env = "NEPTUN_LOG_FORMAT", default_value = "text", value_enum)]
    pub log_format: LogFormat,
}

/// How SQLite syncs its write-ahead log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SqliteSynchronous {
    Normal,
    Full,
}

/// The shape of log lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// `on` or `off`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Switch {
    On,
    Off,
}

/// A rate: `count` requests per `period`, with a burst of `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateQuota {
    pub count: u32,
    pub period: Duration,
}

impl FromStr for RateQuota {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (count, period) = text
            .split_once('/')
            .ok_or_else(|| format!("{text:?} is not N/PERIOD, as in 20/1m"))?;
        let count: u32 = count
            .trim()
            .parse()
            .ok()
            .filter(|count| *count > 0)
            .ok_or_else(|| format!("{count:?} is not a positive count"))?;
        let period = parse_duration(period.trim())?;
        Ok(Self { count, period })
    }
}

/// Where the password blocklist comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BlocklistSource {
    /// The bundled list of common passwords.
    Common,
    File(PathBuf),
}

impl FromStr for BlocklistSource {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "" => Err("expected common or a file path".into()),
            "common" => Ok(Self::Common),
            path => Ok(Self::File(PathBuf::from(path))),
        }
    }
}

/// The optional protections after `--strict` filled in what was not set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Protections {
    pub require_recent_auth: Option<Duration>,
    pub password_min_length: usize,
    pub password_blocklist: Option<BlocklistSource>,
}

/// The recommended values `--strict` applies.
const STRICT_RECENT_AUTH: Duration = Duration::from_secs(600);
const STRICT_MIN_LENGTH: usize = 15;

/// A web origin, `scheme://host[:port]`, normalised as browsers send it in
/// `Origin` (lowercase, default port left out).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin(String);

impl Origin {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The `host[:port]` part, as a `Host` header would carry it.
    pub fn authority(&self) -> &str {
        self.0
            .split_once("://")
            .map_or("", |(_, authority)| authority)
    }
}

impl FromStr for Origin {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || format!("{text:?} is not an origin like https://app.example.com");
        let uri: axum::http::Uri = text.trim().parse().map_err(|_| invalid())?;
        let scheme = uri
            .scheme_str()
            .map(str::to_ascii_lowercase)
            .ok_or_else(invalid)?;
        let default_port = match scheme.as_str() {
            "http" => 80,
            "https" => 443,
            _ => return Err(invalid()),
        };
        let authority = uri.authority().ok_or_else(invalid)?;
        let bare_path = matches!(uri.path(), "" | "/");
        if authority.as_str().contains('@') || !bare_path || uri.query().is_some() {
            return Err(invalid());
        }
        let host = authority.host().to_ascii_lowercase();
        if host.is_empty() || host == "*" {
            return Err(invalid());
        }
        Ok(Self(match authority.port_u16() {
            Some(port) if port != default_port => format!("{scheme}://{host}:{port}"),
            _ => format!("{scheme}://{host}"),
        }))
    }
}

/// A parsed `--database-url`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

impl FromStr for DatabaseUrl {
    type Err = String;

    fn from_str(url: &str) -> Result<Self, Self::Err> {
        if let Some(rest) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            let path = rest.split('?').next().unwrap_or_default();
            if path.is_empty() || path == ":memory:" {
                return Err(
                    "a sqlite URL needs a file path, as in sqlite://neptun-accounts.db".into(),
                );
            }
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_owned()));
        }
        Err("expected sqlite://PATH or postgres://…".into())
    }
}

impl std::fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "sqlite://{}", path.display()),
            Self::Postgres(url) => f.write_str(&without_password(url)),
        }
    }
}

/// The URL with its password, if any, replaced by `***`, fit for logs.
fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((user_info, host)) => {
            let user = user_info
                .split_once(':')
                .map_or(user_info, |(user, _)| user);
            let hidden = if user_info.contains(':') { ":***" } else { "" };
            format!("{scheme}://{user}{hidden}@{host}{tail}")
        }
        None => url.to_owned(),
    }
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(text).map_err(|err| err.to_string())?;
    if duration.is_zero() {
        return Err("must be longer than zero".into());
    }
    Ok(duration)
}

/// A setting that parsed but cannot work.
#[derive(Debug, thiserror::Error)]
#[error("invalid setting {flag}: {reason}")]
pub struct ConfigError {
    pub flag: &'static str,
    pub reason: String,
}

impl Config {
    /// Hashing threads: the flag, else the number of cores.
    pub fn hash_workers(&self) -> usize {
        self.hash_workers.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        })
    }

    /// The optional protections in force: explicit settings, then `--strict`'s
    /// recommendations, then the defaults that keep NEPTUN clients working.
    pub fn protections(&self) -> Protections {
        Protections {
            require_recent_auth: self
                .require_recent_auth
                .or(self.strict.then_some(STRICT_RECENT_AUTH)),
            password_min_length: self.password_min_length.unwrap_or(if self.strict {
                STRICT_MIN_LENGTH
            } else {
                crate::domain::password::DEFAULT_MIN_LENGTH
            }),
            password_blocklist: self
                .password_blocklist
                .clone()
                .or(self.strict.then_some(BlocklistSource::Common)),
        }
    }

    /// Checks the relations between settings that a single value parser cannot see.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let fail = |flag, reason: &str| {
            Err(ConfigError {
                flag,
                reason: reason.to_owned(),
            })
        };
        if self.session_idle_timeout > self.session_lifetime {
            return fail(
                "--session-idle-timeout",
                "must not be longer than --session-lifetime",
            );
        }
        if let Some(min_length) = self.password_min_length {
            if !(1..=crate::domain::password::MAX_LENGTH).contains(&min_length) {
                return fail("--password-min-length", "must be between 1 and 256");
            }
        }
        if self.max_connections == 0 {
            return fail("--max-connections", "must be at least 1");
        }
        if self.database_max_connections == 0 {
            return fail("--database-max-connections", "must be at least 1");
        }
        if self.hash_workers == Some(0) {
            return fail("--hash-workers", "must be at least 1");
        }
        if self.body_limit < 256 {
            return fail("--body-limit", "must be at least 256 bytes");
        }
        if let Err(err) = argon2::Params::new(
            self.argon2_memory_kib,
            self.argon2_iterations,
            self.argon2_parallelism,
            None,
        ) {
            return fail("--argon2-*", &err.to_string());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_select_the_backend() {
        assert_eq!(
            "sqlite://data/accounts.db".parse::<DatabaseUrl>(),
            Ok(DatabaseUrl::Sqlite(PathBuf::from("data/accounts.db")))
        );
        assert_eq!(
            "sqlite:///var/lib/neptun/accounts.db".parse::<DatabaseUrl>(),
            Ok(DatabaseUrl::Sqlite(PathBuf::from(
                "/var/lib/neptun/accounts.db"
            )))
        );
        assert!(matches!(
            "postgres://u@localhost/db".parse::<DatabaseUrl>(),
            Ok(DatabaseUrl::Postgres(_))
        ));
        assert!("mysql://x".parse::<DatabaseUrl>().is_err());
        assert!("sqlite://".parse::<DatabaseUrl>().is_err());
    }

    fn parsed(args: &[&str]) -> Config {
        #[derive(clap::Parser)]
        struct Settings {
            #[command(flatten)]
            config: Config,
        }
        let mut argv = vec!["neptun-accounts"];
        argv.extend_from_slice(args);
        <Settings as clap::Parser>::try_parse_from(argv)
            .expect("valid settings")
            .config
    }

    #[test]
    fn the_optional_protections_are_off_by_default() {
        assert_eq!(
            parsed(&[]).protections(),
            Protections {
                require_recent_auth: None,
                password_min_length: 8,
                password_blocklist: None,
            }
        );
    }

    #[test]
    fn strict_applies_the_recommended_values_and_explicit_settings_win() {
        assert_eq!(
            parsed(&["--strict"]).protections(),
            Protections {
                require_recent_auth: Some(Duration::from_secs(600)),
                password_min_length: 15,
                password_blocklist: Some(BlocklistSource::Common),
            }
        );
        assert_eq!(
            parsed(&[
                "--strict",
                "--require-recent-auth",
                "2m",
                "--password-min-length",
                "12",
                "--password-blocklist",
                "mine.txt",
            ])
            .protections(),
            Protections {
                require_recent_auth: Some(Duration::from_secs(120)),
                password_min_length: 12,
                password_blocklist: Some(BlocklistSource::File(PathBuf::from("mine.txt"))),
            }
        );
        assert_eq!(
            parsed(&["--strict", "false"]).protections(),
            parsed(&[]).protections()
        );
    }

    #[test]
    fn rate_quotas_are_count_slash_period() {
        assert_eq!(
            "20/1m".parse::<RateQuota>(),
            Ok(RateQuota {
                count: 20,
                period: Duration::from_secs(60)
            })
        );
        assert_eq!(
            "10 / 10m".parse::<RateQuota>().map(|q| q.period),
            Ok(Duration::from_secs(600))
        );
        for bad in ["20", "0/1m", "x/1m", "20/0s", "20/soon", "-1/1m"] {
            assert!(bad.parse::<RateQuota>().is_err(), "{bad}");
        }
    }

    #[test]
    fn origins_are_normalised_as_browsers_send_them() {
        for (text, origin) in [
            ("https://App.Example.com", "https://app.example.com"),
            ("https://app.example.com:443", "https://app.example.com"),
            ("https://app.example.com/", "https://app.example.com"),
            ("http://localhost:5173", "http://localhost:5173"),
            ("http://127.0.0.1:80", "http://127.0.0.1"),
        ] {
            assert_eq!(
                text.parse::<Origin>().map(|o| o.0),
                Ok(origin.to_owned()),
                "{text}"
            );
        }
        assert_eq!(
            "http://localhost:5173"
                .parse::<Origin>()
                .unwrap()
                .authority(),
            "localhost:5173"
        );
    }

    #[test]
    fn wildcards_paths_and_other_schemes_are_not_origins() {
        for text in [
            "*",
            "null",
            "https://*",
            "app.example.com",
            "ftp://example.com",
            "https://example.com/path",
            "https://example.com?x=1",
            "https://user@example.com",
            "",
        ] {
            assert!(text.parse::<Origin>().is_err(), "{text:?} was accepted");
        }
    }

    #[test]
    fn a_postgres_url_is_shown_without_its_password() {
        let url: DatabaseUrl = "postgres://app:s3cret@db.internal:5432/accounts?sslmode=disable"
            .parse()
            .unwrap();
        let shown = url.to_string();
        assert_eq!(
            shown,
            "postgres://app:***@db.internal:5432/accounts?sslmode=disable"
        );
        assert_eq!(
            DatabaseUrl::Postgres("postgres://app@db/accounts".into()).to_string(),
            "postgres://app@db/accounts"
        );
    }
}
