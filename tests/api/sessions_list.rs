//! Contract section 11: the caller's sessions, listed with their device and
//! network, and ended one at a time or all but the caller's.

use reqwest::Method;
use serde_json::Value;

use crate::backend::Backend;
use crate::helpers::{Browser, PASSWORD, TestApp, spawn_app};
use crate::process::ServerProcess;

/// Logs `email` in from a new browser that says it is `user_agent`.
async fn login_as(app: &TestApp, email: &str, user_agent: &str) -> Browser {
    let mut browser = app.browser();
    let request = browser
        .request(Method::POST, "/api/auth/login")
        .header("user-agent", user_agent)
        .json(&serde_json::json!({ "email": email, "password": PASSWORD }));
    let response = browser.send(request).await;
    assert_eq!(response.status, 200, "{}", response.text);
    browser
}

async fn sessions_of(browser: &mut Browser, user_id: &str) -> Vec<Value> {
    let response = browser.get(&format!("/api/users/{user_id}/sessions")).await;
    assert_eq!(response.status, 200, "{}", response.text);
    response.body["sessions"]
        .as_array()
        .expect("a sessions array")
        .clone()
}

fn ids(sessions: &[Value]) -> Vec<String> {
    sessions
        .iter()
        .map(|session| session["id"].as_str().expect("an id").to_owned())
        .collect()
}

backend_test!(the_list_shows_every_live_session_newest_first_with_device_and_network);
async fn the_list_shows_every_live_session_newest_first_with_device_and_network(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (mut first, user_id) = app.signed_up("listed@example.com").await;
    let mut phone = login_as(&app, "listed@example.com", "Phone/1.0 (Android)").await;

    let sessions = sessions_of(&mut phone, &user_id).await;

    assert_eq!(sessions.len(), 2);
    let newest = &sessions[0];
    assert_eq!(newest["user_agent"], "Phone/1.0 (Android)");
    assert_eq!(newest["address"], "127.0.0.0/24");
    assert_eq!(newest["current"], true);
    assert_eq!(sessions[1]["current"], false);
    for session in &sessions {
        for key in ["created_at", "last_seen_at", "authenticated_at"] {
            assert!(
                session[key].as_str().is_some_and(|at| at.ends_with('Z')),
                "{session}"
            );
        }
        let id = session["id"].as_str().expect("id");
        assert_eq!(id.len(), 22, "128 bits in base64url: {id}");
    }
    // The first browser sees the same two, itself marked current.
    let seen_by_first = sessions_of(&mut first, &user_id).await;
    assert_eq!(ids(&seen_by_first), ids(&sessions));
    assert_eq!(seen_by_first[1]["current"], true);
}

backend_test!(a_public_session_id_is_neither_the_token_nor_its_hash_and_survives_rotation);
async fn a_public_session_id_is_neither_the_token_nor_its_hash_and_survives_rotation(
    backend: Backend,
) {
    let app = spawn_app(&backend).await;
    let (mut browser, user_id) = app.signed_up("rotated@example.com").await;
    let token = browser.session.clone().expect("a token");
    let before = ids(&sessions_of(&mut browser, &user_id).await);
    assert!(!before[0].contains(&token));

    let update = browser
        .update_user(&user_id, &serde_json::json!({"email": "moved@example.com"}))
        .await;
    assert_eq!(update.status, 200);
    assert_ne!(browser.session.as_deref(), Some(token.as_str()), "rotated");

    assert_eq!(ids(&sessions_of(&mut browser, &user_id).await), before);
}

backend_test!(ending_another_session_makes_it_401_at_once_and_keeps_the_callers);
async fn ending_another_session_makes_it_401_at_once_and_keeps_the_callers(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (mut laptop, user_id) = app.signed_up("lost@example.com").await;
    let mut stolen = login_as(&app, "lost@example.com", "Stolen/1.0").await;
    assert_eq!(stolen.head("/api/auth/check").await.status, 200);
    let sessions = sessions_of(&mut laptop, &user_id).await;
    let stolen_id = sessions[0]["id"].as_str().expect("id").to_owned();
    assert_eq!(sessions[0]["current"], false);

    let ended = laptop
        .delete(&format!("/api/users/{user_id}/sessions/{stolen_id}"))
        .await;

    assert_eq!(ended.status, 200, "{}", ended.text);
    assert_eq!(ended.body, Value::Bool(true));
    assert!(
        !ended.clears_session_cookie(),
        "another session: no cookie change"
    );
    assert_eq!(stolen.head("/api/auth/check").await.status, 401);
    assert_eq!(laptop.head("/api/auth/check").await.status, 200);
    let again = laptop
        .delete(&format!("/api/users/{user_id}/sessions/{stolen_id}"))
        .await;
    again.assert_error(404, "Session not found");
}

