//! Passkeys (contract section 13): the thin layer over the relying-party
//! crate `webauthn_rp`. It builds the creation and request options, keeps
//! each ceremony's server state as bytes (so any instance can finish what
//! another began), and verifies what the browser sends back. Every CBOR,
//! signature, origin, RP id, counter and backup-flag check is the crate's.

use serde_json::Value;
use webauthn_rp::bin::{Decode, Encode};
use webauthn_rp::request::auth::{
    AuthenticationVerificationOptions, AuthenticatorAttachmentEnforcement,
    DiscoverableCredentialRequestOptions, SignatureCounterEnforcement,
};
use webauthn_rp::request::register::CredProtect;
use webauthn_rp::request::register::{
    Nickname, PublicKeyCredentialCreationOptions, PublicKeyCredentialUserEntity,
    RegistrationVerificationOptions, UserHandle16, Username,
};
use webauthn_rp::request::{AsciiDomain, ExtensionInfo, PublicKeyCredentialDescriptor, RpId};
use webauthn_rp::response::register::{CompressedPubKey, DynamicState, StaticState};
use webauthn_rp::response::{AuthTransports, AuthenticatorAttachment, Backup, CredentialId};
use webauthn_rp::{
    AuthenticatedCredential, DiscoverableAuthentication16, DiscoverableAuthenticationServerState,
    Registration, RegistrationServerState,
};

use super::user::{User, UserId};

/// How long a ceremony may take, as the options tell the browser.
pub const CEREMONY_LIFETIME: std::time::Duration = std::time::Duration::from_secs(300);
/// Longest passkey name, in characters.
pub const NAME_MAX_LENGTH: usize = 64;

/// Why a ceremony failed. The API never says which (section 13); the log may.
#[derive(Debug, thiserror::Error)]
pub enum PasskeyError {
    #[error("the credential is not a WebAuthn credential of the expected kind: {0}")]
    Malformed(String),
    #[error("the ceremony failed verification: {0}")]
    Verification(String),
    #[error("stored passkey data cannot be read: {0}")]
    Stored(String),
    #[error("the ceremony could not start: {0}")]
    Start(String),
}

/// The relying party: its id (the public URL's host) and its one origin.
#[derive(Debug)]
pub struct RelyingParty {
    rp_id: RpId,
    origin: String,
}

/// The signature counter, backup flags, user verification and attachment
/// of a passkey: what a sign-in checks and updates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PasskeyState {
    pub sign_count: u32,
    pub backup_eligible: bool,
    pub backed_up: bool,
    pub user_verified: bool,
    /// 0 none, 1 platform, 2 cross-platform.
    pub attachment: u8,
}

/// A credential as the database keeps it.
#[derive(Clone, Debug)]
pub struct StoredCredential {
    pub credential_id: Vec<u8>,
    pub public_key: Vec<u8>,
    pub transports: u8,
    pub state: PasskeyState,
}

/// What a successful registration leaves to store.
#[derive(Clone, Debug)]
pub struct VerifiedRegistration {
    pub credential: StoredCredential,
}

/// A started ceremony: the state to keep, and the `publicKey` options for
/// the browser.
#[derive(Debug)]
pub struct StartedCeremony {
    pub server_state: Vec<u8>,
    pub public_key: Value,
}

/// A sign-in response, parsed: which credential it claims to be, for whom.
pub struct Assertion(DiscoverableAuthentication16);

impl Assertion {
    /// Parses the browser's `PublicKeyCredential.toJSON()` of a sign-in.
    pub fn parse(credential: &Value) -> Result<Self, PasskeyError> {
        let bytes = serde_json::to_vec(credential)
            .map_err(|err| PasskeyError::Malformed(err.to_string()))?;
        DiscoverableAuthentication16::from_json_relaxed(&bytes)
            .map(Self)
            .map_err(|err| PasskeyError::Malformed(err.to_string()))
    }

    pub fn credential_id(&self) -> Vec<u8> {
        self.0.raw_id().as_ref().to_vec()
    }
}

impl RelyingParty {
    /// For the public origin `origin` (`https://accounts.example.com`) and
    /// its `host` (without a port), which must be a domain name.
    pub fn new(origin: &str, host: &str) -> Result<Self, String> {
        if host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[') {
            return Err("its host must be a domain name (WebAuthn refuses IP addresses)".into());
        }
        let domain = AsciiDomain::try_from(host.to_owned()).map_err(|err| err.to_string())?;
        Ok(Self {
            rp_id: RpId::Domain(domain),
            origin: origin.to_owned(),
        })
    }

