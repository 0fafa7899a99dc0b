//! One database size: a fresh SQLite file migrated by the server, seeded
//! directly, the database ceilings measured on it, then the server started
//! again on it (timed) and the scenarios run against it.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;

use crate::accounts::Accounts;
use crate::ceilings::{self, PageCache, Rate};
use crate::load::{self, Group, RunResult, Scenario, Target};
use crate::process::{self, ServerProcess};
use crate::{Plan, progress, seed};

/// How far ahead seeded sessions are marked as last seen (see [`seed::seed`]).
const SEEN_AHEAD: Duration = Duration::from_secs(3_600);

/// Everything measured on one database size.
pub struct PhaseResult {
    pub users: u32,
    pub seeding: Duration,
    pub session_read: Rate,
    pub patch_transaction: Rate,
    /// The same transactions, grouped as the writer groups them.
    pub patch_grouped: Rate,
    /// The page cache of the one-commit-each transactions.
    pub page_cache: PageCache,
    pub start_to_listening: Duration,
    pub idle_rss_kib: u64,
    /// The scenarios, each on its own.
    pub scenarios: Vec<RunResult>,
    /// Session checks (group 0) during a login flood (group 1).
    pub flood: Option<RunResult>,
    /// Logins on many more connections than the hashing queue admits.
    pub memory_probe: Option<RunResult>,
}

impl PhaseResult {
    pub fn scenario(&self, scenario: Scenario) -> Option<&RunResult> {
        self.scenarios
            .iter()
            .find(|run| run.groups[0].scenario == scenario)
    }
}

/// Runs one database size; `full` adds the slow scenarios, the flood and
/// the memory probe.
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
    let outcome = run_in(runtime, plan, server, password_hash, users, full, &folder);
    if plan.keep {
        progress(&format!("kept {}", folder.display()));
    } else {
        let _ = std::fs::remove_dir_all(&folder);
    }
    outcome
}

fn run_in(
    runtime: &tokio::runtime::Runtime,
    plan: &Plan,
    server: &Path,
    password_hash: &str,
    users: u32,
    full: bool,
    folder: &Path,
) -> anyhow::Result<PhaseResult> {
    let database = folder.join("accounts.db");
    let log = folder.join("server.log");
    let address: SocketAddr = format!("127.0.0.1:{}", process::free_port()?).parse()?;
    let args = server_args(address, &database);

    progress(&format!("{users} users: migrating a fresh database"));
    let migrating = ServerProcess::start(server, &args, address, &log)?;
    migrating.wait_healthy()?;
    migrating.stop()?;

    progress(&format!("{users} users: seeding"));
    let now_ms = chrono::Utc::now().timestamp_millis();
    let mut accounts = Accounts::new(users, now_ms - i64::from(users));
    let seeding = seed::seed(&database, &accounts, password_hash, SEEN_AHEAD)?;
    progress(&format!(
        "{users} users: seeded in {:.1} s; database ceilings",
        seeding.as_secs_f64()
    ));
    let session_read = ceilings::session_read(database.clone(), &accounts, plan.ceiling)?;
    let seen_at_ms = now_ms + i64::try_from(SEEN_AHEAD.as_millis())?;
    let (patch_transaction, page_cache) =
        ceilings::patch_transaction(database.clone(), &mut accounts, plan.ceiling, seen_at_ms, 1)?;
    let (patch_grouped, _) = ceilings::patch_transaction(
        database.clone(),
        &mut accounts,
        plan.ceiling,
        seen_at_ms,
        ceilings::WRITES_PER_COMMIT,
    )?;

    progress(&format!("{users} users: starting the server pinned"));
    let serving = ServerProcess::start(server, &args, address, &log)?;
    let start_to_listening = serving.start_to_listening;
    serving.wait_healthy()?;
    std::thread::sleep(plan.idle_settle);
    let pid = serving.pid();
    let idle_rss_kib = process::memory_kib(pid, "VmRSS")?;
    let target = Target { address, pid };

    let mut scenarios = Vec::new();
    let mut run_number = 0_u32;
    let mut measure = |groups: &[Group], accounts: &mut Accounts| {
        run_number += 1;
        let names: Vec<&str> = groups.iter().map(|group| group.scenario.label()).collect();
        progress(&format!("{users} users: {}", names.join(" + ")));
        let slow = groups.iter().any(|group| {
            !matches!(
                group.scenario,
                Scenario::SessionGet | Scenario::HeadCheck | Scenario::PatchEmail
            )
        });
        let timing = if slow { plan.hashing } else { plan.fast };
        load::run(runtime, &target, groups, accounts, timing, run_number)
            .map_err(|err| err.context(format!("server log: {}", process::tail(&log))))
    };
    let fast = |scenario| Group {
        scenario,
        connections: plan.connections,
    };
    let hashing = |scenario| Group {
        scenario,
        connections: plan.hashing_connections,
    };
    for group in [
        fast(Scenario::SessionGet),
        fast(Scenario::HeadCheck),
        fast(Scenario::PatchEmail),
    ] {
        scenarios.push(measure(&[group], &mut accounts)?);
    }
    let mut flood = None;
    let mut memory_probe = None;
    if full {
        for group in [
            hashing(Scenario::PatchPassword),
            hashing(Scenario::Login),
            hashing(Scenario::SignUp),
        ] {
            scenarios.push(measure(&[group], &mut accounts)?);
        }
        flood = Some(measure(
            &[fast(Scenario::SessionGet), hashing(Scenario::Login)],
            &mut accounts,
        )?);
        memory_probe = Some(measure(
            &[Group {
                scenario: Scenario::Login,
                connections: plan.probe_connections,
            }],
            &mut accounts,
        )?);
    }
    serving.stop()?;
    Ok(PhaseResult {
        users,
        seeding,
        session_read,
        patch_transaction,
        patch_grouped,
        page_cache,
        start_to_listening,
        idle_rss_kib,
        scenarios,
        flood,
        memory_probe,
    })
}

fn server_args(address: SocketAddr, database: &Path) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "serve".into(),
        "--rate-limits".into(),
        "off".into(),
        // Every load connection comes from one loopback address.
        "--max-connections-per-address".into(),
        "1024".into(),
        "--listen".into(),
        address.to_string(),
        "--database-url".into(),
        format!("sqlite://{}", database.display()),
        "--cookie-secure".into(),
        "false".into(),
    ];
    args.extend(crate::seed::server_cost_args());
    args
}
