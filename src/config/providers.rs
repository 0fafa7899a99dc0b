//! The sign-in provider settings (contract section 14): GitHub, Google and
//! any number of named OpenID Connect providers, each off until given its
//! client credentials. All of them need `--public-url`, which the redirect
//! URIs are built from.

use std::str::FromStr;

use clap::Args;

use super::ConfigError;
use super::values::RateQuota;

/// Sign-in with GitHub, Google or OpenID Connect providers.
#[derive(Args, Clone, Debug)]
#[command(next_help_heading = "Sign-in providers")]
pub struct ProviderSettings {
    /// GitHub OAuth app credentials (`CLIENT_ID:SECRET`); turns on
    /// `/auth/github` (redirect URI: `{public-url}/auth/github`).
    #[arg(long, env = "NEPTUN_OAUTH_GITHUB", value_name = "ID:SECRET")]
    pub oauth_github: Option<ClientCredentials>,

    /// GitHub's web address (GitHub Enterprise: your server's).
    #[arg(
        long,
        env = "NEPTUN_OAUTH_GITHUB_URL",
        default_value = "https://github.com",
        value_name = "URL"
    )]
    pub oauth_github_url: ProviderUrl,

    /// GitHub's API address (GitHub Enterprise: `https://HOST/api/v3`).
    #[arg(
        long,
        env = "NEPTUN_OAUTH_GITHUB_API_URL",
        default_value = "https://api.github.com",
        value_name = "URL"
    )]
    pub oauth_github_api_url: ProviderUrl,

    /// Google OAuth client credentials (`CLIENT_ID:SECRET`); turns on
    /// `/auth/google` (redirect URI: `{public-url}/auth/google`).
    #[arg(long, env = "NEPTUN_OAUTH_GOOGLE", value_name = "ID:SECRET")]
    pub oauth_google: Option<ClientCredentials>,

    /// Google's OpenID Connect issuer, found by discovery.
    #[arg(
        long,
        env = "NEPTUN_OAUTH_GOOGLE_ISSUER",
        default_value = "https://accounts.google.com",
        value_name = "URL"
    )]
    pub oauth_google_issuer: ProviderUrl,

    /// An OpenID Connect provider (`NAME=ISSUER_URL,CLIENT_ID,SECRET`;
    /// repeatable; env: `;`-separated); turns on `/auth/oidc/NAME`
    /// (redirect URI: `{public-url}/auth/oidc/NAME`).
    #[arg(
        long = "oidc",
        env = "NEPTUN_OIDC",
        value_name = "NAME=ISSUER,ID,SECRET",
        value_delimiter = ';'
    )]
    pub oidc: Vec<OidcProviderSetting>,

    /// Provider sign-ins started per client address (`N/PERIOD`).
    #[arg(
        long,
        env = "NEPTUN_OAUTH_RATE_LIMIT",
        default_value = "20/1m",
        value_name = "N/PERIOD"
    )]
    pub oauth_rate_limit: RateQuota,
}

impl ProviderSettings {
    /// Whether any provider is configured.
    pub fn any(&self) -> bool {
        self.oauth_github.is_some() || self.oauth_google.is_some() || !self.oidc.is_empty()
    }

    /// Providers need the public URL (their redirect URIs), and each OIDC
    /// name must be unique.
    pub fn validate(&self, public_url_set: bool) -> Result<(), ConfigError> {
        if self.any() && !public_url_set {
            return Err(ConfigError {
                flag: "--public-url",
                reason: "is required with a sign-in provider (--oauth-github, --oauth-google, \
                         --oidc): the redirect URIs are built from it"
                    .into(),
            });
        }
        for (index, provider) in self.oidc.iter().enumerate() {
            if self.oidc[..index]
                .iter()
                .any(|earlier| earlier.name == provider.name)
            {
                return Err(ConfigError {
                    flag: "--oidc",
                    reason: format!("the name {:?} is given twice", provider.name),
                });
            }
        }
        Ok(())
    }
}

/// An OAuth client's id and secret, as `CLIENT_ID:SECRET`.
#[derive(Clone)]
pub struct ClientCredentials {
    pub client_id: String,
    pub client_secret: String,
}

// The secret stays out of `--help` defaults, error messages and logs.
impl std::fmt::Debug for ClientCredentials {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ClientCredentials")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl FromStr for ClientCredentials {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.split_once(':') {
            Some((id, secret)) if !id.trim().is_empty() && !secret.trim().is_empty() => Ok(Self {
                client_id: id.trim().to_owned(),
                client_secret: secret.trim().to_owned(),
            }),
            _ => Err("expected CLIENT_ID:SECRET, both non-empty".into()),
        }
    }
}

/// A provider's address: `https://`, or `http://` on a loopback host only
/// (a provider on the same machine, as in development and tests).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderUrl(pub url::Url);

