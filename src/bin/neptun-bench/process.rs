//! Processes and cores: pinning to a core, reading a process's CPU time and
//! memory from `/proc`, and running a server child (start, time to
//! listening, health, stop).

use std::fs;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

/// The core the server (and every ceiling) runs on.
pub const SERVER_CORE: usize = 0;
/// The core the load generator runs on.
pub const CLIENT_CORE: usize = 1;

/// Pins the calling thread (and threads it starts later) to `core`.
pub fn pin_current_thread(core: usize) -> std::io::Result<()> {
    // SAFETY: a zeroed cpu_set_t is the empty set; CPU_SET writes inside it,
    // and sched_setaffinity only reads it.
    let result = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(core, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)
    };
    if result == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Online cores this process may use.
pub fn usable_cores() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// Clock ticks per second of `/proc/PID/stat`'s times.
fn ticks_per_second() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(ticks).unwrap_or(100).max(1)
}

/// User plus system CPU time the process `pid` has used.
pub fn cpu_time(pid: u32) -> anyhow::Result<Duration> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name may hold spaces; fields are counted after its ')'.
    let after_name = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .context("unreadable /proc stat")?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 and 15 of stat (utime, stime) are 11 and 12 after the name.
    let ticks = |at: usize| -> anyhow::Result<u64> {
        Ok(fields.get(at).context("short /proc stat")?.parse()?)
    };
    let total = ticks(11)? + ticks(12)?;
    Ok(Duration::from_micros(
        total * 1_000_000 / ticks_per_second(),
    ))
}

/// Waits until the process `pid` has used at most 2 % of a core for half
/// a second, or `limit` has passed; answers how long that took. A server
/// still busy with start-up work in the background (the session sweep
/// walks a million sessions in about 3 s) is not idle yet.
pub fn wait_idle(pid: u32, limit: Duration) -> anyhow::Result<Duration> {
    const WINDOW: Duration = Duration::from_millis(500);
    let started = Instant::now();
    loop {
        let before = cpu_time(pid)?;
        std::thread::sleep(WINDOW);
        let used = cpu_time(pid)?.saturating_sub(before);
        if used <= WINDOW / 50 || started.elapsed() >= limit {
            return Ok(started.elapsed());
        }
    }
}

/// Busy and total time of one core since boot, in clock ticks (`/proc/stat`).
pub fn core_ticks(core: usize) -> anyhow::Result<(u64, u64)> {
    cpu_ticks(&format!("cpu{core} "))
}

/// Busy and total time of every core together since boot, in clock ticks.
pub fn machine_ticks() -> anyhow::Result<(u64, u64)> {
    cpu_ticks("cpu ")
}

/// Cores online (the `cpuN` lines of `/proc/stat`).
pub fn online_cores() -> usize {
    fs::read_to_string("/proc/stat")
        .map(|stat| {
            stat.lines()
                .filter(|line| line.starts_with("cpu") && !line.starts_with("cpu "))
                .count()
        })
        .unwrap_or(1)
        .max(1)
}

fn cpu_ticks(label: &str) -> anyhow::Result<(u64, u64)> {
    let stat = fs::read_to_string("/proc/stat")?;
    let line = stat
        .lines()
        .find(|line| line.starts_with(label))
        .with_context(|| format!("no {} in /proc/stat", label.trim_end()))?;
    let ticks: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|field| field.parse().ok())
        .collect();
    let total: u64 = ticks.iter().take(8).sum();
    // idle and iowait are the 4th and 5th fields.
    let idle = ticks.get(3).copied().unwrap_or(0) + ticks.get(4).copied().unwrap_or(0);
    Ok((total - idle, total))
}

/// A memory line of `/proc/PID/status` (`VmRSS`, `RssAnon`, …), in KiB.
pub fn memory_kib(pid: u32, field: &str) -> anyhow::Result<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .with_context(|| format!("no {field} in /proc/{pid}/status"))
}

/// Resets the process's peak RSS (VmHWM) to its current RSS, so the next
/// reading is the peak of what follows. Returns false where the kernel refuses.
pub fn reset_peak_rss(pid: u32) -> bool {
    fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

/// A free port on the loopback interface.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A server process pinned to the server core.
pub struct ServerProcess {
    child: Child,
    pub address: SocketAddr,
    /// From spawning the process to its first accepted connection.
    pub start_to_listening: Duration,
}

impl ServerProcess {
    /// Starts `program args…` pinned to [`SERVER_CORE`], with stderr and
    /// stdout appended to `log`, and waits until it accepts connections.
    pub fn start(
        program: &Path,
        args: &[String],
        address: SocketAddr,
        log: &Path,
    ) -> anyhow::Result<Self> {
        Self::start_on(SERVER_CORE, program, args, address, log)
    }

    /// [`Self::start`], pinned to `core`.
    pub fn start_on(
        core: usize,
        program: &Path,
        args: &[String],
        address: SocketAddr,
        log: &Path,
    ) -> anyhow::Result<Self> {
        let log_file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("opening {}", log.display()))?;
        let mut command = Command::new(program);
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file);
        // SAFETY: the closure runs in the child between fork and exec and
        // calls only sched_setaffinity, which is async-signal-safe.
        unsafe {
            command.pre_exec(move || pin_current_thread(core));
        }
        let started = Instant::now();
        let mut child = command
            .spawn()
            .with_context(|| format!("starting {}", program.display()))?;
        loop {
            if TcpStream::connect_timeout(&address, Duration::from_millis(100)).is_ok() {
                break;
            }
            if let Some(status) = child.try_wait()? {
                bail!(
                    "{} exited with {status} before listening; its log: {}",
                    program.display(),
                    tail(log)
                );
            }
            if started.elapsed() > Duration::from_secs(60) {
                let _ = child.kill();
                bail!("{} did not listen within 60 s", program.display());
            }
            std::thread::sleep(Duration::from_micros(500));
        }
        Ok(Self {
            start_to_listening: started.elapsed(),
            child,
            address,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits until `GET /health` answers 200.
    pub fn wait_healthy(&self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if health_status(self.address).ok() == Some(200) {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("GET /health did not answer 200 within 30 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Asks the server to stop (SIGTERM) and waits; kills it after 10 s.
    pub fn stop(mut self) -> anyhow::Result<()> {
        let pid = libc::pid_t::try_from(self.child.id())?;
        // SAFETY: kill with a pid of our own child and a valid signal.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        // Stopped servers were reaped already; this only catches early exits.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The status of one blocking `GET /health`.
fn health_status(address: SocketAddr) -> anyhow::Result<u16> {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(1))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "GET /health HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut response = httparse::Response::new(&mut headers);
    response.parse(&answer)?;
    response.code.context("no status line")
}

/// What `program --version` prints (its embedded commit; see build.rs).
pub fn version_of(program: &Path) -> String {
    Command::new(program)
        .arg("--version")
        .output()
        .ok()
        .filter(|output| output.status.success())
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .map_or_else(
            || "unknown (--version failed)".to_owned(),
            |text| text.trim().to_owned(),
        )
}

/// The last lines of a log file, for an error message.
pub fn tail(log: &Path) -> String {
    let text = fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(10)..].join("\n")
}
