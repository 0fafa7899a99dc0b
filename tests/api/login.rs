use crate::backend::Backend;
use serde_json::json;

use crate::helpers::{PASSWORD, spawn_app};

backend_test!(login_with_the_right_password_starts_a_new_session);
async fn login_with_the_right_password_starts_a_new_session(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (mut first, user_id) = app.signed_up("login@example.com").await;
    first.logout().await;
    let mut browser = app.browser();

    let response = browser.login("LOGIN@example.com", PASSWORD).await;

    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.body["user"]["id"], user_id.as_str());
    assert_eq!(response.body["user"]["primary_email"], "login@example.com");
    assert!(response.body["loggedInAt"].is_string());
    assert!(browser.session.is_some());
    let session = browser.get("/api/auth/session").await;
    assert_eq!(session.status, 200);
    assert_eq!(session.body["user"]["id"], user_id.as_str());
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions").await, 1);
}

backend_test!(login_twice_gives_two_independent_sessions);
async fn login_twice_gives_two_independent_sessions(backend: Backend) {
    let app = spawn_app(&backend).await;
    app.signed_up("twice@example.com").await;
    let mut laptop = app.logged_in("twice@example.com").await;
    let mut phone = app.logged_in("twice@example.com").await;
    let laptop_token = laptop.session.clone();
    assert_ne!(laptop_token, phone.session, "each login has its own token");

    let logout = laptop.logout().await;

    assert_eq!(logout.status, 200, "{}", logout.text);
    assert_eq!(logout.body, json!(true));
    assert_eq!(phone.get("/api/auth/session").await.status, 200);
    laptop.session = laptop_token;
    assert_eq!(laptop.head("/api/auth/check").await.status, 401);
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions").await, 2);
}

backend_test!(login_with_a_wrong_password_is_401_and_creates_no_session);
async fn login_with_a_wrong_password_is_401_and_creates_no_session(backend: Backend) {
    let app = spawn_app(&backend).await;
    app.signed_up("wrong@example.com").await;
    let mut browser = app.browser();

    let response = browser.login("wrong@example.com", "not the password").await;

    response.assert_error(401, "Invalid email or password");
    assert_eq!(response.body["statusMessage"], "Unauthorized");
    assert!(browser.session.is_none());
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions").await, 1);
}

backend_test!(login_password_is_case_sensitive);
async fn login_password_is_case_sensitive(backend: Backend) {
    let app = spawn_app(&backend).await;
    app.signed_up("case@example.com").await;

    let response = app
        .browser()
        .login("case@example.com", &PASSWORD.to_uppercase())
        .await;

    response.assert_error(401, "Invalid email or password");
}

backend_test!(login_with_an_unknown_email_is_the_same_401_after_one_hash_verification);
async fn login_with_an_unknown_email_is_the_same_401_after_one_hash_verification(backend: Backend) {
    let app = spawn_app(&backend).await;
    app.signed_up("known@example.com").await;
    let mut browser = app.browser();

    let before = app.hasher.verification_count();
    let unknown = browser.login("unknown@example.com", PASSWORD).await;
    let after_unknown = app.hasher.verification_count();
    let wrong = browser.login("known@example.com", "not the password").await;
    let after_wrong = app.hasher.verification_count();

    unknown.assert_error(401, "Invalid email or password");
    assert_eq!(unknown.body, wrong.body);
    assert_eq!(
        after_unknown - before,
        1,
        "an unknown email costs one verification"
    );
    assert_eq!(
        after_wrong - after_unknown,
        1,
        "a wrong password costs one verification"
    );
}

backend_test!(login_with_a_malformed_email_is_400_before_any_credential_check);
async fn login_with_a_malformed_email_is_400_before_any_credential_check(backend: Backend) {
    let app = spawn_app(&backend).await;
    let before = app.hasher.verification_count();

    let response = app.browser().login("not-an-email", PASSWORD).await;

    response.assert_error(400, "Invalid body(email, password).");
    assert_eq!(response.body["data"]["issues"][0]["validation"], "email");
    assert_eq!(app.hasher.verification_count(), before);
}

backend_test!(login_with_an_empty_or_non_string_password_is_400);
async fn login_with_an_empty_or_non_string_password_is_400(backend: Backend) {
    let app = spawn_app(&backend).await;
    let mut browser = app.browser();

    let empty = browser.login("someone@example.com", "").await;
    let number = browser
        .post_json(
            "/api/auth/login",
            &json!({"email": "someone@example.com", "password": 5}),
        )
        .await;

    empty.assert_error(400, "Invalid body(email, password).");
    assert_eq!(empty.body["data"]["issues"][0]["code"], "too_small");
    number.assert_error(400, "Invalid body(email, password).");
    assert_eq!(number.body["data"]["issues"][0]["code"], "invalid_type");
}

backend_test!(login_while_logged_in_is_403_please_log_out_first);
async fn login_while_logged_in_is_403_please_log_out_first(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (mut browser, _) = app.signed_up("already@example.com").await;

    let response = browser.login("already@example.com", PASSWORD).await;

    response.assert_error(403, "Please log out first");
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions").await, 1);
}

backend_test!(failed_login_with_a_stale_cookie_clears_it);
async fn failed_login_with_a_stale_cookie_clears_it(backend: Backend) {
    let app = spawn_app(&backend).await;
    let mut browser = app.browser();
    browser.session = Some("B".repeat(43));

    let response = browser.login("nobody@example.com", PASSWORD).await;

    response.assert_error(401, "Invalid email or password");
    assert!(response.clears_session_cookie());
}

backend_test!(login_rehashes_a_password_stored_with_an_older_cost);
async fn login_rehashes_a_password_stored_with_an_older_cost(backend: Backend) {
    let app = spawn_app(&backend).await;
    app.signed_up("rehash@example.com").await;
    // A hash of PASSWORD at a lower cost, as an older deployment would have stored it.
    let legacy = argon2_hash_at_low_cost(PASSWORD);
    app.database
        .execute("UPDATE users SET password_hash = $1", &[&legacy])
        .await;

    let response = app.browser().login("rehash@example.com", PASSWORD).await;

    assert_eq!(response.status, 200, "{}", response.text);
    let stored = app
        .database
        .query_text("SELECT password_hash FROM users", &[])
        .await
        .unwrap();
    assert!(
        stored.contains("m=256,t=1,p=1"),
        "re-hashed with the configured cost: {stored}"
    );
}

fn argon2_hash_at_low_cost(password: &str) -> String {
    use argon2::password_hash::{PasswordHasher as _, SaltString};
    let params = argon2::Params::new(64, 1, 1, None).unwrap();
    let argon2 = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let salt = SaltString::encode_b64(b"sixteen byte slt").unwrap();
    argon2
        .hash_password(password.as_bytes(), &salt)
        .unwrap()
        .to_string()
}
