use crate::backend::Backend;
use std::time::Duration;

use crate::helpers::{PASSWORD, spawn_app, spawn_app_with};

backend_test!(session_answers_the_user_and_logged_in_at_of_the_login);
async fn session_answers_the_user_and_logged_in_at_of_the_login(backend: Backend) {
    let app = spawn_app(&backend).await;
    let mut browser = app.browser();
    let signed_up = browser.sign_up("me@example.com", PASSWORD).await;

    let response = browser.get("/api/auth/session").await;

    assert_eq!(response.status, 200);
    assert_eq!(response.body, signed_up.body, "same user and loggedInAt");
    assert!(
        response.session_cookie().is_none(),
        "reads never set cookies"
    );
}

backend_test!(session_without_a_cookie_is_401_unauthorized);
async fn session_without_a_cookie_is_401_unauthorized(backend: Backend) {
    let app = spawn_app(&backend).await;

    let response = app.browser().get("/api/auth/session").await;

    response.assert_error(401, "Unauthorized");
    assert_eq!(response.body["statusMessage"], "Unauthorized");
    assert!(response.session_cookie().is_none(), "no cookie to clear");
}

backend_test!(a_cookie_naming_no_session_is_401_and_cleared);
async fn a_cookie_naming_no_session_is_401_and_cleared(backend: Backend) {
    let app = spawn_app(&backend).await;
    for junk in [
        "A".repeat(43),
        "not-a-token".to_owned(),
        String::new(),
        "x".repeat(5000),
    ] {
        let mut browser = app.browser();
        browser.session = Some(junk.clone());

        let response = browser.get("/api/auth/session").await;

        response.assert_error(401, "Unauthorized");
        assert!(
            response.clears_session_cookie(),
            "cookie {junk:?} is cleared"
        );
    }
}

backend_test!(check_is_200_with_a_session_and_401_without_and_never_has_a_body);
async fn check_is_200_with_a_session_and_401_without_and_never_has_a_body(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (mut browser, _) = app.signed_up("check@example.com").await;

    let signed_in = browser.head("/api/auth/check").await;
    browser.logout().await;
    let signed_out = browser.head("/api/auth/check").await;

    assert_eq!(signed_in.status, 200);
    assert_eq!(signed_in.header("content-length"), Some("0"));
    assert_eq!(signed_out.status, 401);
    assert_eq!(signed_out.header("content-length"), Some("0"));
    assert!(signed_in.text.is_empty() && signed_out.text.is_empty());
}

backend_test!(check_with_a_stale_cookie_is_401_and_clears_it);
async fn check_with_a_stale_cookie_is_401_and_clears_it(backend: Backend) {
    let app = spawn_app(&backend).await;
    let mut browser = app.browser();
    browser.session = Some("D".repeat(43));

    let response = browser.head("/api/auth/check").await;

    assert_eq!(response.status, 401);
    assert!(response.clears_session_cookie());
}

backend_test!(get_on_check_is_405_allowing_head);
async fn get_on_check_is_405_allowing_head(backend: Backend) {
    let app = spawn_app(&backend).await;

    let response = app.browser().get("/api/auth/check").await;

    response.assert_error(405, "Method Not Allowed");
    assert_eq!(response.header("allow"), Some("HEAD"));
}

