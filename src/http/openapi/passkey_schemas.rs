//! The passkey routes' bodies as the OpenAPI document describes them
//! (contract section 13). WebAuthn's own JSON forms (`publicKey`,
//! `credential`) are objects whose shape the WebAuthn spec defines.

use utoipa::ToSchema;
use utoipa::openapi::schema::Object;

/// `{challenge_id, publicKey}`: the options for the browser, and the id to
/// finish the ceremony with.
#[derive(ToSchema)]
#[allow(non_snake_case, dead_code)]
pub struct PasskeyOptions {
    challenge_id: String,
    /// `PublicKeyCredentialCreationOptionsJSON` or
    /// `PublicKeyCredentialRequestOptionsJSON` (base64url without padding).
    publicKey: Object,
}

/// The optional body of the registration options request.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PasskeyRegistrationOptionsRequest {
    /// Proves recent authentication when the session's is too old.
    #[schema(nullable = false)]
    current_password: Option<String>,
}

/// The optional body of the sign-in options request: nothing is read.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PasskeySignInOptionsRequest {}

/// A new passkey: the browser's `PublicKeyCredential.toJSON()` of
/// `navigator.credentials.create()`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AddPasskeyRequest {
    /// From the options request, by the same session, within 5 minutes.
    challenge_id: String,
    /// `RegistrationResponseJSON`.
    credential: Object,
    /// Default: the browser's name from the `User-Agent`.
    #[schema(nullable = false, min_length = 1, max_length = 64)]
    name: Option<String>,
}

/// A sign-in: the browser's `PublicKeyCredential.toJSON()` of
/// `navigator.credentials.get()`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PasskeySignInRequest {
    /// From the sign-in options request, within 5 minutes.
    challenge_id: String,
    /// `AuthenticationResponseJSON`, with its `userHandle`.
    credential: Object,
}

/// A new name for a passkey.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct RenamePasskeyRequest {
    #[schema(min_length = 1, max_length = 64)]
    name: String,
}

/// One of the caller's passkeys.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Passkey {
    /// The path of its PATCH and DELETE.
    id: String,
    name: String,
    #[schema(format = DateTime)]
    created_at: String,
    /// `null` until its first sign-in.
    #[schema(format = DateTime)]
    last_used_at: Option<String>,
}

/// `{passkey:{…}}`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PasskeyBody {
    passkey: Passkey,
}

/// `{passkeys:[…]}`, newest first.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PasskeyList {
    passkeys: Vec<Passkey>,
}
