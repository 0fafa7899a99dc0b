//! The settings every test app and test binary starts with: those of the
//! command line, plus cheap Argon2, plain-http cookies and a shared server
//! key, unless a test names its own.

use clap::Parser;
use neptun_accounts::config::Config;

/// Parses settings exactly as the binary does, with cheap Argon2 and plain
/// http cookies unless the test's own arguments say otherwise.
pub fn config(database_url: &str, extra: &[&str]) -> Config {
    #[derive(Parser)]
    struct Settings {
        #[command(flatten)]
        config: Config,
    }
    let mut args = vec!["neptun-accounts", "--database-url", database_url];
    args.extend(with_test_defaults(extra));
    Settings::parse_from(args).config
}

/// `extra`, after the test defaults it does not set itself: cheap Argon2,
/// plain-http cookies and a shared server key (which PostgreSQL requires).
/// For the app in process and the binary alike.
pub fn with_test_defaults<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let defaults = [
        ("--cookie-secure", "false"),
        ("--argon2-memory-kib", "256"),
        ("--argon2-iterations", "1"),
        ("--secret-key-file", test_key_file()),
    ];
    let mut args: Vec<&str> = defaults
        .into_iter()
        .filter(|(flag, _)| !extra.contains(flag))
        .flat_map(|(flag, value)| [flag, value])
        .collect();
    args.extend_from_slice(extra);
    args
}

/// A server key every test shares, so that instances on one database agree.
pub fn test_key_file() -> &'static str {
    static PATH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        let path = std::env::temp_dir().join("neptun-accounts-tests.key");
        if std::fs::read(&path).map_or(true, |key| key.len() != 32) {
            // Written whole, then renamed: concurrent test processes agree.
            let partial = path.with_extension(format!("{}.partial", std::process::id()));
            std::fs::write(&partial, [42_u8; 32]).expect("a test key");
            std::fs::rename(&partial, &path).expect("the test key in place");
        }
        path.to_str().expect("a UTF-8 temp path").to_owned()
    })
}
