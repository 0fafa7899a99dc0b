//! The closed-loop load generator: each connection sends its scenario's
//! next request as soon as the previous one is answered, through a warm-up
//! and then a measured window, on one thread (the client core). Each
//! connection owns its accounts, follows their rotated cookies and sends
//! unique emails, so every answer should be its scenario's success status.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use hdrhistogram::Histogram;

use crate::accounts::{Account, Accounts};
use crate::client::HttpConnection;
use crate::driver::Driver;
use crate::meter::{Meter, Usage};
use crate::own_memory;
use crate::process;

/// What a connection asks, over and over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    /// `GET /api/auth/session` with a live cookie.
    SessionGet,
    /// `HEAD /api/auth/check` with a live cookie.
    HeadCheck,
    /// `PATCH /api/users/{id}` with a new email only.
    PatchEmail,
    /// `PATCH /api/users/{id}` with a (new hash of the same) password.
    PatchPassword,
    /// `POST /api/auth/login` without a cookie.
    Login,
    /// `POST /api/auth/sign-up` with a fresh email.
    SignUp,
    /// `POST /auth/otp` asking a password reset code for a seeded email
    /// (mail must be on).
    ResetCode,
    /// `GET /` on the bare router of the HTTP ceiling.
    Bare,
}

impl Scenario {
    pub fn label(self) -> &'static str {
        match self {
            Self::SessionGet => "GET /api/auth/session",
            Self::HeadCheck => "HEAD /api/auth/check",
            Self::PatchEmail => "PATCH email",
            Self::PatchPassword => "PATCH password",
            Self::Login => "login",
            Self::SignUp => "sign-up",
            Self::ResetCode => "POST /auth/otp (reset code)",
            Self::Bare => "bare axum GET /",
        }
    }

    /// What runs beside the session checks in the mixed load.
    pub fn mixed_load() -> [Self; 3] {
        [Self::Login, Self::PatchEmail, Self::ResetCode]
    }

    fn uses_accounts(self) -> bool {
        !matches!(self, Self::SignUp | Self::Bare)
    }
}

/// Connections running one scenario.
#[derive(Clone, Copy, Debug)]
pub struct Group {
    pub scenario: Scenario,
    pub connections: usize,
}

/// The servers under load: connection k talks to server k mod n.
pub struct Target {
    /// Each server's address and process id.
    pub servers: Vec<(SocketAddr, u32)>,
    /// Whether PostgreSQL's processes are metered too.
    pub watch_postgres: bool,
    /// The SQLite file the servers map into memory, if any.
    pub database_file: Option<PathBuf>,
}

impl Target {
    pub fn one(address: SocketAddr, pid: u32, watch_postgres: bool) -> Self {
        Self {
            servers: vec![(address, pid)],
            watch_postgres,
            database_file: None,
        }
    }

    fn pids(&self) -> Vec<u32> {
        self.servers.iter().map(|&(_, pid)| pid).collect()
    }
}

/// Warm-up and measured window.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    pub warmup: Duration,
    pub measure: Duration,
}

/// One group's answers in the measured window.
pub struct GroupResult {
    pub scenario: Scenario,
    pub connections: usize,
    pub requests: u64,
    /// Latency in microseconds.
    pub latency: Histogram<u64>,
    /// Answers by status ("200", "503", "io error").
    pub statuses: BTreeMap<String, u64>,
}

impl GroupResult {
    pub fn percentile_ms(&self, quantile: f64) -> f64 {
        self.latency.value_at_quantile(quantile) as f64 / 1000.0
    }

