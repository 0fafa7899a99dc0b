//! Contract section 15, signing in: a right password on an account with
//! TOTP on only opens a challenge; the code (one step either side, never
//! twice, on any instance) or a recovery code (once) completes it as a
//! login; five wrong codes void it; wrong codes feed the per-account
//! throttle, which only a completed sign-in resets; a wrong password looks
//! the same whether TOTP is on or not; passkeys and password resets keep
//! their rules.

use serde_json::{Value, json};

use crate::admin::admin_json;
use crate::authenticator::{Device, PUBLIC_URL};
use crate::backend::Backend;
use crate::helpers::{Browser, PASSWORD, TestResponse, spawn_app, spawn_instance};
use crate::passkeys::{add_passkey, passkey_app, sign_in};
use crate::password_reset::{ask_code, mailed_code, try_code, with_mail};
use crate::smtp_server::SmtpServer;
use crate::totp_codes::{
    challenge_for, code_at, enable_totp, second_factor, wait_past, wrong_code,
};

fn body(challenge_id: &str, code: &str) -> Value {
    json!({ "challenge_id": challenge_id, "code": code })
}

backend_test!(a_login_with_totp_on_signs_in_only_with_the_code);
async fn a_login_with_totp_on_signs_in_only_with_the_code(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (mut owner, user_id) = app.signed_up("tina@example.com").await;
    let enabled = enable_totp(&mut owner, &user_id).await;
    let sessions = app.count("SELECT COUNT(*) FROM sessions").await;

    let mut browser = app.browser();
    let answer = browser.login("tina@example.com", PASSWORD).await;
    answer.assert_error(401, "Second factor required");
    let challenge = answer.body["data"]["challenge_id"].as_str().unwrap();
    assert_eq!(
        answer.body["data"],
        json!({ "second_factor": "totp", "challenge_id": challenge })
    );
    assert!(answer.session_cookie().is_none());
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions").await, sessions);

    let code = code_at(&enabled.secret, enabled.step);
    let signed_in = second_factor(&mut browser, &body(challenge, &code)).await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.text);
    assert_eq!(signed_in.body["user"]["id"], user_id.as_str());
    assert_eq!(signed_in.body["user"]["primary_email"], "tina@example.com");
    assert!(signed_in.body["loggedInAt"].is_string());
    let token = browser.session.clone().expect("a session cookie");
    assert_eq!(browser.user_id().await, user_id);
    let (created, authenticated, _) = app.stored_session(&token).await.unwrap();
    assert_eq!(created, authenticated, "a sign-in proof, as a login");
    let detail = app
        .database
        .query_text(
            "SELECT CAST(detail AS TEXT) FROM events WHERE type = 'login'",
            &[],
        )
        .await
        .unwrap();
    let detail: Value = serde_json::from_str(&detail).unwrap();
    assert_eq!(
        detail,
        json!({ "method": "password", "second_factor": "totp" })
    );

    let used = second_factor(&mut app.browser(), &body(challenge, &code)).await;
    used.assert_error(401, "Login expired, sign in again");
    let unknown = second_factor(&mut app.browser(), &body("no-such-challenge", &code)).await;
    unknown.assert_error(401, "Login expired, sign in again");
    let logged_in = second_factor(&mut browser, &body(challenge, &code)).await;
    logged_in.assert_error(403, "Please log out first");
}

backend_test!(a_code_works_once_and_the_previous_step_still_counts);
async fn a_code_works_once_and_the_previous_step_still_counts(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (mut owner, user_id) = app.signed_up("once@example.com").await;
    let enabled = enable_totp(&mut owner, &user_id).await;
    let (secret, step) = (&enabled.secret, enabled.step);

    let confirming = code_at(secret, step - 1);
    let challenge = challenge_for(&app, "once@example.com").await;
    let mut browser = app.browser();
    second_factor(&mut browser, &body(&challenge, &confirming))
        .await
        .assert_error(401, "Invalid code");

    wait_past(step).await;
    let previous = code_at(secret, step);
    let signed_in = second_factor(&mut browser, &body(&challenge, &previous)).await;
    assert_eq!(signed_in.status, 200, "one step late: {}", signed_in.text);

    let again = challenge_for(&app, "once@example.com").await;
    let mut other = app.browser();
    second_factor(&mut other, &body(&again, &previous))
        .await
        .assert_error(401, "Invalid code");
    let failed = "SELECT COUNT(*) FROM events WHERE type = 'second_factor_failed'";
    assert_eq!(app.count(failed).await, 2);
}

