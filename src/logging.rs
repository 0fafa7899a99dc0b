//! The process's log: `tracing` lines on stderr, readable or JSON, at the
//! level `RUST_LOG` asks for, except where a dependency would log secrets.

use std::io::IsTerminal as _;
use std::sync::OnceLock;

use tracing::{Level, Metadata};
use tracing_appender::non_blocking::{ErrorCounter, NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::filter::{EnvFilter, FilterExt as _, filter_fn};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{Layer as _, fmt};

use crate::config::LogFormat;
use crate::log_timestamp::UtcMicros;

/// Log lines that may wait for the writer thread.
const LOG_QUEUE_LINES: usize = 4096;

/// The log writer's buffer: it writes what has queued in one call, and
/// flushes whenever the queue is empty, so a line waits for no other.
const LOG_BUFFER_BYTES: usize = 16 * 1024;

/// Counts the lines dropped because the queue was full.
static DROPPED: OnceLock<ErrorCounter> = OnceLock::new();

/// Installs the global subscriber; `RUST_LOG` defaults to `info`. Lines are
/// written by a thread of their own (tracing-appender), so a request never
/// waits for stderr; keep the guard until exit, when it flushes what is left.
#[must_use = "dropping the guard stops the log writer"]
pub fn init(format: LogFormat) -> WorkerGuard {
    let level = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let filter = level.and(filter_fn(never_holds_secrets));
    // Lossy: when stderr stalls (a full pipe nobody reads, a stuck log
    // shipper) a full queue drops lines, counted in
    // `neptun_log_lines_dropped_total`, instead of blocking every request
    // that logs. The queue is preallocated, so it is kept small (the
    // default of 128,000 lines costs 4 MiB of idle memory).
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(true)
        .buffered_lines_limit(LOG_QUEUE_LINES)
        .finish(std::io::BufWriter::with_capacity(
            LOG_BUFFER_BYTES,
            std::io::stderr(),
        ));
    let _ = DROPPED.set(writer.error_counter());
    let lines = fmt::layer()
        .with_writer(writer)
        .with_timer(UtcMicros)
        .with_ansi(std::io::stderr().is_terminal());
    let registry = tracing_subscriber::registry();
    match format {
        LogFormat::Text => registry.with(lines.with_filter(filter)).init(),
        LogFormat::Json => registry.with(lines.json().with_filter(filter)).init(),
    }
    guard
}

/// Log lines dropped so far because stderr could not keep up (0 before
/// [`init`], and in processes that log elsewhere).
pub fn dropped_lines() -> u64 {
    DROPPED
        .get()
        .map_or(0, |counter| counter.dropped_lines() as u64)
}

/// `tokio_postgres` logs every statement's parameters (password hashes,
/// session token hashes) at debug level, so it is held at info whatever
/// `RUST_LOG` says.
fn never_holds_secrets(metadata: &Metadata<'_>) -> bool {
    !(metadata.target().starts_with("tokio_postgres") && *metadata.level() > Level::INFO)
}
