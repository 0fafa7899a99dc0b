//! The OpenAPI 3.1 document: generated from the handlers' `#[utoipa::path]`
//! annotations as the router registers them (see `router::api_routes`), so
//! the document and the routes cannot drift apart. The bodies it describes
//! are in `schemas`.

use axum::http::HeaderValue;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use utoipa::Modify;
use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::openapi::{OpenApi, Required};

mod identity_schemas;
mod passkey_schemas;
mod reset_schemas;
mod schemas;
mod totp_schemas;

pub use self::identity_schemas::*;
pub use self::passkey_schemas::*;
pub use self::reset_schemas::ResetCodeRequestBody;
pub use self::schemas::*;
pub use self::totp_schemas::*;

/// The session cookie's security scheme, as operations name it.
pub const SESSION_SCHEME: &str = "session";

/// Section 6's grammar as an ECMA-262 pattern (with `minLength` 5 and
/// `maxLength` 254): a dot-atom local part of at most 64 characters, two or
/// more LDH labels, an alphabetic top label, and no special-use name.
pub const EMAIL_PATTERN: &str = r"^(?=[^@]{1,64}@)[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+(?!(?:[Tt][Ee][Ss][Tt]|[Ll][Oo][Cc][Aa][Ll]|[Ii][Nn][Vv][Aa][Ll][Ii][Dd]|[Ll][Oo][Cc][Aa][Ll][Hh][Oo][Ss][Tt]|[Oo][Nn][Ii][Oo][Nn]|[Aa][Rr][Pp][Aa])$)[A-Za-z]{2,63}$";

/// The document's frame; paths and their schemas come from the router.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "neptun-accounts",
        description = "Account and session service behind the NEPTUN API. Errors share one body \
            (`ErrorBody`). An unknown route answers 404 `Not Found`; a route with another method \
            405 `Method Not Allowed` with `Allow`; any route may answer 500 (the error body, \
            nothing internal). Every `/api/` answer is `no-store`.",
        license(name = "MIT OR Apache-2.0"),
    ),
    components(schemas(ErrorBody, Issue, User, UserBody, SessionBody, Health, HealthUnavailable)),
    modifiers(&SessionCookie)
)]
struct ApiDoc;

struct SessionCookie;

impl Modify for SessionCookie {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut cookie = ApiKeyValue::with_description(
            "neptun-session",
            "The session token (256 random bits, base64url), set by sign-up, login and a \
             successful PATCH; `HttpOnly; SameSite=Lax; Secure; Path=/`.",
        );
        cookie.name = "neptun-session".to_owned();
        components.add_security_scheme(
            SESSION_SCHEME,
            SecurityScheme::ApiKey(ApiKey::Cookie(cookie)),
        );
    }
}

/// The frame the router adds its paths to.
pub fn frame() -> OpenApi {
    <ApiDoc as utoipa::OpenApi>::openapi()
}

/// The whole document, every optional feature included (what `neptun-accounts
/// openapi` prints), built from the same registration as the router.
pub fn document() -> OpenApi {
    finished(
        super::router::api_routes(Features::ALL, |_, method_router| method_router).into_openapi(),
    )
}

/// The document as a router registered it, with the parts every operation shares.
pub fn finished(mut document: OpenApi) -> OpenApi {
    RequestIdHeader.modify(&mut document);
    OptionalBodies.modify(&mut document);
    document
}

/// A body declared `Option<T>` may be left out, not sent as JSON `null`
/// (which the routes refuse as not an object): utoipa writes it as
/// `oneOf [null, T]`; the document says `T`, not required.
struct OptionalBodies;

impl Modify for OptionalBodies {
    fn modify(&self, openapi: &mut OpenApi) {
        use utoipa::openapi::schema::Schema;
        use utoipa::openapi::{RefOr, Required};
        for item in openapi.paths.paths.values_mut() {
            for operation in [&mut item.post, &mut item.patch, &mut item.delete]
                .into_iter()
                .flatten()
            {
                let Some(body) = operation.request_body.as_mut() else {
                    continue;
                };
                for content in body.content.values_mut() {
                    let Some(RefOr::T(Schema::OneOf(one_of))) = content.schema.as_ref() else {
                        continue;
                    };
                    let mut not_null = one_of.items.iter().filter(|item| {
                        !matches!(item, RefOr::T(Schema::Object(object))
                            if object.schema_type == utoipa::openapi::schema::SchemaType::Type(Type::Null))
                    });
                    if let (Some(only), None, true) =
                        (not_null.next(), not_null.next(), one_of.items.len() == 2)
                    {
                        content.schema = Some(only.clone());
                        body.required = Some(Required::False);
                    }
                }
            }
        }
    }
}

