//! Contract section 5's limits, each with its default numbers: per client
//! address (login, sign-up, PATCH) and per account (failed password checks,
//! password changes), and `--rate-limits off`.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::backend::Backend;
use crate::helpers::{Browser, PASSWORD, TestApp, TestResponse, spawn_app, spawn_app_with};
use crate::process::ServerProcess;

const WRONG: &str = "not the password";

/// 429 with the contract's message and a `Retry-After` of at least `min` s.
fn assert_too_many(response: &TestResponse, min: u64) -> u64 {
    response.assert_error(429, "Too many requests, retry later");
    let retry_after: u64 = response
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("whole seconds");
    assert!(retry_after >= min, "Retry-After {retry_after} < {min}");
    retry_after
}

async fn login_from(app: &TestApp, forwarded_for: &str, email: &str) -> TestResponse {
    let mut browser = app.browser();
    let request = browser
        .request(Method::POST, "/api/auth/login")
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({"email": email, "password": PASSWORD}));
    browser.send(request).await
}

backend_test!(the_sixth_wrong_password_for_one_account_is_429_even_with_the_right_one);
async fn the_sixth_wrong_password_for_one_account_is_429_even_with_the_right_one(backend: Backend) {
    let app = spawn_app(&backend).await;
    app.signed_up("target@example.com").await;

    for attempt in 1..=5 {
        let response = app.browser().login("target@example.com", WRONG).await;
        assert_eq!(response.status, 401, "attempt {attempt}: {}", response.text);
    }
    let sixth = app.browser().login("target@example.com", WRONG).await;
    assert_eq!(assert_too_many(&sixth, 1), 1, "the first wait is 1 s");
    let right_during_the_wait = app.browser().login("Target@Example.com", PASSWORD).await;
    assert_too_many(&right_during_the_wait, 1);
    let other_account = app.browser().login("other@example.com", WRONG).await;
    assert_eq!(other_account.status, 401, "only that account waits");
}

backend_test!(each_failure_after_the_fifth_doubles_the_wait_and_a_success_resets_it);
async fn each_failure_after_the_fifth_doubles_the_wait_and_a_success_resets_it(backend: Backend) {
    let app = spawn_app(&backend).await;
    app.signed_up("doubling@example.com").await;
    for _ in 1..=5 {
        assert_eq!(
            app.browser()
                .login("doubling@example.com", WRONG)
                .await
                .status,
            401
        );
    }
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(
        app.browser()
            .login("doubling@example.com", WRONG)
            .await
            .status,
        401,
        "checked again once the first wait is over"
    );
    let refused = app.browser().login("doubling@example.com", WRONG).await;
    assert_eq!(assert_too_many(&refused, 2), 2, "the second wait is 2 s");

    tokio::time::sleep(Duration::from_millis(2_100)).await;
    assert_eq!(
        app.browser()
            .login("doubling@example.com", PASSWORD)
            .await
            .status,
        200
    );
    for attempt in 1..=5 {
        let response = app.browser().login("doubling@example.com", WRONG).await;
        assert_eq!(response.status, 401, "after the reset, attempt {attempt}");
    }
}

backend_test!(an_email_without_an_account_is_throttled_the_same);
async fn an_email_without_an_account_is_throttled_the_same(backend: Backend) {
    let app = spawn_app(&backend).await;
    for _ in 1..=5 {
        assert_eq!(
            app.browser()
                .login("nobody@example.com", WRONG)
                .await
                .status,
            401
        );
    }
    let sixth = app.browser().login("nobody@example.com", WRONG).await;
    assert_too_many(&sixth, 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users").await,
        0,
        "the throttle creates no account"
    );
}

backend_test!(wrong_current_passwords_count_towards_the_same_throttle_as_logins);
async fn wrong_current_passwords_count_towards_the_same_throttle_as_logins(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (mut browser, user_id) = app.signed_up("current@example.com").await;
    let body = json!({"email": "changed@example.com", "current_password": WRONG});
    for attempt in 1..=5 {
        let response = browser.update_user(&user_id, &body).await;
        assert_eq!(response.status, 400, "attempt {attempt}: {}", response.text);
    }
    let sixth = browser.update_user(&user_id, &body).await;
    assert_too_many(&sixth, 1);
    let login = app.browser().login("current@example.com", PASSWORD).await;
    assert_too_many(&login, 1);
    assert_eq!(
        app.stored_email(&user_id).await.as_deref(),
        Some("current@example.com")
    );
}

backend_test!(the_twenty_first_login_from_one_address_in_a_minute_is_429);
async fn the_twenty_first_login_from_one_address_in_a_minute_is_429(backend: Backend) {
    let app = spawn_app(&backend).await;
    app.signed_up("often@example.com").await;
    for attempt in 1..=20 {
        let response = app.browser().login("often@example.com", PASSWORD).await;
        assert_eq!(response.status, 200, "login {attempt}: {}", response.text);
    }
    let refused = app.browser().login("often@example.com", PASSWORD).await;
    assert_too_many(&refused, 1);
}

backend_test!(the_eleventh_sign_up_from_one_address_is_429);
async fn the_eleventh_sign_up_from_one_address_is_429(backend: Backend) {
    let app = spawn_app(&backend).await;
    for n in 1..=10 {
        let response = app
            .browser()
            .sign_up(&format!("new{n}@example.com"), PASSWORD)
            .await;
        assert_eq!(response.status, 200, "sign-up {n}: {}", response.text);
    }
    let refused = app.browser().sign_up("new11@example.com", PASSWORD).await;
    // 10 per 10 minutes: the next one is a minute away.
    assert_too_many(&refused, 50);
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 10);
}