    /// The relying party id.
    pub fn id(&self) -> &str {
        self.rp_id.as_ref()
    }

    /// Creation options for `user` (resident key and user verification
    /// required), excluding the credentials in `existing`.
    pub fn start_registration(
        &self,
        user: &User,
        existing: &[StoredCredential],
    ) -> Result<StartedCeremony, PasskeyError> {
        let handle = user_handle(&user.id)?;
        let name = Username::try_from(user.email.as_str())
            .or_else(|_| Username::try_from("user"))
            .map_err(|err| PasskeyError::Start(err.to_string()))?;
        let display_name = Nickname::try_from(user.email.as_str()).ok();
        let mut excluded = Vec::with_capacity(existing.len());
        for credential in existing {
            excluded.push(PublicKeyCredentialDescriptor {
                id: CredentialId::<Vec<u8>>::decode(credential.credential_id.clone())
                    .map_err(|err| PasskeyError::Stored(err.to_string()))?,
                transports: AuthTransports::decode(credential.transports)
                    .map_err(|err| PasskeyError::Stored(err.to_string()))?,
            });
        }
        let user_entity = PublicKeyCredentialUserEntity {
            name,
            id: &handle,
            display_name,
        };
        let mut options =
            PublicKeyCredentialCreationOptions::passkey(&self.rp_id, user_entity, excluded);
        // Ask for credProtect without making the browser refuse authenticators
        // that lack it (CTAP 2.0 keys): user verification is required at
        // every sign-in anyway.
        options.extensions.cred_protect =
            CredProtect::UserVerificationRequired(ExtensionInfo::AllowDontEnforceValue);
        let (server, client) = options
            .start_ceremony()
            .map_err(|err| PasskeyError::Start(err.to_string()))?;
        let public_key =
            serde_json::to_value(&client).map_err(|err| PasskeyError::Start(err.to_string()))?;
        let server_state = server
            .encode()
            .map_err(|err| PasskeyError::Start(err.to_string()))?;
        Ok(StartedCeremony {
            server_state,
            public_key,
        })
    }

    /// Verifies a registration response against its ceremony's state.
    pub fn finish_registration(
        &self,
        server_state: &[u8],
        credential: &Value,
    ) -> Result<VerifiedRegistration, PasskeyError> {
        let server = RegistrationServerState::<16>::decode(server_state)
            .map_err(|err| PasskeyError::Stored(err.to_string()))?;
        let bytes = serde_json::to_vec(credential)
            .map_err(|err| PasskeyError::Malformed(err.to_string()))?;
        let registration = Registration::from_json_relaxed(&bytes)
            .map_err(|err| PasskeyError::Malformed(err.to_string()))?;
        let allowed_origins = [self.origin.clone()];
        let options = RegistrationVerificationOptions::<String, String> {
            allowed_origins: &allowed_origins,
            // Accept authenticators that report extension outputs we did
            // not ask for; the signature and flags are still checked.
            error_on_unsolicited_extensions: false,
            ..RegistrationVerificationOptions::default()
        };
        let registered = server
            .verify(&self.rp_id, &registration, &options)
            .map_err(|err| PasskeyError::Verification(err.to_string()))?;
        let (id, transports, _user, static_state, dynamic_state, _metadata) =
            registered.into_parts();
        let public_key = match static_state.encode() {
            Ok(encoded) => encoded,
            Err(never) => match never {},
        };
        let transports = match transports.encode() {
            Ok(encoded) => encoded,
            Err(never) => match never {},
        };
        Ok(VerifiedRegistration {
            credential: StoredCredential {
                credential_id: id.as_ref().to_vec(),
                public_key,
                transports,
                state: PasskeyState::from_dynamic(dynamic_state),
            },
        })
    }

    /// Request options for a discoverable credential (no user named).
    pub fn start_authentication(&self) -> Result<StartedCeremony, PasskeyError> {
        let (server, client) = DiscoverableCredentialRequestOptions::passkey(&self.rp_id)
            .start_ceremony()
            .map_err(|err| PasskeyError::Start(err.to_string()))?;
        let public_key =
            serde_json::to_value(&client).map_err(|err| PasskeyError::Start(err.to_string()))?;
        let server_state = server
            .encode()
            .map_err(|err| PasskeyError::Start(err.to_string()))?;
        Ok(StartedCeremony {
            server_state,
            public_key,
        })
    }