impl FromStr for ProviderUrl {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let url = url::Url::parse(text.trim()).map_err(|err| format!("{text:?}: {err}"))?;
        let loopback = match url.host() {
            Some(url::Host::Domain(name)) => name == "localhost",
            Some(url::Host::Ipv4(address)) => address.is_loopback(),
            Some(url::Host::Ipv6(address)) => address.is_loopback(),
            None => false,
        };
        let allowed = match url.scheme() {
            "https" => url.host().is_some(),
            "http" => loopback,
            _ => false,
        };
        if !allowed {
            return Err(format!(
                "{text:?} must be an https:// URL (http:// only on a loopback host)"
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(format!("{text:?} must have no query or fragment"));
        }
        Ok(Self(url))
    }
}

impl ProviderUrl {
    /// The URL without a trailing slash, to append paths to.
    pub fn base(&self) -> &str {
        self.0.as_str().trim_end_matches('/')
    }
}

/// One `--oidc NAME=ISSUER_URL,CLIENT_ID,SECRET`.
#[derive(Clone, Debug)]
pub struct OidcProviderSetting {
    /// Lower-case letters, digits, `-` and `_`: the route's last segment
    /// and the identities' `provider`.
    pub name: String,
    pub issuer: ProviderUrl,
    pub credentials: ClientCredentials,
}

/// Names a generic provider may not take: the built-in ones.
const RESERVED_NAMES: [&str; 2] = ["github", "google"];

impl FromStr for OidcProviderSetting {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let shape = || "expected NAME=ISSUER_URL,CLIENT_ID,SECRET".to_owned();
        let (name, rest) = text.trim().split_once('=').ok_or_else(shape)?;
        let mut parts = rest.splitn(3, ',');
        let (Some(issuer), Some(client_id), Some(secret)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(shape());
        };
        let name = name.trim();
        let name_ok = (1..=40).contains(&name.len())
            && name.bytes().all(|byte| {
                byte.is_ascii_lowercase() || byte.is_ascii_digit() || b"-_".contains(&byte)
            });
        if !name_ok {
            return Err(format!(
                "the name {name:?} must be 1 to 40 lower-case letters, digits, - or _"
            ));
        }
        if RESERVED_NAMES.contains(&name) {
            return Err(format!("the name {name:?} is taken by a built-in provider"));
        }
        Ok(Self {
            name: name.to_owned(),
            issuer: issuer.parse()?,
            credentials: format!("{client_id}:{secret}").parse()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_split_at_the_first_colon() {
        let parsed: ClientCredentials = "abc:s3:cret".parse().expect("valid");
        assert_eq!(parsed.client_id, "abc");
        assert_eq!(parsed.client_secret, "s3:cret");
        assert!("abc".parse::<ClientCredentials>().is_err());
        assert!(":secret".parse::<ClientCredentials>().is_err());
        assert!("abc:".parse::<ClientCredentials>().is_err());
        assert!(!format!("{parsed:?}").contains("s3:cret"));
    }

    #[test]
    fn provider_urls_are_https_or_loopback_http() {
        assert!("https://github.example.com".parse::<ProviderUrl>().is_ok());
        assert!("http://127.0.0.1:8080".parse::<ProviderUrl>().is_ok());
        assert!(
            "http://localhost:8080/realms/x"
                .parse::<ProviderUrl>()
                .is_ok()
        );
        assert!("http://github.example.com".parse::<ProviderUrl>().is_err());
        assert!("ftp://127.0.0.1".parse::<ProviderUrl>().is_err());
        assert!("https://a.example?x=1".parse::<ProviderUrl>().is_err());
        let url: ProviderUrl = "https://ghe.example.com/api/v3/".parse().expect("valid");
        assert_eq!(url.base(), "https://ghe.example.com/api/v3");
    }

    #[test]
    fn an_oidc_provider_has_a_plain_name_an_issuer_and_credentials() {
        let parsed: OidcProviderSetting = "corp=https://sso.example.com/realms/x,app,s,e"
            .parse()
            .expect("valid");
        assert_eq!(parsed.name, "corp");
        assert_eq!(parsed.issuer.base(), "https://sso.example.com/realms/x");
        assert_eq!(parsed.credentials.client_id, "app");
        assert_eq!(parsed.credentials.client_secret, "s,e");
        for refused in [
            "github=https://a.example,id,secret",
            "Corp=https://a.example,id,secret",
            "=https://a.example,id,secret",
            "corp=https://a.example,id",
            "corp/x=https://a.example,id,secret",
            "corp=http://a.example,id,secret",
        ] {
            assert!(refused.parse::<OidcProviderSetting>().is_err(), "{refused}");
        }
    }
}
