//! Contract section 9, delivery: a mail written while the relay is down
//! waits in the outbox and arrives once it is up; a recipient the relay
//! refuses for good is marked failed, its body erased, and other mail
//! still goes out.

use std::time::{Duration, Instant};

use crate::backend::Backend;
use crate::helpers::TestApp;
use crate::password_reset::{ask_code, code_in, mailed_code, with_mail};
use crate::smtp_server::{SmtpServer, free_port};

/// Waits (at most 20 s) until `sql` counts `expected`.
async fn wait_for_count(app: &TestApp, sql: &str, expected: i64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while app.count(sql).await != expected {
        assert!(Instant::now() < deadline, "{sql} never counted {expected}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

backend_test!(a_mail_written_while_the_relay_is_down_arrives_once_it_is_up);
async fn a_mail_written_while_the_relay_is_down_arrives_once_it_is_up(backend: Backend) {
    let port = free_port();
    let app = with_mail(&backend, &format!("smtp://127.0.0.1:{port}"), &[]).await;
    app.signed_up("patient@example.com").await;
    let mut stranger = app.browser();

    ask_code(&mut stranger, "patient@example.com").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM outbox WHERE status = 'queued'")
            .await,
        1,
        "kept while nobody answers"
    );

    let smtp = SmtpServer::start_on(port).await;
    let mails = smtp.wait_for("patient@example.com", 1).await;
    let code = code_in(&mails[0].text());
    assert!(
        mails[0].html().contains(&code),
        "the HTML part carries it too"
    );
    wait_for_count(
        &app,
        "SELECT COUNT(*) FROM outbox WHERE status = 'sent' AND sealed_body IS NULL",
        1,
    )
    .await;
}

backend_test!(a_refused_recipient_is_marked_failed_and_other_mail_still_goes_out);
async fn a_refused_recipient_is_marked_failed_and_other_mail_still_goes_out(backend: Backend) {
    let smtp = SmtpServer::start().await;
    smtp.refuse("gone@example.com");
    let app = with_mail(&backend, &smtp.url(), &[]).await;
    app.signed_up("gone@example.com").await;
    app.signed_up("here@example.com").await;
    let mut stranger = app.browser();

    ask_code(&mut stranger, "gone@example.com").await;
    wait_for_count(
        &app,
        "SELECT COUNT(*) FROM outbox WHERE status = 'failed' AND sealed_body IS NULL",
        1,
    )
    .await;
    assert!(smtp.to("gone@example.com").is_empty());

    ask_code(&mut stranger, "here@example.com").await;
    mailed_code(&smtp, "here@example.com", 1).await;
}
