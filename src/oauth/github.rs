//! GitHub (and GitHub Enterprise) over plain OAuth 2: GitHub has no ID
//! token, so who signed in comes from its API: `/user` for the stable
//! numeric id, `/user/emails` for the primary address and whether GitHub
//! verified it.

use async_trait::async_trait;
use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse, TokenUrl,
};
use serde::Deserialize;

use super::{
    AuthorizationRequest, Provider, ProviderAccount, ProviderError, ProviderHttp, accepted_email,
};
use crate::config::{ClientCredentials, Origin, ProviderUrl};

pub struct GitHub {
    credentials: ClientCredentials,
    authorize_url: String,
    token_url: String,
    user_url: String,
    emails_url: String,
    redirect_uri: String,
    http: ProviderHttp,
}

#[derive(Deserialize)]
struct GitHubUser {
    id: u64,
}

#[derive(Deserialize)]
struct GitHubEmail {
    email: String,
    primary: bool,
    verified: bool,
}

impl GitHub {
    pub fn new(
        credentials: &ClientCredentials,
        web_url: &ProviderUrl,
        api_url: &ProviderUrl,
        public_url: &Origin,
        http: ProviderHttp,
    ) -> Self {
        Self {
            credentials: credentials.clone(),
            authorize_url: format!("{}/login/oauth/authorize", web_url.base()),
            token_url: format!("{}/login/oauth/access_token", web_url.base()),
            user_url: format!("{}/user", api_url.base()),
            emails_url: format!("{}/user/emails", api_url.base()),
            redirect_uri: format!("{}/auth/github", public_url.as_str()),
            http,
        }
    }

    fn client(
        &self,
    ) -> Result<
        BasicClient<
            oauth2::EndpointSet,
            oauth2::EndpointNotSet,
            oauth2::EndpointNotSet,
            oauth2::EndpointNotSet,
            oauth2::EndpointSet,
        >,
        ProviderError,
    > {
        let invalid = |err: oauth2::url::ParseError| ProviderError::Unreachable(err.to_string());
        Ok(
            BasicClient::new(ClientId::new(self.credentials.client_id.clone()))
                .set_client_secret(ClientSecret::new(self.credentials.client_secret.clone()))
                .set_auth_uri(AuthUrl::new(self.authorize_url.clone()).map_err(invalid)?)
                .set_token_uri(TokenUrl::new(self.token_url.clone()).map_err(invalid)?)
                .set_redirect_uri(RedirectUrl::new(self.redirect_uri.clone()).map_err(invalid)?),
        )
    }
}

#[async_trait]
impl Provider for GitHub {
    fn name(&self) -> &str {
        "github"
    }

    fn display_name(&self) -> &str {
        "GitHub"
    }

    fn path(&self) -> String {
        "/auth/github".into()
    }

    fn uses_nonce(&self) -> bool {
        false
    }

    async fn authorization_url(
        &self,
        request: AuthorizationRequest<'_>,
    ) -> Result<String, ProviderError> {
        let verifier = PkceCodeVerifier::new(request.pkce_verifier.to_owned());
        let flow_state = request.state.to_owned();
        let (url, _) = self
            .client()?
            .authorize_url(move || CsrfToken::new(flow_state))
            .add_scope(Scope::new("read:user".into()))
            .add_scope(Scope::new("user:email".into()))
            .set_pkce_challenge(PkceCodeChallenge::from_code_verifier_sha256(&verifier))
            .url();
        Ok(url.into())
    }

    async fn account(
        &self,
        code: &str,
        request: AuthorizationRequest<'_>,
    ) -> Result<ProviderAccount, ProviderError> {
        let http = &self.http;
        let token = self
            .client()?
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .set_pkce_verifier(PkceCodeVerifier::new(request.pkce_verifier.to_owned()))
            .request_async(http)
            .await
            .map_err(|err| ProviderError::Exchange(describe(&err)))?;
        let access_token = token.access_token().secret();
        let lookup = |err: super::ProviderHttpError| ProviderError::UserLookup(err.to_string());
        let user: GitHubUser = self
            .http
            .get_json(&self.user_url, access_token)
            .await
            .map_err(lookup)?;
        let emails: Vec<GitHubEmail> = self
            .http
            .get_json(&self.emails_url, access_token)
            .await
            .map_err(lookup)?;
        let primary = emails
            .into_iter()
            .find(|email| email.primary && email.verified)
            .ok_or(ProviderError::NoVerifiedEmail)?;
        Ok(ProviderAccount {
            subject: user.id.to_string(),
            email: accepted_email(&primary.email)?,
        })
    }
}

/// A token error with its cause chain, for the log.
pub(super) fn describe(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
