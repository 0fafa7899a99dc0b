//! The log's writer: lines gather in one bounded buffer and a thread of
//! their own writes them to stderr a few milliseconds' worth at a time.
//!
//! tracing-appender, which this replaces, wakes its thread for every line:
//! a futex call on the request's thread, then the writer's `write`, its
//! futex and its spinning `sched_yield`s, all on the server's cores, about
//! as many system calls as the request itself. Here a request appends its
//! line under a mutex and wakes the writer only when the buffer was empty;
//! the writer then waits [`GATHER`] for more before it writes them all.
//!
//! Lossy by design: when stderr stalls (a full pipe nobody reads, a stuck
//! log shipper) the buffer stops at [`PENDING_LIMIT`] and further lines are
//! dropped and counted, instead of every request that logs waiting.

use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// How long the writer lets lines gather after the first one arrives:
/// about the longest a line waits while stderr keeps up, and the least
/// time between two writes under load.
const GATHER: Duration = Duration::from_millis(5);

/// Lines waiting beyond this many bytes are dropped (about 4,000 lines).
const PENDING_LIMIT: usize = 1024 * 1024;

/// Pending bytes at which the writer stops gathering and writes at once.
const WRITE_NOW: usize = 64 * 1024;

/// How long the guard waits at exit for the last lines to be written.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(1);

/// Starts the writer thread over `sink`; lines are made with the returned
/// [`LogLines`], and the [`FlushGuard`] writes what is left when dropped.
pub fn spawn<W: Write + Send + 'static>(sink: W) -> io::Result<(LogLines, FlushGuard)> {
    let shared = Arc::new(Shared {
        pending: Mutex::new(Pending {
            bytes: Vec::with_capacity(WRITE_NOW),
            writer: WriterState::Busy,
            closing: false,
            finished: false,
        }),
        wake: Condvar::new(),
        finished: Condvar::new(),
        dropped: AtomicU64::new(0),
    });
    let for_thread = Arc::clone(&shared);
    let thread = thread::Builder::new()
        .name("log-writer".into())
        .spawn(move || for_thread.write_until_closed(sink))?;
    let lines = LogLines(Arc::clone(&shared));
    Ok((
        lines,
        FlushGuard {
            shared,
            thread: Some(thread),
        },
    ))
}

/// Makes the handle every log line is written through.
#[derive(Clone)]
pub struct LogLines(Arc<Shared>);

impl LogLines {
    /// Lines dropped so far because the buffer was full.
    pub fn dropped_lines(&self) -> u64 {
        self.0.dropped.load(Ordering::Relaxed)
    }
}

impl<'a> MakeWriter<'a> for LogLines {
    type Writer = &'a Shared;

    fn make_writer(&'a self) -> Self::Writer {
        &self.0
    }
}

/// Writes what is left when dropped, waiting at most [`FLUSH_TIMEOUT`]
/// (stderr may be the stalled pipe that made lines drop).
#[must_use = "dropping the guard stops the log writer"]
pub struct FlushGuard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for FlushGuard {
    fn drop(&mut self) {
        let mut pending = self.shared.lock();
        pending.closing = true;
        self.shared.wake.notify_one();
        let (pending, _) = self
            .shared
            .finished
            .wait_timeout_while(pending, FLUSH_TIMEOUT, |pending| !pending.finished)
            .unwrap_or_else(PoisonError::into_inner);
        if pending.finished {
            drop(pending);
            if let Some(thread) = self.thread.take() {
                let _ = thread.join();
            }
        }
    }
}

pub struct Shared {
    pending: Mutex<Pending>,
    /// Wakes the writer: lines arrived, enough to write now, or closing.
    wake: Condvar,
    /// Tells the guard the writer has written everything and stopped.
    finished: Condvar,
    dropped: AtomicU64,
}

struct Pending {
    bytes: Vec<u8>,
    writer: WriterState,
    closing: bool,
    finished: bool,
}

/// What the writer thread is doing, so that a line wakes it only when it
/// waits for that line.
#[derive(Clone, Copy, PartialEq, Eq)]
enum WriterState {
    /// Writing, or about to take the buffer: nobody needs to wake it.
    Busy,
    /// Asleep with nothing to write: the next line wakes it.
    WaitingForLines,
    /// Letting lines gather: woken early once [`WRITE_NOW`] bytes wait.
    Gathering,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        // A panic while holding the lock cannot leave `Pending` invalid:
        // every change to it is a single push or flag.
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn append(&self, line: &[u8]) {
        let mut pending = self.lock();
        // A line longer than the limit still goes out when it waits alone;
        // nothing is written once the writer has stopped.
        let full = !pending.bytes.is_empty() && pending.bytes.len() + line.len() > PENDING_LIMIT;
        if full || pending.finished {
            drop(pending);
            self.count_dropped(1);
            return;
        }
        pending.bytes.extend_from_slice(line);
        let wake = match pending.writer {
            WriterState::WaitingForLines => true,
            WriterState::Gathering => pending.bytes.len() >= WRITE_NOW,
            WriterState::Busy => false,
        };
        if wake {
            pending.writer = WriterState::Busy;
            drop(pending);
            self.wake.notify_one();
        }
    }

    fn count_dropped(&self, lines: u64) {
        self.dropped.fetch_add(lines, Ordering::Relaxed);
    }

    fn write_until_closed(&self, mut sink: impl Write) {
        let mut writing = Vec::with_capacity(WRITE_NOW);
        while self.take_when_gathered(&mut writing) {
            // Nothing to do about a failing stderr but to count the lines it
            // lost and go on: the next ones may get through.
            let unwritten = write_out(&mut sink, &writing);
            self.count_dropped(unwritten.iter().filter(|&&byte| byte == b'\n').count() as u64);
            writing.clear();
            // A burst may have grown the buffer; idle memory stays small.
            writing.shrink_to(WRITE_NOW);
        }
        self.lock().finished = true;
        self.finished.notify_all();
    }

    /// Waits for lines, lets more gather, and swaps them into `writing`;
    /// false once closing with nothing left to write.
    fn take_when_gathered(&self, writing: &mut Vec<u8>) -> bool {
        let mut pending = self.lock();
        while pending.bytes.is_empty() {
            if pending.closing {
                return false;
            }
            pending.writer = WriterState::WaitingForLines;
            pending = self
                .wake
                .wait(pending)
                .unwrap_or_else(PoisonError::into_inner);
        }
        if !pending.closing && pending.bytes.len() < WRITE_NOW {
            pending.writer = WriterState::Gathering;
            pending = self
                .wake
                .wait_timeout_while(pending, GATHER, |pending| {
                    pending.writer == WriterState::Gathering && !pending.closing
                })
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        pending.writer = WriterState::Busy;
        std::mem::swap(&mut pending.bytes, writing);
        true
    }
}

/// Writes `bytes` to `sink` and flushes it; answers what a failing sink did
/// not take.
fn write_out<'a>(sink: &mut impl Write, mut bytes: &'a [u8]) -> &'a [u8] {
    while !bytes.is_empty() {
        match sink.write(bytes) {
            Ok(0) => break,
            Ok(written) => bytes = &bytes[written..],
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    let _ = sink.flush();
    bytes
}

/// One log line: the formatter writes each line in one `write_all`.
impl Write for &Shared {
    fn write(&mut self, line: &[u8]) -> io::Result<usize> {
        self.append(line);
        Ok(line.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
#[path = "log_writer_tests.rs"]
mod tests;
