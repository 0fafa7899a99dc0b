//! Contract section 10: `POST /auth/otp`, against a real SMTP server on a
//! loopback port. The code arrives and resets the password; it is single
//! use, dies after 5 wrong tries or its lifetime; an unknown email gets the
//! same answer and no mail.

use std::time::Duration;

use serde_json::{Value, json};

use crate::backend::Backend;
use crate::helpers::{Browser, PASSWORD, TestApp, spawn_app, spawn_app_with};
use crate::smtp_server::SmtpServer;

pub const MAIL_FROM: &str = "NEPTUN <accounts@example.com>";
pub const PUBLIC_URL: &str = "http://accounts.example.com";

/// The app with mail to `smtp`, plus `extra` settings.
pub async fn with_mail(backend: &Backend, smtp: &str, extra: &[&str]) -> TestApp {
    let mut args = vec![
        "--mail-url",
        smtp,
        "--mail-from",
        MAIL_FROM,
        "--public-url",
        PUBLIC_URL,
    ];
    args.extend_from_slice(extra);
    spawn_app_with(backend, &args).await
}

pub async fn ask_code(browser: &mut Browser, email: &str) -> Value {
    let answer = browser
        .post_json("/auth/otp", &json!({"action": "create", "email": email}))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.body
}

pub async fn try_code(browser: &mut Browser, email: &str, code: &str, new_password: &str) -> Value {
    let answer = browser
        .post_json(
            "/auth/otp",
            &json!({"action": "validate", "email": email, "otp": code, "new_password": new_password}),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.body
}

/// The digits of the newest reset-code mail to `email`.
pub async fn mailed_code(smtp: &SmtpServer, email: &str, count: usize) -> String {
    let mails = smtp.wait_for(email, count).await;
    let mail = mails.last().expect("a mail");
    assert_eq!(mail.subject(), "Your password reset code");
    code_in(&mail.text())
}

pub fn code_in(text: &str) -> String {
    text.split_whitespace()
        .find(|word| word.len() >= 5 && word.bytes().all(|byte| byte.is_ascii_digit()))
        .unwrap_or_else(|| panic!("no code in {text}"))
        .to_owned()
}

const SENT: &str = "Successfully sent OTP.";
const INVALID: &str = "Invalid or expired OTP.";

backend_test!(a_mailed_code_resets_the_password_once_and_ends_every_session);
async fn a_mailed_code_resets_the_password_once_and_ends_every_session(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = with_mail(&backend, &smtp.url(), &[]).await;
    let (mut signed_in, user_id) = app.signed_up("forgot@example.com").await;
    let mut stranger = app.browser();

    assert_eq!(
        ask_code(&mut stranger, "Forgot@Example.com").await,
        json!({"success": true, "message": SENT})
    );
    let code = mailed_code(&smtp, "forgot@example.com", 1).await;
    assert_eq!(code.len(), 5);

    let reset = try_code(
        &mut stranger,
        "forgot@example.com",
        &code,
        "a brand new passphrase",
    )
    .await;
    assert_eq!(
        reset,
        json!({"success": true, "message": "Successfully validated OTP and reset password."})
    );
    assert_eq!(
        signed_in.head("/api/auth/check").await.status,
        401,
        "every session ended"
    );
    assert_eq!(
        stranger.login("forgot@example.com", PASSWORD).await.status,
        401
    );
    assert_eq!(
        stranger
            .login("forgot@example.com", "a brand new passphrase")
            .await
            .status,
        200
    );
    let again = try_code(
        &mut app.browser(),
        "forgot@example.com",
        &code,
        "yet another passphrase",
    )
    .await;
    assert_eq!(again["message"], INVALID, "a code works once");

    let changed = smtp.wait_for("forgot@example.com", 2).await;
    assert_eq!(changed[1].subject(), "Your password was changed");
    let history = stranger.get(&format!("/api/users/{user_id}/events")).await;
    let types: Vec<&str> = history.body["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|event| event["type"].as_str())
        .collect();
    assert_eq!(
        &types[..4],
        [
            "login",
            "login_failed",
            "password_reset",
            "password_reset_requested"
        ]
    );
    assert!(!history.text.contains(&code), "no code in the history");
    // Stored only as an HMAC: never the digits, and no row left after use.
    assert_eq!(
        app.count("SELECT COUNT(*) FROM password_reset_codes").await,
        0
    );
}

backend_test!(five_wrong_codes_void_the_code);
async fn five_wrong_codes_void_the_code(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = with_mail(&backend, &smtp.url(), &[]).await;
    app.signed_up("guessed@example.com").await;
    let mut attacker = app.browser();
    ask_code(&mut attacker, "guessed@example.com").await;
    let code = mailed_code(&smtp, "guessed@example.com", 1).await;
    let wrong = if code == "00000" { "11111" } else { "00000" };

    for _ in 0..5 {
        let answer = try_code(
            &mut attacker,
            "guessed@example.com",
            wrong,
            "attacker passphrase",
        )
        .await;
        assert_eq!(answer["success"], false);
    }
    let right_too_late = try_code(
        &mut attacker,
        "guessed@example.com",
        &code,
        "owner passphrase",
    )
    .await;

    assert_eq!(
        right_too_late,
        json!({"success": false, "message": INVALID})
    );
    assert_eq!(
        attacker.login("guessed@example.com", PASSWORD).await.status,
        200,
        "unchanged"
    );
}

backend_test!(a_code_dies_with_its_lifetime);
async fn a_code_dies_with_its_lifetime(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = with_mail(&backend, &smtp.url(), &["--otp-lifetime", "1s"]).await;
    app.signed_up("slow@example.com").await;
    let mut browser = app.browser();
    ask_code(&mut browser, "slow@example.com").await;
    let code = mailed_code(&smtp, "slow@example.com", 1).await;
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    let late = try_code(
        &mut browser,
        "slow@example.com",
        &code,
        "too late passphrase",
    )
    .await;
    assert_eq!(late["message"], INVALID);
}

backend_test!(an_unknown_email_gets_the_same_answer_and_no_mail);
async fn an_unknown_email_gets_the_same_answer_and_no_mail(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = with_mail(&backend, &smtp.url(), &[]).await;
    app.signed_up("known@example.com").await;
    let mut browser = app.browser();
    let unknown = ask_code(&mut browser, "nobody@example.com").await;
    let known = ask_code(&mut browser, "known@example.com").await;
    assert_eq!(unknown, known);
    smtp.wait_for("known@example.com", 1).await;
    assert!(smtp.to("nobody@example.com").is_empty());
    let guess = try_code(
        &mut browser,
        "nobody@example.com",
        "12345",
        "whatever passphrase",
    )
    .await;
    assert_eq!(guess["message"], INVALID);
}

backend_test!(a_fourth_code_within_the_hour_is_answered_but_not_sent);
async fn a_fourth_code_within_the_hour_is_answered_but_not_sent(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = with_mail(&backend, &smtp.url(), &["--rate-limits", "off"]).await;
    app.signed_up("capped@example.com").await;
    let mut browser = app.browser();
    for _ in 0..4 {
        assert_eq!(
            ask_code(&mut browser, "capped@example.com").await["success"],
            true
        );
    }
    let mails = smtp.wait_for("capped@example.com", 3).await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(smtp.to("capped@example.com").len(), 3);
    // The third code is the one that works.
    let code = code_in(&mails[2].text());
    let reset = try_code(
        &mut browser,
        "capped@example.com",
        &code,
        "capped new passphrase",
    )
    .await;
    assert_eq!(reset["success"], true);
}

backend_test!(malformed_reset_bodies_get_the_documented_400);
async fn malformed_reset_bodies_get_the_documented_400(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = with_mail(&backend, &smtp.url(), &[]).await;
    let mut browser = app.browser();
    for (body, message, path) in [
        (json!({}), "Invalid body(action).", "action"),
        (
            json!({"action": "shout"}),
            "Invalid body(action).",
            "action",
        ),
        (json!({"action": 5}), "Invalid body(action).", "action"),
        (
            json!({"action": "create", "email": "not-an-email"}),
            "Invalid body(email).",
            "email",
        ),
        (
            json!({"action": "validate", "email": "a@example.com", "otp": "12345"}),
            "Invalid body(email, otp, new_password).",
            "new_password",
        ),
        (
            json!({"action": "validate", "email": "a@example.com", "otp": "12a45", "new_password": "long enough"}),
            "Invalid body(email, otp, new_password).",
            "otp",
        ),
        (
            json!({"action": "validate", "email": "a@example.com", "otp": "12345", "new_password": "short"}),
            "Invalid body(email, otp, new_password).",
            "new_password",
        ),
    ] {
        let answer = browser.post_json("/auth/otp", &body).await;
        answer.assert_error(400, message);
        assert_eq!(
            answer.body["data"]["issues"][0]["path"],
            json!([path]),
            "{body}"
        );
    }
    let not_json = browser
        .send(
            browser
                .request(reqwest::Method::POST, "/auth/otp")
                .header("content-type", "application/json")
                .body("{"),
        )
        .await;
    not_json.assert_error(400, "Invalid JSON body.");
}

#[tokio::test]
async fn without_mail_the_reset_routes_are_not_there() {
    let app = spawn_app(&Backend::Sqlite).await;
    let mut browser = app.browser();
    let answer = browser
        .post_json(
            "/auth/otp",
            &json!({"action": "create", "email": "a@example.com"}),
        )
        .await;
    answer.assert_error(404, "Not Found");
    let document = browser.get("/api/openapi.json").await;
    assert!(
        !document.text.contains("/auth/otp"),
        "the served document leaves it out"
    );
}

backend_test!(a_reset_from_the_accounts_own_session_clears_its_cookie);
async fn a_reset_from_the_accounts_own_session_clears_its_cookie(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = with_mail(&backend, &smtp.url(), &[]).await;
    let (mut own, _) = app.signed_up("self@example.com").await;
    ask_code(&mut own, "self@example.com").await;
    let code = mailed_code(&smtp, "self@example.com", 1).await;
    let answer = own
        .post_json(
            "/auth/otp",
            &json!({"action": "validate", "email": "self@example.com", "otp": code, "new_password": "own new passphrase"}),
        )
        .await;
    assert_eq!(answer.body["success"], true, "{}", answer.text);
    assert!(
        answer.clears_session_cookie(),
        "the ended session's cookie is cleared"
    );
    assert_eq!(own.head("/api/auth/check").await.status, 401);
}
