//! `neptun-bench`: the load benchmark with same-run ceilings (BENCHMARKS.md).
//! It seeds fresh SQLite (or PostgreSQL) databases, runs the release server
//! pinned to one core and a load generator on another, measures the
//! ceilings on the server's core in the same run, and prints the table, the
//! ratios and the targets. It fails only when answers other than the
//! success status pass 0.1 %; targets are reported, never asserted.

mod accounts;
mod backend;
mod ceilings;
mod client;
mod driver;
mod load;
mod meter;
mod own_memory;
mod phase;
mod postgres;
mod postgres_ceilings;
mod process;
mod report;
mod seed;
mod smtp_sink;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};

use crate::backend::Backend;
use crate::load::{Group, Scenario, Target, Timing};
use crate::process::{CLIENT_CORE, ServerProcess};

/// Load benchmark of neptun-accounts with same-run ceilings.
#[derive(Parser)]
#[command(name = "neptun-bench")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    options: Options,
}

#[derive(Subcommand)]
enum Command {
    /// Serves the HTTP ceiling: a bare axum router with one route.
    #[command(hide = true)]
    BareAxum {
        #[arg(long)]
        listen: SocketAddr,
    },
}

#[derive(Args)]
struct Options {
    /// A run of seconds with small databases that checks only that
    /// everything works (CI); still fails on more than 0.1 % bad answers.
    #[arg(long)]
    smoke: bool,
    /// The release server binary to measure.
    #[arg(long, default_value = "target/release/neptun-accounts")]
    server: PathBuf,
    /// Users (and live sessions) of the large database.
    #[arg(long)]
    users: Option<u32>,
    /// Seconds measured per scenario (after a warm-up).
    #[arg(long)]
    seconds: Option<f64>,
    /// Keep the temporary databases and server logs.
    #[arg(long)]
    keep: bool,
    /// Measure on this PostgreSQL server instead of SQLite files
    /// (`postgres://USER@HOST:PORT/DB`): each database size gets a fresh
    /// database created beside DB and dropped at the end (unless --keep).
    #[arg(long, value_name = "URL")]
    database: Option<String>,
}

/// Sizes and times of one run.
pub struct Plan {
    pub smoke: bool,
    pub small_users: u32,
    pub large_users: u32,
    pub fast: Timing,
    pub hashing: Timing,
    pub ceiling: Duration,
    pub hashing_ceiling: Duration,
    pub connections: usize,
    pub hashing_connections: usize,
    pub probe_connections: usize,
    /// Connections of each kind beside the session checks in the mixed load.
    pub mixed_connections: usize,
    pub idle_settle: Duration,
    pub keep: bool,
    pub backend: Backend,
}

impl Plan {
    fn from(options: &Options) -> anyhow::Result<Self> {
        let smoke = options.smoke;
        let seconds = |full: f64, quick: f64| {
            Duration::from_secs_f64(options.seconds.unwrap_or(if smoke { quick } else { full }))
        };
        let measure = seconds(10.0, 1.0);
        let hashing_measure = if options.seconds.is_some() {
            measure
        } else {
            seconds(15.0, 1.5)
        };
        Ok(Self {
            smoke,
            small_users: 1_000,
            large_users: options
                .users
                .unwrap_or(if smoke { 5_000 } else { 1_000_000 }),
            fast: Timing {
                warmup: Duration::from_secs_f64(if smoke { 0.3 } else { 2.0 }),
                measure,
            },
            hashing: Timing {
                warmup: Duration::from_secs_f64(if smoke { 0.5 } else { 3.0 }),
                measure: hashing_measure,
            },
            ceiling: Duration::from_secs_f64(if smoke { 0.3 } else { 3.0 }),
            hashing_ceiling: Duration::from_secs_f64(if smoke { 0.5 } else { 5.0 }),
            connections: if smoke { 16 } else { 64 },
            hashing_connections: if smoke { 8 } else { 32 },
            probe_connections: 256,
            mixed_connections: if smoke { 2 } else { 8 },
            idle_settle: Duration::from_secs_f64(if smoke { 0.3 } else { 2.0 }),
            keep: options.keep,
            backend: Backend::from_option(options.database.as_deref())?,
        })
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Some(Command::BareAxum { listen }) => ceilings::serve_bare_axum(listen).map(|()| true),
        None => benchmark(&cli.options),
    };
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("neptun-bench: {err:#}");
            ExitCode::from(2)
        }
    }
}

/// The whole benchmark; false when too many answers were not successes.
fn benchmark(options: &Options) -> anyhow::Result<bool> {
    let plan = Plan::from(options)?;
    let started = Instant::now();
    let server = std::fs::canonicalize(&options.server).with_context(|| {
        format!(
            "no server binary at {} (build it first: cargo build --release)",
            options.server.display()
        )
    })?;
    if process::usable_cores() < 2 {
        eprintln!("warning: fewer than 2 cores; server and load generator share one");
    } else {
        process::pin_current_thread(CLIENT_CORE).context("pinning the load generator")?;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let database = plan.backend.describe();
    let server_version = process::version_of(&server);

    progress("computing the shared Argon2id hash");
    let password_hash = seed::password_hash()?;
    progress("ceiling: Argon2id verifications on the server core");
    let hashing = ceilings::hashing(password_hash.clone(), plan.hashing_ceiling)?;
    progress("ceiling: bare axum router on the server core");
    let http = http_ceiling(&runtime, &plan)?;

    let small = phase::run(
        &runtime,
        &plan,
        &server,
        &password_hash,
        plan.small_users,
        false,
    )?;
    let large = phase::run(
        &runtime,
        &plan,
        &server,
        &password_hash,
        plan.large_users,
        true,
    )?;

    let report = report::Report {
        plan: &plan,
        command: std::env::args()
            .map(|arg| postgres::without_password(&arg))
            .collect::<Vec<_>>()
            .join(" "),
        database,
        server_version,
        hashing,
        http,
        small,
        large,
        elapsed: started.elapsed(),
    };
    report.print();
    Ok(report.failures().is_empty())
}

/// Serves the bare router pinned to the server core and drives it.
fn http_ceiling(runtime: &tokio::runtime::Runtime, plan: &Plan) -> anyhow::Result<load::RunResult> {
    let address: SocketAddr = format!("127.0.0.1:{}", process::free_port()?).parse()?;
    let log = std::env::temp_dir().join(format!("neptun-bench-{}-bare.log", std::process::id()));
    let program = std::env::current_exe()?;
    let args = vec!["bare-axum".to_owned(), format!("--listen={address}")];
    let bare = ServerProcess::start(&program, &args, address, &log)?;
    let target = Target::one(address, bare.pid(), false);
    let mut no_accounts = accounts::Accounts::new(0, 0);
    let result = load::run(
        runtime,
        &target,
        &[Group {
            scenario: Scenario::Bare,
            connections: plan.connections,
        }],
        &mut no_accounts,
        plan.fast,
        0,
    );
    bare.stop()?;
    let _ = std::fs::remove_file(&log);
    result
}

/// One line of progress on stderr; the report goes to stdout.
pub fn progress(message: &str) {
    eprintln!("neptun-bench: {message}");
}
