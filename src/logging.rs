//! The process's log: `tracing` lines on stderr, readable or JSON, at the
//! level `RUST_LOG` asks for, except where a dependency would log secrets.

use std::io::IsTerminal as _;
use std::sync::OnceLock;

use tracing::{Level, Metadata};
use tracing_subscriber::filter::{EnvFilter, FilterExt as _, filter_fn};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{Layer as _, fmt};

use crate::config::LogFormat;
use crate::log_fields::TextFields;
use crate::log_line::TextLine;
use crate::log_timestamp::UtcMicros;
use crate::log_writer::{self, FlushGuard, LogLines};

/// The log writer's handle, kept for its count of dropped lines.
static WRITER: OnceLock<LogLines> = OnceLock::new();

/// Installs the global subscriber; `RUST_LOG` defaults to `info`. Lines are
/// written by a thread of their own, so a request never waits for stderr
/// (a stalled stderr drops lines, counted in
/// `neptun_log_lines_dropped_total`); keep the guard until exit, when it
/// writes what is left.
pub fn init(format: LogFormat) -> std::io::Result<FlushGuard> {
    let level = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let filter = level.and(filter_fn(never_holds_secrets));
    let (writer, guard) = log_writer::spawn(std::io::stderr())?;
    let _ = WRITER.set(writer.clone());
    let lines = fmt::layer()
        .with_writer(writer)
        .with_ansi(std::io::stderr().is_terminal());
    let registry = tracing_subscriber::registry();
    match format {
        LogFormat::Text => registry
            .with(
                lines
                    .fmt_fields(TextFields)
                    .event_format(TextLine::new(UtcMicros))
                    .with_filter(filter),
            )
            .init(),
        LogFormat::Json => registry
            .with(lines.json().with_timer(UtcMicros).with_filter(filter))
            .init(),
    }
    Ok(guard)
}

/// Log lines dropped so far because stderr could not keep up (0 before
/// [`init`], and in processes that log elsewhere).
pub fn dropped_lines() -> u64 {
    WRITER.get().map_or(0, LogLines::dropped_lines)
}

/// `tokio_postgres` logs every statement's parameters (password hashes,
/// session token hashes) at debug level, so it is held at info whatever
/// `RUST_LOG` says.
fn never_holds_secrets(metadata: &Metadata<'_>) -> bool {
    !(metadata.target().starts_with("tokio_postgres") && *metadata.level() > Level::INFO)
}