backend_test!(the_thirty_first_patch_from_one_address_in_a_minute_is_429);
async fn the_thirty_first_patch_from_one_address_in_a_minute_is_429(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (mut browser, user_id) = app.signed_up("patcher@example.com").await;
    for n in 1..=30 {
        let body = json!({"email": format!("patched{n}@example.com")});
        let response = browser.update_user(&user_id, &body).await;
        assert_eq!(response.status, 200, "PATCH {n}: {}", response.text);
    }
    let refused = browser
        .update_user(&user_id, &json!({"email": "patched31@example.com"}))
        .await;
    assert_too_many(&refused, 1);
    assert_eq!(
        app.stored_email(&user_id).await.as_deref(),
        Some("patched30@example.com")
    );
    // The per-address limit comes before the session check (order of checks).
    let without_session = app
        .browser()
        .update_user(&user_id, &json!({"email": "nobody@example.com"}))
        .await;
    assert_too_many(&without_session, 1);
}

backend_test!(the_eleventh_password_change_in_an_hour_is_429);
async fn the_eleventh_password_change_in_an_hour_is_429(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (mut browser, user_id) = app.signed_up("changer@example.com").await;
    for n in 1..=10 {
        let body = json!({"password": format!("new password {n}")});
        let response = browser.update_user(&user_id, &body).await;
        assert_eq!(response.status, 200, "change {n}: {}", response.text);
    }
    let refused = browser
        .update_user(&user_id, &json!({"password": "new password 11"}))
        .await;
    assert_too_many(&refused, 3_000);
    assert_eq!(
        app.browser()
            .login("changer@example.com", "new password 10")
            .await
            .status,
        200,
        "the refused change changed nothing"
    );
    let email_only = browser
        .update_user(&user_id, &json!({"email": "still-free@example.com"}))
        .await;
    assert_eq!(email_only.status, 200, "an email change is not capped");
}

backend_test!(with_rate_limits_off_none_of_the_limits_trips);
/// Every limit above, one past its number, with `--rate-limits off`.
async fn with_rate_limits_off_none_of_the_limits_trips(backend: Backend) {
    let app = spawn_app_with(&backend, &["--rate-limits", "off"]).await;
    for n in 1..=11 {
        let response = app
            .browser()
            .sign_up(&format!("free{n}@example.com"), PASSWORD)
            .await;
        assert_eq!(response.status, 200, "sign-up {n}");
    }
    for n in 1..=21 {
        let response = app.browser().login("free1@example.com", PASSWORD).await;
        assert_eq!(response.status, 200, "login {n}");
    }
    for n in 1..=6 {
        let response = app.browser().login("free2@example.com", WRONG).await;
        assert_eq!(response.status, 401, "wrong password {n}");
    }
    let (mut browser, user_id) = app.signed_up("free-changes@example.com").await;
    for n in 1..=31 {
        let body = json!({"password": format!("new password {n}")});
        let response = browser.update_user(&user_id, &body).await;
        assert_eq!(response.status, 200, "PATCH {n}: {}", response.text);
    }
}

backend_test!(addresses_are_counted_apart_and_ipv6_by_its_64_prefix);
async fn addresses_are_counted_apart_and_ipv6_by_its_64_prefix(backend: Backend) {
    let app = spawn_app_with(&backend, &["--trust-proxy", "1"]).await;
    app.signed_up("proxied@example.com").await;
    for _ in 1..=20 {
        let response = login_from(&app, "2001:db8:0:1::1", "proxied@example.com").await;
        assert_eq!(response.status, 200);
    }
    let same_prefix = login_from(&app, "2001:db8:0:1::ffff", "proxied@example.com").await;
    assert_too_many(&same_prefix, 1);
    let next_prefix = login_from(&app, "2001:db8:0:2::1", "proxied@example.com").await;
    assert_eq!(next_prefix.status, 200);
    let by_the_proxy =
        login_from(&app, "198.51.100.9, 2001:db8:0:3::1", "proxied@example.com").await;
    assert_eq!(
        by_the_proxy.status, 200,
        "the rightmost address is the one the trusted proxy saw"
    );
}

backend_test!(forwarded_for_is_ignored_unless_a_proxy_is_trusted);
async fn forwarded_for_is_ignored_unless_a_proxy_is_trusted(backend: Backend) {
    let app = spawn_app(&backend).await;
    app.signed_up("spoofer@example.com").await;
    for n in 1..=20 {
        let spoofed = format!("203.0.113.{n}");
        let response = login_from(&app, &spoofed, "spoofer@example.com").await;
        assert_eq!(response.status, 200);
    }
    let refused = login_from(&app, "203.0.113.99", "spoofer@example.com").await;
    assert_too_many(&refused, 1);
}

backend_test!(failures_through_two_instances_add_up);
/// The failure count lives in the database: two processes share it.
async fn failures_through_two_instances_add_up(backend: Backend) {
    let database = backend.fresh_database().await;
    let a = ServerProcess::start(&database.url(), &[]);
    let b = ServerProcess::start(&database.url(), &[]);
    let mut owner = Browser::new(&a.base_url());
    assert_eq!(
        owner.sign_up("shared@example.com", PASSWORD).await.status,
        200
    );

    for attempt in 1..=5 {
        let response = Browser::new(&a.base_url())
            .login("shared@example.com", WRONG)
            .await;
        assert_eq!(response.status, 401, "attempt {attempt} through A");
    }
    let sixth = Browser::new(&b.base_url())
        .login("shared@example.com", WRONG)
        .await;
    assert_too_many(&sixth, 1);
}
