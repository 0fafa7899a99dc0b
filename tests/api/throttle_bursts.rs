//! The per-account throttle against a parallel attacker: a burst of wrong
//! passwords sent at once reaches at most five password checks (plus one
//! whose wait has ended), on login and on `current_password`, in one
//! instance and across two instances on one database.

use serde_json::json;
use tokio::task::JoinSet;

use crate::backend::Backend;
use crate::helpers::{Browser, TestResponse, spawn_app_with, spawn_instance};

const BURST: usize = 16;
/// The free failures, and one attempt whose one-second wait ended meanwhile.
const MOST_CHECKS: u64 = 5 + 1;
/// Argon2 slow enough that a burst arrives while its first checks still run,
/// which is when a check-then-record throttle lets everything through.
const SLOWER_ARGON2: [&str; 2] = ["--argon2-memory-kib", "8192"];

type Sending = std::pin::Pin<Box<dyn std::future::Future<Output = TestResponse> + Send>>;

/// Sends every request at once; their answers in any order.
async fn all_at_once(requests: Vec<Sending>) -> Vec<TestResponse> {
    let mut running = JoinSet::new();
    for request in requests {
        running.spawn(request);
    }
    let mut answers = Vec::new();
    while let Some(answer) = running.join_next().await {
        answers.push(answer.expect("request task"));
    }
    answers
}

fn wrong_login(mut browser: Browser, email: &'static str) -> Sending {
    Box::pin(async move { browser.login(email, "wrong password").await })
}

fn wrong_current_password(mut browser: Browser, user_id: String) -> Sending {
    Box::pin(async move {
        let body = json!({ "email": "moved@example.com", "current_password": "wrong password" });
        browser.update_user(&user_id, &body).await
    })
}

/// Every answer is the wrong-password one or a 429 with `Retry-After`, and
/// the throttle spoke.
fn assert_refused_or_throttled(answers: &[TestResponse], wrong_status: u16) {
    for answer in answers {
        match answer.status {
            429 => assert!(answer.header("retry-after").is_some(), "{}", answer.text),
            status => assert_eq!(status, wrong_status, "{}", answer.text),
        }
    }
    let throttled = answers.iter().filter(|answer| answer.status == 429).count();
    assert!(
        throttled as u64 >= BURST as u64 - MOST_CHECKS,
        "only {throttled} of {BURST} were throttled"
    );
}

backend_test!(a_burst_of_wrong_logins_reaches_at_most_five_password_checks);
async fn a_burst_of_wrong_logins_reaches_at_most_five_password_checks(backend: Backend) {
    let app = spawn_app_with(&backend, &SLOWER_ARGON2).await;
    app.signed_up("burst@example.com").await;
    let checks_before = app.hasher.verification_count();

    let requests = (0..BURST)
        .map(|_| wrong_login(app.browser(), "burst@example.com"))
        .collect();
    let answers = all_at_once(requests).await;

    let checks = app.hasher.verification_count() - checks_before;
    assert!(
        checks <= MOST_CHECKS,
        "{checks} password checks for a burst of {BURST}"
    );
    assert_refused_or_throttled(&answers, 401);
}

backend_test!(a_burst_of_wrong_current_passwords_reaches_at_most_five_password_checks);
async fn a_burst_of_wrong_current_passwords_reaches_at_most_five_password_checks(backend: Backend) {
    let app = spawn_app_with(&backend, &SLOWER_ARGON2).await;
    let (signed_in, user_id) = app.signed_up("burst@example.com").await;
    let checks_before = app.hasher.verification_count();

    let base = format!("http://{}", app.address);
    let requests = (0..BURST)
        .map(|_| wrong_current_password(signed_in.same_cookie_at(&base), user_id.clone()))
        .collect();
    let answers = all_at_once(requests).await;

    let checks = app.hasher.verification_count() - checks_before;
    assert!(
        checks <= MOST_CHECKS,
        "{checks} password checks for a burst of {BURST}"
    );
    assert_refused_or_throttled(&answers, 400);
    assert_eq!(
        app.stored_email(&user_id).await.as_deref(),
        Some("burst@example.com")
    );
}

postgres_test!(
    a_burst_split_over_two_instances_on_one_postgres_database_reaches_at_most_five_checks
);
async fn a_burst_split_over_two_instances_on_one_postgres_database_reaches_at_most_five_checks(
    backend: Backend,
) {
    let app = spawn_app_with(&backend, &SLOWER_ARGON2).await;
    let second = spawn_instance(&app.database.url(), &SLOWER_ARGON2).await;
    app.signed_up("burst@example.com").await;
    let checks_before = app.hasher.verification_count() + second.hasher.verification_count();

    let requests = (0..BURST)
        .map(|n| {
            let browser = if n % 2 == 0 {
                app.browser()
            } else {
                Browser::new(&second.base_url())
            };
            wrong_login(browser, "burst@example.com")
        })
        .collect();
    let answers = all_at_once(requests).await;

    let checks =
        app.hasher.verification_count() + second.hasher.verification_count() - checks_before;
    assert!(
        checks <= MOST_CHECKS,
        "{checks} password checks for a burst of {BURST} over two instances"
    );
    assert_refused_or_throttled(&answers, 401);
}
