//! The optional protections of contract section 5: recent authentication,
//! the minimum password length, the blocklist, and `--strict`.

use std::time::Duration;

use serde_json::{Value, json};

use crate::backend::Backend;
use crate::helpers::{Browser, PASSWORD, TestResponse, spawn_app_with};
use crate::process::ServerProcess;

const SIGN_UP_MESSAGE: &str = "Invalid body(email, password).";
const UPDATE_MESSAGE: &str = "Invalid body(?email, ?password).";

/// A 400 whose only issue is on `password` with `code`.
fn assert_password_issue(response: &TestResponse, message: &str, code: &str) -> Value {
    response.assert_error(400, message);
    let issues = response.body["data"]["issues"].as_array().expect("issues");
    assert_eq!(issues.len(), 1, "{}", response.text);
    assert_eq!(issues[0]["path"], json!(["password"]));
    assert_eq!(issues[0]["code"], code, "{}", response.text);
    issues[0].clone()
}

fn assert_too_common(response: &TestResponse, message: &str) {
    let issue = assert_password_issue(response, message, "custom");
    assert_eq!(issue["message"], "This password is too common");
}

backend_test!(recent_authentication_needs_a_password_proof_within_the_window);
async fn recent_authentication_needs_a_password_proof_within_the_window(backend: Backend) {
    let app = spawn_app_with(&backend, &["--require-recent-auth", "2s"]).await;
    let (mut browser, user_id) = app.signed_up("recent@example.com").await;

    let at_once = browser
        .update_user(&user_id, &json!({"email": "recent2@example.com"}))
        .await;
    assert_eq!(at_once.status, 200, "{}", at_once.text);

    tokio::time::sleep(Duration::from_secs(3)).await;
    let late = browser
        .update_user(&user_id, &json!({"password": "a new password"}))
        .await;
    late.assert_error(403, "Recent authentication required");
    let wrong = browser
        .update_user(
            &user_id,
            &json!({"password": "a new password", "current_password": "wrong password"}),
        )
        .await;
    wrong.assert_error(400, UPDATE_MESSAGE);
    assert_eq!(
        wrong.body["data"]["issues"][0]["path"],
        json!(["current_password"])
    );

    let proven = browser
        .update_user(
            &user_id,
            &json!({"email": "recent3@example.com", "current_password": PASSWORD}),
        )
        .await;
    assert_eq!(proven.status, 200, "{}", proven.text);
    let after_the_proof = browser
        .update_user(&user_id, &json!({"email": "recent4@example.com"}))
        .await;
    assert_eq!(
        after_the_proof.status, 200,
        "a correct current_password is a fresh proof"
    );
    assert_eq!(
        app.stored_email(&user_id).await.as_deref(),
        Some("recent4@example.com")
    );
}

backend_test!(recent_authentication_is_not_renewed_by_a_rotation);
/// A rotation renews `loggedInAt`; only a password proof renews
/// `authenticated_at`, which is what the window is measured from.
async fn recent_authentication_is_not_renewed_by_a_rotation(backend: Backend) {
    let app = spawn_app_with(&backend, &["--require-recent-auth", "3s"]).await;
    let (mut browser, user_id) = app.signed_up("rotated@example.com").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rotated = browser
        .update_user(&user_id, &json!({"email": "rotated2@example.com"}))
        .await;
    assert_eq!(rotated.status, 200, "{}", rotated.text);

    tokio::time::sleep(Duration::from_secs(2)).await;
    let session = browser.get("/api/auth/session").await;
    assert_eq!(session.status, 200);
    let late = browser
        .update_user(&user_id, &json!({"email": "rotated3@example.com"}))
        .await;
    late.assert_error(403, "Recent authentication required");

    let mut fresh = app.browser();
    assert_eq!(
        fresh.login("rotated2@example.com", PASSWORD).await.status,
        200
    );
    let after_login = fresh
        .update_user(&user_id, &json!({"email": "rotated4@example.com"}))
        .await;
    assert_eq!(after_login.status, 200, "a login is a fresh proof");
}

