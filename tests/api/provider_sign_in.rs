//! Contract section 14 against real providers on loopback: the three
//! outcomes of a callback, GitHub's user lookup, identities listed and
//! unlinked with the last-way-in rule, and a flow begun on one instance
//! finished on another.

use serde_json::{Value, json};

use crate::backend::Backend;
use crate::helpers::{PASSWORD, spawn_app_with, spawn_instance};
use crate::provider_flow::{PUBLIC_URL, ProviderBrowser};
use crate::provider_servers::{GitHubAccount, GitHubServer, OidcProvider};

/// The service settings for the OIDC provider `corp` at `issuer`.
pub fn oidc_settings(issuer: &str) -> Vec<String> {
    vec![
        "--public-url".into(),
        PUBLIC_URL.into(),
        "--oidc".into(),
        format!("corp={issuer},corp-client,corp-secret"),
    ]
}

pub fn args(settings: &[String]) -> Vec<&str> {
    settings.iter().map(String::as_str).collect()
}

pub fn person(sub: &str, email: &str) -> Value {
    json!({ "sub": sub, "email": email, "email_verified": true })
}

async fn events_of(browser: &ProviderBrowser, user_id: &str) -> Vec<Value> {
    let response = browser
        .api()
        .get(&format!("/api/users/{user_id}/events"))
        .await;
    assert_eq!(response.status, 200, "{}", response.text);
    response.body["events"].as_array().expect("events").clone()
}

backend_test!(a_new_verified_email_makes_a_password_less_account_and_signs_it_in);
async fn a_new_verified_email_makes_a_password_less_account_and_signs_it_in(backend: Backend) {
    let Some(provider) = OidcProvider::start() else {
        return;
    };
    let app = spawn_app_with(&backend, &args(&oidc_settings(&provider.issuer))).await;
    provider
        .next_sign_in(person("sub-new", "new.person@example.com"))
        .await;
    let mut browser = ProviderBrowser::new(&format!("http://{}", app.address));
    let landing = browser.sign_in("/auth/oidc/corp?redirect=/dashboard").await;
    assert_eq!(
        (landing.status, landing.location.as_str()),
        (302, "/dashboard")
    );
    assert!(browser.flow_cookie.is_none(), "the flow cookie is cleared");
    let user_id = browser.api().user_id().await;
    let identities = browser
        .api()
        .get(&format!("/api/users/{user_id}/identities"))
        .await;
    assert_eq!(identities.status, 200, "{}", identities.text);
    let listed = &identities.body["identities"];
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(listed[0]["provider"], "corp");
    assert_eq!(listed[0]["email"], "new.person@example.com");
    assert!(app.stored_password_hash(&user_id).await.is_empty());
    let kinds: Vec<(String, Value)> = events_of(&browser, &user_id)
        .await
        .iter()
        .map(|event| {
            (
                event["type"].as_str().unwrap_or_default().to_owned(),
                event["detail"].clone(),
            )
        })
        .collect();
    let provider_detail = json!({ "method": "provider", "provider": "corp" });
    assert!(
        kinds.contains(&("login".into(), provider_detail.clone())),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("sign_up".into(), provider_detail)),
        "{kinds:?}"
    );
    // No password matches a password-less account: the usual 401.
    let mut other = app.browser();
    other
        .login("new.person@example.com", PASSWORD)
        .await
        .assert_error(401, "Invalid email or password");

    // The same subject signs the same account in, whatever its email now.
    provider
        .next_sign_in(person("sub-new", "renamed@example.com"))
        .await;
    let mut again = ProviderBrowser::new(&browser.base);
    let landing = again.sign_in("/auth/oidc/corp").await;
    assert_eq!(landing.location, "/account");
    assert_eq!(again.api().user_id().await, user_id);
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 1);
    let listed = again
        .api()
        .get(&format!("/api/users/{user_id}/identities"))
        .await;
    assert_eq!(listed.body["identities"][0]["email"], "renamed@example.com");
}

