//! Reading fields out of a JSON object body into domain values, collecting
//! every problem as a zod-shaped issue rather than stopping at the first.

use serde_json::{Map, Value};

use crate::domain::email::{self, Email, EmailError};
use crate::domain::password::{Password, PasswordError, PasswordPolicy};
use crate::error::Issue;

/// The issues found so far in one body.
#[derive(Default)]
pub struct Issues(Vec<Issue>);

impl Issues {
    pub fn push(&mut self, issue: Issue) {
        self.0.push(issue);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_vec(self) -> Vec<Issue> {
        self.0
    }
}

/// A string field: `None` when absent (an issue is recorded if `required`) or
/// of another type (always an issue, `null` included).
pub fn string_field<'a>(
    body: &'a Map<String, Value>,
    field: &'static str,
    required: bool,
    issues: &mut Issues,
) -> Option<&'a str> {
    match body.get(field) {
        Some(Value::String(text)) => Some(text),
        None if !required => None,
        other => {
            issues.push(Issue::invalid_type(field, "string", type_name(other)));
            None
        }
    }
}

/// An email field, validated and normalised.
pub fn email_field(
    body: &Map<String, Value>,
    field: &'static str,
    required: bool,
    issues: &mut Issues,
) -> Option<Email> {
    let text = string_field(body, field, required, issues)?;
    match Email::parse(text) {
        Ok(email) => Some(email),
        Err(EmailError::TooShort) => {
            // Nothing this short is an address either.
            issues.push(Issue::invalid_email(field));
            issues.push(Issue::too_small(field, email::MIN_LENGTH));
            None
        }
        Err(EmailError::TooLong) => {
            issues.push(Issue::too_big(field, email::MAX_LENGTH));
            None
        }
        Err(EmailError::Invalid) => {
            issues.push(Issue::invalid_email(field));
            None
        }
    }
}

/// A password field, checked against `policy`.
pub fn password_field(
    body: &Map<String, Value>,
    field: &'static str,
    policy: &PasswordPolicy,
    required: bool,
    issues: &mut Issues,
) -> Option<Password> {
    let text = string_field(body, field, required, issues)?;
    match policy.check(text) {
        Ok(()) => Some(Password::new(text.to_owned())),
        Err(PasswordError::TooShort { minimum }) => {
            issues.push(Issue::too_small(field, minimum));
            None
        }
        Err(PasswordError::TooLong { maximum }) => {
            issues.push(Issue::too_big(field, maximum));
            None
        }
        Err(PasswordError::TooCommon) => {
            issues.push(Issue::custom(field, "This password is too common"));
            None
        }
    }
}

/// The type name zod reports as `received`.
pub fn type_name(value: Option<&Value>) -> &'static str {
    match value {
        None => "undefined",
        Some(Value::Null) => "null",
        Some(Value::Bool(_)) => "boolean",
        Some(Value::Number(_)) => "number",
        Some(Value::String(_)) => "string",
        Some(Value::Array(_)) => "array",
        Some(Value::Object(_)) => "object",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => unreachable!("test bodies are objects"),
        }
    }

    #[test]
    fn a_missing_required_field_is_required_and_an_optional_one_is_fine() {
        let body = object(json!({}));
        let mut issues = Issues::default();
        assert!(string_field(&body, "email", false, &mut issues).is_none());
        assert!(issues.is_empty());
        assert!(string_field(&body, "email", true, &mut issues).is_none());
        let issues = issues.into_vec();
        assert_eq!(issues[0].code, "invalid_type");
        assert_eq!(issues[0].message, "Required");
    }

    #[test]
    fn null_and_other_types_are_invalid_type_even_when_optional() {
        for (value, received) in [
            (json!(null), "null"),
            (json!(1), "number"),
            (json!(true), "boolean"),
            (json!([]), "array"),
            (json!({}), "object"),
        ] {
            let body = object(json!({ "email": value }));
            let mut issues = Issues::default();
            assert!(string_field(&body, "email", false, &mut issues).is_none());
            let issues = issues.into_vec();
            assert_eq!(issues.len(), 1);
            assert_eq!(issues[0].details["received"], received);
        }
    }

    #[test]
    fn an_invalid_email_gives_the_contracts_issue() {
        let body = object(json!({ "email": "plainaddress" }));
        let mut issues = Issues::default();
        assert!(email_field(&body, "email", true, &mut issues).is_none());
        assert_eq!(issues.into_vec(), vec![Issue::invalid_email("email")]);
    }

    #[test]
    fn a_short_password_is_too_small_with_the_policy_minimum() {
        let body = object(json!({ "password": "short" }));
        let mut issues = Issues::default();
        let policy = PasswordPolicy::for_new_passwords(8, None);
        assert!(password_field(&body, "password", &policy, true, &mut issues).is_none());
        assert_eq!(issues.into_vec(), vec![Issue::too_small("password", 8)]);
    }
}
