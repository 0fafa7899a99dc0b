//! The real binary as a child process: every startup failure is one clear
//! line on stderr and a non-zero exit.

use std::process::{Command, Output};
use std::time::Duration;

use crate::process::BINARY;

/// Runs `serve` with `args` in `folder` and returns its output once it ends.
pub fn serve(args: &[&str], folder: &std::path::Path) -> Output {
    let mut child = Command::new(BINARY)
        .arg("serve")
        .args(args)
        .current_dir(folder)
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "off")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("binary starts");
    // A failing start ends at once; a successful one would run until killed.
    for _ in 0..100 {
        if child.try_wait().expect("poll child").is_some() {
            return child.wait_with_output().expect("output");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    panic!(
        "the process did not exit within 5 s: {:?}",
        child.wait_with_output()
    );
}

/// A non-zero exit with exactly one line on stderr, mentioning `expected`.
pub fn assert_one_line_failure(output: &Output, expected: &str) {
    assert!(!output.status.success(), "exit status {:?}", output.status);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line on stderr, got {stderr:?}");
    assert!(
        lines[0].contains(expected),
        "{:?} should mention {expected:?}",
        lines[0]
    );
}

#[test]
fn a_malformed_listen_address_is_one_line_and_non_zero() {
    let folder = tempfile::tempdir().unwrap();
    let output = serve(&["--listen", "not-an-address"], folder.path());
    assert_one_line_failure(&output, "--listen");
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn bad_durations_and_numbers_are_refused() {
    let folder = tempfile::tempdir().unwrap();
    for (args, flag) in [
        (&["--session-lifetime", "forever"][..], "--session-lifetime"),
        (
            &["--session-idle-timeout", "0s"][..],
            "--session-idle-timeout",
        ),
        (&["--hash-queue", "lots"][..], "--hash-queue"),
        (&["--cookie-secure", "yes"][..], "--cookie-secure"),
        (&["--sqlite-synchronous", "off"][..], "--sqlite-synchronous"),
        (&["--sqlite-mmap-mib", "2048"][..], "--sqlite-mmap-mib"),
        (&["--sqlite-mmap-mib", "all"][..], "--sqlite-mmap-mib"),
        (&["--database-url", "mysql://x"][..], "--database-url"),
        (&["--rate-limits", "maybe"][..], "--rate-limits"),
        (&["--login-rate-limit", "20"][..], "--login-rate-limit"),
        (
            &["--sign-up-rate-limit", "0/1m"][..],
            "--sign-up-rate-limit",
        ),
        (
            &["--update-rate-limit", "30/never"][..],
            "--update-rate-limit",
        ),
        (&["--trust-proxy", "two"][..], "--trust-proxy"),
        (
            &["--require-recent-auth", "0s"][..],
            "--require-recent-auth",
        ),
        (&["--strict", "yes"][..], "--strict"),
    ] {
        let output = serve(args, folder.path());
        assert_one_line_failure(&output, flag);
    }
}

#[test]
fn settings_that_contradict_each_other_are_refused() {
    let folder = tempfile::tempdir().unwrap();
    for (args, flag) in [
        (
            &["--session-idle-timeout", "31d"][..],
            "--session-idle-timeout",
        ),
        (&["--hash-workers", "0"][..], "--hash-workers"),
        (&["--argon2-memory-kib", "1"][..], "--argon2"),
        (&["--body-limit", "10"][..], "--body-limit"),
        (&["--password-min-length", "0"][..], "--password-min-length"),
        (
            &["--password-min-length", "257"][..],
            "--password-min-length",
        ),
    ] {
        let output = serve(args, folder.path());
        assert_one_line_failure(&output, flag);
    }
}

#[test]
fn a_bad_environment_variable_is_refused_like_a_flag() {
    let folder = tempfile::tempdir().unwrap();
    let output = Command::new(BINARY)
        .arg("serve")
        .env("NEPTUN_SESSION_LIFETIME", "soon")
        .current_dir(folder.path())
        .output()
        .unwrap();
    assert_one_line_failure(&output, "--session-lifetime");
}

#[test]
fn a_database_in_a_missing_folder_is_refused_without_creating_it() {
    let folder = tempfile::tempdir().unwrap();
    let missing = folder.path().join("missing").join("accounts.db");
    let url = format!("sqlite://{}", missing.display());

    let output = serve(
        &["--database-url", &url, "--listen", "127.0.0.1:0"],
        folder.path(),
    );

    assert_one_line_failure(&output, "does not exist");
    assert!(!folder.path().join("missing").exists());
}

#[test]
fn a_database_path_that_is_a_folder_is_refused() {
    let folder = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", folder.path().display());

    let output = serve(
        &["--database-url", &url, "--listen", "127.0.0.1:0"],
        folder.path(),
    );

    assert_one_line_failure(&output, "cannot open");
}

#[test]
fn a_port_in_use_is_one_line_and_non_zero() {
    let folder = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();

    let output = serve(&["--listen", &address], folder.path());

    assert_one_line_failure(&output, &format!("cannot listen on {address}"));
}

#[test]
fn a_missing_blocklist_file_is_one_line_and_non_zero() {
    let folder = tempfile::tempdir().unwrap();
    let output = serve(
        &[
            "--password-blocklist",
            "no-such-list.txt",
            "--listen",
            "127.0.0.1:0",
        ],
        folder.path(),
    );
    assert_one_line_failure(&output, "--password-blocklist");
}

#[test]
fn rate_limits_off_is_announced_as_a_warning() {
    let folder = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", folder.path().join("off.db").display());
    let server = crate::process::ServerProcess::start(&url, &["--rate-limits", "off"]);
    let log = server.log();
    assert!(
        log.lines()
            .any(|line| line.contains(r#""level":"WARN""#) && line.contains("--rate-limits off")),
        "no warning in {log}"
    );
}

#[test]
fn help_lists_every_setting_with_its_environment_variable() {
    let output = Command::new(BINARY)
        .args(["serve", "--help"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for (flag, env) in [
        ("--listen", "NEPTUN_LISTEN"),
        ("--database-url", "DATABASE_URL"),
        (
            "--database-max-connections",
            "NEPTUN_DATABASE_MAX_CONNECTIONS",
        ),
        ("--cookie-secure", "NEPTUN_COOKIE_SECURE"),
        ("--public-url", "NEPTUN_PUBLIC_URL"),
        ("--cors-origin", "NEPTUN_CORS_ORIGINS"),
        ("--header-read-timeout", "NEPTUN_HEADER_READ_TIMEOUT"),
        ("--idle-timeout", "NEPTUN_IDLE_TIMEOUT"),
        ("--request-timeout", "NEPTUN_REQUEST_TIMEOUT"),
        ("--max-connections", "NEPTUN_MAX_CONNECTIONS"),
        ("--session-idle-timeout", "NEPTUN_SESSION_IDLE_TIMEOUT"),
        ("--session-lifetime", "NEPTUN_SESSION_LIFETIME"),
        ("--hash-workers", "NEPTUN_HASH_WORKERS"),
        ("--hash-queue", "NEPTUN_HASH_QUEUE"),
        ("--argon2-memory-kib", "NEPTUN_ARGON2_MEMORY_KIB"),
        ("--argon2-iterations", "NEPTUN_ARGON2_ITERATIONS"),
        ("--argon2-parallelism", "NEPTUN_ARGON2_PARALLELISM"),
        ("--body-limit", "NEPTUN_BODY_LIMIT"),
        ("--sqlite-synchronous", "NEPTUN_SQLITE_SYNCHRONOUS"),
        ("--sqlite-mmap-mib", "NEPTUN_SQLITE_MMAP_MIB"),
        ("--log-format", "NEPTUN_LOG_FORMAT"),
        ("--trust-proxy", "NEPTUN_TRUST_PROXY"),
        ("--rate-limits", "NEPTUN_RATE_LIMITS"),
        ("--login-rate-limit", "NEPTUN_LOGIN_RATE_LIMIT"),
        ("--sign-up-rate-limit", "NEPTUN_SIGN_UP_RATE_LIMIT"),
        ("--update-rate-limit", "NEPTUN_UPDATE_RATE_LIMIT"),
        ("--require-recent-auth", "NEPTUN_REQUIRE_RECENT_AUTH"),
        ("--password-min-length", "NEPTUN_PASSWORD_MIN_LENGTH"),
        ("--password-blocklist", "NEPTUN_PASSWORD_BLOCKLIST"),
        ("--strict", "NEPTUN_STRICT"),
        ("--root-redirect", "NEPTUN_ROOT_REDIRECT"),
    ] {
        assert!(
            help.contains(flag) && help.contains(env),
            "{flag} / {env} missing from --help"
        );
    }
}

#[test]
fn postgres_without_a_server_key_is_refused_at_start() {
    let folder = tempfile::tempdir().unwrap();
    let output = serve(
        &["--database-url", "postgres://neptun@127.0.0.1:1/accounts"],
        folder.path(),
    );
    assert_one_line_failure(&output, "--secret-key-file");
}

#[test]
fn an_unreachable_postgres_server_is_one_line_and_non_zero() {
    let folder = tempfile::tempdir().unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let url = format!("postgres://neptun:secret@127.0.0.1:{port}/accounts");

    let key = crate::helpers::test_key_file();
    let output = serve(
        &[
            "--database-url",
            &url,
            "--listen",
            "127.0.0.1:0",
            "--secret-key-file",
            key,
        ],
        folder.path(),
    );

    assert_one_line_failure(&output, "cannot reach PostgreSQL");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("secret"),
        "the password is never printed: {stderr}"
    );
}

#[test]
fn a_wildcard_or_malformed_cors_origin_is_refused_at_start() {
    let folder = tempfile::tempdir().unwrap();
    for origin in ["*", "null", "example.com", "https://example.com/path"] {
        let output = serve(
            &["--cors-origin", origin, "--listen", "127.0.0.1:0"],
            folder.path(),
        );
        assert_one_line_failure(&output, "--cors-origin");
    }
    let output = Command::new(BINARY)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("NEPTUN_CORS_ORIGINS", "https://ok.example.com,*")
        .current_dir(folder.path())
        .output()
        .unwrap();
    assert_one_line_failure(&output, "--cors-origin");
}

#[test]
fn a_malformed_public_url_is_refused_at_start() {
    let folder = tempfile::tempdir().unwrap();
    let output = serve(&["--public-url", "accounts.example.com"], folder.path());
    assert_one_line_failure(&output, "--public-url");
}
