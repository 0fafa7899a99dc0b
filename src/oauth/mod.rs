//! Sign-in providers (contract section 14): GitHub over plain OAuth 2 and
//! any OpenID Connect provider (Google among them), behind one trait. This
//! module talks to providers only; the flow state, the browser binding and
//! the accounts are the HTTP layer's and the store's.

mod github;
mod http_client;
mod oidc;

use std::sync::Arc;

use async_trait::async_trait;

pub use http_client::{ProviderHttp, ProviderHttpError};

use crate::config::{Origin, ProviderSettings};
use crate::domain::email::Email;

/// Who the provider says signed in: its stable id for the person and an
/// address it has verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderAccount {
    /// Never reused by the provider for another person (GitHub's numeric
    /// id, OIDC's `sub`); identities are keyed by it, never by the email.
    pub subject: String,
    pub email: Email,
}

/// Why a provider step failed; each becomes the warn line of a failed
/// sign-in.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("provider unreachable: {0}")]
    Unreachable(String),
    #[error("code exchange refused: {0}")]
    Exchange(String),
    #[error("ID token refused: {0}")]
    IdToken(String),
    #[error("user lookup failed: {0}")]
    UserLookup(String),
    #[error("the provider reports no verified email")]
    NoVerifiedEmail,
    #[error("the provider's email is not one this service accepts")]
    InvalidEmail,
}

/// What an authorization request carries besides the client's own settings.
#[derive(Clone, Debug)]
pub struct AuthorizationRequest<'a> {
    pub state: &'a str,
    pub pkce_verifier: &'a str,
    /// OpenID Connect providers only.
    pub nonce: Option<&'a str>,
}

/// One configured provider.
#[async_trait]
pub trait Provider: Send + Sync + 'static {
    /// The route's name and the identities' `provider`: `github`,
    /// `google`, or the `--oidc` name.
    fn name(&self) -> &str;

    /// What the sign-in button says.
    fn display_name(&self) -> &str;

    /// The route that starts and finishes its flow, also the redirect
    /// URI's path.
    fn path(&self) -> String;

    /// Whether the flow carries an OpenID Connect `nonce`.
    fn uses_nonce(&self) -> bool;

    /// Where to send the browser.
    async fn authorization_url(
        &self,
        request: AuthorizationRequest<'_>,
    ) -> Result<String, ProviderError>;

    /// Exchanges the code (with the PKCE verifier) and reads who signed in.
    async fn account(
        &self,
        code: &str,
        request: AuthorizationRequest<'_>,
    ) -> Result<ProviderAccount, ProviderError>;
}

/// The configured providers.
#[derive(Clone, Default)]
pub struct Providers {
    list: Vec<Arc<dyn Provider>>,
}

impl Providers {
    /// Builds every configured provider; none contacts its provider yet
    /// (discovery is lazy, so a provider that is down never blocks start).
    pub fn from_settings(
        settings: &ProviderSettings,
        public_url: Option<&Origin>,
    ) -> Result<Self, ProviderHttpError> {
        let Some(public_url) = public_url.filter(|_| settings.any()) else {
            return Ok(Self::default());
        };
        let http = ProviderHttp::new()?;
        let mut list: Vec<Arc<dyn Provider>> = Vec::new();
        if let Some(credentials) = &settings.oauth_github {
            list.push(Arc::new(github::GitHub::new(
                credentials,
                &settings.oauth_github_url,
                &settings.oauth_github_api_url,
                public_url,
                http.clone(),
            )));
        }
        if let Some(credentials) = &settings.oauth_google {
            list.push(Arc::new(oidc::OidcProvider::new(
                oidc::OidcIdentity::google(),
                credentials,
                &settings.oauth_google_issuer,
                public_url,
                http.clone(),
            )));
        }
        for provider in &settings.oidc {
            list.push(Arc::new(oidc::OidcProvider::new(
                oidc::OidcIdentity::named(&provider.name),
                &provider.credentials,
                &provider.issuer,
                public_url,
                http.clone(),
            )));
        }
        Ok(Self { list })
    }

    pub fn get(&self, name: &str) -> Option<&Arc<dyn Provider>> {
        self.list.iter().find(|provider| provider.name() == name)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn Provider>> {
        self.list.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

/// A provider's address for an email, checked against section 6.
fn accepted_email(address: &str) -> Result<Email, ProviderError> {
    Email::parse(address).map_err(|_| ProviderError::InvalidEmail)
}
