//! One database size: a fresh database migrated by the server, seeded
//! directly, the database ceilings measured on it, then the server started
//! again on it (timed) and the scenarios run against it; for the large size
//! also the mixed load (with mail on) and, on PostgreSQL, two instances.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;

use crate::accounts::Accounts;
use crate::backend::{Database, PatchCeilings};
use crate::ceilings::Rate;
use crate::load::{self, Group, RunResult, Scenario, Target};
use crate::process::{self, CLIENT_CORE, SERVER_CORE, ServerProcess};
use crate::smtp_sink::SmtpSink;
use crate::{Plan, progress, seed};

/// How far ahead seeded sessions are marked as last seen (see [`seed::seed`]).
const SEEN_AHEAD: Duration = Duration::from_secs(3_600);

/// The longest the idle RSS waits for the server's start-up work.
const IDLE_LIMIT: Duration = Duration::from_secs(20);

/// Everything measured on one database size.
pub struct PhaseResult {
    pub users: u32,
    pub seeding: Duration,
    pub session_read: Rate,
    pub patch_transaction: PatchCeilings,
    pub start_to_listening: Duration,
    pub idle_rss_kib: u64,
    /// The scenarios, each on its own.
    pub scenarios: Vec<RunResult>,
    /// Session checks (group 0) during a login flood (group 1).
    pub flood: Option<RunResult>,
    /// Logins on many more connections than the hashing queue admits.
    pub memory_probe: Option<RunResult>,
    /// Session checks alone and under mixed load, on a server with mail on.
    pub mixed: Option<Mixed>,
    /// PostgreSQL: session checks, then PATCH email, on one instance and
    /// then on two.
    pub pair: Vec<Pair>,
}

/// One scenario on one instance, then on two on the same database.
pub struct Pair {
    pub one: RunResult,
    pub two: RunResult,
}

/// Session checks alone, then (group 0) beside logins, PATCH email and
/// reset-code requests (groups 1 to 3), on one server with mail on.
pub struct Mixed {
    pub alone: RunResult,
    pub mixed: RunResult,
    /// Mails the relay accepted from the start of the mixed run's warm-up
    /// to its end.
    pub mails: u64,
}

impl PhaseResult {
    pub fn scenario(&self, scenario: Scenario) -> Option<&RunResult> {
        self.scenarios
            .iter()
            .find(|run| run.groups[0].scenario == scenario)
    }

    /// Every run whose answers must all be successes.
    pub fn strict_runs(&self) -> impl Iterator<Item = &RunResult> {
        let mixed = self
            .mixed
            .iter()
            .flat_map(|mixed| [&mixed.alone, &mixed.mixed]);
        self.scenarios
            .iter()
            .chain(&self.flood)
            .chain(mixed)
            .chain(self.pair.iter().flat_map(|pair| [&pair.one, &pair.two]))
    }
}

/// Runs one database size; `full` adds the slow scenarios, the flood, the
/// memory probe, the mixed load and the two instances.
pub fn run(
    runtime: &tokio::runtime::Runtime,
    plan: &Plan,
    server: &Path,
    password_hash: &str,
    users: u32,
    full: bool,
) -> anyhow::Result<PhaseResult> {
    let folder =
        std::env::temp_dir().join(format!("neptun-bench-{}-{users}-users", std::process::id()));
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(&folder).with_context(|| format!("creating {}", folder.display()))?;
    let database = plan.backend.create(&folder, users)?;
    let mut runner = Runner {
        runtime,
        plan,
        server,
        log: folder.join("server.log"),
        users,
        run_number: 0,
        database: &database,
    };
    let outcome = runner.phase(password_hash, full);
    let finished = database.finish(plan.keep);
    if plan.keep {
        progress(&format!("kept {}", folder.display()));
    } else {
        let _ = std::fs::remove_dir_all(&folder);
    }
    let result = outcome?;
    finished?;
    Ok(result)
}

/// Starts servers on one database and measures runs against them.
struct Runner<'a> {
    runtime: &'a tokio::runtime::Runtime,
    plan: &'a Plan,
    server: &'a Path,
    log: PathBuf,
    users: u32,
    /// Keeps sign-up emails unique across runs on one database.
    run_number: u32,
    database: &'a Database,
}

