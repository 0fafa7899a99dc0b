//! The text log's fields, written as tracing-subscriber's default writes
//! them (`name="text" status=200`), but the common ones without `fmt`:
//! the default paints every name through nu-ansi-term and escapes every
//! string through `Debug`, 7,500 of a session check's 60,000 instructions
//! for the request span's three fields and the log line's three (counted
//! with `valgrind --tool=callgrind`). The message, errors, values only
//! `Debug` can write, and every field on a terminal (where names are
//! painted) go to the default writer, so the text is the same either way.

use std::fmt;

use tracing::field::{Field, Visit};
use tracing_subscriber::field::{MakeVisitor, VisitFmt, VisitOutput};
use tracing_subscriber::fmt::format::{DefaultVisitor, Writer};

/// Makes a [`FieldWriter`] for each span's and each line's fields.
#[derive(Clone, Copy, Debug, Default)]
pub struct TextFields;

impl<'a> MakeVisitor<Writer<'a>> for TextFields {
    type Visitor = FieldWriter<'a>;

    fn make_visitor(&self, writer: Writer<'a>) -> FieldWriter<'a> {
        FieldWriter {
            writer,
            is_empty: true,
            result: Ok(()),
        }
    }
}

pub struct FieldWriter<'a> {
    writer: Writer<'a>,
    is_empty: bool,
    result: fmt::Result,
}

impl FieldWriter<'_> {
    /// Writes `name=` itself when the default writer would write it the
    /// same way; false when the field is the default writer's to write.
    fn plain_name(&mut self, field: &Field) -> bool {
        let name = field.name();
        if self.writer.has_ansi_escapes() || name == "message" || name.starts_with("r#") {
            return false;
        }
        let padding = if self.is_empty { "" } else { " " };
        self.is_empty = false;
        self.result = self
            .writer
            .write_str(padding)
            .and_then(|()| self.writer.write_str(name))
            .and_then(|()| self.writer.write_char('='));
        true
    }

    fn by_default(&mut self, record: impl FnOnce(&mut DefaultVisitor<'_>)) {
        let mut default = DefaultVisitor::new(self.writer.by_ref(), self.is_empty);
        record(&mut default);
        self.result = default.finish();
        self.is_empty = false;
    }

    /// Fields the `log` crate's records carry, which the line already shows.
    fn skipped(&self, field: &Field) -> bool {
        self.result.is_err() || field.name().starts_with("log.")
    }
}

impl Visit for FieldWriter<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if self.skipped(field) {
            return;
        }
        if !needs_escaping(value) && self.plain_name(field) {
            self.result = self
                .result
                .and_then(|()| self.writer.write_char('"'))
                .and_then(|()| self.writer.write_str(value))
                .and_then(|()| self.writer.write_char('"'));
        } else {
            self.by_default(|default| default.record_str(field, value));
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if self.skipped(field) {
            return;
        }
        if self.plain_name(field) {
            self.result = self.result.and_then(|()| write!(self.writer, "{value}"));
        } else {
            self.by_default(|default| default.record_u64(field, value));
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if self.skipped(field) {
            return;
        }
        if self.plain_name(field) {
            self.result = self.result.and_then(|()| write!(self.writer, "{value}"));
        } else {
            self.by_default(|default| default.record_i64(field, value));
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        if self.skipped(field) {
            return;
        }
        if self.plain_name(field) {
            let text = if value { "true" } else { "false" };
            self.result = self.result.and_then(|()| self.writer.write_str(text));
        } else {
            self.by_default(|default| default.record_bool(field, value));
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        if !self.skipped(field) {
            self.by_default(|default| default.record_error(field, value));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if !self.skipped(field) {
            self.by_default(|default| default.record_debug(field, value));
        }
    }
}

impl VisitOutput<fmt::Result> for FieldWriter<'_> {
    fn finish(self) -> fmt::Result {
        self.result
    }
}

impl VisitFmt for FieldWriter<'_> {
    fn writer(&mut self) -> &mut dyn fmt::Write {
        &mut self.writer
    }
}

/// Whether `str`'s `Debug` would write more than the text between quotes:
/// anything but printable ASCII, a quote or a backslash.
fn needs_escaping(text: &str) -> bool {
    text.bytes()
        .any(|byte| !(b' '..=b'~').contains(&byte) || byte == b'"' || byte == b'\\')
}

#[cfg(test)]
#[path = "log_fields_tests.rs"]
mod tests;
