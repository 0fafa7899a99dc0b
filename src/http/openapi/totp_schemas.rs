//! The second factor's bodies as the OpenAPI document describes them
//! (contract section 15). TOTP is always on, so these are always listed.

use utoipa::ToSchema;

/// Where the caller's second factor stands.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct TotpStatus {
    /// TOTP is on: a login asks for a code.
    enabled: bool,
    /// An enrolment waits for its confirming code.
    pending: bool,
}

/// The optional body of an enrolment.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct TotpEnrolmentRequest {
    /// Proves recent authentication when the session's is too old.
    #[schema(nullable = false)]
    current_password: Option<String>,
}

/// A pending enrolment: what an authenticator app needs.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct TotpEnrolment {
    /// The secret, base32 without padding, to type into the app.
    #[schema(example = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")]
    secret: String,
    /// `otpauth://totp/neptun-accounts:EMAIL?secret=…&issuer=neptun-accounts`
    /// (SHA-1, 6 digits, 30 s).
    otpauth_uri: String,
    /// The same URI as a QR code, an SVG document to show inline.
    qr_svg: String,
}

/// A code that proves the second factor.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct TotpCodeRequest {
    /// Six digits from the app; where a recovery code is accepted too
    /// (turning TOTP off, renewing codes), one of those (`xxxxx-xxxxx`;
    /// case, dashes and spaces do not matter).
    #[schema(
        example = "123456",
        pattern = "^([0-9]{6}|[A-Za-z2-7]{5}-?[A-Za-z2-7]{5})$"
    )]
    code: String,
    /// Proves recent authentication when the session's is too old
    /// (turning TOTP off).
    #[schema(nullable = false)]
    current_password: Option<String>,
}

/// Recovery codes, shown this once.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct RecoveryCodes {
    /// Ten single-use codes, `xxxxx-xxxxx`.
    #[schema(min_items = 10, max_items = 10)]
    recovery_codes: Vec<String>,
}

/// The second step of a login: the challenge and one of the two codes.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct SecondFactorRequest {
    /// `data.challenge_id` of the login's 401 `Second factor required`.
    challenge_id: String,
    /// Six digits from the authenticator app.
    #[schema(nullable = false, example = "123456", pattern = "^[0-9]{6}$")]
    code: Option<String>,
    /// Or one of the recovery codes, `xxxxx-xxxxx` (case, dashes and spaces
    /// do not matter); not both.
    #[schema(nullable = false, pattern = "^[A-Za-z2-7]{5}-?[A-Za-z2-7]{5}$")]
    recovery_code: Option<String>,
}
