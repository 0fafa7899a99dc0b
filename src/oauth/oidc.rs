//! OpenID Connect providers (Google and any `--oidc`): discovery on first
//! use, cached for an hour and fetched again at once when an ID token names
//! a key the cached JWKS lacks (key rotation); the ID token's signature,
//! issuer, audience, expiry and nonce are checked by `openidconnect`.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreGenderClaim, CoreJwsSigningAlgorithm,
    CoreProviderMetadata,
};
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken,
    EmptyAdditionalClaims, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, SignatureVerificationError, TokenResponse,
    UserInfoClaims,
};

use super::github::describe;
use super::{
    AuthorizationRequest, Provider, ProviderAccount, ProviderError, ProviderHttp, accepted_email,
};
use crate::config::{ClientCredentials, Origin, ProviderUrl};

/// How long discovery (and the JWKS it brings) is trusted.
const METADATA_LIFETIME: Duration = Duration::from_secs(3600);

/// The ID token signatures accepted: asymmetric ones only (an HMAC keyed
/// by the client secret proves nothing about the provider).
const ACCEPTED_ALGORITHMS: [CoreJwsSigningAlgorithm; 9] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::RsaSsaPssSha384,
    CoreJwsSigningAlgorithm::RsaSsaPssSha512,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
    CoreJwsSigningAlgorithm::EdDsa,
];

/// A provider's name and label.
pub struct OidcIdentity {
    name: String,
    display_name: String,
    path: String,
}

impl OidcIdentity {
    pub fn google() -> Self {
        Self {
            name: "google".into(),
            display_name: "Google".into(),
            path: "/auth/google".into(),
        }
    }

    pub fn named(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            display_name: name.to_owned(),
            path: format!("/auth/oidc/{name}"),
        }
    }
}

pub struct OidcProvider {
    identity: OidcIdentity,
    credentials: ClientCredentials,
    issuer: String,
    redirect_uri: String,
    http: ProviderHttp,
    metadata: Mutex<Option<(Instant, CoreProviderMetadata)>>,
}

impl OidcProvider {
    pub fn new(
        identity: OidcIdentity,
        credentials: &ClientCredentials,
        issuer: &ProviderUrl,
        public_url: &Origin,
        http: ProviderHttp,
    ) -> Self {
        Self {
            redirect_uri: format!("{}{}", public_url.as_str(), identity.path),
            identity,
            credentials: credentials.clone(),
            issuer: issuer.base().to_owned(),
            http,
            metadata: Mutex::new(None),
        }
    }

    /// The provider's metadata and keys: cached, or discovered now.
    async fn metadata(&self, refresh: bool) -> Result<CoreProviderMetadata, ProviderError> {
        if !refresh {
            let cached = self.metadata.lock().map_or(None, |cached| cached.clone());
            if let Some((fetched, metadata)) = cached
                && fetched.elapsed() < METADATA_LIFETIME
            {
                return Ok(metadata);
            }
        }
        let issuer = IssuerUrl::new(self.issuer.clone())
            .map_err(|err| ProviderError::Unreachable(err.to_string()))?;
        let http = &self.http;
        let metadata = CoreProviderMetadata::discover_async(issuer, http)
            .await
            .map_err(|err| ProviderError::Unreachable(format!("discovery: {}", describe(&err))))?;
        if let Ok(mut cached) = self.metadata.lock() {
            *cached = Some((Instant::now(), metadata.clone()));
        }
        Ok(metadata)
    }

    fn client(
        &self,
        metadata: CoreProviderMetadata,
    ) -> Result<
        CoreClient<
            openidconnect::EndpointSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointMaybeSet,
            openidconnect::EndpointMaybeSet,
        >,
        ProviderError,
    > {
        let redirect = RedirectUrl::new(self.redirect_uri.clone())
            .map_err(|err| ProviderError::Unreachable(err.to_string()))?;
        Ok(CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(self.credentials.client_id.clone()),
            Some(ClientSecret::new(self.credentials.client_secret.clone())),
        )
        .set_redirect_uri(redirect))
    }
}

#[async_trait]
impl Provider for OidcProvider {
    fn name(&self) -> &str {
        &self.identity.name
    }

    fn display_name(&self) -> &str {
        &self.identity.display_name
    }

    fn path(&self) -> String {
        self.identity.path.clone()
    }

    fn uses_nonce(&self) -> bool {
        true
    }

    async fn authorization_url(
        &self,
        request: AuthorizationRequest<'_>,
    ) -> Result<String, ProviderError> {
        let client = self.client(self.metadata(false).await?)?;
        let verifier = PkceCodeVerifier::new(request.pkce_verifier.to_owned());
        let nonce = request.nonce.unwrap_or_default().to_owned();
        let flow_state = request.state.to_owned();
        let (url, _, _) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                move || CsrfToken::new(flow_state),
                move || Nonce::new(nonce),
            )
            .add_scope(Scope::new("email".into()))
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
        let client = self.client(self.metadata(false).await?)?;
        let token = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|err| ProviderError::Exchange(err.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(request.pkce_verifier.to_owned()))
            .request_async(http)
            .await
            .map_err(|err| ProviderError::Exchange(describe(&err)))?;
        let id_token = token
            .id_token()
            .ok_or_else(|| ProviderError::IdToken("the token response has no ID token".into()))?;
        let nonce = Nonce::new(request.nonce.unwrap_or_default().to_owned());
        let verify = |client: &CoreClient<_, _, _, _, _, _>| {
            let verifier = client
                .id_token_verifier()
                .set_allowed_algs(ACCEPTED_ALGORITHMS);
            id_token.claims(&verifier, &nonce).cloned()
        };
        let claims = match verify(&client) {
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) => verify(&self.client(self.metadata(true).await?)?),
            verified => verified,
        }
        .map_err(|err| ProviderError::IdToken(describe(&err)))?;
        let subject = claims.subject().clone();
        let (email, verified) = match claims.email() {
            Some(email) => (email.as_str().to_owned(), claims.email_verified()),
            None => {
                // Some providers leave the address to the userinfo endpoint.
                let user_info: UserInfoClaims<EmptyAdditionalClaims, CoreGenderClaim> = client
                    .user_info(token.access_token().clone(), Some(subject.clone()))
                    .map_err(|_| ProviderError::NoVerifiedEmail)?
                    .request_async(http)
                    .await
                    .map_err(|err| ProviderError::UserLookup(describe(&err)))?;
                let email = user_info
                    .email()
                    .ok_or(ProviderError::NoVerifiedEmail)?
                    .as_str()
                    .to_owned();
                (email, user_info.email_verified())
            }
        };
        if verified != Some(true) {
            return Err(ProviderError::NoVerifiedEmail);
        }
        Ok(ProviderAccount {
            subject: subject.as_str().to_owned(),
            email: accepted_email(&email)?,
        })
    }
}
