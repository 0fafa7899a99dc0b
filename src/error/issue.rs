//! One validation problem in the shape of a zod issue, as `data.issues`
//! lists them.

use std::borrow::Cow;

use serde::Serialize;
use serde_json::{Map, Value};

/// One validation problem, in the shape of a zod issue.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Issue {
    pub code: &'static str,
    pub message: Cow<'static, str>,
    pub path: Vec<&'static str>,
    /// The keys zod adds for this code (`validation`, `expected`, `minimum` …).
    #[serde(flatten)]
    pub details: Map<String, Value>,
}

impl Issue {
    fn new(code: &'static str, field: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code,
            message: message.into(),
            path: vec![field],
            details: Map::new(),
        }
    }

    fn with(mut self, key: &str, value: Value) -> Self {
        self.details.insert(key.to_owned(), value);
        self
    }

    /// A field that is missing (`received: "undefined"`) or of another JSON type.
    pub fn invalid_type(
        field: &'static str,
        expected: &'static str,
        received: &'static str,
    ) -> Self {
        let message: Cow<'static, str> = if received == "undefined" {
            "Required".into()
        } else {
            format!("Expected {expected}, received {received}").into()
        };
        Self::new("invalid_type", field, message)
            .with("expected", expected.into())
            .with("received", received.into())
    }

    /// A syntactically invalid email address.
    pub fn invalid_email(field: &'static str) -> Self {
        Self::new("invalid_string", field, "Invalid email").with("validation", "email".into())
    }

    /// A string shorter than `minimum` characters.
    pub fn too_small(field: &'static str, minimum: usize) -> Self {
        Self::new(
            "too_small",
            field,
            format!("String must contain at least {minimum} character(s)"),
        )
        .with("minimum", minimum.into())
        .with("type", "string".into())
        .with("inclusive", true.into())
        .with("exact", false.into())
    }

    /// A string longer than `maximum` characters.
    pub fn too_big(field: &'static str, maximum: usize) -> Self {
        Self::new(
            "too_big",
            field,
            format!("String must contain at most {maximum} character(s)"),
        )
        .with("maximum", maximum.into())
        .with("type", "string".into())
        .with("inclusive", true.into())
        .with("exact", false.into())
    }

    /// A `current_password` that does not match the stored hash.
    pub fn wrong_current_password() -> Self {
        Self::custom("current_password", "Current password is incorrect")
    }

    /// A rule of our own (`Passwords must match`, `Current password is incorrect` …).
    pub fn custom(field: &'static str, message: &'static str) -> Self {
        Self::new("custom", field, message)
    }
}

impl Issue {
    /// A query number outside `minimum..=maximum` (zod's `too_small` /
    /// `too_big` for numbers), or not an integer at all.
    pub fn integer_in_range(
        field: &'static str,
        text: &str,
        minimum: i64,
        maximum: i64,
    ) -> Option<Self> {
        let Ok(value) = text.parse::<i64>() else {
            return Some(Self::invalid_type(field, "integer", "string"));
        };
        if value < minimum {
            return Some(
                Self::new(
                    "too_small",
                    field,
                    format!("Number must be greater than or equal to {minimum}"),
                )
                .with("minimum", minimum.into())
                .with("type", "number".into())
                .with("inclusive", true.into())
                .with("exact", false.into()),
            );
        }
        if value > maximum {
            return Some(
                Self::new(
                    "too_big",
                    field,
                    format!("Number must be less than or equal to {maximum}"),
                )
                .with("maximum", maximum.into())
                .with("type", "number".into())
                .with("inclusive", true.into())
                .with("exact", false.into()),
            );
        }
        None
    }

    /// A second-factor code of the wrong form: not six digits (nor, where
    /// one is accepted, a recovery code `xxxxx-xxxxx`).
    pub fn invalid_code(field: &'static str, recovery_allowed: bool) -> Self {
        let message = if recovery_allowed {
            "Expected 6 digits or a recovery code"
        } else {
            "Expected 6 digits"
        };
        Self::new("invalid_string", field, message).with("validation", "regex".into())
    }

    /// A value that is not a UUID.
    pub fn invalid_uuid(field: &'static str) -> Self {
        Self::new("invalid_string", field, "Invalid uuid").with("validation", "uuid".into())
    }
}