backend_test!(ending_ones_own_session_clears_the_cookie);
async fn ending_ones_own_session_clears_the_cookie(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (mut browser, user_id) = app.signed_up("self@example.com").await;
    let own_id = sessions_of(&mut browser, &user_id).await[0]["id"]
        .as_str()
        .expect("id")
        .to_owned();

    let ended = browser
        .delete(&format!("/api/users/{user_id}/sessions/{own_id}"))
        .await;

    assert_eq!(ended.status, 200);
    assert!(ended.clears_session_cookie());
    assert_eq!(browser.head("/api/auth/check").await.status, 401);
}

backend_test!(another_users_session_id_is_404_and_touches_nothing);
async fn another_users_session_id_is_404_and_touches_nothing(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (mut mallory, mallory_id) = app.signed_up("mallory@example.com").await;
    let (mut alice, alice_id) = app.signed_up("alice@example.com").await;
    let alice_session = sessions_of(&mut alice, &alice_id).await[0]["id"]
        .as_str()
        .expect("id")
        .to_owned();

    let through_own_path = mallory
        .delete(&format!("/api/users/{mallory_id}/sessions/{alice_session}"))
        .await;
    through_own_path.assert_error(404, "Session not found");
    let through_alice_path = mallory
        .delete(&format!("/api/users/{alice_id}/sessions/{alice_session}"))
        .await;
    through_alice_path.assert_error(404, "User not found");
    let list_of_alice = mallory
        .get(&format!("/api/users/{alice_id}/sessions"))
        .await;
    list_of_alice.assert_error(404, "User not found");

    assert_eq!(alice.head("/api/auth/check").await.status, 200);
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions").await, 2);
}

backend_test!(ending_every_other_session_keeps_only_the_callers);
async fn ending_every_other_session_keeps_only_the_callers(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (mut keeper, user_id) = app.signed_up("many@example.com").await;
    let mut others = Vec::new();
    for n in 0..3 {
        others.push(login_as(&app, "many@example.com", &format!("Device/{n}")).await);
    }

    let ended = keeper
        .delete(&format!("/api/users/{user_id}/sessions"))
        .await;

    assert_eq!(ended.status, 200, "{}", ended.text);
    assert_eq!(ended.body, serde_json::json!({"ended": 3}));
    for other in &mut others {
        assert_eq!(other.head("/api/auth/check").await.status, 401);
    }
    let left = sessions_of(&mut keeper, &user_id).await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["current"], true);
    let none_left = keeper
        .delete(&format!("/api/users/{user_id}/sessions"))
        .await;
    assert_eq!(none_left.body, serde_json::json!({"ended": 0}));
}

backend_test!(the_session_routes_need_a_session_and_refuse_cross_site_deletes);
async fn the_session_routes_need_a_session_and_refuse_cross_site_deletes(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (mut browser, user_id) = app.signed_up("guarded@example.com").await;
    let mut stranger = app.browser();
    for path in [
        format!("/api/users/{user_id}/sessions"),
        format!("/api/users/{user_id}/events"),
    ] {
        stranger.get(&path).await.assert_error(401, "Unauthorized");
    }
    stranger
        .delete(&format!("/api/users/{user_id}/sessions"))
        .await
        .assert_error(401, "Unauthorized");

    let cross_site = browser
        .request(Method::DELETE, &format!("/api/users/{user_id}/sessions"))
        .header("origin", "https://evil.example");
    browser
        .send(cross_site)
        .await
        .assert_error(403, "Cross-site request refused");
    assert_eq!(browser.head("/api/auth/check").await.status, 200);
}

backend_test!(a_session_ended_through_one_instance_is_dead_on_the_other_at_once);
async fn a_session_ended_through_one_instance_is_dead_on_the_other_at_once(backend: Backend) {
    let database = backend.fresh_database().await;
    let a = ServerProcess::start(&database.url(), &[]);
    let b = ServerProcess::start(&database.url(), &[]);
    let mut on_a = Browser::new(&a.base_url());
    assert_eq!(
        on_a.sign_up("twice@example.com", PASSWORD).await.status,
        200
    );
    let user_id = on_a.user_id().await;
    let mut other_on_b = Browser::new(&b.base_url());
    assert_eq!(
        other_on_b.login("twice@example.com", PASSWORD).await.status,
        200
    );
    let sessions = sessions_of(&mut on_a, &user_id).await;
    let other_id = sessions
        .iter()
        .find(|session| session["current"] == false)
        .and_then(|session| session["id"].as_str())
        .expect("the other session")
        .to_owned();

    let ended = on_a
        .delete(&format!("/api/users/{user_id}/sessions/{other_id}"))
        .await;

    assert_eq!(ended.status, 200);
    assert_eq!(other_on_b.head("/api/auth/check").await.status, 401);
}
