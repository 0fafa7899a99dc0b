//! Contract sections 14 and 15 together: a provider sign-in into an account
//! with TOTP on starts no session; it lands on
//! `/account?second_factor=ID`, and that challenge finishes through the
//! second-factor route only from the browser holding the flow cookie.

use serde_json::json;

use crate::backend::Backend;
use crate::helpers::spawn_app_with;
use crate::provider_flow::ProviderBrowser;
use crate::provider_servers::OidcProvider;
use crate::provider_sign_in::{args, oidc_settings, person};
use crate::totp_codes::{code_at, enable_totp};

backend_test!(a_provider_sign_in_into_a_totp_account_asks_for_a_code_in_that_browser);
async fn a_provider_sign_in_into_a_totp_account_asks_for_a_code_in_that_browser(backend: Backend) {
    let Some(provider) = OidcProvider::start() else {
        return;
    };
    let app = spawn_app_with(&backend, &args(&oidc_settings(&provider.issuer))).await;
    provider
        .next_sign_in(person("sub-2fa", "two.factor@example.com"))
        .await;
    let base = format!("http://{}", app.address);
    let mut first = ProviderBrowser::new(&base);
    first.sign_in("/auth/oidc/corp").await;
    let mut api = first.api();
    let user_id = api.user_id().await;
    let enabled = enable_totp(&mut api, &user_id).await;

    let mut browser = ProviderBrowser::new(&base);
    let landing = browser.sign_in("/auth/oidc/corp").await;
    let challenge_id = landing
        .location
        .strip_prefix("/account?second_factor=")
        .unwrap_or_else(|| panic!("a second-factor landing, not {}", landing.location))
        .to_owned();
    assert!(browser.session.is_none(), "no session before the code");
    let body =
        json!({ "challenge_id": challenge_id, "code": code_at(&enabled.secret, enabled.step) });
    // Without the flow cookie (another browser) the challenge is dead to it.
    app.browser()
        .post_json("/api/auth/login/second-factor", &body)
        .await
        .assert_error(401, "Login expired, sign in again");
    let mut finisher = browser.api();
    let request = finisher
        .request(reqwest::Method::POST, "/api/auth/login/second-factor")
        .header(
            "cookie",
            format!(
                "neptun-oauth={}",
                browser.flow_cookie.clone().unwrap_or_default()
            ),
        )
        .json(&body);
    let finished = finisher.send(request).await;
    assert_eq!(finished.status, 200, "{}", finished.text);
    assert_eq!(finisher.user_id().await, user_id);
    let events = finisher.get(&format!("/api/users/{user_id}/events")).await;
    assert_eq!(events.body["events"][0]["type"], "login");
    assert_eq!(
        events.body["events"][0]["detail"],
        json!({ "method": "provider", "provider": "corp", "second_factor": "totp" })
    );
}
