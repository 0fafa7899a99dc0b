//! Contract sections 9 and 12: change notifications, the undo of an email
//! change, and one send per mail over two instances (delivery when the
//! relay is down or refuses: mail_delivery.rs).

use std::time::Duration;

use serde_json::json;

use crate::backend::Backend;
use crate::helpers::Browser;
use crate::password_reset::{code_in, try_code, with_mail};
use crate::smtp_server::SmtpServer;

/// The undo token in the mail to the old address.
fn undo_token(text: &str) -> String {
    text.split_whitespace()
        .find_map(|word| word.split_once("undo-email-change?token="))
        .map(|(_, token)| token.trim().to_owned())
        .unwrap_or_else(|| panic!("no undo link in {text}"))
}

async fn undo(browser: &mut Browser, token: &str) -> crate::helpers::TestResponse {
    browser
        .post_json("/api/auth/undo-email-change", &json!({ "token": token }))
        .await
}

backend_test!(a_password_change_is_mailed_to_the_account);
async fn a_password_change_is_mailed_to_the_account(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = with_mail(&backend, &smtp.url(), &[]).await;
    let (mut browser, user_id) = app.signed_up("told@example.com").await;
    let update = browser
        .update_user(&user_id, &json!({"password": "a changed passphrase"}))
        .await;
    assert_eq!(update.status, 200);
    let mails = smtp.wait_for("told@example.com", 1).await;
    assert_eq!(mails[0].subject(), "Your password was changed");
    assert!(!mails[0].text().contains("a changed passphrase"));
}

backend_test!(an_email_change_is_undone_from_the_old_address);
async fn an_email_change_is_undone_from_the_old_address(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = with_mail(&backend, &smtp.url(), &[]).await;
    let (mut hijacker, user_id) = app.signed_up("owner@example.com").await;
    let update = hijacker
        .update_user(&user_id, &json!({"email": "hijacker@evil.example"}))
        .await;
    assert_eq!(update.status, 200);

    let notice = smtp.wait_for("owner@example.com", 1).await;
    let text = notice[0].text();
    assert!(text.contains("h***@evil.example"), "{text}");
    assert!(!text.contains("hijacker@"), "the new address is masked");
    assert!(notice[0].html().contains("h***@evil.example"));
    let token = undo_token(&text);

    // From any browser, without a session.
    let mut owner = app.browser();
    let restored = undo(&mut owner, &token).await;
    assert_eq!(restored.status, 200, "{}", restored.text);
    assert_eq!(restored.body["user"]["primary_email"], "owner@example.com");
    assert_eq!(
        hijacker.head("/api/auth/check").await.status,
        401,
        "every session ended"
    );
    assert_eq!(
        app.stored_email(&user_id).await.as_deref(),
        Some("owner@example.com")
    );

    let mails = smtp.wait_for("owner@example.com", 2).await;
    let code = code_in(&mails[1].text());
    let reset = try_code(
        &mut owner,
        "owner@example.com",
        &code,
        "the owner's passphrase",
    )
    .await;
    assert_eq!(reset["success"], true);
    assert_eq!(
        owner
            .login("owner@example.com", "the owner's passphrase")
            .await
            .status,
        200
    );
    let events = owner.get(&format!("/api/users/{user_id}/events")).await;
    assert!(
        events.text.contains("email_change_undone"),
        "{}",
        events.text
    );

    undo(&mut app.browser(), &token)
        .await
        .assert_error(400, "Invalid or expired link.");
}

backend_test!(an_undo_of_an_address_taken_meanwhile_is_409_and_the_link_lives_on);
async fn an_undo_of_an_address_taken_meanwhile_is_409_and_the_link_lives_on(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = with_mail(&backend, &smtp.url(), &[]).await;
    let (mut first, user_id) = app.signed_up("wanted@example.com").await;
    let moved = first
        .update_user(&user_id, &json!({"email": "moved@example.com"}))
        .await;
    assert_eq!(moved.status, 200);
    let token = undo_token(&smtp.wait_for("wanted@example.com", 1).await[0].text());
    let (_taker, taker_id) = app.signed_up("wanted@example.com").await;

    undo(&mut app.browser(), &token)
        .await
        .assert_error(409, "A user with this email already exists");
    assert_eq!(
        app.stored_email(&user_id).await.as_deref(),
        Some("moved@example.com")
    );

    app.database
        .execute("DELETE FROM users WHERE id = $1", &[&taker_id])
        .await;
    assert_eq!(
        undo(&mut app.browser(), &token).await.status,
        200,
        "still usable"
    );
}

backend_test!(expired_and_malformed_undo_links_are_400);
async fn expired_and_malformed_undo_links_are_400(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = with_mail(&backend, &smtp.url(), &[]).await;
    let (mut browser, user_id) = app.signed_up("late@example.com").await;
    let moved = browser
        .update_user(&user_id, &json!({"email": "later@example.com"}))
        .await;
    assert_eq!(moved.status, 200);
    let token = undo_token(&smtp.wait_for("late@example.com", 1).await[0].text());
    app.database
        .execute("UPDATE email_change_undo SET expires_at = 0", &[])
        .await;
    for token in [token.as_str(), "not-a-token", ""] {
        undo(&mut app.browser(), token)
            .await
            .assert_error(400, "Invalid or expired link.");
    }
    assert_eq!(
        app.stored_email(&user_id).await.as_deref(),
        Some("later@example.com")
    );
}

postgres_test!(two_instances_send_each_mail_once);
async fn two_instances_send_each_mail_once(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let first = with_mail(&backend, &smtp.url(), &["--rate-limits", "off"]).await;
    let second = crate::helpers::spawn_instance(
        &first.database.url(),
        &[
            "--mail-url",
            &smtp.url(),
            "--mail-from",
            crate::password_reset::MAIL_FROM,
            "--public-url",
            crate::password_reset::PUBLIC_URL,
            "--rate-limits",
            "off",
        ],
    )
    .await;
    let emails: Vec<String> = (0..12).map(|n| format!("once{n}@example.com")).collect();
    for (n, email) in emails.iter().enumerate() {
        first.signed_up(email).await;
        // Queued through either instance; both senders poll the one outbox.
        let mut browser = if n % 2 == 0 {
            first.browser()
        } else {
            Browser::new(&second.base_url())
        };
        crate::password_reset::ask_code(&mut browser, email).await;
    }
    for email in &emails {
        smtp.wait_for(email, 1).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    for email in &emails {
        assert_eq!(smtp.to(email).len(), 1, "{email} got one mail");
    }
}