backend_test!(an_existing_email_is_linked_only_when_its_owner_confirms);
async fn an_existing_email_is_linked_only_when_its_owner_confirms(backend: Backend) {
    let Some(provider) = OidcProvider::start() else {
        return;
    };
    let app = spawn_app_with(&backend, &args(&oidc_settings(&provider.issuer))).await;
    let (mut owner, owner_id) = app.signed_up("owner@example.com").await;
    provider
        .next_sign_in(person("sub-owner", "owner@example.com"))
        .await;
    let mut browser = ProviderBrowser::new(&format!("http://{}", app.address));
    let landing = browser.sign_in("/auth/oidc/corp").await;
    assert_eq!(landing.location, "/account?link=corp");
    assert!(
        browser.session.is_none(),
        "nobody is signed in by an email match"
    );
    assert!(
        browser.flow_cookie.is_some(),
        "the flow cookie stays for the confirmation"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM identities").await, 0);
    // The owner's own session without this browser's flow cookie links nothing.
    owner
        .post_json(&format!("/api/users/{owner_id}/identities"), &json!({}))
        .await
        .assert_error(409, "No provider sign-in waits to be linked");
    // The owner signs in in this browser, then confirms.
    let mut api = browser.api();
    api.login("owner@example.com", PASSWORD).await;
    browser.session = api.session.clone();
    let confirm = browser
        .api()
        .request(
            reqwest::Method::POST,
            &format!("/api/users/{owner_id}/identities"),
        )
        .header(
            "cookie",
            format!(
                "neptun-oauth={}",
                browser.flow_cookie.clone().unwrap_or_default()
            ),
        )
        .header("content-type", "application/json")
        .body("{}");
    let confirmed = browser.api().send(confirm).await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.text);
    assert_eq!(confirmed.body["identity"]["provider"], "corp");
    assert_eq!(confirmed.body["identity"]["email"], "owner@example.com");
    let kinds: Vec<Value> = events_of(&browser, &owner_id)
        .await
        .iter()
        .map(|event| event["type"].clone())
        .collect();
    assert!(kinds.contains(&json!("identity_linked")), "{kinds:?}");
    // From now on the identity signs the owner in.
    let mut later = ProviderBrowser::new(&browser.base);
    assert_eq!(later.sign_in("/auth/oidc/corp").await.location, "/account");
    assert_eq!(later.api().user_id().await, owner_id);
}

backend_test!(a_signed_in_browser_is_never_switched_to_another_account);
async fn a_signed_in_browser_is_never_switched_to_another_account(backend: Backend) {
    let Some(provider) = OidcProvider::start() else {
        return;
    };
    let app = spawn_app_with(&backend, &args(&oidc_settings(&provider.issuer))).await;
    provider
        .next_sign_in(person("sub-a", "a.person@example.com"))
        .await;
    let mut first = ProviderBrowser::new(&format!("http://{}", app.address));
    first.sign_in("/auth/oidc/corp").await;
    let first_id = first.api().user_id().await;
    // Someone else, signed in, comes back with the identity linked to `first`.
    let (api, other_id) = app.signed_up("b.person@example.com").await;
    let mut second = ProviderBrowser::new(&first.base);
    second.session = api.session.clone();
    assert_eq!(
        second.sign_in("/auth/oidc/corp").await.location,
        "/account?error=oauth"
    );
    assert_eq!(second.api().user_id().await, other_id);
    // An unlinked identity waits for the signed-in user's confirmation.
    provider
        .next_sign_in(person("sub-c", "c.person@example.com"))
        .await;
    assert_eq!(
        second.sign_in("/auth/oidc/corp").await.location,
        "/account?link=corp"
    );
    assert_eq!(second.api().user_id().await, other_id);
    assert_ne!(first_id, other_id);
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 2);
}

