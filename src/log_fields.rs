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

impl FieldWriter<'_> {
    /// Writes `name=` and then the value with `write_value` when `plain`
    /// and the default would write the same; otherwise lets the default
    /// `record` the field.
    fn record_plain(
        &mut self,
        field: &Field,
        plain: bool,
        write_value: impl FnOnce(&mut Writer<'_>) -> fmt::Result,
        record: impl FnOnce(&mut DefaultVisitor<'_>),
    ) {
        if self.skipped(field) {
            return;
        }
        if plain && self.plain_name(field) {
            self.result = self.result.and_then(|()| write_value(&mut self.writer));
        } else {
            self.by_default(record);
        }
    }
}

impl Visit for FieldWriter<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        let quoted = |writer: &mut Writer<'_>| {
            writer.write_char('"')?;
            writer.write_str(value)?;
            writer.write_char('"')
        };
        let plain = !needs_escaping(value);
        self.record_plain(field, plain, quoted, |default| {
            default.record_str(field, value);
        });
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.record_plain(
            field,
            true,
            |writer| write!(writer, "{value}"),
            |default| default.record_u64(field, value),
        );
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.record_plain(
            field,
            true,
            |writer| write!(writer, "{value}"),
            |default| default.record_i64(field, value),
        );
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        let text = if value { "true" } else { "false" };
        self.record_plain(
            field,
            true,
            |writer| writer.write_str(text),
            |default| default.record_bool(field, value),
        );
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.record_plain(
            field,
            false,
            |_| Ok(()),
            |default| {
                default.record_error(field, value);
            },
        );
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.record_plain(
            field,
            false,
            |_| Ok(()),
            |default| {
                default.record_debug(field, value);
            },
        );
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
pub(crate) mod tests;
