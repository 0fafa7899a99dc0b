//! The admin commands, run as the operator would, against a database the
//! server is using at the same time.

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::backend::{Backend, TestDatabase};
use crate::helpers::{Browser, PASSWORD};
use crate::process::{BINARY, ServerProcess};

/// Runs `neptun-accounts <args>` on `database` (cheap Argon2), feeding `stdin`.
pub fn admin(database: &TestDatabase, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(BINARY)
        .args(args)
        // Cheap Argon2 through the environment: only the commands that set
        // a password take these settings.
        .env("NEPTUN_ARGON2_MEMORY_KIB", "256")
        .env("NEPTUN_ARGON2_ITERATIONS", "1")
        .env("DATABASE_URL", database.url())
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("stdin written");
    child.wait_with_output().expect("the command ends")
}

/// Runs a command that must succeed with `--json`; its document.
pub fn admin_json(database: &TestDatabase, args: &[&str], stdin: &str) -> Value {
    let mut args = args.to_vec();
    args.push("--json");
    let output = admin(database, &args, stdin);
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("one JSON document")
}

struct Running {
    server: ServerProcess,
    database: TestDatabase,
}

async fn running(backend: &Backend) -> Running {
    let database = backend.fresh_database().await;
    let server = ServerProcess::start(&database.url(), &[]);
    Running { server, database }
}

impl Running {
    async fn signed_up(&self, email: &str) -> Browser {
        let mut browser = Browser::new(&self.server.base_url());
        assert_eq!(browser.sign_up(email, PASSWORD).await.status, 200);
        browser
    }

    async fn login_status(&self, email: &str, password: &str) -> u16 {
        Browser::new(&self.server.base_url())
            .login(email, password)
            .await
            .status
    }
}

backend_test!(user_create_makes_an_account_that_logs_in_through_the_api);
async fn user_create_makes_an_account_that_logs_in_through_the_api(backend: Backend) {
    let service = running(&backend).await;
    let created = admin_json(
        &service.database,
        &["user", "create", "--email", "Made@Example.com"],
        "made by hand\n",
    );
    assert_eq!(created["email"], "made@example.com");
    assert_eq!(created["sessions"], 0);
    assert_eq!(
        service
            .login_status("made@example.com", "made by hand")
            .await,
        200
    );

    let short = admin(
        &service.database,
        &["user", "create", "--email", "b@example.com"],
        "short\n",
    );
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 8 characters"));
    let taken = admin(
        &service.database,
        &["user", "create", "--email", "made@example.com"],
        "another one\n",
    );
    assert!(String::from_utf8_lossy(&taken.stderr).contains("already has this email"));
    let on_argv = admin(
        &service.database,
        &[
            "user",
            "create",
            "--email",
            "c@example.com",
            "--password",
            "on the command line",
        ],
        "",
    );
    assert!(!on_argv.status.success(), "no password on the command line");
}

backend_test!(user_list_pages_through_accounts_in_creation_order);
async fn user_list_pages_through_accounts_in_creation_order(backend: Backend) {
    let service = running(&backend).await;
    for name in ["first", "second", "third"] {
        service.signed_up(&format!("{name}@example.com")).await;
    }
    let page = admin_json(&service.database, &["user", "list", "--limit", "2"], "");
    let emails: Vec<&str> = page["users"]
        .as_array()
        .expect("users")
        .iter()
        .map(|user| user["email"].as_str().expect("email"))
        .collect();
    assert_eq!(emails, ["first@example.com", "second@example.com"]);
    assert_eq!(page["users"][0]["sessions"], 1);
    let after = page["next_after"].as_str().expect("a next page");
    let rest = admin_json(
        &service.database,
        &["user", "list", "--limit", "2", "--after", after],
        "",
    );
    assert_eq!(rest["users"][0]["email"], "third@example.com");
    assert_eq!(rest["users"].as_array().map(Vec::len), Some(1));
    assert!(rest["next_after"].is_null());

    let human = admin(&service.database, &["user", "list"], "");
    assert!(String::from_utf8_lossy(&human.stdout).contains("second@example.com"));
}

backend_test!(user_show_finds_an_account_by_email_or_id);
async fn user_show_finds_an_account_by_email_or_id(backend: Backend) {
    let service = running(&backend).await;
    let mut browser = service.signed_up("shown@example.com").await;
    let id = browser.user_id().await;
    let by_email = admin_json(
        &service.database,
        &["user", "show", "Shown@example.com"],
        "",
    );
    assert_eq!(by_email["id"], id.as_str());
    let by_id = admin_json(&service.database, &["user", "show", &id], "");
    assert_eq!(by_id["email"], "shown@example.com");
    let missing = admin(
        &service.database,
        &["user", "show", "nobody@example.com"],
        "",
    );
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no account"));
}

backend_test!(user_set_password_replaces_it_and_ends_every_session_at_once);
async fn user_set_password_replaces_it_and_ends_every_session_at_once(backend: Backend) {
    let service = running(&backend).await;
    let mut browser = service.signed_up("reset@example.com").await;
    let result = admin_json(
        &service.database,
        &["user", "set-password", "reset@example.com"],
        "a brand new passphrase\r\n",
    );
    assert_eq!(result["sessions_ended"], 1);
    assert_eq!(browser.get("/api/auth/session").await.status, 401);
    assert_eq!(
        service.login_status("reset@example.com", PASSWORD).await,
        401
    );
    assert_eq!(
        service
            .login_status("reset@example.com", "a brand new passphrase")
            .await,
        200
    );
}