    /// Verifies a sign-in of `owner`'s `stored` credential; the new state
    /// to store. A counter that did not go up (when it is in use), a backup
    /// eligibility that changed, a foreign origin or RP id, a bad signature
    /// or a user handle that is not `owner`'s all fail.
    pub fn finish_authentication(
        &self,
        server_state: &[u8],
        assertion: &Assertion,
        owner: &UserId,
        stored: &StoredCredential,
    ) -> Result<PasskeyState, PasskeyError> {
        let server = DiscoverableAuthenticationServerState::decode(server_state)
            .map_err(|err| PasskeyError::Stored(err.to_string()))?;
        let handle = user_handle(owner)?;
        let credential_id = CredentialId::<&[u8]>::decode(stored.credential_id.as_slice())
            .map_err(|err| PasskeyError::Stored(err.to_string()))?;
        let static_state =
            StaticState::<CompressedPubKey<[u8; 32], [u8; 32], [u8; 48], Vec<u8>>>::decode(
                stored.public_key.as_slice(),
            )
            .map_err(|err| PasskeyError::Stored(err.to_string()))?;
        let mut credential = AuthenticatedCredential::new(
            credential_id,
            &handle,
            static_state,
            stored.state.to_dynamic(),
        )
        .map_err(|err| PasskeyError::Stored(err.to_string()))?;
        let allowed_origins = [self.origin.clone()];
        let options = AuthenticationVerificationOptions::<String, String> {
            allowed_origins: &allowed_origins,
            // `None`: backup eligibility must stay what it was at registration.
            backup_requirement: None,
            error_on_unsolicited_extensions: false,
            // A synced passkey may be used from another kind of device.
            auth_attachment_enforcement: AuthenticatorAttachmentEnforcement::Update(false),
            update_uv: true,
            sig_counter_enforcement: SignatureCounterEnforcement::Fail,
            ..AuthenticationVerificationOptions::default()
        };
        server
            .verify(&self.rp_id, &assertion.0, &mut credential, &options)
            .map_err(|err| PasskeyError::Verification(err.to_string()))?;
        Ok(PasskeyState::from_dynamic(credential.dynamic_state()))
    }
}

impl PasskeyState {
    fn from_dynamic(state: DynamicState) -> Self {
        let (backup_eligible, backed_up) = match state.backup {
            Backup::NotEligible => (false, false),
            Backup::Eligible => (true, false),
            Backup::Exists => (true, true),
        };
        Self {
            sign_count: state.sign_count,
            backup_eligible,
            backed_up,
            user_verified: state.user_verified,
            attachment: match state.authenticator_attachment {
                AuthenticatorAttachment::None => 0,
                AuthenticatorAttachment::Platform => 1,
                AuthenticatorAttachment::CrossPlatform => 2,
            },
        }
    }

    fn to_dynamic(self) -> DynamicState {
        DynamicState {
            user_verified: self.user_verified,
            backup: match (self.backup_eligible, self.backed_up) {
                (false, _) => Backup::NotEligible,
                (true, false) => Backup::Eligible,
                (true, true) => Backup::Exists,
            },
            sign_count: self.sign_count,
            authenticator_attachment: match self.attachment {
                1 => AuthenticatorAttachment::Platform,
                2 => AuthenticatorAttachment::CrossPlatform,
                _ => AuthenticatorAttachment::None,
            },
        }
    }
}

/// The WebAuthn user handle of a user: the 16 bytes of their UUID, which
/// names nobody outside this service.
fn user_handle(user_id: &UserId) -> Result<UserHandle16, PasskeyError> {
    let uuid = uuid::Uuid::parse_str(user_id.as_str())
        .map_err(|err| PasskeyError::Stored(err.to_string()))?;
    match UserHandle16::decode(*uuid.as_bytes()) {
        Ok(handle) => Ok(handle),
        Err(never) => match never {},
    }
}

/// A default passkey name from the browser's `User-Agent`.
pub fn default_name(user_agent: Option<&str>) -> String {
    let agent = user_agent.unwrap_or_default();
    // Order matters: Edge and Opera also say Chrome, Chrome also says Safari.
    let browsers = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    ];
    browsers
        .iter()
        .find(|(marker, _)| agent.contains(marker))
        .map_or("Passkey", |(_, name)| name)
        .to_owned()
}

#[cfg(test)]
#[path = "passkey_tests.rs"]
mod tests;
