//! The process's log: `tracing` lines on stderr, readable or JSON, at the
//! level `RUST_LOG` asks for, except where a dependency would log secrets.

use std::io::IsTerminal as _;

use tracing::{Level, Metadata};
use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::filter::{EnvFilter, FilterExt as _, filter_fn};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{Layer as _, fmt};

use crate::config::LogFormat;

/// Log lines that may wait for the writer thread.
const LOG_QUEUE_LINES: usize = 4096;

/// Installs the global subscriber; `RUST_LOG` defaults to `info`. Lines are
/// written by a thread of their own (tracing-appender), so a request never
/// waits for stderr; keep the guard until exit, when it flushes what is left.
#[must_use = "dropping the guard stops the log writer"]
pub fn init(format: LogFormat) -> WorkerGuard {
    let level = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let filter = level.and(filter_fn(never_holds_secrets));
    // Not lossy: under a flood, logging slows requests rather than losing
    // lines. The queue is preallocated, so it is kept small (the default of
    // 128,000 lines costs 4 MiB of idle memory).
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(false)
        .buffered_lines_limit(LOG_QUEUE_LINES)
        .finish(std::io::stderr());
    let lines = fmt::layer()
        .with_writer(writer)
        .with_ansi(std::io::stderr().is_terminal());
    let registry = tracing_subscriber::registry();
    match format {
        LogFormat::Text => registry.with(lines.with_filter(filter)).init(),
        LogFormat::Json => registry.with(lines.json().with_filter(filter)).init(),
    }
    guard
}

/// `tokio_postgres` logs every statement's parameters (password hashes,
/// session token hashes) at debug level, so it is held at info whatever
/// `RUST_LOG` says.
fn never_holds_secrets(metadata: &Metadata<'_>) -> bool {
    !(metadata.target().starts_with("tokio_postgres") && *metadata.level() > Level::INFO)
}
