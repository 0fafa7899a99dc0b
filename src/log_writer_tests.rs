use std::io::{self, Write};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tracing_subscriber::fmt::MakeWriter as _;

use super::{LogLines, PENDING_LIMIT, spawn};

/// A sink that keeps each `write` call apart, and can be held stalled.
#[derive(Clone, Default)]
struct Recorded(Arc<Mutex<Vec<Vec<u8>>>>);

impl Recorded {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().concat()).unwrap()
    }

    fn writes(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

impl Write for Recorded {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().push(bytes.to_vec());
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A sink whose every write waits until the test lets it go.
struct Stalled(mpsc::Receiver<()>);

impl Write for Stalled {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let _ = self.0.recv();
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn log(lines: &LogLines, line: &[u8]) {
    (&mut lines.make_writer()).write_all(line).unwrap();
}

fn line(number: usize) -> String {
    format!("line {number:05} of the log\n")
}

#[test]
fn every_line_is_written_once_in_order_by_the_time_the_guard_is_dropped() {
    let sink = Recorded::default();
    let (lines, guard) = spawn(sink.clone()).unwrap();
    let expected: String = (0..5_000).map(line).collect();
    for number in 0..5_000 {
        log(&lines, line(number).as_bytes());
    }
    drop(guard);
    assert_eq!(sink.text(), expected);
    assert_eq!(lines.dropped_lines(), 0);
}

#[test]
fn a_burst_of_lines_is_written_in_a_few_calls_not_one_per_line() {
    let sink = Recorded::default();
    let (lines, guard) = spawn(sink.clone()).unwrap();
    for number in 0..1_000 {
        log(&lines, line(number).as_bytes());
    }
    drop(guard);
    // 23 KiB arrive in well under the writer's gathering time (a busy
    // machine may split them into a few more); one write per line is what
    // tracing-appender did.
    assert!(sink.writes() <= 100, "{} writes", sink.writes());
    assert_eq!(sink.text().lines().count(), 1_000);
}

#[test]
fn a_line_reaches_the_sink_without_waiting_for_more_lines_or_the_guard() {
    let sink = Recorded::default();
    let (lines, _guard) = spawn(sink.clone()).unwrap();
    for round in 0..3 {
        log(&lines, line(round).as_bytes());
        let started = Instant::now();
        while !sink.text().contains(&line(round)) {
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "line {round} was never written"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

#[test]
fn a_stalled_sink_drops_and_counts_lines_and_never_blocks_the_caller() {
    let (release, stalled) = mpsc::channel();
    let (lines, guard) = spawn(Stalled(stalled)).unwrap();
    let mut line = [b'x'; 256];
    line[255] = b'\n';
    let lines_to_fill = PENDING_LIMIT / line.len();
    let started = Instant::now();
    for _ in 0..lines_to_fill * 3 {
        log(&lines, &line);
    }
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "writing lines waited for the stalled sink"
    );
    // The writer holds at most one buffer in its stalled write; everything
    // past the next full one is dropped.
    assert!(
        lines.dropped_lines() >= lines_to_fill as u64,
        "{} dropped",
        lines.dropped_lines()
    );
    let dropping = Instant::now();
    drop(guard);
    assert!(
        dropping.elapsed() < Duration::from_secs(10),
        "the guard waited for the stalled sink"
    );
    drop(release);
}

/// A sink that takes the first `accepts` bytes, then fails every write.
struct Failing {
    accepts: usize,
}

impl Write for Failing {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if self.accepts == 0 {
            return Err(io::Error::from(io::ErrorKind::BrokenPipe));
        }
        let taken = bytes.len().min(self.accepts);
        self.accepts -= taken;
        Ok(taken)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn lines_a_failing_sink_did_not_take_are_counted_as_dropped() {
    let taken = line(0).len() * 10 + 3;
    let (lines, guard) = spawn(Failing { accepts: taken }).unwrap();
    for number in 0..100 {
        log(&lines, line(number).as_bytes());
    }
    drop(guard);
    // The eleventh line was cut short: it counts as lost with the 89 after.
    assert_eq!(lines.dropped_lines(), 90);
}

#[test]
fn lines_after_the_writer_stopped_are_counted_as_dropped() {
    let sink = Recorded::default();
    let (lines, guard) = spawn(sink.clone()).unwrap();
    log(&lines, line(0).as_bytes());
    drop(guard);
    log(&lines, line(1).as_bytes());
    assert_eq!(sink.text(), line(0));
    assert_eq!(lines.dropped_lines(), 1);
}

#[test]
fn a_line_longer_than_the_buffer_is_written_when_it_waits_alone() {
    let sink = Recorded::default();
    let (lines, guard) = spawn(sink.clone()).unwrap();
    let mut long = vec![b'x'; PENDING_LIMIT * 2];
    long.push(b'\n');
    log(&lines, &long);
    drop(guard);
    assert_eq!(sink.text().len(), long.len());
    assert_eq!(lines.dropped_lines(), 0);
}
