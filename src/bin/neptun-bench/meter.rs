//! CPU time over a measured window, from `/proc`: each server process, the
//! load generator, PostgreSQL's processes (when the database is local and
//! visible), the server's core and the whole machine.

use std::collections::HashMap;
use std::fs;
use std::time::Duration;

use crate::process;

/// What the window cost, and whom.
#[derive(Clone, Debug, Default)]
pub struct Usage {
    /// CPU time of each server process, in the order of the target's.
    pub servers: Vec<Duration>,
    /// CPU time of the load generator (this process).
    pub client: Duration,
    /// CPU time of every process named `postgres`; `None` when not watched
    /// or none is visible.
    pub postgres: Option<Duration>,
    /// How busy the server's core was, whoever used it (1.0 = fully).
    pub server_core_busy: f64,
    /// How busy the machine was, in cores (2.0 = two cores fully).
    pub machine_busy_cores: f64,
}

/// Readings at the start of a window.
pub struct Meter {
    pids: Vec<u32>,
    servers: Vec<Duration>,
    client: Duration,
    postgres: Option<HashMap<u32, Duration>>,
    core: (u64, u64),
    machine: (u64, u64),
}

impl Meter {
    /// Reads the counters now; `watch_postgres` adds PostgreSQL's processes.
    pub fn start(pids: &[u32], watch_postgres: bool) -> anyhow::Result<Self> {
        Ok(Self {
            pids: pids.to_vec(),
            servers: pids
                .iter()
                .map(|&pid| process::cpu_time(pid))
                .collect::<anyhow::Result<_>>()?,
            client: process::cpu_time(std::process::id())?,
            postgres: watch_postgres.then(postgres_processes),
            core: process::core_ticks(process::SERVER_CORE)?,
            machine: process::machine_ticks()?,
        })
    }

    /// What was spent since [`Meter::start`].
    pub fn finish(self) -> anyhow::Result<Usage> {
        let core = process::core_ticks(process::SERVER_CORE)?;
        let machine = process::machine_ticks()?;
        let busy_share = |before: (u64, u64), after: (u64, u64)| {
            after.0.saturating_sub(before.0) as f64 / after.1.saturating_sub(before.1).max(1) as f64
        };
        let mut servers = Vec::with_capacity(self.pids.len());
        for (&pid, before) in self.pids.iter().zip(&self.servers) {
            servers.push(process::cpu_time(pid)?.saturating_sub(*before));
        }
        let postgres = self.postgres.and_then(|before| {
            let after = postgres_processes();
            // Backends started in the window count from zero; those that
            // ended in it are lost, which the pools' long-lived ones avoid.
            let spent: Duration = after
                .iter()
                .map(|(pid, now)| now.saturating_sub(before.get(pid).copied().unwrap_or_default()))
                .sum();
            (!after.is_empty()).then_some(spent)
        });
        Ok(Usage {
            servers,
            client: process::cpu_time(std::process::id())?.saturating_sub(self.client),
            postgres,
            server_core_busy: busy_share(self.core, core),
            machine_busy_cores: busy_share(self.machine, machine) * process::online_cores() as f64,
        })
    }
}

/// CPU time of every visible process named `postgres`, by pid.
fn postgres_processes() -> HashMap<u32, Duration> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return HashMap::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|name| name.trim_end() == "postgres")
        })
        .filter_map(|pid| Some((pid, process::cpu_time(pid).ok()?)))
        .collect()
}
