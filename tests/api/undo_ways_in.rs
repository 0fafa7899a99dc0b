//! Contract section 12's undo against what a hijacker adds after changing
//! the address: an identity linked and a second factor turned on since the
//! undone change go with it (`identity_unlinked`, `totp_disabled`), so the
//! hijacker's provider account no longer opens the owner's account and the
//! owner is not locked out by the hijacker's authenticator.

use serde_json::json;

use crate::backend::Backend;
use crate::password_reset::with_mail;
use crate::provider_flow::ProviderBrowser;
use crate::provider_servers::OidcProvider;
use crate::provider_sign_in::person;
use crate::smtp_server::SmtpServer;
use crate::totp_codes::enable_totp;

backend_test!(an_undo_removes_the_ways_in_added_since_the_change);
async fn an_undo_removes_the_ways_in_added_since_the_change(backend: Backend) {
    let Some(provider) = OidcProvider::start() else {
        return;
    };
    let smtp = SmtpServer::start().await;
    let oidc = format!("corp={},corp-client,corp-secret", provider.issuer);
    let app = with_mail(&backend, &smtp.url(), &["--oidc", &oidc]).await;
    let (mut hijacker, user_id) = app.signed_up("owner@example.com").await;
    let changed = hijacker
        .update_user(&user_id, &json!({ "email": "hijacker@evil.example" }))
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    let notice = smtp.wait_for("owner@example.com", 1).await;
    let token = notice[0]
        .text()
        .split_whitespace()
        .find_map(|word| {
            word.split_once("undo-email-change?token=")
                .map(|(_, token)| token.to_owned())
        })
        .expect("an undo link");

    // The hijacker links a provider account of their own.
    provider
        .next_sign_in(person("sub-hijacker", "hijacker@evil.example"))
        .await;
    let mut browser = ProviderBrowser::new(&format!("http://{}", app.address));
    browser.session = hijacker.session.clone();
    assert_eq!(
        browser.sign_in("/auth/oidc/corp").await.location,
        "/account?link=corp"
    );
    let confirm = browser
        .api()
        .request(
            reqwest::Method::POST,
            &format!("/api/users/{user_id}/identities"),
        )
        .header(
            "cookie",
            format!(
                "neptun-oauth={}",
                browser.flow_cookie.clone().unwrap_or_default()
            ),
        );
    let linked = browser.api().send(confirm).await;
    assert_eq!(linked.status, 200, "{}", linked.text);
    assert_eq!(app.count("SELECT COUNT(*) FROM identities").await, 1);
    enable_totp(&mut hijacker, &user_id).await;

    let mut owner = app.browser();
    let undone = owner
        .post_json("/api/auth/undo-email-change", &json!({ "token": token }))
        .await;
    assert_eq!(undone.status, 200, "{}", undone.text);
    assert_eq!(app.count("SELECT COUNT(*) FROM identities").await, 0);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM events WHERE type = 'identity_unlinked'")
            .await,
        1
    );
    // The hijacker's provider account now opens nothing of the owner's.
    let mut again = ProviderBrowser::new(&browser.base);
    again.sign_in("/auth/oidc/corp").await;
    assert_ne!(again.api().user_id().await, user_id);
}