backend_test!(github_signs_in_with_its_verified_primary_email_only);
async fn github_signs_in_with_its_verified_primary_email_only(backend: Backend) {
    let github = GitHubServer::start().await;
    let mut settings = github.settings();
    settings.extend(["--public-url".to_owned(), PUBLIC_URL.to_owned()]);
    let app = spawn_app_with(&backend, &args(&settings)).await;
    let base = format!("http://{}", app.address);
    // The primary address is unverified: refused, nothing created.
    github.sign_in_as(GitHubAccount {
        id: 42,
        emails: vec![
            ("verified.other@example.com".into(), false, true),
            ("octo@example.com".into(), true, false),
        ],
    });
    let mut browser = ProviderBrowser::new(&base);
    assert_eq!(
        browser.sign_in("/auth/github").await.location,
        "/account?error=oauth"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 0);
    github.sign_in_as(GitHubAccount {
        id: 42,
        emails: vec![("octo@example.com".into(), true, true)],
    });
    let landing = browser.sign_in("/auth/github").await;
    assert_eq!(landing.location, "/account");
    let user_id = browser.api().user_id().await;
    let listed = browser
        .api()
        .get(&format!("/api/users/{user_id}/identities"))
        .await;
    assert_eq!(listed.body["identities"][0]["provider"], "github");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM identities WHERE subject = '42'")
            .await,
        1
    );
}

backend_test!(an_identity_is_unlinked_unless_it_is_the_last_way_in);
async fn an_identity_is_unlinked_unless_it_is_the_last_way_in(backend: Backend) {
    let Some(provider) = OidcProvider::start() else {
        return;
    };
    let app = spawn_app_with(&backend, &args(&oidc_settings(&provider.issuer))).await;
    provider
        .next_sign_in(person("sub-u", "unlink@example.com"))
        .await;
    let mut browser = ProviderBrowser::new(&format!("http://{}", app.address));
    browser.sign_in("/auth/oidc/corp").await;
    let mut api = browser.api();
    let user_id = api.user_id().await;
    let listed = api.get(&format!("/api/users/{user_id}/identities")).await;
    let identity_id = listed.body["identities"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let path = format!("/api/users/{user_id}/identities/{identity_id}");
    api.delete(&path)
        .await
        .assert_error(409, "Cannot remove the last way to sign in");
    api.delete(&format!("/api/users/{user_id}/identities/not-an-identity"))
        .await
        .assert_error(404, "Identity not found");
    // A password-less account sets a password without a current one.
    let set = api
        .update_user(&user_id, &json!({ "password": PASSWORD }))
        .await;
    assert_eq!(set.status, 200, "{}", set.text);
    let removed = api.delete(&path).await;
    assert_eq!(
        (removed.status, removed.body.clone()),
        (200, json!(true)),
        "{}",
        removed.text
    );
    let events = api.get(&format!("/api/users/{user_id}/events")).await;
    assert_eq!(events.body["events"][0]["type"], "identity_unlinked");
    let mut login = app.browser();
    assert_eq!(
        login.login("unlink@example.com", PASSWORD).await.status,
        200
    );
}

postgres_test!(a_flow_begun_on_one_instance_finishes_on_another);
async fn a_flow_begun_on_one_instance_finishes_on_another(backend: Backend) {
    let Some(provider) = OidcProvider::start() else {
        return;
    };
    let settings = oidc_settings(&provider.issuer);
    let app = spawn_app_with(&backend, &args(&settings)).await;
    let other = spawn_instance(&app.database.url(), &args(&settings)).await;
    provider
        .next_sign_in(person("sub-two", "two.instances@example.com"))
        .await;
    let mut browser = ProviderBrowser::new(&format!("http://{}", app.address));
    let to_provider = browser.visit("/auth/oidc/corp").await;
    let callback = browser.at_provider(&to_provider.location).await;
    browser.base = other.base_url();
    let landing = browser.visit(&callback).await;
    assert_eq!(landing.location, "/account");
    assert!(browser.api().user_id().await.len() > 10);
    // The flow was used once: the same callback on the first instance fails.
    browser.base = format!("http://{}", app.address);
    browser.session = None;
    assert_eq!(
        browser.visit(&callback).await.location,
        "/account?error=oauth"
    );
}
