//! The command line as a newcomer meets it: settings that start, errors that
//! name what is missing, help that shows what applies, and admin commands
//! that never surprise (no database created by a typo, no deletion without
//! a confirmation).

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::admin::{admin, admin_json};
use crate::backend::Backend;
use crate::helpers::{Browser, PASSWORD};
use crate::process::{BINARY, ServerProcess};

fn run(args: &[&str]) -> Output {
    Command::new(BINARY)
        .args(args)
        .env_remove("DATABASE_URL")
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Starts `serve` with `args` and `env`; whether it reached "listening"
/// (it is stopped either way).
fn serve_starts(args: &[&str], env: &[(&str, &str)]) -> Result<(), String> {
    let folder = tempfile::tempdir().expect("folder");
    let mut child = Command::new(BINARY)
        .args(["serve", "--listen", "127.0.0.1:0", "--log-format", "json"])
        .args(args)
        .envs(env.iter().copied())
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "info")
        .current_dir(folder.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let stderr = child.stderr.take().expect("stderr");
    let mut log = String::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut lines = BufReader::new(stderr).lines();
    let started = loop {
        match lines.next() {
            Some(Ok(line)) => {
                let listening = line.contains("neptun-accounts listening");
                log.push_str(&line);
                log.push('\n');
                if listening {
                    break true;
                }
            }
            _ => break false,
        }
        if Instant::now() > deadline {
            break false;
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    if started { Ok(()) } else { Err(log) }
}

#[test]
fn a_session_lifetime_alone_starts_with_the_idle_timeout_clamped() {
    serve_starts(&["--session-lifetime", "3s"], &[]).expect("a 3s lifetime starts");
    serve_starts(&[], &[("NEPTUN_SESSION_LIFETIME", "2h")]).expect("a 2h lifetime starts");
    let refused = serve_starts(
        &["--session-lifetime", "1h", "--session-idle-timeout", "2h"],
        &[],
    )
    .expect_err("two contradictory values are refused");
    assert!(
        refused.contains("--session-idle-timeout: must not be longer than --session-lifetime"),
        "{refused}"
    );
}

#[test]
fn no_arguments_prints_the_help() {
    let output = run(&[]);
    assert_eq!(output.status.code(), Some(2));
    let help = stderr(&output);
    for part in [
        "Usage: neptun-accounts <COMMAND>",
        "serve",
        "user",
        "backup",
    ] {
        assert!(help.contains(part), "{part} missing from {help}");
    }
    let user = stderr(&run(&["user"]));
    assert!(user.contains("revoke-sessions"), "{user}");
}

#[test]
fn a_mistyped_subcommand_suggests_the_near_one() {
    let output = run(&["usr", "list"]);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(message.contains("'usr'"), "{message}");
    assert!(message.contains("'user'"), "{message}");
}

#[test]
fn a_missing_argument_is_named_on_one_line() {
    for (args, missing) in [
        (&["user", "show"][..], "<ID|EMAIL>"),
        (&["user", "create"][..], "--email <EMAIL>"),
        (&["user", "set-email", "a@example.com"][..], "<EMAIL>"),
    ] {
        let output = run(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let message = stderr(&output);
        assert_eq!(message.lines().count(), 1, "{args:?}: {message}");
        assert!(
            message.contains(&format!("required arguments were not provided: {missing}")),
            "{args:?}: {message}"
        );
    }
}

#[test]
fn admin_help_shows_only_the_settings_that_apply() {
    let help = |args: &[&str]| String::from_utf8_lossy(&run(args).stdout).into_owned();
    for args in [
        &["user", "list", "--help"][..],
        &["user", "delete", "--help"],
        &["backup", "--help"],
    ] {
        let text = help(args);
        assert!(text.contains("--database-url <URL>"), "{args:?}: {text}");
        for serve_only in [
            "--listen",
            "--cookie-secure",
            "--argon2-memory-kib",
            "--rate-limits",
        ] {
            assert!(!text.contains(serve_only), "{args:?} lists {serve_only}");
        }
    }
    let create = help(&["user", "create", "--help"]);
    for needed in [
        "--email <EMAIL>",
        "--argon2-memory-kib",
        "--password-min-length",
    ] {
        assert!(create.contains(needed), "{needed} missing: {create}");
    }
    assert!(!create.contains("--listen"), "{create}");
}

#[test]
fn admin_commands_never_create_a_missing_sqlite_database() {
    let folder = tempfile::tempdir().expect("folder");
    let path = folder.path().join("typo.db");
    let url = format!("sqlite://{}", path.display());
    for args in [
        &["user", "list", "--database-url", &url][..],
        &["user", "show", "a@example.com", "--database-url", &url],
        &["backup", "copy.db", "--database-url", &url],
    ] {
        let output = run(args);
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        let message = stderr(&output);
        assert_eq!(message.lines().count(), 1, "{message}");
        assert!(message.contains("no database at"), "{message}");
    }
    assert!(!path.exists(), "no empty database was left behind");
}

backend_test!(user_list_has_a_header_and_says_when_there_are_no_users);
async fn user_list_has_a_header_and_says_when_there_are_no_users(backend: Backend) {
    let database = backend.fresh_database().await;
    let server = ServerProcess::start(&database.url(), &[]);
    let empty = admin(&database, &["user", "list"], "");
    assert!(empty.status.success());
    assert_eq!(String::from_utf8_lossy(&empty.stdout).trim(), "no users");

    for name in ["one", "two"] {
        let mut browser = Browser::new(&server.base_url());
        let email = format!("{name}@example.com");
        assert_eq!(browser.sign_up(&email, PASSWORD).await.status, 200);
    }
    // Exactly a page's worth: no "more" line and no next page.
    let listed = admin(&database, &["user", "list", "--limit", "2"], "");
    let text = String::from_utf8_lossy(&listed.stdout).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[0].starts_with("id") && lines[0].contains("email"),
        "{text}"
    );
    assert!(!text.contains("more:"), "{text}");
    let page = admin_json(&database, &["user", "list", "--limit", "2"], "");
    assert!(page["next_after"].is_null(), "{page}");

    let first = admin(&database, &["user", "list", "--limit", "1"], "");
    let text = String::from_utf8_lossy(&first.stdout).into_owned();
    assert!(
        text.lines()
            .last()
            .unwrap_or("")
            .starts_with("more: --after "),
        "{text}"
    );
}

backend_test!(user_list_refuses_a_malformed_after);
async fn user_list_refuses_a_malformed_after(backend: Backend) {
    let database = backend.fresh_database().await;
    let _server = ServerProcess::start(&database.url(), &[]);
    let output = admin(&database, &["user", "list", "--after", "not-an-id"], "");
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(message.contains("is not a user id"), "{message}");
}

backend_test!(user_delete_without_yes_off_a_terminal_deletes_nothing);
async fn user_delete_without_yes_off_a_terminal_deletes_nothing(backend: Backend) {
    let database = backend.fresh_database().await;
    let server = ServerProcess::start(&database.url(), &[]);
    let mut browser = Browser::new(&server.base_url());
    assert_eq!(
        browser.sign_up("kept@example.com", PASSWORD).await.status,
        200
    );

    let refused = admin(&database, &["user", "delete", "kept@example.com"], "yes\n");
    assert_eq!(refused.status.code(), Some(1));
    assert!(stderr(&refused).contains("--yes"), "{}", stderr(&refused));
    assert_eq!(browser.head("/api/auth/check").await.status, 200);

    let deleted = admin(
        &database,
        &["user", "delete", "kept@example.com", "--yes"],
        "",
    );
    assert!(deleted.status.success(), "{}", stderr(&deleted));
    assert_eq!(browser.head("/api/auth/check").await.status, 401);
}

#[test]
fn help_placeholders_name_the_kind_of_value() {
    for args in [
        &["serve", "--help"][..],
        &["user", "create", "--help"],
        &["backup", "--help"],
    ] {
        let help = String::from_utf8_lossy(&run(args).stdout).into_owned();
        let placeholders: Vec<&str> = help
            .split('<')
            .skip(1)
            .filter_map(|rest| rest.split_once('>').map(|(inside, _)| inside))
            .collect();
        assert!(!placeholders.is_empty(), "{args:?}");
        for placeholder in placeholders {
            // clap's fallback is the field name in capitals (<SQLITE_SYNCHRONOUS>).
            assert!(
                !placeholder.contains('_'),
                "{args:?}: <{placeholder}> is a field name, not a kind of value"
            );
        }
    }
}