impl Runner<'_> {
    fn phase(&mut self, password_hash: &str, full: bool) -> anyhow::Result<PhaseResult> {
        let (plan, users) = (self.plan, self.users);
        progress(&format!("{users} users: migrating a fresh database"));
        let migrating = self.start(SERVER_CORE, &[])?;
        migrating.wait_healthy()?;
        migrating.stop()?;

        progress(&format!("{users} users: seeding"));
        let now_ms = chrono::Utc::now().timestamp_millis();
        let mut accounts = Accounts::new(users, now_ms - i64::from(users));
        let seeding = self.database.seed(&accounts, password_hash, SEEN_AHEAD)?;
        progress(&format!(
            "{users} users: seeded in {:.1} s; database ceilings",
            seeding.as_secs_f64()
        ));
        let session_read = self.database.session_read(&accounts, plan.ceiling)?;
        let seen_at_ms = now_ms + i64::try_from(SEEN_AHEAD.as_millis())?;
        let patch_transaction =
            self.database
                .patch_transaction(&mut accounts, plan.ceiling, seen_at_ms)?;

        progress(&format!("{users} users: starting the server pinned"));
        let serving = self.start(SERVER_CORE, &[])?;
        let start_to_listening = serving.start_to_listening;
        serving.wait_healthy()?;
        std::thread::sleep(plan.idle_settle);
        let idle_after = process::wait_idle(serving.pid(), IDLE_LIMIT)?;
        let idle_rss_kib = process::memory_kib(serving.pid(), "VmRSS")?;
        progress(&format!(
            "{users} users: idle {:.1} s after listening",
            (plan.idle_settle + idle_after).as_secs_f64()
        ));
        let target = self.target(&[&serving]);

        let mut scenarios = Vec::new();
        for scenario in [
            Scenario::SessionGet,
            Scenario::HeadCheck,
            Scenario::PatchEmail,
        ] {
            scenarios.push(self.measure(&target, &[self.fast(scenario)], &mut accounts)?);
        }
        let mut result = PhaseResult {
            users,
            seeding,
            session_read,
            patch_transaction,
            start_to_listening,
            idle_rss_kib,
            scenarios,
            flood: None,
            memory_probe: None,
            mixed: None,
            pair: Vec::new(),
        };
        if !full {
            serving.stop()?;
            return Ok(result);
        }
        for scenario in [Scenario::PatchPassword, Scenario::Login, Scenario::SignUp] {
            let run = self.measure(&target, &[self.hashing(scenario)], &mut accounts)?;
            result.scenarios.push(run);
        }
        let flood = [
            self.fast(Scenario::SessionGet),
            self.hashing(Scenario::Login),
        ];
        result.flood = Some(self.measure(&target, &flood, &mut accounts)?);
        let probe = Group {
            scenario: Scenario::Login,
            connections: plan.probe_connections,
        };
        result.memory_probe = Some(self.measure(&target, &[probe], &mut accounts)?);
        serving.stop()?;

        result.mixed = Some(self.mixed(&mut accounts)?);
        if plan.backend.is_postgres() {
            result.pair = self.pair(&mut accounts)?;
        }
        Ok(result)
    }

    /// Session checks alone, then under mixed load, on a server that mails
    /// through a relay of this process.
    fn mixed(&mut self, accounts: &mut Accounts) -> anyhow::Result<Mixed> {
        let sink = SmtpSink::start().context("starting the SMTP relay")?;
        let address = free_address()?;
        let mail_args = [
            "--mail-url".to_owned(),
            sink.url(),
            "--mail-from".to_owned(),
            "neptun-bench@example.com".to_owned(),
            "--public-url".to_owned(),
            format!("http://{address}"),
        ];
        progress(&format!(
            "{} users: starting the server with mail on",
            self.users
        ));
        let serving = self.start_at(SERVER_CORE, address, &mail_args)?;
        serving.wait_healthy()?;
        let target = self.target(&[&serving]);
        let alone = self.measure(&target, &[self.fast(Scenario::SessionGet)], accounts)?;
        let together = Scenario::mixed_load()
            .map(|scenario| Group {
                scenario,
                connections: self.plan.mixed_connections,
            })
            .into_iter();
        let groups: Vec<Group> = std::iter::once(self.fast(Scenario::SessionGet))
            .chain(together)
            .collect();
        let mails_before = sink.delivered();
        let mixed = self.measure(&target, &groups, accounts)?;
        let mails = sink.delivered() - mails_before;
        serving.stop()?;
        Ok(Mixed {
            alone,
            mixed,
            mails,
        })
    }

    /// One instance, then two on the same database, one pinned to each
    /// core, sharing the load generator's connections; each measured just
    /// before the other so that the machine's noise falls on both alike.
    fn pair(&mut self, accounts: &mut Accounts) -> anyhow::Result<Vec<Pair>> {
        const SCENARIOS: [Scenario; 2] = [Scenario::SessionGet, Scenario::PatchEmail];
        progress(&format!("{} users: one instance, then two", self.users));
        let first = self.start(SERVER_CORE, &[])?;
        first.wait_healthy()?;
        let alone = self.target(&[&first]);
        let mut ones = Vec::new();
        for scenario in SCENARIOS {
            ones.push(self.measure(&alone, &[self.fast(scenario)], accounts)?);
        }
        let second = self.start(CLIENT_CORE, &[])?;
        second.wait_healthy()?;
        let both = self.target(&[&first, &second]);
        let mut pairs = Vec::new();
        for (scenario, one) in SCENARIOS.into_iter().zip(ones) {
            let two = self.measure(&both, &[self.fast(scenario)], accounts)?;
            pairs.push(Pair { one, two });
        }
        first.stop()?;
        second.stop()?;
        Ok(pairs)
    }

    fn start(&self, core: usize, extra: &[String]) -> anyhow::Result<ServerProcess> {
        self.start_at(core, free_address()?, extra)
    }

    fn start_at(
        &self,
        core: usize,
        address: SocketAddr,
        extra: &[String],
    ) -> anyhow::Result<ServerProcess> {
        let mut args = server_args(address);
        args.extend(self.database.server_args());
        args.extend_from_slice(extra);
        ServerProcess::start_on(core, self.server, &args, address, &self.log)
    }

    fn target(&self, servers: &[&ServerProcess]) -> Target {
        Target {
            servers: servers
                .iter()
                .map(|server| (server.address, server.pid()))
                .collect(),
            watch_postgres: self.plan.backend.is_postgres(),
            database_file: self.database.sqlite_file().map(Path::to_path_buf),
        }
    }

    fn fast(&self, scenario: Scenario) -> Group {
        Group {
            scenario,
            connections: self.plan.connections,
        }
    }

    fn hashing(&self, scenario: Scenario) -> Group {
        Group {
            scenario,
            connections: self.plan.hashing_connections,
        }
    }

    fn measure(
        &mut self,
        target: &Target,
        groups: &[Group],
        accounts: &mut Accounts,
    ) -> anyhow::Result<RunResult> {
        self.run_number += 1;
        let names: Vec<&str> = groups.iter().map(|group| group.scenario.label()).collect();
        let instances = match target.servers.len() {
            1 => String::new(),
            count => format!(" on {count} instances"),
        };
        progress(&format!(
            "{} users: {}{instances}",
            self.users,
            names.join(" + ")
        ));
        let slow = groups.iter().any(|group| {
            !matches!(
                group.scenario,
                Scenario::SessionGet | Scenario::HeadCheck | Scenario::PatchEmail
            )
        });
        let timing = if slow {
            self.plan.hashing
        } else {
            self.plan.fast
        };
        load::run(
            self.runtime,
            target,
            groups,
            accounts,
            timing,
            self.run_number,
        )
        .map_err(|err| err.context(format!("server log: {}", process::tail(&self.log))))
    }
}

fn free_address() -> anyhow::Result<SocketAddr> {
    Ok(format!("127.0.0.1:{}", process::free_port()?).parse()?)
}

fn server_args(address: SocketAddr) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "serve".into(),
        "--rate-limits".into(),
        "off".into(),
        // Every load connection comes from one loopback address.
        "--max-connections-per-address".into(),
        "1024".into(),
        "--listen".into(),
        address.to_string(),
        "--cookie-secure".into(),
        "false".into(),
    ];
    args.extend(seed::server_cost_args());
    args
}
