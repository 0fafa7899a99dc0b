//! `--cookie-prefix host`: the session cookie is `__Host-neptun-session`,
//! which browsers keep only when it is Secure, on `Path=/` and without a
//! `Domain` — so no sibling subdomain can plant or overwrite it.

use reqwest::header::SET_COOKIE;

use crate::backend::Backend;
use crate::helpers::{PASSWORD, config, spawn_app_with};

const NAME: &str = "__Host-neptun-session";

backend_test!(with_the_host_prefix_the_session_cookie_is_host_prefixed_and_only_it_is_read);
async fn with_the_host_prefix_the_session_cookie_is_host_prefixed_and_only_it_is_read(
    backend: Backend,
) {
    let app = spawn_app_with(
        &backend,
        &["--cookie-prefix", "host", "--cookie-secure", "true"],
    )
    .await;
    let mut browser = app.browser();

    let signed_up = browser.sign_up("prefixed@example.com", PASSWORD).await;

    assert_eq!(signed_up.status, 200, "{}", signed_up.text);
    let set_cookie = signed_up
        .headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with(&format!("{NAME}=")))
        .expect("a __Host- session cookie")
        .to_owned();
    for attribute in ["Secure", "Path=/", "HttpOnly", "SameSite=Lax"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    assert!(!set_cookie.contains("Domain"), "{set_cookie}");
    let token = set_cookie[NAME.len() + 1..]
        .split(';')
        .next()
        .expect("a value")
        .to_owned();

    let session = |cookie: String| {
        let client = reqwest::Client::new();
        let url = app.url("/api/auth/session");
        async move {
            client
                .get(url)
                .header("cookie", cookie)
                .send()
                .await
                .expect("answered")
                .status()
                .as_u16()
        }
    };
    assert_eq!(session(format!("{NAME}={token}")).await, 200);
    assert_eq!(
        session(format!("neptun-session={token}")).await,
        401,
        "the unprefixed name is not read"
    );
}

#[test]
fn the_host_prefix_with_an_insecure_cookie_is_refused_at_start() {
    let settings = config(
        "sqlite://unused.db",
        &["--cookie-prefix", "host", "--cookie-secure", "false"],
    );
    let err = settings.validate().expect_err("refused");
    assert_eq!(err.flag, "--cookie-prefix");
    assert!(err.reason.contains("Secure"), "{}", err.reason);
}