/// The optional parts of the API that are switched on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Features {
    /// `--mail-url`: password reset by code and the undo of email changes.
    pub mail: bool,
    /// `--passkeys on`: the passkey routes.
    pub passkeys: bool,
    /// A sign-in provider configured: the identity routes.
    pub providers: bool,
}

impl Features {
    pub const ALL: Self = Self {
        mail: true,
        passkeys: true,
        providers: true,
    };
}

/// Every operation takes an optional `X-Request-Id` and answers with one.
struct RequestIdHeader;

impl Modify for RequestIdHeader {
    fn modify(&self, openapi: &mut OpenApi) {
        let parameter = ParameterBuilder::new()
            .name("x-request-id")
            .parameter_in(ParameterIn::Header)
            .required(Required::False)
            .description(Some(
                "Kept and echoed when it is 1 to 128 letters, digits or `-_.:`; otherwise a new \
                 one is made. Every log line of the request carries it.",
            ))
            // No pattern: any other value is replaced, never refused.
            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
            .build();
        for item in openapi.paths.paths.values_mut() {
            for operation in [
                &mut item.get,
                &mut item.head,
                &mut item.post,
                &mut item.patch,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                operation
                    .parameters
                    .get_or_insert_with(Vec::new)
                    .push(parameter.clone());
            }
        }
    }
}

/// `GET /api/openapi.json`: the document of this service as configured
/// (switched-off features are not in it), which leaves itself out, as
/// documents usually do.
pub fn openapi_json(
    document: &OpenApi,
) -> impl Fn() -> std::future::Ready<Response> + Clone + use<> {
    let json: std::sync::Arc<str> = document
        .to_pretty_json()
        .unwrap_or_else(|_| "{}".to_owned())
        .into();
    move || {
        std::future::ready(
            (
                [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
                json.to_string(),
            )
                .into_response(),
        )
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::domain::email::{self, Email};

    fn pattern() -> fancy_regex::Regex {
        fancy_regex::Regex::new(EMAIL_PATTERN).expect("the pattern compiles")
    }

    /// What the document promises: within the length bounds, the pattern
    /// matches exactly the addresses the parser accepts.
    fn document_accepts(pattern: &fancy_regex::Regex, candidate: &str) -> bool {
        let length = candidate.chars().count();
        (email::MIN_LENGTH..=email::MAX_LENGTH).contains(&length)
            && pattern.is_match(candidate).expect("no backtracking limit")
    }

    #[test]
    fn the_email_pattern_agrees_with_the_parser_on_the_contracts_examples() {
        let pattern = pattern();
        let local64 = format!("{}@example.com", "a".repeat(64));
        let local65 = format!("{}@example.com", "a".repeat(65));
        let label63 = format!("a@{}.com", "b".repeat(63));
        let label64 = format!("a@{}.com", "b".repeat(64));
        let others = [
            "!#$%&'*+/=?^_`{|}~-@example.com",
            "a@foo.TEST",
            "a@foo.testing",
            "a@Foo.Onion",
            "a@x.arpa",
            "a@x.localhost",
            "a@example-.com",
            "a@example.c0m",
            "a@example.com.",
            &local64,
            &local65,
            &label63,
            &label64,
        ];
        let examples = email::examples::VALID
            .into_iter()
            .chain(email::examples::INVALID);
        for candidate in examples.chain(others) {
            assert_eq!(
                document_accepts(&pattern, candidate),
                Email::parse(candidate).is_ok(),
                "{candidate:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn the_email_pattern_agrees_with_the_parser_on_email_like_strings(
            candidate in "[a-zA-Z0-9.'+_ü-]{0,6}@?[a-zA-Z0-9.-]{0,8}(\\.(com|test|Local|arpa|x|c0|[a-z]{2,3}))?\\.?\n?"
        ) {
            prop_assert_eq!(
                document_accepts(&pattern(), &candidate),
                Email::parse(&candidate).is_ok(),
                "{:?}", candidate
            );
        }
    }
}