backend_test!(five_wrong_codes_void_the_challenge_and_feed_the_throttle);
async fn five_wrong_codes_void_the_challenge_and_feed_the_throttle(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (mut owner, user_id) = app.signed_up("five@example.com").await;
    let enabled = enable_totp(&mut owner, &user_id).await;
    let challenge = challenge_for(&app, "five@example.com").await;
    let mut browser = app.browser();
    let wrong = wrong_code(&enabled.secret, enabled.step);

    for _ in 0..5 {
        second_factor(&mut browser, &body(&challenge, &wrong))
            .await
            .assert_error(401, "Invalid code");
    }
    let right = code_at(&enabled.secret, enabled.step);
    second_factor(&mut browser, &body(&challenge, &right))
        .await
        .assert_error(401, "Login expired, sign in again");
    let failed = "SELECT COUNT(*) FROM events WHERE type = 'second_factor_failed'";
    assert_eq!(app.count(failed).await, 5);

    // Five failures in a row: the account now waits, even for the right
    // password.
    let throttled = app.browser().login("five@example.com", PASSWORD).await;
    throttled.assert_error(429, "Too many requests, retry later");
    assert!(throttled.header("retry-after").is_some());
}

backend_test!(a_right_password_alone_does_not_reset_the_throttle);
async fn a_right_password_alone_does_not_reset_the_throttle(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (mut owner, user_id) = app.signed_up("half@example.com").await;
    let enabled = enable_totp(&mut owner, &user_id).await;
    let mut stranger = app.browser();
    for _ in 0..4 {
        let answer = stranger.login("half@example.com", "a wrong password").await;
        answer.assert_error(401, "Invalid email or password");
    }
    let challenge = challenge_for(&app, "half@example.com").await;
    stranger
        .login("half@example.com", "a wrong password")
        .await
        .assert_error(401, "Invalid email or password");
    stranger
        .login("half@example.com", PASSWORD)
        .await
        .assert_error(429, "Too many requests, retry later");
    // The challenge the right password opened is still good, and its
    // completion is what forgives the failures.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let code = code_at(&enabled.secret, enabled.step);
    let signed_in = second_factor(&mut app.browser(), &body(&challenge, &code)).await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.text);
    challenge_for(&app, "half@example.com").await;
}

backend_test!(a_recovery_code_signs_in_once);
async fn a_recovery_code_signs_in_once(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (mut owner, user_id) = app.signed_up("lost@example.com").await;
    let enabled = enable_totp(&mut owner, &user_id).await;
    let code = &enabled.recovery_codes[5];

    let challenge = challenge_for(&app, "lost@example.com").await;
    let mut browser = app.browser();
    let recovery = json!({ "challenge_id": challenge, "recovery_code": code });
    let signed_in = second_factor(&mut browser, &recovery).await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.text);
    assert_eq!(app.count("SELECT COUNT(*) FROM recovery_codes").await, 9);
    let used = "SELECT COUNT(*) FROM events WHERE type = 'recovery_code_used'";
    assert_eq!(app.count(used).await, 1);

    let again = challenge_for(&app, "lost@example.com").await;
    let reuse = json!({ "challenge_id": again, "recovery_code": code.replace('-', "") });
    second_factor(&mut app.browser(), &reuse)
        .await
        .assert_error(401, "Invalid code");
}