backend_test!(the_minimum_length_applies_to_new_passwords_only);
async fn the_minimum_length_applies_to_new_passwords_only(backend: Backend) {
    let database = backend.fresh_database().await;
    let lenient = ServerProcess::start(&database.url(), &[]);
    let strict = ServerProcess::start(&database.url(), &["--password-min-length", "15"]);
    let mut old = Browser::new(&lenient.base_url());
    assert_eq!(
        old.sign_up("older@example.com", "eight ch").await.status,
        200
    );

    let mut browser = Browser::new(&strict.base_url());
    let short = browser.sign_up("short@example.com", "fourteen chars").await;
    let issue = assert_password_issue(&short, SIGN_UP_MESSAGE, "too_small");
    assert_eq!(issue["minimum"], 15);
    let long_enough = browser
        .sign_up("short@example.com", "fifteen chars!!")
        .await;
    assert_eq!(long_enough.status, 200, "{}", long_enough.text);
    let user_id = browser.user_id().await;
    let change = browser
        .update_user(&user_id, &json!({"password": "fourteen chars"}))
        .await;
    assert_password_issue(&change, UPDATE_MESSAGE, "too_small");

    let login = Browser::new(&strict.base_url())
        .login("older@example.com", "eight ch")
        .await;
    assert_eq!(
        login.status, 200,
        "an older, shorter password still logs in"
    );
}

backend_test!(the_bundled_blocklist_refuses_common_passwords_at_sign_up_and_change_not_login);
async fn the_bundled_blocklist_refuses_common_passwords_at_sign_up_and_change_not_login(
    backend: Backend,
) {
    let database = backend.fresh_database().await;
    let without = ServerProcess::start(&database.url(), &[]);
    let with = ServerProcess::start(&database.url(), &["--password-blocklist", "common"]);
    let mut early = Browser::new(&without.base_url());
    assert_eq!(
        early
            .sign_up("early@example.com", "password123")
            .await
            .status,
        200
    );

    let mut browser = Browser::new(&with.base_url());
    let common = browser.sign_up("late@example.com", "PassWord123").await;
    assert_too_common(&common, SIGN_UP_MESSAGE);
    assert_eq!(
        browser.sign_up("late@example.com", PASSWORD).await.status,
        200
    );
    let user_id = browser.user_id().await;
    let change = browser
        .update_user(&user_id, &json!({"password": "iloveyou"}))
        .await;
    assert_too_common(&change, UPDATE_MESSAGE);

    let login = Browser::new(&with.base_url())
        .login("early@example.com", "password123")
        .await;
    assert_eq!(login.status, 200, "never checked at login");
}

backend_test!(a_blocklist_file_is_matched_case_insensitively);
async fn a_blocklist_file_is_matched_case_insensitively(backend: Backend) {
    let folder = tempfile::tempdir().expect("folder");
    let list = folder.path().join("blocked.txt");
    std::fs::write(&list, "Neptun Rocks Forever\nhunter2hunter2\n").expect("list written");
    let app = spawn_app_with(
        &backend,
        &["--password-blocklist", list.to_str().expect("utf-8 path")],
    )
    .await;

    let blocked = app
        .browser()
        .sign_up("listed@example.com", "neptun rocks FOREVER")
        .await;
    assert_too_common(&blocked, SIGN_UP_MESSAGE);
    let not_listed = app
        .browser()
        .sign_up("listed@example.com", "password123")
        .await;
    assert_eq!(
        not_listed.status, 200,
        "only the file's list applies: {}",
        not_listed.text
    );
}

backend_test!(strict_turns_on_the_minimum_of_fifteen_and_the_blocklist);
async fn strict_turns_on_the_minimum_of_fifteen_and_the_blocklist(backend: Backend) {
    let app = spawn_app_with(&backend, &["--strict"]).await;

    let short = app
        .browser()
        .sign_up("strict@example.com", "fourteen chars")
        .await;
    let issue = assert_password_issue(&short, SIGN_UP_MESSAGE, "too_small");
    assert_eq!(issue["minimum"], 15);
    let common = app
        .browser()
        .sign_up("strict@example.com", "1234567887654321")
        .await;
    assert_too_common(&common, SIGN_UP_MESSAGE);

    let (mut browser, user_id) = {
        let mut browser = app.browser();
        let response = browser
            .sign_up("strict@example.com", "a long and unusual passphrase")
            .await;
        assert_eq!(response.status, 200, "{}", response.text);
        let user_id = browser.user_id().await;
        (browser, user_id)
    };
    let within_the_window = browser
        .update_user(&user_id, &json!({"email": "strict2@example.com"}))
        .await;
    assert_eq!(within_the_window.status, 200, "{}", within_the_window.text);
}
