//! The account page as HTTP sees it: served from the binary under a strict
//! Content-Security-Policy, and `GET /` leading to it unless switched off.
//! (tests/browser drives it in a real browser.)

use crate::backend::Backend;
use crate::helpers::{TestResponse, spawn_app, spawn_app_with};

const ASSETS: [(&str, &str); 6] = [
    ("/account", "text/html"),
    ("/account/app.css", "text/css"),
    ("/account/app.js", "text/javascript"),
    ("/account/activity.js", "text/javascript"),
    ("/account/reset.js", "text/javascript"),
    ("/account/totp.js", "text/javascript"),
];

/// The undo page and its script, served only with mail on.
const UNDO_ASSETS: [(&str, &str); 2] = [
    ("/account/undo-email-change", "text/html"),
    ("/account/undo.js", "text/javascript"),
];

const MAIL_ON: [&str; 6] = [
    "--mail-url",
    "smtp://127.0.0.1:1",
    "--mail-from",
    "NEPTUN <accounts@example.com>",
    "--public-url",
    "http://localhost",
];

/// Status 200, the content type, and the strict policy on one asset.
fn assert_served_strictly(response: &TestResponse, path: &str, content_type: &str) {
    assert_eq!(response.status, 200, "{path}");
    assert!(
        response
            .header("content-type")
            .is_some_and(|value| value.starts_with(content_type)),
        "{path}"
    );
    let policy = response.header("content-security-policy").expect("a CSP");
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(policy.contains(directive), "{path}: {policy}");
    }
    assert!(!policy.contains("unsafe"), "{path}: {policy}");
    assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
}

/// No inline script, style or handler in a page; every script from `/account/`.
fn assert_no_inline_code(html: &str) {
    assert!(html.contains(r#"<link rel="stylesheet" href="/account/app.css">"#));
    assert_eq!(
        html.matches("<script").count(),
        html.matches("<script src=\"/account/").count(),
        "every script is external"
    );
    for inline in [
        "<style",
        " style=",
        " onclick=",
        " onsubmit=",
        "javascript:",
    ] {
        assert!(!html.contains(inline), "inline {inline:?} in the page");
    }
}

#[tokio::test]
async fn the_page_and_its_assets_are_served_under_a_strict_policy() {
    let app = spawn_app(&Backend::Sqlite).await;
    let mut browser = app.browser();
    for (path, content_type) in ASSETS {
        let response = browser.get(path).await;
        assert_served_strictly(&response, path, content_type);
    }
}

#[tokio::test]
async fn the_page_has_no_inline_script_or_style() {
    let app = spawn_app(&Backend::Sqlite).await;
    let html = app.browser().get("/account").await.text;
    assert!(html.contains(r#"<script src="/account/app.js" defer></script>"#));
    assert!(html.contains(r#"<script src="/account/activity.js" defer></script>"#));
    assert!(html.contains(r#"<script src="/account/reset.js" defer></script>"#));
    assert!(html.contains(r#"<script src="/account/totp.js" defer></script>"#));
    assert_no_inline_code(&html);
}

#[tokio::test]
async fn the_undo_page_is_served_under_the_strict_policy_with_mail_on() {
    let app = spawn_app_with(&Backend::Sqlite, &MAIL_ON).await;
    let mut browser = app.browser();
    for (path, content_type) in UNDO_ASSETS {
        let response = browser.get(path).await;
        assert_served_strictly(&response, path, content_type);
    }
    let html = browser
        .get("/account/undo-email-change?token=anything")
        .await
        .text;
    assert!(html.contains(r#"<script src="/account/undo.js" defer></script>"#));
    assert_no_inline_code(&html);
}

#[tokio::test]
async fn the_undo_page_is_not_found_with_mail_off() {
    let app = spawn_app(&Backend::Sqlite).await;
    let mut browser = app.browser();
    for (path, _) in UNDO_ASSETS {
        let response = browser.get(path).await;
        response.assert_error(404, "Not Found");
    }
}

#[tokio::test]
async fn the_root_redirects_to_the_page_unless_switched_off() {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");

    let app = spawn_app(&Backend::Sqlite).await;
    let response = client.get(app.url("/")).send().await.expect("answered");
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/account");

    let off = spawn_app_with(&Backend::Sqlite, &["--root-redirect", "false"]).await;
    let response = client.get(off.url("/")).send().await.expect("answered");
    assert_eq!(response.status(), 404);
    let page = client
        .get(off.url("/account"))
        .send()
        .await
        .expect("answered");
    assert_eq!(page.status(), 200, "the page itself stays");
}

#[tokio::test]
async fn the_favicon_is_served_as_an_icon() {
    let app = spawn_app(&Backend::Sqlite).await;
    let response = reqwest::get(app.url("/favicon.ico"))
        .await
        .expect("an answer");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|value| value.to_str().ok()),
        Some("image/x-icon")
    );
    let icon = response.bytes().await.expect("a body");
    // ICONDIR: reserved 0, type 1 (icon), at least one image.
    assert_eq!(&icon[..4], &[0, 0, 1, 0]);
    assert!(u16::from_le_bytes([icon[4], icon[5]]) >= 1);
}
