//! The value types of settings and their parsers: origins, database URLs,
//! rate quotas, durations, and the small enums the flags take.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use clap::ValueEnum;

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

/// The session cookie's name prefix: none (`neptun-session`), or `host`
/// (`__Host-neptun-session`, which needs `Secure`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CookiePrefix {
    None,
    Host,
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

impl std::fmt::Display for RateQuota {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}/{}",
            self.count,
            humantime::format_duration(self.period)
        )
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

    /// The host alone, without its port (an IPv6 literal keeps its brackets).
    pub fn host(&self) -> &str {
        let authority = self.authority();
        match authority.find(']') {
            Some(end) if authority.starts_with('[') => &authority[..=end],
            _ => authority
                .rsplit_once(':')
                .map_or(authority, |(host, _)| host),
        }
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

/// A humantime duration longer than zero.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(text).map_err(|err| err.to_string())?;
    if duration.is_zero() {
        return Err("must be longer than zero".into());
    }
    Ok(duration)
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
