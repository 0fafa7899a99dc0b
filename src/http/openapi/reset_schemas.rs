//! The body of `POST /auth/otp`, one of two shapes by `action`.

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

use super::schemas::{email_schema, new_password_schema};

/// `{action:"create", email}` or `{action:"validate", email, otp, new_password}`.
pub struct ResetCodeRequestBody;

fn action(name: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some([name]))
}

impl PartialSchema for ResetCodeRequestBody {
    fn schema() -> RefOr<Schema> {
        let create = ObjectBuilder::new()
            .property("action", action("create"))
            .property("email", email_schema())
            .required("action")
            .required("email")
            .description(Some(
                "Mails a code when the email has an account; the answer is the same either way.",
            ));
        let validate = ObjectBuilder::new()
            .property("action", action("validate"))
            .property("email", email_schema())
            .property(
                "otp",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some("^[0-9]{5}$"))
                    .description(Some("The mailed code: 5 digits by default (`--otp-digits`; 8 under `--strict`).")),
            )
            .property("new_password", new_password_schema())
            .required("action")
            .required("email")
            .required("otp")
            .required("new_password");
        OneOfBuilder::new()
            .item(create)
            .item(validate)
            .description(Some("Unknown keys are ignored."))
            .into()
    }
}

impl ToSchema for ResetCodeRequestBody {}
