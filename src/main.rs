//! The `neptun-accounts` binary: parses the command line, then hands over to
//! the library. Every startup failure ends here as one line on stderr.

mod admin_commands;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use neptun_accounts::App;
use neptun_accounts::config::Config;
use tokio::net::TcpListener;

use self::admin_commands::{DatabaseOptions, UserAction};

// Measured against glibc's allocator in BENCHMARKS.md ("The allocator").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The version and the commit it was built from (build.rs), e.g.
/// `0.1.0 (commit 72a2f94)`; benchmark reports name it.
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("NEPTUN_BUILD_COMMIT"),
    ")"
);

/// Account and session service behind the NEPTUN API.
#[derive(Parser)]
#[command(
    name = "neptun-accounts",
    version = VERSION,
    about,
    arg_required_else_help = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP service.
    Serve(Box<Config>),
    /// Print the OpenAPI 3.1 document of the HTTP API (also served at
    /// `GET /api/openapi.json`).
    Openapi,
    /// Manage accounts on the service's database, whether or not the service
    /// is running. Takes the database settings of `serve` (flags or
    /// environment); commands that set a password also take its Argon2 and
    /// password-rule settings.
    #[command(arg_required_else_help = true)]
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// Show the account history, newest first: of one account (--user) or
    /// of all, by type and age.
    Events {
        /// Only this account (its id or email).
        #[arg(long, value_name = "ID|EMAIL")]
        user: Option<String>,
        /// Only this type (`login`, `login_failed`, `password_changed` …).
        #[arg(long = "type", value_name = "TYPE")]
        kind: Option<String>,
        /// Only events this recent (`7d`, `12h`) or since this date
        /// (`2026-12-01`, `2026-12-01T10:00:00Z`).
        #[arg(long, value_name = "DURATION|DATE", value_parser = admin_commands::parse_since)]
        since: Option<neptun_accounts::domain::time::Timestamp>,
        /// Events at most.
        #[arg(long, default_value_t = 100, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=10_000))]
        limit: u32,
        #[command(flatten)]
        settings: Box<DatabaseOptions>,
    },
    /// Copy a SQLite database to a new file while it is in use (online
    /// backup), readable by its owner only. For PostgreSQL, use pg_dump.
    Backup {
        /// The new file to write (never through a symbolic link).
        #[arg(value_name = "FILE")]
        destination: std::path::PathBuf,
        /// Replace FILE if it exists (atomically: the old backup stays whole
        /// until the new one is complete).
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        settings: Box<DatabaseOptions>,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return usage_error(&err),
    };
    if let Command::Openapi = cli.command {
        return print_openapi();
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => return fail(&format!("cannot start the async runtime: {err}")),
    };
    match cli.command {
        Command::Serve(config) => runtime.block_on(serve(*config)),
        Command::Openapi => print_openapi(),
        Command::User { action } => runtime.block_on(admin_commands::run_user(action)),
        Command::Events {
            user,
            kind,
            since,
            limit,
            settings,
        } => runtime.block_on(admin_commands::run_events(
            neptun_accounts::admin::EventQuery {
                user: user.as_deref(),
                kind: kind.as_deref(),
                since,
                limit,
            },
            *settings,
        )),
        Command::Backup {
            destination,
            force,
            settings,
        } => runtime.block_on(admin_commands::run_backup(&destination, force, *settings)),
    }
}

fn print_openapi() -> ExitCode {
    match neptun_accounts::http::openapi::document().to_pretty_json() {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(err) => fail(&format!("cannot render the OpenAPI document: {err}")),
    }
}

async fn serve(config: Config) -> ExitCode {
    let log_writer = match neptun_accounts::logging::init(config.log_format) {
        Ok(guard) => guard,
        Err(err) => return fail(&format!("cannot start the log writer: {err}")),
    };
    let served = serve_until_stopped(config).await;
    // The lines logged on the way to a failure are written before it.
    drop(log_writer);
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => fail(&message),
    }
}

async fn serve_until_stopped(config: Config) -> Result<(), String> {
    let listen = config.listen;
    let database = config.database.database_url.to_string();
    let app = App::build(config).await.map_err(|err| err.to_string())?;
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|err| format!("cannot listen on {listen}: {err}"))?;
    let address = listener
        .local_addr()
        .map_or_else(|_| listen.to_string(), |bound| bound.to_string());
    tracing::info!(%address, %database, "neptun-accounts listening");
    app.serve(listener, shutdown_signal())
        .await
        .map_err(|err| format!("server error: {err}"))
}

/// `--help`, `--version` and the help shown for missing arguments print as
/// clap renders them; a usage error is one stderr line that keeps what
/// helps (the missing argument, the near subcommand) and drops the usage
/// block.
fn usage_error(err: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match err.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = err.print();
            ExitCode::SUCCESS
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = err.print();
            ExitCode::from(2)
        }
        _ => {
            eprintln!("neptun-accounts: {}", one_line(&err.render().to_string()));
            ExitCode::from(2)
        }
    }
}

/// clap's error text up to its usage block, as one line.
fn one_line(rendered: &str) -> String {
    let mut parts = Vec::new();
    for line in rendered.lines() {
        let line = line.trim();
        if line.starts_with("Usage:") || line.starts_with("For more information") {
            break;
        }
        if line.is_empty() {
            continue;
        }
        let line = line.trim_start_matches("error: ");
        if line.starts_with("tip:") {
            parts.push(format!("({line})"));
        } else {
            parts.push(line.to_owned());
        }
    }
    parts.join(" ")
}

pub(crate) fn fail(message: &str) -> ExitCode {
    eprintln!("neptun-accounts: {message}");
    ExitCode::FAILURE
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
