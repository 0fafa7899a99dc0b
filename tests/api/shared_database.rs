//! Two processes on one database (one SQLite file, or one PostgreSQL
//! database behind two instances) behave as one service.

use serde_json::json;

use crate::backend::{Backend, TestDatabase};
use crate::helpers::{Browser, PASSWORD, assert_one_wins_the_email};
use crate::process::ServerProcess;

struct TwoProcesses {
    a: ServerProcess,
    b: ServerProcess,
    _database: TestDatabase,
}

async fn two_processes(backend: &Backend) -> TwoProcesses {
    let database = backend.fresh_database().await;
    let a = ServerProcess::start(&database.url(), &[]);
    let b = ServerProcess::start(&database.url(), &[]);
    TwoProcesses {
        a,
        b,
        _database: database,
    }
}

async fn signed_up_at(server: &ServerProcess, email: &str) -> Browser {
    let mut browser = Browser::new(&server.base_url());
    let response = browser.sign_up(email, PASSWORD).await;
    assert_eq!(response.status, 200, "{}", response.text);
    browser
}

backend_test!(a_session_made_on_one_process_is_valid_on_the_other);
async fn a_session_made_on_one_process_is_valid_on_the_other(backend: Backend) {
    let servers = two_processes(&backend).await;
    let on_a = signed_up_at(&servers.a, "both@example.com").await;

    let mut on_b = on_a.same_cookie_at(&servers.b.base_url());

    assert_eq!(on_b.head("/api/auth/check").await.status, 200);
}

backend_test!(a_logout_through_one_process_is_seen_by_the_other_at_once);
async fn a_logout_through_one_process_is_seen_by_the_other_at_once(backend: Backend) {
    let servers = two_processes(&backend).await;
    let mut on_a = signed_up_at(&servers.a, "logout@example.com").await;
    let mut on_b = on_a.same_cookie_at(&servers.b.base_url());
    assert_eq!(on_b.head("/api/auth/check").await.status, 200);

    on_a.logout().await;

    assert_eq!(on_b.head("/api/auth/check").await.status, 401);
}

backend_test!(a_password_change_through_one_process_revokes_sessions_on_the_other);
async fn a_password_change_through_one_process_revokes_sessions_on_the_other(backend: Backend) {
    let servers = two_processes(&backend).await;
    let mut laptop = signed_up_at(&servers.a, "change@example.com").await;
    let user_id = laptop.user_id().await;
    let mut phone = Browser::new(&servers.b.base_url());
    assert_eq!(
        phone.login("change@example.com", PASSWORD).await.status,
        200
    );

    let response = laptop
        .update_user(&user_id, &json!({"password": "another password"}))
        .await;

    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(phone.head("/api/auth/check").await.status, 401);
    let mut rotated_on_b = laptop.same_cookie_at(&servers.b.base_url());
    assert_eq!(rotated_on_b.head("/api/auth/check").await.status, 200);
}

backend_test!(an_account_deleted_through_one_process_is_gone_for_the_other);
async fn an_account_deleted_through_one_process_is_gone_for_the_other(backend: Backend) {
    let servers = two_processes(&backend).await;
    let mut on_b = signed_up_at(&servers.b, "gone@example.com").await;
    let user_id = on_b.user_id().await;
    let mut on_a = on_b.same_cookie_at(&servers.a.base_url());

    let response = on_b.delete(&format!("/api/users/{user_id}")).await;

    assert_eq!(response.status, 200);
    assert_eq!(on_a.head("/api/auth/check").await.status, 401);
    let mut stranger = Browser::new(&servers.a.base_url());
    stranger
        .login("gone@example.com", PASSWORD)
        .await
        .assert_error(401, "Invalid email or password");
}

backend_test!(patches_racing_for_one_email_through_two_processes_give_one_200_and_one_409);
async fn patches_racing_for_one_email_through_two_processes_give_one_200_and_one_409(
    backend: Backend,
) {
    let servers = two_processes(&backend).await;
    for round in 0..5 {
        let mut first = signed_up_at(&servers.a, &format!("first{round}@example.com")).await;
        let mut second = signed_up_at(&servers.b, &format!("second{round}@example.com")).await;
        let first_id = first.user_id().await;
        let second_id = second.user_id().await;
        let email = format!("wanted{round}@example.com");

        assert_one_wins_the_email((&mut first, &first_id), (&mut second, &second_id), &email).await;
    }
}
