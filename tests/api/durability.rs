//! What a restart or a crash (SIGKILL) must not lose.

use serde_json::json;

use crate::backend::Backend;
use crate::helpers::{Browser, PASSWORD};
use crate::process::ServerProcess;

backend_test!(a_restart_keeps_users_and_sessions);
async fn a_restart_keeps_users_and_sessions(backend: Backend) {
    let database = backend.fresh_database().await;
    let first = ServerProcess::start(&database.url(), &[]);
    let mut browser = Browser::new(&first.base_url());
    assert_eq!(
        browser.sign_up("stays@example.com", PASSWORD).await.status,
        200
    );
    let user_id = browser.user_id().await;
    first.kill();

    let second = ServerProcess::start(&database.url(), &[]);
    let mut after = browser.same_cookie_at(&second.base_url());

    let session = after.get("/api/auth/session").await;
    assert_eq!(session.status, 200, "{}", session.text);
    assert_eq!(session.body["user"]["id"], user_id.as_str());
    let mut other = Browser::new(&second.base_url());
    assert_eq!(other.login("stays@example.com", PASSWORD).await.status, 200);
}

backend_test!(every_answered_patch_survives_a_sigkill_right_after_the_last_answer);
async fn every_answered_patch_survives_a_sigkill_right_after_the_last_answer(backend: Backend) {
    const ACCOUNTS: usize = 50;
    let database = backend.fresh_database().await;
    // Fifty sign-ups and PATCHes from one address: past the per-address
    // limits, which are not what this test is about.
    let server = ServerProcess::start(&database.url(), &["--rate-limits", "off"]);
    let mut accounts = Vec::with_capacity(ACCOUNTS);
    for n in 0..ACCOUNTS {
        let mut browser = Browser::new(&server.base_url());
        assert_eq!(
            browser
                .sign_up(&format!("before{n}@example.com"), PASSWORD)
                .await
                .status,
            200
        );
        let user_id = browser.user_id().await;
        accounts.push((browser, user_id));
    }

    let burst = accounts.into_iter().enumerate().map(|(n, (mut browser, user_id))| {
        tokio::spawn(async move {
            let body = json!({"email": format!("after{n}@example.com"), "password": format!("new password {n}")});
            let response = browser.update_user(&user_id, &body).await;
            (n, user_id, response.status, browser)
        })
    });
    let mut answered = Vec::with_capacity(ACCOUNTS);
    for patch in burst.collect::<Vec<_>>() {
        answered.push(patch.await.unwrap());
    }
    server.kill();

    let restarted = ServerProcess::start(&database.url(), &[]);
    for (n, user_id, status, browser) in answered {
        assert_eq!(status, 200, "PATCH {n} answered");
        let email = database
            .query_text("SELECT email FROM users WHERE id = $1", &[&user_id])
            .await;
        assert_eq!(
            email,
            Some(format!("after{n}@example.com")),
            "change {n} survived"
        );
        let mut after = browser.same_cookie_at(&restarted.base_url());
        assert_eq!(
            after.head("/api/auth/check").await.status,
            200,
            "rotated session {n} survived"
        );
    }
    let mut login = Browser::new(&restarted.base_url());
    assert_eq!(
        login
            .login("after7@example.com", "new password 7")
            .await
            .status,
        200
    );
}

/// One process reads the file through a memory map (the default), the other
/// with `pread` (`--sqlite-mmap-mib 0`): each sees the other's writes at
/// once, and a session one ends is ended for the other.
#[tokio::test]
async fn a_mapped_reader_sees_another_process_writes_at_once() {
    let database = Backend::Sqlite.fresh_database().await;
    let mapped = ServerProcess::start(&database.url(), &[]);
    let copying = ServerProcess::start(&database.url(), &["--sqlite-mmap-mib", "0"]);
    let mut on_mapped = Browser::new(&mapped.base_url());
    assert_eq!(
        on_mapped
            .sign_up("mapped@example.com", PASSWORD)
            .await
            .status,
        200
    );
    let user_id = on_mapped.user_id().await;
    let mut on_copying = on_mapped.same_cookie_at(&copying.base_url());
    let changed = on_copying
        .patch_json(
            &format!("/api/users/{user_id}"),
            &json!({"email": "moved@example.com"}),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    let mut on_mapped = on_copying.same_cookie_at(&mapped.base_url());
    let session = on_mapped.get("/api/auth/session").await;
    assert_eq!(session.status, 200, "{}", session.text);
    assert_eq!(session.body["user"]["primary_email"], "moved@example.com");
    assert_eq!(on_mapped.logout().await.status, 200);
    let mut on_copying = on_mapped.same_cookie_at(&copying.base_url());
    assert_eq!(on_copying.get("/api/auth/session").await.status, 401);
}
