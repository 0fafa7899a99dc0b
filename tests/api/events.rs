//! Contract section 12 ("Events"): the account history, written with the
//! change it records, paged newest first, never holding a secret, purged
//! after the retention and deleted with the account.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::backend::Backend;
use crate::helpers::{Browser, PASSWORD, TestApp, spawn_app, spawn_app_with};

async fn events_of(browser: &mut Browser, user_id: &str, query: &str) -> Value {
    let response = browser
        .get(&format!("/api/users/{user_id}/events{query}"))
        .await;
    assert_eq!(response.status, 200, "{}", response.text);
    response.body
}

fn types(page: &Value) -> Vec<String> {
    page["events"]
        .as_array()
        .expect("an events array")
        .iter()
        .map(|event| event["type"].as_str().expect("a type").to_owned())
        .collect()
}

backend_test!(each_step_of_an_account_is_recorded_newest_first);
async fn each_step_of_an_account_is_recorded_newest_first(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (mut browser, user_id) = app.signed_up("history@example.com").await;
    assert_eq!(browser.logout().await.status, 200);
    assert_eq!(
        browser
            .login("history@example.com", "wrong password")
            .await
            .status,
        401
    );
    assert_eq!(
        browser.login("history@example.com", PASSWORD).await.status,
        200
    );
    let update = browser
        .update_user(
            &user_id,
            &json!({"email": "moved@example.com", "password": "a new passphrase"}),
        )
        .await;
    assert_eq!(update.status, 200);

    let page = events_of(&mut browser, &user_id, "").await;

    assert_eq!(
        types(&page),
        [
            "password_changed",
            "email_changed",
            "login",
            "login_failed",
            "logout",
            "sign_up"
        ]
    );
    assert_eq!(page["next"], Value::Null);
    let events = page["events"].as_array().expect("events");
    assert_eq!(
        events[1]["detail"],
        json!({"old": "history@example.com", "new": "moved@example.com", "by": "user"})
    );
    assert_eq!(events[2]["detail"], json!({"method": "password"}));
    for event in events {
        assert_eq!(event["address"], "127.0.0.0/24", "{event}");
        assert!(event["at"].as_str().is_some_and(|at| at.ends_with('Z')));
        assert!(uuid::Uuid::parse_str(event["id"].as_str().expect("id")).is_ok());
        assert!(event["detail"].is_object());
    }
    // Never a secret: no password, new or wrong, and no token.
    let text = page.to_string();
    for secret in [PASSWORD, "wrong password", "a new passphrase"] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    let token = browser.session.clone().expect("a token");
    assert!(!text.contains(&token));
}

backend_test!(a_failed_login_for_an_unknown_email_records_nothing);
async fn a_failed_login_for_an_unknown_email_records_nothing(backend: Backend) {
    let app = spawn_app(&backend).await;
    let mut stranger = app.browser();
    assert_eq!(
        stranger.login("nobody@example.com", PASSWORD).await.status,
        401
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM events").await, 0);
}

backend_test!(an_update_that_fails_with_409_leaves_no_event);
async fn an_update_that_fails_with_409_leaves_no_event(backend: Backend) {
    let app = spawn_app(&backend).await;
    app.signed_up("taken@example.com").await;
    let (mut browser, user_id) = app.signed_up("wants@example.com").await;

    let conflict = browser
        .update_user(
            &user_id,
            &json!({"email": "taken@example.com", "password": "another passphrase"}),
        )
        .await;

    conflict.assert_error(409, "A user with this email already exists");
    assert_eq!(
        types(&events_of(&mut browser, &user_id, "").await),
        ["sign_up"]
    );
}

backend_test!(setting_the_same_email_again_records_no_change);
async fn setting_the_same_email_again_records_no_change(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (mut browser, user_id) = app.signed_up("same@example.com").await;
    let update = browser
        .update_user(&user_id, &json!({"email": "Same@Example.com"}))
        .await;
    assert_eq!(update.status, 200);
    assert_eq!(
        types(&events_of(&mut browser, &user_id, "").await),
        ["sign_up"]
    );
}

backend_test!(ending_sessions_is_recorded);
async fn ending_sessions_is_recorded(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (mut browser, user_id) = app.signed_up("ender@example.com").await;
    let mut other = app.browser();
    assert_eq!(other.login("ender@example.com", PASSWORD).await.status, 200);
    let ended = browser
        .delete(&format!("/api/users/{user_id}/sessions"))
        .await;
    assert_eq!(ended.body, json!({"ended": 1}));

    let page = events_of(&mut browser, &user_id, "").await;

    assert_eq!(types(&page)[0], "session_ended");
    assert_eq!(
        page["events"][0]["detail"],
        json!({"sessions_ended": 1, "by": "user"})
    );
}

/// Signs `email` up and fails `count` logins on it (limits off).
async fn failed_logins(app: &TestApp, email: &str, count: usize) -> (Browser, String) {
    let (browser, user_id) = app.signed_up(email).await;
    let mut attacker = app.browser();
    for _ in 0..count {
        assert_eq!(attacker.login(email, "wrong password").await.status, 401);
    }
    (browser, user_id)
}

backend_test!(pages_walk_through_every_event_in_order);
async fn pages_walk_through_every_event_in_order(backend: Backend) {
    let app = spawn_app_with(&backend, &["--rate-limits", "off"]).await;
    let (mut browser, user_id) = failed_logins(&app, "paged@example.com", 249).await;

    let mut seen: Vec<String> = Vec::new();
    let mut query = "?limit=100".to_owned();
    let mut pages = 0;
    loop {
        let page = events_of(&mut browser, &user_id, &query).await;
        pages += 1;
        let events = page["events"].as_array().expect("events");
        assert!(events.len() <= 100);
        seen.extend(
            events
                .iter()
                .map(|event| event["id"].as_str().expect("id").to_owned()),
        );
        match page["next"].as_str() {
            Some(next) => query = format!("?limit=100&before={next}"),
            None => break,
        }
    }

    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 250, "249 failed logins and the sign-up");
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    sorted.dedup();
    assert_eq!(seen, sorted, "newest first, no repeats");
    let default_page = events_of(&mut browser, &user_id, "").await;
    assert_eq!(types(&default_page).len(), 50);
}