backend_test!(user_set_email_changes_it_for_the_running_service);
async fn user_set_email_changes_it_for_the_running_service(backend: Backend) {
    let service = running(&backend).await;
    let mut browser = service.signed_up("old@example.com").await;
    service.signed_up("other@example.com").await;
    admin_json(
        &service.database,
        &["user", "set-email", "old@example.com", "New@example.com"],
        "",
    );
    let session = browser.get("/api/auth/session").await;
    assert_eq!(session.body["user"]["primary_email"], "new@example.com");
    let taken = admin(
        &service.database,
        &["user", "set-email", "new@example.com", "other@example.com"],
        "",
    );
    assert!(!taken.status.success());
    let invalid = admin(
        &service.database,
        &["user", "set-email", "new@example.com", "not-an-email"],
        "",
    );
    assert!(String::from_utf8_lossy(&invalid.stderr).contains("not a valid email"));
}

backend_test!(user_delete_removes_the_account_and_its_sessions);
async fn user_delete_removes_the_account_and_its_sessions(backend: Backend) {
    let service = running(&backend).await;
    let mut browser = service.signed_up("gone@example.com").await;
    let deleted = admin_json(
        &service.database,
        &["user", "delete", "gone@example.com", "--yes"],
        "",
    );
    assert_eq!(deleted["sessions_ended"], 1);
    assert_eq!(browser.get("/api/auth/session").await.status, 401);
    service.signed_up("gone@example.com").await;
}

backend_test!(user_revoke_sessions_makes_a_live_session_401_at_once);
async fn user_revoke_sessions_makes_a_live_session_401_at_once(backend: Backend) {
    let service = running(&backend).await;
    let mut first = service.signed_up("revoked@example.com").await;
    let mut second = Browser::new(&service.server.base_url());
    assert_eq!(
        second.login("revoked@example.com", PASSWORD).await.status,
        200
    );
    let result = admin_json(
        &service.database,
        &["user", "revoke-sessions", "revoked@example.com"],
        "",
    );
    assert_eq!(result["sessions_ended"], 2);
    assert_eq!(first.head("/api/auth/check").await.status, 401);
    assert_eq!(second.head("/api/auth/check").await.status, 401);
    assert_eq!(
        service.login_status("revoked@example.com", PASSWORD).await,
        200
    );
}

#[tokio::test]
async fn backup_copies_a_sqlite_database_in_use() {
    let service = running(&Backend::Sqlite).await;
    service.signed_up("kept@example.com").await;
    let folder = tempfile::tempdir().expect("folder");
    let copy = folder.path().join("copy.db");
    let copy_arg = copy.to_str().expect("utf-8");
    admin_json(&service.database, &["backup", copy_arg], "");

    let restored = ServerProcess::start(&format!("sqlite://{copy_arg}"), &[]);
    let status = Browser::new(&restored.base_url())
        .login("kept@example.com", PASSWORD)
        .await
        .status;
    assert_eq!(status, 200, "the copy serves the account");
    let again = admin(&service.database, &["backup", copy_arg], "");
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("exists"),
        "never overwrites"
    );
}

postgres_test!(backup_of_postgres_points_to_pg_dump);
async fn backup_of_postgres_points_to_pg_dump(backend: Backend) {
    let service = running(&backend).await;
    let output = admin(&service.database, &["backup", "/nonexistent-dir/x.db"], "");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("pg_dump"));
}

backend_test!(a_login_checked_against_a_password_reset_meanwhile_is_refused);
/// A login verifies the old password (slowly) while an operator resets it:
/// the login must not undo the reset with a rehash, nor keep a session the
/// reset revoked.
async fn a_login_checked_against_a_password_reset_meanwhile_is_refused(backend: Backend) {
    let database = backend.fresh_database().await;
    let server = ServerProcess::start(
        &database.url(),
        &[
            "--argon2-memory-kib",
            "65536",
            "--argon2-iterations",
            "12",
            "--hash-workers",
            "2",
        ],
    );
    let mut owner = Browser::new(&server.base_url());
    assert_eq!(
        owner.sign_up("raced@example.com", PASSWORD).await.status,
        200
    );

    let base = server.base_url();
    let login = tokio::spawn(async move {
        Browser::new(&base)
            .login("raced@example.com", PASSWORD)
            .await
            .status
    });
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let reset = admin_json(
        &database,
        &["user", "set-password", "raced@example.com"],
        "reset by the operator\n",
    );
    assert_eq!(reset["sessions_ended"], 1);

    assert_eq!(login.await.expect("the login task"), 401);
    let account = admin_json(&database, &["user", "show", "raced@example.com"], "");
    assert_eq!(account["sessions"], 0, "no session outlives the reset");
    assert_eq!(
        Browser::new(&server.base_url())
            .login("raced@example.com", PASSWORD)
            .await
            .status,
        401,
        "the old password stays replaced"
    );
}
