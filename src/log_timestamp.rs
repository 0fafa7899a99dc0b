//! The log lines' timestamp, written as tracing-subscriber's default timer
//! writes it (`2026-12-07T13:37:14.123456Z`, UTC, microseconds), by
//! humantime's formatter: it puts the digits into one buffer, where
//! tracing-subscriber's goes through `fmt` field by field (2,400 of a
//! session check's 63,000 instructions before, 700 now; counted with
//! `valgrind --tool=callgrind`).

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;

/// The first second humantime refuses to format (year 10000).
const YEAR_10000: u64 = 253_402_300_800;

/// The timer of every log line.
#[derive(Clone, Copy, Debug, Default)]
pub struct UtcMicros;

impl FormatTime for UtcMicros {
    fn format_time(&self, writer: &mut Writer<'_>) -> fmt::Result {
        write_utc_micros(writer, SystemTime::now())
    }
}

fn write_utc_micros(writer: &mut impl fmt::Write, time: SystemTime) -> fmt::Result {
    match time.duration_since(UNIX_EPOCH) {
        Ok(since_epoch) if since_epoch.as_secs() < YEAR_10000 => {
            write!(writer, "{}", humantime::format_rfc3339_micros(time))
        }
        // humantime panics on a clock set before 1970 and refuses years
        // past 9999; a log line must not fail on either.
        _ => writer.write_str(&chrono_utc_micros(time)),
    }
}

/// chrono's text of the same shape for any time: the fallback above, and
/// the reference the tests hold humantime's to.
fn chrono_utc_micros(time: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(time).to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn formatted(time: SystemTime) -> String {
        let mut text = String::new();
        write_utc_micros(&mut text, time).unwrap();
        text
    }

    #[test]
    fn reads_as_the_default_timer_writes_the_same_second() {
        // tracing-subscriber's timer reads the clock itself: compare the
        // two within one second, trying again when a second turned between.
        let mut last = (String::new(), String::new());
        for _ in 0..5 {
            let mut theirs = String::new();
            tracing_subscriber::fmt::time::SystemTime
                .format_time(&mut Writer::new(&mut theirs))
                .unwrap();
            let mut ours = String::new();
            UtcMicros.format_time(&mut Writer::new(&mut ours)).unwrap();
            if theirs[..19] != ours[..19] {
                last = (ours, theirs);
                continue;
            }
            assert_eq!(ours.len(), theirs.len(), "{ours} against {theirs}");
            assert_eq!(&ours[19..20], ".");
            assert!(ours.ends_with('Z') && theirs.ends_with('Z'));
            return;
        }
        panic!("the timers disagree: {} against {}", last.0, last.1);
    }

    #[test]
    fn leap_days_and_microseconds_are_written_exactly() {
        let leap_day = UNIX_EPOCH + Duration::new(951_782_400, 123_456_789);
        assert_eq!(formatted(leap_day), "2000-02-29T00:00:00.123456Z");
        let last = UNIX_EPOCH + Duration::new(YEAR_10000 - 1, 999_999_000);
        assert_eq!(formatted(last), "9999-12-31T23:59:59.999999Z");
    }

    #[test]
    fn a_clock_before_1970_or_after_9999_still_gets_a_timestamp() {
        let before = UNIX_EPOCH - Duration::from_secs(1);
        assert_eq!(formatted(before), "1969-12-31T23:59:59.000000Z");
        let after = UNIX_EPOCH + Duration::from_secs(YEAR_10000);
        assert_eq!(formatted(after), "+10000-01-01T00:00:00.000000Z");
    }

    #[test]
    fn both_formatters_agree_across_the_range() {
        // Steps of a prime number of seconds and microseconds, so that
        // every field of the date takes many values.
        let mut seconds = 0_u64;
        let mut micros = 0_u32;
        while seconds < YEAR_10000 {
            let time = UNIX_EPOCH + Duration::new(seconds, micros * 1_000);
            assert_eq!(formatted(time), chrono_utc_micros(time));
            seconds += 2_592_049;
            micros = (micros + 7_919) % 1_000_000;
        }
    }
}