    pub fn status_histogram(&self) -> String {
        self.statuses
            .iter()
            .map(|(status, count)| format!("{status}×{count}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// One run: its groups and what the server and the client spent.
pub struct RunResult {
    pub groups: Vec<GroupResult>,
    pub window: Duration,
    /// CPU time of the servers, the load generator, PostgreSQL, the cores.
    pub usage: Usage,
    /// Peak RSS of the (first) server in the window.
    pub server_peak_rss_kib: Option<u64>,
    /// Its peak RSS less the pages of the SQLite file it maps, sampled
    /// (see `own_memory`); on PostgreSQL, the peak RSS.
    pub server_peak_own_kib: Option<u64>,
}

impl RunResult {
    pub fn requests(&self) -> u64 {
        self.groups.iter().map(|group| group.requests).sum()
    }

    pub fn rate(&self, group: usize) -> f64 {
        self.groups[group].requests as f64 / self.window.as_secs_f64()
    }

    /// CPU time of every server together.
    pub fn server_cpu(&self) -> Duration {
        self.usage.servers.iter().sum()
    }

    /// Server CPU per request of every group together, in µs.
    pub fn server_cpu_us_per_request(&self) -> f64 {
        self.server_cpu().as_secs_f64() * 1e6 / self.requests().max(1) as f64
    }

    /// PostgreSQL's CPU per request of every group together, in µs.
    pub fn postgres_cpu_us_per_request(&self) -> Option<f64> {
        let spent = self.usage.postgres?;
        Some(spent.as_secs_f64() * 1e6 / self.requests().max(1) as f64)
    }

    /// The servers' CPU time over the window: 1.0 is one core fully busy.
    pub fn server_utilisation(&self) -> f64 {
        self.share(self.server_cpu())
    }

    pub fn client_utilisation(&self) -> f64 {
        self.share(self.usage.client)
    }

    /// `spent` over the window: 1.0 is one core fully busy.
    pub fn share(&self, spent: Duration) -> f64 {
        spent.as_secs_f64() / self.window.as_secs_f64()
    }

    /// The share of the server's core that other processes took.
    pub fn others_on_server_core(&self) -> f64 {
        (self.usage.server_core_busy - self.server_utilisation()).max(0.0)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Warmup,
    Measure,
    Done,
}

struct Recorder {
    latency: Histogram<u64>,
    statuses: BTreeMap<String, u64>,
    requests: u64,
}

/// Runs `groups` together against `target` and measures them.
///
/// `accounts` hands every connection its own users (connection k of K takes
/// users k, k + K, …) and takes back what they were told; `run_number`
/// keeps sign-up emails unique across runs on one database.
pub fn run(
    runtime: &tokio::runtime::Runtime,
    target: &Target,
    groups: &[Group],
    accounts: &mut Accounts,
    timing: Timing,
    run_number: u32,
) -> anyhow::Result<RunResult> {
    let total_connections: usize = groups.iter().map(|group| group.connections).sum();
    let needs_accounts: usize = groups
        .iter()
        .filter(|group| group.scenario.uses_accounts())
        .map(|group| group.connections)
        .sum();
    if needs_accounts > accounts.count as usize {
        bail!(
            "{needs_accounts} connections need their own accounts but only {} users are seeded",
            accounts.count
        );
    }
    let step = u32::try_from(total_connections)?;
    let mut drivers = Vec::with_capacity(total_connections);
    let mut recorders = Vec::with_capacity(groups.len());
    for group in groups {
        let recorder = Rc::new(RefCell::new(Recorder {
            latency: Histogram::new_with_bounds(1, 3_600_000_000, 3)?,
            statuses: BTreeMap::new(),
            requests: 0,
        }));
        for _ in 0..group.connections {
            let number = u32::try_from(drivers.len())?;
            let owned = if group.scenario.uses_accounts() {
                accounts.stride(number, step)
            } else {
                Vec::new()
            };
            let (address, _) = target.servers[drivers.len() % target.servers.len()];
            drivers.push((
                Driver::new(group.scenario, owned, address, run_number, number),
                Rc::clone(&recorder),
            ));
        }
        recorders.push(recorder);
    }

    let phase = Rc::new(Cell::new(Phase::Warmup));
    let local = tokio::task::LocalSet::new();
    let pids = target.pids();
    let (window, usage, server_peak_rss_kib, returned, server_peak_own_kib) =
        local.block_on(runtime, async {
            let mut handles = Vec::with_capacity(drivers.len());
            for (driver, recorder) in drivers {
                handles.push(tokio::task::spawn_local(drive(
                    driver,
                    Rc::clone(&phase),
                    recorder,
                )));
            }
            tokio::time::sleep(timing.warmup).await;
            let peak_resettable = process::reset_peak_rss(pids[0]);
            let sampling = Rc::new(Cell::new(true));
            let own_memory = target.database_file.clone().map(|file| {
                tokio::task::spawn_local(own_memory::peak_kib(pids[0], file, Rc::clone(&sampling)))
            });
            let meter = Meter::start(&pids, target.watch_postgres)?;
            let started = Instant::now();
            phase.set(Phase::Measure);
            tokio::time::sleep(timing.measure).await;
            phase.set(Phase::Done);
            sampling.set(false);
            let window = started.elapsed();
            let usage = meter.finish()?;
            let peak = peak_resettable
                .then(|| process::memory_kib(pids[0], "VmHWM").ok())
                .flatten();
            let own_peak = match own_memory {
                Some(sampler) => Some(sampler.await.context("the memory sampler failed")??),
                None => peak,
            };
            let mut returned = Vec::new();
            for handle in handles {
                returned.extend(handle.await.context("a load connection failed")?);
            }
            anyhow::Ok((window, usage, peak, returned, own_peak))
        })?;
    accounts.absorb(returned);

    let mut results = Vec::with_capacity(groups.len());
    for (group, recorder) in groups.iter().zip(recorders) {
        let recorder = Rc::try_unwrap(recorder)
            .map_err(|_| anyhow::anyhow!("a load connection outlived its run"))?
            .into_inner();
        results.push(GroupResult {
            scenario: group.scenario,
            connections: group.connections,
            requests: recorder.requests,
            latency: recorder.latency,
            statuses: recorder.statuses,
        });
    }
    Ok(RunResult {
        groups: results,
        window,
        usage,
        server_peak_rss_kib,
        server_peak_own_kib,
    })
}

/// One connection's loop; returns its accounts as it last knew them.
async fn drive(
    mut driver: Driver,
    phase: Rc<Cell<Phase>>,
    recorder: Rc<RefCell<Recorder>>,
) -> Vec<Account> {
    let mut connection = HttpConnection::new(driver.address);
    let mut request = Vec::with_capacity(512);
    while phase.get() != Phase::Done {
        request.clear();
        let is_head = driver.build(&mut request);
        let started = Instant::now();
        let outcome = connection.send(&request, is_head).await;
        let elapsed = started.elapsed();
        let status = match &outcome {
            Ok(answer) => {
                driver.absorb(answer);
                answer.status.to_string()
            }
            Err(_) => {
                driver.skip();
                "io error".to_owned()
            }
        };
        if phase.get() == Phase::Measure {
            let mut recorder = recorder.borrow_mut();
            recorder.requests += 1;
            recorder
                .latency
                .saturating_record(u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX));
            *recorder.statuses.entry(status).or_default() += 1;
        }
        if outcome.is_err() {
            // A refused or reset connection: do not spin.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    driver.accounts
}
