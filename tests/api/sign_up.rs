use crate::backend::Backend;
use serde_json::json;

use crate::helpers::{PASSWORD, spawn_app, spawn_app_with};

backend_test!(sign_up_creates_the_user_and_a_session_and_answers_user_and_logged_in_at);
async fn sign_up_creates_the_user_and_a_session_and_answers_user_and_logged_in_at(
    backend: Backend,
) {
    let app = spawn_app(&backend).await;
    let mut browser = app.browser();

    let response = browser.sign_up("New.User@Example.COM", PASSWORD).await;

    assert_eq!(response.status, 200, "{}", response.text);
    let user = &response.body["user"];
    assert_eq!(user["primary_email"], "new.user@example.com");
    let id = user["id"].as_str().unwrap();
    assert_eq!(uuid::Uuid::parse_str(id).unwrap().get_version_num(), 7);
    let logged_in_at = response.body["loggedInAt"].as_str().unwrap();
    assert!(chrono::DateTime::parse_from_rfc3339(logged_in_at).is_ok());
    assert!(
        logged_in_at.ends_with('Z') && logged_in_at.len() == 24,
        "{logged_in_at}"
    );
    assert!(browser.session.is_some());
    let stored = (
        app.stored_email(id).await.unwrap(),
        app.stored_password_hash(id).await,
    );
    assert_eq!(stored.0, "new.user@example.com");
    assert!(
        stored.1.starts_with("$argon2id$v=19$"),
        "stored as a PHC string"
    );
    assert!(!stored.1.contains(PASSWORD));
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions").await, 1);
}

backend_test!(sign_up_stores_only_the_sha256_of_the_session_token);
async fn sign_up_stores_only_the_sha256_of_the_session_token(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (browser, _) = app.signed_up("hash@example.com").await;
    let token = browser.session.clone().unwrap();

    let found_by_hash = app.stored_session(&token).await;
    let found_by_token = app
        .database
        .query_three_i64(
            "SELECT created_at, authenticated_at, logged_in_at FROM sessions WHERE token_hash = $1",
            &[token.as_bytes()],
        )
        .await;

    assert!(
        found_by_hash.is_some(),
        "the row is keyed by SHA-256(token)"
    );
    assert!(
        found_by_token.is_none(),
        "the token itself is stored nowhere"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions").await, 1);
}

backend_test!(sign_up_with_a_taken_email_in_another_case_is_409);
async fn sign_up_with_a_taken_email_in_another_case_is_409(backend: Backend) {
    let app = spawn_app(&backend).await;
    app.signed_up("taken@example.com").await;

    let response = app.browser().sign_up("TAKEN@example.com", PASSWORD).await;

    response.assert_error(409, "A user with this email already exists");
    assert_eq!(response.body["statusMessage"], "Conflict");
    assert!(response.session_cookie().is_none());
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions").await, 1);
}

backend_test!(sign_up_with_invalid_fields_lists_every_issue);
async fn sign_up_with_invalid_fields_lists_every_issue(backend: Backend) {
    let app = spawn_app(&backend).await;
    let mut browser = app.browser();

    let response = browser
        .post_json(
            "/api/auth/sign-up",
            &json!({"email": "a@b", "password": 12345678}),
        )
        .await;

    response.assert_error(400, "Invalid body(email, password).");
    assert_eq!(response.body["statusMessage"], "Bad Request");
    let issues = response.body["data"]["issues"].as_array().unwrap();
    assert!(issues.contains(&json!({"code":"invalid_string","message":"Invalid email","path":["email"],"validation":"email"})));
    assert!(issues.contains(&json!({
        "code":"invalid_type","message":"Expected string, received number",
        "path":["password"],"expected":"string","received":"number"
    })));
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 0);
}

backend_test!(sign_up_with_missing_fields_reports_each_as_required);
async fn sign_up_with_missing_fields_reports_each_as_required(backend: Backend) {
    let app = spawn_app(&backend).await;

    let response = app
        .browser()
        .post_json("/api/auth/sign-up", &json!({}))
        .await;

    response.assert_error(400, "Invalid body(email, password).");
    let issues = response.body["data"]["issues"].as_array().unwrap();
    let paths: Vec<_> = issues
        .iter()
        .map(|issue| issue["path"][0].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["email", "password"]);
    assert!(
        issues
            .iter()
            .all(|issue| issue["message"] == "Required" && issue["received"] == "undefined")
    );
}

