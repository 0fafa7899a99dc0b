//! A software passkey authenticator for the tests (1Password's
//! `passkey-client` over `passkey-authenticator`): it answers the service's
//! options as a browser with one platform passkey would, from `ORIGIN`, with
//! user verification and a signature counter. Its one credential can be
//! cloned to replay an old counter.

use passkey_authenticator::{Authenticator, UiHint, UserCheck, UserValidationMethod};
use passkey_client::{Client, DefaultClientData};
use passkey_types::Passkey;
use passkey_types::ctap2::{Aaguid, Ctap2Error};
use passkey_types::webauthn::{CredentialCreationOptions, CredentialRequestOptions};
use serde_json::{Value, json};
use url::Url;

/// The public URL the passkey tests run the service with; the relying party
/// id is its host. The test client reaches the service by address, which the
/// default allowed hosts accept on loopback.
pub const PUBLIC_URL: &str = "http://localhost:3999";

/// The settings that turn passkeys on for `PUBLIC_URL`.
pub const PASSKEYS_ON: [&str; 4] = ["--passkeys", "on", "--public-url", PUBLIC_URL];

/// A user who is present and verified every time.
struct VerifiedUser;

#[async_trait::async_trait]
impl UserValidationMethod for VerifiedUser {
    type PasskeyItem = Passkey;

    async fn check_user<'a>(
        &self,
        _hint: UiHint<'a, Passkey>,
        presence: bool,
        verification: bool,
    ) -> Result<UserCheck, Ctap2Error> {
        Ok(UserCheck {
            presence,
            verification,
        })
    }

    fn is_presence_enabled(&self) -> bool {
        true
    }

    fn is_verification_enabled(&self) -> Option<bool> {
        Some(true)
    }
}

/// A device with at most one passkey.
pub struct Device {
    client: Client<Option<Passkey>, VerifiedUser, public_suffix::PublicSuffixList, ()>,
    origin: Url,
}

impl Device {
    /// A device without a passkey that signs as `origin` (`PUBLIC_URL` for
    /// an honest browser).
    pub fn new(origin: &str) -> Self {
        Self::holding(None, origin)
    }

    fn holding(passkey: Option<Passkey>, origin: &str) -> Self {
        let mut authenticator = Authenticator::new(Aaguid::new_empty(), passkey, VerifiedUser);
        authenticator.set_make_credentials_with_signature_counter(true);
        Self {
            client: Client::new(authenticator).allows_insecure_localhost(true),
            origin: Url::parse(origin).expect("origin"),
        }
    }

    /// Another device holding a copy of this one's passkey as it is now
    /// (a cloned authenticator), signing as `origin`.
    pub fn clone_to(&self, origin: &str) -> Self {
        Self::holding(self.client.authenticator().store().clone(), origin)
    }

    /// The `credential` for a registration options answer
    /// (`{challenge_id, publicKey}`).
    pub async fn create(&mut self, options: &Value) -> Value {
        let request: CredentialCreationOptions =
            serde_json::from_value(json!({ "publicKey": options["publicKey"] }))
                .expect("creation options the client reads");
        let created = self
            .client
            .register(&self.origin, request, DefaultClientData)
            .await
            .expect("the authenticator creates a passkey");
        serde_json::to_value(created).expect("JSON")
    }

    /// The `credential` for a sign-in options answer.
    pub async fn get(&mut self, options: &Value) -> Value {
        let request: CredentialRequestOptions =
            serde_json::from_value(json!({ "publicKey": options["publicKey"] }))
                .expect("request options the client reads");
        let asserted = self
            .client
            .authenticate(&self.origin, request, DefaultClientData)
            .await
            .expect("the authenticator signs");
        serde_json::to_value(asserted).expect("JSON")
    }
}
