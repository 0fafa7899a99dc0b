use std::fmt;

use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::layer::SubscriberExt as _;

use super::TextLine;
use crate::log_fields::TextFields;
use crate::log_fields::tests::Captured;

/// The same time on every line, so that two runs write the same text.
#[derive(Clone, Copy)]
struct Fixed;

impl FormatTime for Fixed {
    fn format_time(&self, writer: &mut Writer<'_>) -> fmt::Result {
        writer.write_str("2026-12-07T15:00:00.000001Z")
    }
}

/// A failing clock: the default writes `<unknown time>` instead.
#[derive(Clone, Copy)]
struct Broken;

impl FormatTime for Broken {
    fn format_time(&self, _writer: &mut Writer<'_>) -> fmt::Result {
        Err(fmt::Error)
    }
}

fn log_every_shape() {
    tracing::trace!("outside any span");
    tracing::info!(target: "custom::target", answer = 42_u64, "with a target");
    let outer = tracing::info_span!("request", request_id = "7f3c", route = "/health");
    let _outer = outer.enter();
    tracing::debug!("in one span");
    let bare = tracing::warn_span!("bare");
    bare.in_scope(|| {
        tracing::warn!(status = 503_u16, "in two spans, the inner without fields");
        let inner = tracing::error_span!("store", attempt = 1_u64);
        inner.in_scope(|| tracing::error!(error = %"disk full", "three spans deep"));
    });
}

fn logged<T: FormatTime + Clone + Send + Sync + 'static>(
    timer: T,
    ours: bool,
    ansi: bool,
) -> String {
    let captured = Captured::default();
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(captured.clone())
        .with_ansi(ansi)
        .fmt_fields(TextFields);
    let registry = tracing_subscriber::registry();
    if ours {
        let layer = layer.event_format(TextLine::new(timer));
        tracing::subscriber::with_default(registry.with(layer), log_every_shape);
    } else {
        let layer = layer.with_timer(timer);
        tracing::subscriber::with_default(registry.with(layer), log_every_shape);
    }
    captured.text()
}

#[test]
fn lines_are_the_text_the_full_format_writes() {
    let ours = logged(Fixed, true, false);
    assert_eq!(ours, logged(Fixed, false, false));
    assert_eq!(ours.lines().count(), 5, "{ours}");
    assert!(
        ours.contains(
            "2026-12-07T15:00:00.000001Z  WARN request{request_id=\"7f3c\" route=\"/health\"}:bare: "
        ),
        "{ours}"
    );
}

#[test]
fn a_failing_clock_and_a_terminal_are_written_as_the_default_writes_them() {
    assert_eq!(logged(Broken, true, false), logged(Broken, false, false));
    assert!(logged(Broken, true, false).starts_with("<unknown time> TRACE "));
    let painted = logged(Fixed, true, true);
    assert_eq!(painted, logged(Fixed, false, true));
    assert!(painted.contains('\u{1b}'));
}
