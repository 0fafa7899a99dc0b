use std::io;
use std::sync::{Arc, Mutex};

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt as _;

use super::TextFields;

/// Every line written, for the tests of the log's text.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Self;

    fn make_writer(&'a self) -> Self {
        self.clone()
    }
}

#[derive(Debug)]
struct Outer(Inner);

#[derive(Debug)]
struct Inner;

impl std::fmt::Display for Outer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the store failed")
    }
}

impl std::error::Error for Outer {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

impl std::fmt::Display for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("disk \"full\"")
    }
}

impl std::error::Error for Inner {}

/// Every kind of field the service and its dependencies log, inside spans
/// with fields of their own, some recorded after the span began.
fn log_everything() {
    let span = tracing::info_span!(
        "request",
        request_id = "7f3c-a1",
        method = %"GET",
        route = "/api/users/{user_id}",
        user = tracing::field::Empty,
    );
    let _entered = span.enter();
    tracing::info!(status = 200_u16, latency_us = 1612_u64, "request answered");
    tracing::warn!(delta = -5_i64, retried = true, ok = false, "plain");
    tracing::info!(
        quoted = "say \"hi\"",
        slashed = "C:\\dir",
        newline = "two\nlines",
        tab = "a\tb",
        escape = "\u{1b}[31mred",
        accented = "café",
        combining = "e\u{301}",
        empty = "",
    );
    span.record("user", "ada@example.com");
    let inner = tracing::debug_span!("store", r#type = "sqlite", attempt = 2_u64);
    inner.in_scope(|| {
        let error = Outer(Inner);
        tracing::error!(error = &error as &dyn std::error::Error, "write failed");
        tracing::error!(reason = %"a \"display\" value", detail = ?Some(3), "with display");
        tracing::info!(ratio = 0.5_f64, big = u128::MAX, "numbers");
        tracing::info!("message {} formatted", 42);
        tracing::info!(message = "message as a str", after = "field");
    });
}

fn logged(fast_fields: bool, ansi: bool) -> String {
    let captured = Captured::default();
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(captured.clone())
        .without_time()
        .with_ansi(ansi);
    let registry = tracing_subscriber::registry();
    if fast_fields {
        tracing::subscriber::with_default(
            registry.with(layer.fmt_fields(TextFields)),
            log_everything,
        );
    } else {
        tracing::subscriber::with_default(registry.with(layer), log_everything);
    }
    captured.text()
}

#[test]
fn lines_are_the_text_the_default_writer_writes() {
    let fast = logged(true, false);
    assert_eq!(fast, logged(false, false));
    assert!(
        fast.contains(r#"request{request_id="7f3c-a1" method=GET route="/api/users/{user_id}"}: "#),
        "{fast}"
    );
    assert!(fast.contains("request answered status=200 latency_us=1612"));
    assert!(fast.contains(r#"user="ada@example.com""#), "{fast}");
    assert_eq!(fast.lines().count(), 8, "{fast}");
}

#[test]
fn lines_on_a_terminal_are_painted_as_the_default_paints_them() {
    let painted = logged(true, true);
    assert_eq!(painted, logged(false, true));
    assert!(painted.contains('\u{1b}'));
}

#[test]
fn text_written_unescaped_is_text_str_debug_leaves_as_it_is() {
    for text in ["", "plain text 123", "~ and space", "/api/users/{user_id}"] {
        assert!(!super::needs_escaping(text), "{text:?}");
        assert_eq!(format!("{text:?}"), format!("\"{text}\""));
    }
    for text in ["café", "\"", "\\", "\u{7f}", "\n", "\u{1b}[0m"] {
        assert!(super::needs_escaping(text), "{text:?}");
    }
}