backend_test!(malformed_second_factor_bodies_are_400_with_issues);
async fn malformed_second_factor_bodies_are_400_with_issues(backend: Backend) {
    let app = spawn_app(&backend).await;
    let mut browser = app.browser();
    for (sent, field) in [
        (json!({ "code": "123456" }), "challenge_id"),
        (
            json!({ "challenge_id": 7, "code": "123456" }),
            "challenge_id",
        ),
        (json!({ "challenge_id": "x" }), "code"),
        (json!({ "challenge_id": "x", "code": "12345" }), "code"),
        (json!({ "challenge_id": "x", "code": null }), "code"),
        (
            json!({ "challenge_id": "x", "recovery_code": "123456" }),
            "recovery_code",
        ),
        (
            json!({ "challenge_id": "x", "code": "123456", "recovery_code": "abcde-fghij" }),
            "recovery_code",
        ),
    ] {
        let answer = second_factor(&mut browser, &sent).await;
        answer.assert_error(400, "Invalid body(challenge_id, ?code, ?recovery_code).");
        let paths: Vec<&Value> = answer.body["data"]["issues"]
            .as_array()
            .unwrap()
            .iter()
            .map(|issue| &issue["path"][0])
            .collect();
        assert!(paths.contains(&&json!(field)), "{sent}: {}", answer.text);
    }
}

/// Status, body and headers of a login answer, without what differs
/// between any two answers (the date, the request id).
fn comparable(answer: &TestResponse) -> (u16, String, Vec<(String, String)>) {
    let mut headers: Vec<(String, String)> = answer
        .headers
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "date" | "x-request-id"))
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap_or("").to_owned()))
        .collect();
    headers.sort();
    (answer.status, answer.text.clone(), headers)
}

backend_test!(a_wrong_password_looks_the_same_with_totp_on_or_off);
async fn a_wrong_password_looks_the_same_with_totp_on_or_off(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (mut owner, user_id) = app.signed_up("guarded@example.com").await;
    enable_totp(&mut owner, &user_id).await;
    app.signed_up("plain@example.com").await;

    let mut browser = app.browser();
    let guarded = browser.login("guarded@example.com", "wrong password").await;
    let plain = browser.login("plain@example.com", "wrong password").await;
    let unknown = browser.login("nobody@example.com", "wrong password").await;
    guarded.assert_error(401, "Invalid email or password");
    assert_eq!(comparable(&guarded), comparable(&plain));
    assert_eq!(comparable(&guarded), comparable(&unknown));
}

backend_test!(a_passkey_sign_in_is_not_asked_for_a_code);
async fn a_passkey_sign_in_is_not_asked_for_a_code(backend: Backend) {
    let app = passkey_app(&backend).await;
    let (mut owner, user_id) = app.signed_up("key@example.com").await;
    let mut device = Device::new(PUBLIC_URL);
    let added = add_passkey(&mut owner, &user_id, &mut device).await;
    assert_eq!(added.status, 200, "{}", added.text);
    enable_totp(&mut owner, &user_id).await;

    let mut browser = app.browser();
    let signed_in = sign_in(&mut browser, &mut device).await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.text);
    assert_eq!(browser.user_id().await, user_id);
    challenge_for(&app, "key@example.com").await;
}

backend_test!(a_password_reset_leaves_totp_on);
async fn a_password_reset_leaves_totp_on(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = with_mail(&backend, &smtp.url(), &[]).await;
    let (mut owner, user_id) = app.signed_up("reset@example.com").await;
    let enabled = enable_totp(&mut owner, &user_id).await;
    let challenge = challenge_for(&app, "reset@example.com").await;

    let mut stranger = app.browser();
    ask_code(&mut stranger, "reset@example.com").await;
    let code = mailed_code(&smtp, "reset@example.com", 1).await;
    let new_password = "a brand new passphrase";
    try_code(&mut stranger, "reset@example.com", &code, new_password).await;

    let stale = second_factor(
        &mut app.browser(),
        &body(&challenge, &code_at(&enabled.secret, enabled.step)),
    )
    .await;
    stale.assert_error(401, "Login expired, sign in again");
    let mut browser = app.browser();
    let asked = browser.login("reset@example.com", new_password).await;
    asked.assert_error(401, "Second factor required");
    let challenge = asked.body["data"]["challenge_id"].as_str().unwrap();
    let code = code_at(&enabled.secret, enabled.step);
    let signed_in = second_factor(&mut browser, &body(challenge, &code)).await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.text);
}

