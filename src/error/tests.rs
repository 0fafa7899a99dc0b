//! The error body's shapes and wordings.

use super::*;

#[test]
fn invalid_email_issue_has_the_zod_shape() {
    let issue = serde_json::to_value(Issue::invalid_email("email")).unwrap();
    assert_eq!(
        issue,
        json!({"code":"invalid_string","validation":"email","message":"Invalid email","path":["email"]})
    );
}

#[test]
fn missing_field_is_required_and_wrong_type_names_both_types() {
    let missing =
        serde_json::to_value(Issue::invalid_type("email", "string", "undefined")).unwrap();
    assert_eq!(missing["message"], "Required");
    let wrong = serde_json::to_value(Issue::invalid_type("email", "string", "null")).unwrap();
    assert_eq!(wrong["message"], "Expected string, received null");
    assert_eq!(wrong["expected"], "string");
    assert_eq!(wrong["received"], "null");
}

#[test]
fn update_endpoint_bad_requests_say_bad_request_with_a_period() {
    let err = ApiError::InvalidJson {
        shape: BodyShape::Credentials,
    }
    .for_update();
    assert_eq!(err.status_message(), "Bad Request.");
    assert_eq!(ApiError::NothingToUpdate.status_message(), "Bad Request.");
    assert_eq!(ApiError::UserNotFound.status_message(), "Not Found");
}
