//! Contract section 14's failures against a real OpenID Connect provider:
//! each lands on `/account?error=oauth` with a warn line, signs nobody in
//! and creates nothing: a replayed or foreign state, a forged, expired,
//! misaddressed or wrongly-nonced ID token, an unverified email, the
//! provider down, an open redirect attempt, and the per-address limit.

use serde_json::json;

use crate::backend::Backend;
use crate::helpers::spawn_app_with;
use crate::process::ServerProcess;
use crate::provider_flow::{PUBLIC_URL, ProviderBrowser};
use crate::provider_servers::OidcProvider;
use crate::provider_sign_in::{args, oidc_settings, person};

const FAILED: &str = "/account?error=oauth";

backend_test!(a_replayed_or_foreign_state_is_refused);
async fn a_replayed_or_foreign_state_is_refused(backend: Backend) {
    let Some(provider) = OidcProvider::start() else {
        return;
    };
    let app = spawn_app_with(&backend, &args(&oidc_settings(&provider.issuer))).await;
    provider
        .next_sign_in(person("sub-r", "replay@example.com"))
        .await;
    let base = format!("http://{}", app.address);
    let mut browser = ProviderBrowser::new(&base);
    let to_provider = browser.visit("/auth/oidc/corp").await;
    assert_eq!(to_provider.status, 302);
    assert!(to_provider.location.contains("code_challenge_method=S256"));
    assert!(to_provider.location.contains("nonce="));
    let callback = browser.at_provider(&to_provider.location).await;
    // Another browser (no flow cookie, or its own) cannot finish it...
    let mut stranger = ProviderBrowser::new(&base);
    assert_eq!(stranger.visit(&callback).await.location, FAILED);
    stranger.visit("/auth/oidc/corp").await;
    assert_eq!(stranger.visit(&callback).await.location, FAILED);
    // ...nor burn it: the browser that began it still can, once.
    assert_eq!(browser.visit(&callback).await.location, "/account");
    browser.session = None;
    assert_eq!(browser.visit(&callback).await.location, FAILED);
    assert!(browser.session.is_none());
    // A provider's error answer fails without starting a new flow.
    let refused = browser
        .visit("/auth/oidc/corp?error=access_denied&state=x")
        .await;
    assert_eq!(refused.location, FAILED);
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 1);
}

backend_test!(a_bad_id_token_or_an_unverified_email_signs_nobody_in);
async fn a_bad_id_token_or_an_unverified_email_signs_nobody_in(backend: Backend) {
    let Some(provider) = OidcProvider::start() else {
        return;
    };
    let app = spawn_app_with(&backend, &args(&oidc_settings(&provider.issuer))).await;
    let base = format!("http://{}", app.address);
    for tamper in ["signature", "expired", "nonce", "audience", "issuer"] {
        provider
            .next_sign_in(json!({
                "sub": "sub-t", "email": "tampered@example.com", "email_verified": true, "tamper": tamper,
            }))
            .await;
        let mut browser = ProviderBrowser::new(&base);
        assert_eq!(
            browser.sign_in("/auth/oidc/corp").await.location,
            FAILED,
            "{tamper}"
        );
        assert!(browser.session.is_none(), "{tamper}");
    }
    provider
        .next_sign_in(
            json!({ "sub": "sub-u", "email": "unverified@example.com", "email_verified": false }),
        )
        .await;
    let mut browser = ProviderBrowser::new(&base);
    assert_eq!(browser.sign_in("/auth/oidc/corp").await.location, FAILED);
    // An address the service would refuse at sign-up is refused here too.
    provider.next_sign_in(person("sub-v", "not an email")).await;
    assert_eq!(browser.sign_in("/auth/oidc/corp").await.location, FAILED);
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM identities").await, 0);
    // With no email in the ID token, the verified one from userinfo counts.
    provider
        .next_sign_in(json!({ "sub": "sub-w", "omit_email": true }))
        .await;
    provider
        .userinfo(
            json!({ "sub": "sub-w", "email": "from.userinfo@example.com", "email_verified": true }),
        )
        .await;
    assert_eq!(
        browser.sign_in("/auth/oidc/corp").await.location,
        "/account"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 1);
}

backend_test!(only_same_origin_paths_are_landed_on);
async fn only_same_origin_paths_are_landed_on(backend: Backend) {
    let Some(provider) = OidcProvider::start() else {
        return;
    };
    let app = spawn_app_with(&backend, &args(&oidc_settings(&provider.issuer))).await;
    let base = format!("http://{}", app.address);
    for (asked, landed) in [
        ("//evil.example/x", "/account"),
        ("/\\evil.example", "/account"),
        ("/a\\b", "/account"),
        ("https://evil.example", "/account"),
        ("/dashboard?tab=1", "/dashboard?tab=1"),
    ] {
        provider
            .next_sign_in(person("sub-o", "open.redirect@example.com"))
            .await;
        let mut browser = ProviderBrowser::new(&base);
        let query: String = url::form_urlencoded::byte_serialize(asked.as_bytes()).collect();
        let landing = browser
            .sign_in(&format!("/auth/oidc/corp?redirect={query}"))
            .await;
        assert_eq!(landing.location, landed, "{asked}");
    }
}

#[tokio::test]
async fn a_provider_that_is_down_fails_the_sign_in_not_the_start() {
    // Nothing listens on the issuer's port: start-up must not care.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let issuer = format!(
        "http://127.0.0.1:{}",
        closed.local_addr().expect("port").port()
    );
    drop(closed);
    let mut settings = oidc_settings(&issuer);
    settings.extend(["--oauth-rate-limit".to_owned(), "2/1m".to_owned()]);
    let database = Backend::Sqlite.fresh_database().await;
    let server = ServerProcess::start(&database.url(), &args(&settings));
    let mut browser = ProviderBrowser::new(&server.base_url());
    assert_eq!(browser.visit("/auth/oidc/corp").await.location, FAILED);
    assert!(
        server.log_shows("provider sign-in failed").await,
        "{}",
        server.log()
    );
    assert!(server.log_shows("discovery").await, "{}", server.log());
    // Unconfigured providers are unknown routes.
    assert_eq!(browser.visit("/auth/google").await.status, 404);
    assert_eq!(browser.visit("/auth/oidc/other").await.status, 404);
    // The per-address limit: two starts a minute here, then a refusal.
    browser.visit("/auth/oidc/corp").await;
    assert_eq!(browser.visit("/auth/oidc/corp").await.location, FAILED);
    assert!(
        server
            .log_shows("rate limit reached: provider sign-ins started per client address")
            .await,
        "{}",
        server.log()
    );
}

#[tokio::test]
async fn without_providers_the_routes_do_not_exist() {
    let app = spawn_app_with(&Backend::Sqlite, &["--public-url", PUBLIC_URL]).await;
    let mut browser = ProviderBrowser::new(&format!("http://{}", app.address));
    assert_eq!(browser.visit("/auth/github").await.status, 404);
    let mut api = app.browser();
    let listed = api.get("/api/auth/providers").await;
    assert_eq!(listed.body, json!({ "providers": [] }));
    let (mut user, user_id) = app.signed_up("no.providers@example.com").await;
    assert_eq!(
        user.get(&format!("/api/users/{user_id}/identities"))
            .await
            .status,
        404
    );
}
