use crate::backend::Backend;
use crate::helpers::spawn_app;

backend_test!(get_user_with_the_own_id_answers_id_and_primary_email);
async fn get_user_with_the_own_id_answers_id_and_primary_email(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (mut browser, user_id) = app.signed_up("Owner@Example.com").await;

    let response = browser.get(&format!("/api/users/{user_id}")).await;

    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(
        response.body,
        serde_json::json!({"user": {"id": user_id, "primary_email": "owner@example.com"}})
    );
    assert!(response.session_cookie().is_none());
}

backend_test!(get_user_with_another_users_id_is_404_user_not_found);
async fn get_user_with_another_users_id_is_404_user_not_found(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (_, other_id) = app.signed_up("other@example.com").await;
    let (mut browser, _) = app.signed_up("me@example.com").await;

    let response = browser.get(&format!("/api/users/{other_id}")).await;

    response.assert_error(404, "User not found");
    assert!(!response.text.contains("other@example.com"));
}

backend_test!(get_user_with_unknown_or_malformed_ids_is_the_same_404);
async fn get_user_with_unknown_or_malformed_ids_is_the_same_404(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (mut browser, _) = app.signed_up("me@example.com").await;

    for id in [
        "01890a5d-ac96-774b-bcce-b302099a8057",
        "user123",
        "%FF%FE",
        "x%2Fy",
        "'%20OR%201=1",
    ] {
        let response = browser.get(&format!("/api/users/{id}")).await;
        response.assert_error(404, "User not found");
    }
}

backend_test!(get_user_without_a_session_is_401_before_the_id_is_looked_at);
async fn get_user_without_a_session_is_401_before_the_id_is_looked_at(backend: Backend) {
    let app = spawn_app(&backend).await;
    let (_, user_id) = app.signed_up("me@example.com").await;

    let own = app.browser().get(&format!("/api/users/{user_id}")).await;
    let malformed = app.browser().get("/api/users/%FF").await;

    own.assert_error(401, "Unauthorized");
    malformed.assert_error(401, "Unauthorized");
}