backend_test!(sign_up_with_a_short_or_long_password_is_too_small_or_too_big);
async fn sign_up_with_a_short_or_long_password_is_too_small_or_too_big(backend: Backend) {
    let app = spawn_app(&backend).await;
    let mut browser = app.browser();

    let short = browser.sign_up("short@example.com", "seven77").await;
    let long = browser.sign_up("long@example.com", &"x".repeat(257)).await;

    short.assert_error(400, "Invalid body(email, password).");
    assert_eq!(
        short.body["data"]["issues"][0],
        json!({"code":"too_small","message":"String must contain at least 8 character(s)",
               "path":["password"],"minimum":8,"type":"string","inclusive":true,"exact":false})
    );
    long.assert_error(400, "Invalid body(email, password).");
    assert_eq!(long.body["data"]["issues"][0]["code"], "too_big");
    assert_eq!(long.body["data"]["issues"][0]["maximum"], 256);
}

backend_test!(sign_up_counts_password_length_in_characters_and_never_trims);
async fn sign_up_counts_password_length_in_characters_and_never_trims(backend: Backend) {
    let app = spawn_app(&backend).await;
    let mut browser = app.browser();
    let eight_characters_sixteen_bytes = "ßßßßßßßß";

    let response = browser
        .sign_up("unicode@example.com", eight_characters_sixteen_bytes)
        .await;
    assert_eq!(response.status, 200, "{}", response.text);
    browser.logout().await;

    let padded = browser
        .login(
            "unicode@example.com",
            &format!(" {eight_characters_sixteen_bytes}"),
        )
        .await;
    padded.assert_error(401, "Invalid email or password");
}

backend_test!(sign_up_with_a_different_confirm_password_is_400_passwords_must_match);
async fn sign_up_with_a_different_confirm_password_is_400_passwords_must_match(backend: Backend) {
    let app = spawn_app(&backend).await;

    let response = app
        .browser()
        .post_json(
            "/api/auth/sign-up",
            &json!({"email": "confirm@example.com", "password": PASSWORD, "confirmPassword": "something else"}),
        )
        .await;

    response.assert_error(400, "Invalid body(email, password).");
    assert_eq!(
        response.body["data"]["issues"],
        json!([{"code":"custom","message":"Passwords must match","path":["confirmPassword"]}])
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 0);
}

backend_test!(sign_up_with_a_matching_confirm_password_succeeds);
async fn sign_up_with_a_matching_confirm_password_succeeds(backend: Backend) {
    let app = spawn_app(&backend).await;

    let response = app
        .browser()
        .post_json(
            "/api/auth/sign-up",
            &json!({"email": "confirm@example.com", "password": PASSWORD, "confirmPassword": PASSWORD}),
        )
        .await;

    assert_eq!(response.status, 200, "{}", response.text);
}

backend_test!(sign_up_while_logged_in_is_403_please_log_out_first);
async fn sign_up_while_logged_in_is_403_please_log_out_first(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (mut browser, _) = app.signed_up("first@example.com").await;

    let response = browser.sign_up("second@example.com", PASSWORD).await;

    response.assert_error(403, "Please log out first");
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 1);
}

backend_test!(sign_up_with_a_stale_cookie_replaces_it_with_one_new_cookie);
async fn sign_up_with_a_stale_cookie_replaces_it_with_one_new_cookie(backend: Backend) {
    let app = spawn_app(&backend).await;
    let mut browser = app.browser();
    browser.session = Some("A".repeat(43));

    let response = browser.sign_up("stale@example.com", PASSWORD).await;

    assert_eq!(response.status, 200, "{}", response.text);
    let cookie = response
        .session_cookie()
        .expect("exactly one new session cookie");
    assert_eq!(cookie.value().len(), 43);
}

backend_test!(the_cookie_max_age_is_the_configured_session_lifetime);
async fn the_cookie_max_age_is_the_configured_session_lifetime(backend: Backend) {
    let app = spawn_app_with(
        &backend,
        &["--session-lifetime", "2h", "--session-idle-timeout", "1h"],
    )
    .await;

    let response = app
        .browser()
        .sign_up("lifetime@example.com", PASSWORD)
        .await;

    let cookie = response.session_cookie().unwrap();
    let max_age = cookie.max_age().unwrap().whole_seconds();
    assert!((7199..=7200).contains(&max_age), "Max-Age {max_age}");
}
