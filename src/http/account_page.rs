//! The account page at `/account`: HTML, CSS and JavaScript embedded in the
//! binary (from `web/`), using only the public API, under a strict
//! Content-Security-Policy (no inline script or style, nothing from
//! elsewhere, no framing). With mail on, also the page that undoes an email
//! change (`/account/undo-email-change`, the link mailed to the old address).

use axum::http::HeaderValue;
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use axum::response::{IntoResponse, Redirect, Response};

const PAGE: &str = include_str!("../../web/account.html");
const STYLESHEET: &str = include_str!("../../web/account.css");
const SCRIPT: &str = include_str!("../../web/account.js");
const ACTIVITY_SCRIPT: &str = include_str!("../../web/activity.js");
const PASSKEYS_SCRIPT: &str = include_str!("../../web/passkeys.js");
const RESET_SCRIPT: &str = include_str!("../../web/reset.js");
const PROVIDERS_SCRIPT: &str = include_str!("../../web/providers.js");
const TOTP_SCRIPT: &str = include_str!("../../web/totp.js");
const UNDO_PAGE: &str = include_str!("../../web/undo.html");
const UNDO_SCRIPT: &str = include_str!("../../web/undo.js");
const FAVICON: &[u8] = include_bytes!("../../web/favicon.ico");

pub const PAGE_PATH: &str = "/account";
pub const STYLESHEET_PATH: &str = "/account/app.css";
pub const SCRIPT_PATH: &str = "/account/app.js";
pub const ACTIVITY_SCRIPT_PATH: &str = "/account/activity.js";
pub const PASSKEYS_SCRIPT_PATH: &str = "/account/passkeys.js";
pub const RESET_SCRIPT_PATH: &str = "/account/reset.js";
pub const PROVIDERS_SCRIPT_PATH: &str = "/account/providers.js";
pub const TOTP_SCRIPT_PATH: &str = "/account/totp.js";
pub const UNDO_PAGE_PATH: &str = "/account/undo-email-change";
pub const UNDO_SCRIPT_PATH: &str = "/account/undo.js";
pub const FAVICON_PATH: &str = "/favicon.ico";

const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    connect-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; \
    frame-ancestors 'none'";

pub async fn page() -> Response {
    asset(PAGE, "text/html; charset=utf-8")
}

pub async fn stylesheet() -> Response {
    asset(STYLESHEET, "text/css; charset=utf-8")
}

pub async fn script() -> Response {
    asset(SCRIPT, "text/javascript; charset=utf-8")
}

pub async fn activity_script() -> Response {
    asset(ACTIVITY_SCRIPT, "text/javascript; charset=utf-8")
}

pub async fn passkeys_script() -> Response {
    asset(PASSKEYS_SCRIPT, "text/javascript; charset=utf-8")
}

pub async fn reset_script() -> Response {
    asset(RESET_SCRIPT, "text/javascript; charset=utf-8")
}

pub async fn providers_script() -> Response {
    asset(PROVIDERS_SCRIPT, "text/javascript; charset=utf-8")
}

pub async fn totp_script() -> Response {
    asset(TOTP_SCRIPT, "text/javascript; charset=utf-8")
}

/// The page the undo link of an email change opens (routed with mail on).
pub async fn undo_page() -> Response {
    asset(UNDO_PAGE, "text/html; charset=utf-8")
}

pub async fn undo_script() -> Response {
    asset(UNDO_SCRIPT, "text/javascript; charset=utf-8")
}

/// The icon browsers ask for on every site; without it each page view logs a 404.
pub async fn favicon() -> Response {
    (
        [
            (CONTENT_TYPE, HeaderValue::from_static("image/x-icon")),
            (
                CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=86400"),
            ),
        ],
        FAVICON,
    )
        .into_response()
}

/// `GET /` (unless `--root-redirect false`).
pub async fn to_page() -> Redirect {
    Redirect::to(PAGE_PATH)
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (CONTENT_SECURITY_POLICY, HeaderValue::from_static(POLICY)),
            // Revalidated each time, so a new binary's page is never mixed
            // with an old script.
            (CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body,
    )
        .into_response()
}
