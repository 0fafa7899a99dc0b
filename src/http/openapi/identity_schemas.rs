//! The bodies of the sign-in provider routes as the OpenAPI document
//! describes them (contract section 14).

use utoipa::ToSchema;

/// `{providers:[…]}`: the configured sign-in providers.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ProviderList {
    providers: Vec<ProviderEntry>,
}

/// One sign-in provider.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ProviderEntry {
    /// `github`, `google`, or an `--oidc` name: the identities' `provider`.
    id: String,
    /// What a sign-in button says.
    name: String,
    /// The route a browser navigates to: `/auth/github`, `/auth/google`,
    /// `/auth/oidc/{name}`.
    path: String,
}

/// A linked identity.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Identity {
    id: String,
    provider: String,
    /// The verified address the provider reported at the last sign-in.
    email: String,
    /// ISO 8601, UTC.
    created_at: String,
}

/// `{identities:[…]}`, newest first.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct IdentityList {
    identities: Vec<Identity>,
}

/// `{identity}`: the identity just linked.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct IdentityBody {
    identity: Identity,
}

/// The optional body of a link confirmation.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct IdentityLinkRequest {
    /// Proves recent authentication when the session's is too old.
    #[schema(nullable = false)]
    current_password: Option<String>,
}
