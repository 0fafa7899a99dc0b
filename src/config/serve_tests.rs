//! The settings of `serve` as the command line parses them.

use std::path::PathBuf;

use super::*;
use crate::config::BlocklistSource;

fn parsed(args: &[&str]) -> Config {
    #[derive(clap::Parser)]
    struct Settings {
        #[command(flatten)]
        config: Config,
    }
    let mut argv = vec!["neptun-accounts"];
    argv.extend_from_slice(args);
    <Settings as clap::Parser>::try_parse_from(argv)
        .expect("valid settings")
        .config
}

#[test]
fn the_optional_protections_are_off_by_default() {
    assert_eq!(
        parsed(&[]).protections(),
        Protections {
            require_recent_auth: None,
            password_min_length: 8,
            password_blocklist: None,
        }
    );
}

#[test]
fn strict_applies_the_recommended_values_and_explicit_settings_win() {
    assert_eq!(
        parsed(&["--strict"]).protections(),
        Protections {
            require_recent_auth: Some(Duration::from_secs(600)),
            password_min_length: 15,
            password_blocklist: Some(BlocklistSource::Common),
        }
    );
    assert_eq!(
        parsed(&[
            "--strict",
            "--require-recent-auth",
            "2m",
            "--password-min-length",
            "12",
            "--password-blocklist",
            "mine.txt",
        ])
        .protections(),
        Protections {
            require_recent_auth: Some(Duration::from_secs(120)),
            password_min_length: 12,
            password_blocklist: Some(BlocklistSource::File(PathBuf::from("mine.txt"))),
        }
    );
    assert_eq!(
        parsed(&["--strict", "false"]).protections(),
        parsed(&[]).protections()
    );
}

#[test]
fn the_allowed_hosts_default_to_loopback_names_on_loopback_and_the_public_host() {
    let hosts = |args: &[&str]| {
        parsed(args)
            .allowed_hosts()
            .map(|hosts| hosts.iter().map(ToString::to_string).collect::<Vec<_>>())
    };
    assert_eq!(
        hosts(&[]),
        Some(vec!["localhost".into(), "127.0.0.1".into(), "[::1]".into()])
    );
    assert_eq!(
        hosts(&["--public-url", "https://accounts.example.com"]),
        Some(vec![
            "localhost".into(),
            "127.0.0.1".into(),
            "[::1]".into(),
            "accounts.example.com".into()
        ])
    );
    assert_eq!(
        hosts(&[
            "--listen",
            "0.0.0.0:3000",
            "--public-url",
            "https://a.example:8443"
        ]),
        Some(vec!["a.example:8443".into()])
    );
    assert_eq!(hosts(&["--listen", "0.0.0.0:3000"]), None);
    assert_eq!(
        hosts(&["--allowed-hosts", "x.example,y.example:1"]),
        Some(vec!["x.example".into(), "y.example:1".into()])
    );
}

#[test]
fn a_lifetime_alone_clamps_the_default_idle_timeout() {
    let config = parsed(&["--session-lifetime", "3s"]);
    assert!(config.validate().is_ok());
    assert_eq!(config.session_idle_timeout(), Duration::from_secs(3));
    let config = parsed(&["--session-lifetime", "2h"]);
    assert_eq!(config.session_idle_timeout(), Duration::from_secs(7200));
    let config = parsed(&[]);
    assert_eq!(
        config.session_idle_timeout(),
        Duration::from_secs(7 * 86_400)
    );
}

#[test]
fn two_explicit_contradictory_session_durations_are_refused() {
    let config = parsed(&["--session-lifetime", "1h", "--session-idle-timeout", "2h"]);
    let err = config.validate().expect_err("idle longer than lifetime");
    assert_eq!(err.flag, "--session-idle-timeout");
    let config = parsed(&["--session-lifetime", "2h", "--session-idle-timeout", "1h"]);
    assert_eq!(config.session_idle_timeout(), Duration::from_secs(3600));
}