backend_test!(a_before_that_no_longer_exists_still_pages_by_order);
async fn a_before_that_no_longer_exists_still_pages_by_order(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (mut browser, user_id) = app.signed_up("gone@example.com").await;
    // An id newer than every event, which was never stored.
    let future = uuid::Uuid::now_v7().hyphenated().to_string();
    let page = events_of(&mut browser, &user_id, &format!("?before={future}")).await;
    assert_eq!(types(&page), ["sign_up"]);
}

backend_test!(a_malformed_limit_or_before_is_400_with_an_issue);
async fn a_malformed_limit_or_before_is_400_with_an_issue(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (mut browser, user_id) = app.signed_up("query@example.com").await;
    for (query, code, path) in [
        ("?limit=0", "too_small", "limit"),
        ("?limit=201", "too_big", "limit"),
        ("?limit=ten", "invalid_type", "limit"),
        ("?limit=1.5", "invalid_type", "limit"),
        ("?before=not-a-uuid", "invalid_string", "before"),
    ] {
        let response = browser
            .get(&format!("/api/users/{user_id}/events{query}"))
            .await;
        response.assert_error(400, "Invalid query(?limit, ?before).");
        let issue = &response.body["data"]["issues"][0];
        assert_eq!(issue["code"], code, "{query}: {issue}");
        assert_eq!(issue["path"], json!([path]), "{query}");
    }
    let fine = browser
        .get(&format!("/api/users/{user_id}/events?limit=200&other=x"))
        .await;
    assert_eq!(fine.status, 200);
}

backend_test!(events_older_than_the_retention_are_purged);
async fn events_older_than_the_retention_are_purged(backend: Backend) {
    let app = spawn_app_with(
        &backend,
        &["--event-retention", "1s", "--rate-limits", "off"],
    )
    .await;
    let (_browser, user_id) = failed_logins(&app, "aged@example.com", 3).await;
    let sql = format!("SELECT COUNT(*) FROM events WHERE user_id = '{user_id}'");
    assert_eq!(app.count(&sql).await, 4);

    let deadline = Instant::now() + Duration::from_secs(10);
    while app.count(&sql).await > 0 {
        assert!(Instant::now() < deadline, "old events were not purged");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

backend_test!(an_accounts_events_are_deleted_with_it);
async fn an_accounts_events_are_deleted_with_it(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (mut browser, user_id) = app.signed_up("erased@example.com").await;
    assert_eq!(
        browser
            .delete(&format!("/api/users/{user_id}"))
            .await
            .status,
        200
    );
    let sql = format!("SELECT COUNT(*) FROM events WHERE user_id = '{user_id}'");
    assert_eq!(app.count(&sql).await, 0);
}