backend_test!(the_session_cookie_has_every_contract_attribute_and_is_secure_by_default);
async fn the_session_cookie_has_every_contract_attribute_and_is_secure_by_default(
    backend: Backend,
) {
    let app = spawn_app_with(&backend, &["--cookie-secure", "true"]).await;

    let response = app.browser().sign_up("cookie@example.com", PASSWORD).await;

    let header = response.header("set-cookie").unwrap().to_owned();
    let cookie = response.session_cookie().unwrap();
    assert_eq!(
        cookie.value().len(),
        43,
        "256 bits in base64url without padding"
    );
    assert!(
        cookie
            .value()
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    assert_eq!(cookie.path(), Some("/"));
    assert_eq!(cookie.http_only(), Some(true));
    assert_eq!(cookie.same_site(), Some(cookie::SameSite::Lax));
    assert_eq!(cookie.secure(), Some(true));
    assert_eq!(cookie.max_age(), Some(cookie::time::Duration::days(30)));
    assert_eq!(cookie.domain(), None, "{header}");
}

backend_test!(the_cookie_is_not_secure_when_cookie_secure_is_false);
async fn the_cookie_is_not_secure_when_cookie_secure_is_false(backend: Backend) {
    let app = spawn_app_with(&backend, &["--cookie-secure", "false"]).await;

    let response = app.browser().sign_up("plain@example.com", PASSWORD).await;

    assert_eq!(response.session_cookie().unwrap().secure(), None);
}

backend_test!(a_session_deleted_in_the_database_is_refused_at_once);
async fn a_session_deleted_in_the_database_is_refused_at_once(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (mut browser, _) = app.signed_up("nocache@example.com").await;
    assert_eq!(browser.head("/api/auth/check").await.status, 200);

    app.database.execute("DELETE FROM sessions", &[]).await;

    assert_eq!(browser.head("/api/auth/check").await.status, 401);
}

backend_test!(reads_do_not_write_last_seen_at_on_every_request);
async fn reads_do_not_write_last_seen_at_on_every_request(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (mut browser, _) = app.signed_up("quiet@example.com").await;

    for _ in 0..5 {
        assert_eq!(browser.get("/api/auth/session").await.status, 200);
    }

    let unchanged = app
        .count("SELECT COUNT(*) FROM sessions WHERE last_seen_at = created_at")
        .await;
    assert_eq!(
        unchanged, 1,
        "last_seen_at is written at most once a minute"
    );
}

backend_test!(an_idle_session_expires_and_activity_keeps_it_alive);
async fn an_idle_session_expires_and_activity_keeps_it_alive(backend: Backend) {
    // Idle timeout 2 s: last_seen_at is then recorded every 0.5 s at most.
    let app = spawn_app_with(
        &backend,
        &["--session-idle-timeout", "2s", "--session-lifetime", "1h"],
    )
    .await;
    let (mut browser, _) = app.signed_up("idle@example.com").await;

    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(900)).await;
        assert_eq!(
            browser.head("/api/auth/check").await.status,
            200,
            "active session lives"
        );
    }
    let touched = app
        .count("SELECT COUNT(*) FROM sessions WHERE last_seen_at > created_at")
        .await;
    assert_eq!(touched, 1);
    tokio::time::sleep(Duration::from_millis(2_200)).await;

    let response = browser.get("/api/auth/session").await;
    response.assert_error(401, "Unauthorized");
    assert!(response.clears_session_cookie());
}

backend_test!(a_session_expires_at_the_end_of_its_lifetime_however_active);
async fn a_session_expires_at_the_end_of_its_lifetime_however_active(backend: Backend) {
    let app = spawn_app_with(
        &backend,
        &["--session-idle-timeout", "2s", "--session-lifetime", "4s"],
    )
    .await;
    let (mut browser, _) = app.signed_up("lifetime@example.com").await;

    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(1_000)).await;
        assert_eq!(browser.head("/api/auth/check").await.status, 200);
    }
    tokio::time::sleep(Duration::from_millis(1_500)).await;

    assert_eq!(browser.head("/api/auth/check").await.status, 401);
}

backend_test!(the_first_of_several_session_cookies_is_used);
/// A valid and a junk `neptun-session` in both orders: only the first
/// counts, so a later cookie (set for a parent path or domain, say) can
/// neither stand in for nor spoil it.
async fn the_first_of_several_session_cookies_is_used(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (browser, _) = app.signed_up("first-cookie@example.com").await;
    let token = browser.session.clone().unwrap();
    let junk = "J".repeat(43);
    let check = |cookies: String| {
        reqwest::Client::new()
            .head(app.url("/api/auth/check"))
            .header("cookie", cookies)
            .send()
    };

    let valid_first = check(format!(
        "theme=dark; neptun-session={token}; other=1; neptun-session={junk}"
    ))
    .await
    .unwrap();
    let junk_first = check(format!(
        "theme=dark; neptun-session={junk}; other=1; neptun-session={token}"
    ))
    .await
    .unwrap();

    assert_eq!(
        valid_first.status(),
        200,
        "the first cookie is the valid one"
    );
    assert_eq!(junk_first.status(), 401, "the first cookie is junk");
}