backend_test!(the_admin_can_turn_a_second_factor_off);
async fn the_admin_can_turn_a_second_factor_off(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (mut owner, user_id) = app.signed_up("admin2fa@example.com").await;
    enable_totp(&mut owner, &user_id).await;

    let args = ["user", "reset-second-factor", "admin2fa@example.com"];
    let reset = admin_json(&app.database, &args, "");
    assert_eq!(reset["second_factor_removed"], true, "{reset}");
    assert_eq!(app.count("SELECT COUNT(*) FROM totp").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM recovery_codes").await, 0);
    let by_admin = app
        .database
        .query_text(
            "SELECT CAST(detail AS TEXT) FROM events WHERE type = 'totp_disabled'",
            &[],
        )
        .await
        .unwrap();
    assert!(by_admin.contains("admin"), "{by_admin}");
    assert_eq!(
        app.logged_in("admin2fa@example.com").await.user_id().await,
        user_id
    );
    let again = admin_json(&app.database, &args, "");
    assert_eq!(again["second_factor_removed"], false, "{again}");
}

postgres_test!(two_instances_refuse_a_code_reused_across_them);
async fn two_instances_refuse_a_code_reused_across_them(backend: Backend) {
    let app = spawn_app(&backend).await;
    let second = spawn_instance(&app.database.url(), &[]).await;
    let (mut owner, user_id) = app.signed_up("twice@example.com").await;
    let enabled = enable_totp(&mut owner, &user_id).await;
    let code = code_at(&enabled.secret, enabled.step);

    let on_first = challenge_for(&app, "twice@example.com").await;
    let mut at_second = Browser::new(&second.base_url());
    let answer = at_second.login("twice@example.com", PASSWORD).await;
    answer.assert_error(401, "Second factor required");
    let on_second = answer.body["data"]["challenge_id"].as_str().unwrap();

    let mut first_browser = app.browser();
    let (first_body, second_body) = (body(&on_first, &code), body(on_second, &code));
    let (a, b) = tokio::join!(
        second_factor(&mut first_browser, &first_body),
        second_factor(&mut at_second, &second_body),
    );
    let mut statuses = [a.status, b.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 401], "{} / {}", a.text, b.text);
    let logins = "SELECT COUNT(*) FROM events WHERE type = 'login'";
    assert_eq!(app.count(logins).await, 1);
}

backend_test!(a_challenge_bound_to_a_browser_is_dead_without_its_binding);
async fn a_challenge_bound_to_a_browser_is_dead_without_its_binding(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (mut owner, user_id) = app.signed_up("bound@example.com").await;
    let enabled = enable_totp(&mut owner, &user_id).await;
    let challenge = challenge_for(&app, "bound@example.com").await;
    // As a provider sign-in binds its challenge to the flow cookie's hash;
    // this request presents no flow cookie.
    let bind = match backend {
        Backend::Sqlite => "UPDATE login_challenges SET browser_binding = randomblob(32)",
        Backend::Postgres(_) => {
            "UPDATE login_challenges SET browser_binding = decode(md5('flow') || md5('cookie'), 'hex')"
        }
    };
    assert_eq!(app.database.execute(bind, &[]).await, 1);
    let code = code_at(&enabled.secret, enabled.step);

    let mut browser = app.browser();
    second_factor(&mut browser, &body(&challenge, &code))
        .await
        .assert_error(401, "Login expired, sign in again");
    let unbind = "UPDATE login_challenges SET browser_binding = NULL";
    assert_eq!(app.database.execute(unbind, &[]).await, 1);
    let signed_in = second_factor(&mut browser, &body(&challenge, &code)).await;
    assert_eq!(
        signed_in.status, 200,
        "the code was not spent: {}",
        signed_in.text
    );
}
