//! The report: Markdown tables of the scenarios and ceilings, the ratios,
//! the targets as PASS/MISS lines, and the failures that end the run
//! non-zero (answers other than the success status above 0.1 %).

mod others;
mod tables;
mod targets;

use std::time::Duration;

use crate::Plan;
use crate::ceilings::Rate;
use crate::load::{GroupResult, RunResult, Scenario};
use crate::phase::PhaseResult;

/// Answers other than the success status allowed per scenario.
const MAX_BAD_SHARE: f64 = 0.001;
/// Below this server CPU share the bare router was held back by the load
/// generator, and its capacity is taken from its CPU time per request.
const SATURATED: f64 = 0.9;

pub struct Report<'a> {
    pub plan: &'a Plan,
    pub command: String,
    /// The database, as the header names it.
    pub database: String,
    /// What the server binary's `--version` printed (with its commit).
    pub server_version: String,
    pub hashing: Rate,
    pub http: RunResult,
    pub small: PhaseResult,
    pub large: PhaseResult,
    pub elapsed: Duration,
}

impl Report<'_> {
    /// HTTP ceiling in requests/s, and how it was found.
    pub(super) fn http_ceiling(&self) -> (f64, &'static str) {
        if self.http.server_utilisation() >= SATURATED {
            (self.http.rate(0), "measured")
        } else {
            (
                1e6 / self.http.server_cpu_us_per_request(),
                "from server CPU per request (load generator bound)",
            )
        }
    }

    /// The ceiling a scenario is held to on `phase`'s database.
    fn ceiling(&self, scenario: Scenario, phase: &PhaseResult) -> f64 {
        let (http, _) = self.http_ceiling();
        match scenario {
            Scenario::SessionGet | Scenario::HeadCheck => {
                combined(http, phase.session_read.per_second())
            }
            // A reset code request is a write transaction too; it runs only
            // in the mixed load, which is held to no ceiling.
            Scenario::PatchEmail | Scenario::ResetCode => {
                combined(http, phase.patch_transaction.held_to().per_second())
            }
            Scenario::PatchPassword | Scenario::Login | Scenario::SignUp => {
                self.hashing.per_second()
            }
            Scenario::Bare => http,
        }
    }

    pub(super) fn ratio(&self, scenario: Scenario, phase: &PhaseResult) -> Option<f64> {
        let run = phase.scenario(scenario)?;
        Some(run.rate(0) / self.ceiling(scenario, phase))
    }

    pub fn print(&self) {
        self.print_header();
        self.print_scenarios();
        self.print_ceilings();
        self.print_others();
        self.print_pair();
        self.print_targets();
        let failures = self.failures();
        if failures.is_empty() {
            println!("\nEvery scenario answered its success status to within 0.1 %.");
        } else {
            println!("\nFAILED (answers other than the success status above 0.1 %):");
            for failure in failures {
                println!("- {failure}");
            }
        }
    }

    fn print_header(&self) {
        println!(
            "# neptun-bench {}\n",
            if self.plan.smoke { "smoke run" } else { "run" }
        );
        println!(
            "- date: {}",
            chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")
        );
        println!("- machine: {}", machine());
        println!("- command: `{}`", self.command);
        println!("- server: `{}`", self.server_version);
        // The commit only: build.rs leaves this binary's own files out of
        // its dirty check.
        let bench_commit = env!("NEPTUN_BUILD_COMMIT");
        println!(
            "- neptun-bench: built at {}",
            bench_commit.split(',').next().unwrap_or(bench_commit)
        );
        println!("- database: {}", self.database);
        let unpinned = if self.plan.backend.is_postgres() {
            " (PostgreSQL's own processes are not pinned: they run on either core)"
        } else {
            ""
        };
        println!(
            "- server pinned to core 0, load generator to core 1{unpinned}; fast scenarios {} connections, {:.0} s after {:.0} s warm-up; hashing scenarios {} connections, {:.0} s after {:.0} s",
            self.plan.connections,
            self.plan.fast.measure.as_secs_f64(),
            self.plan.fast.warmup.as_secs_f64(),
            self.plan.hashing_connections,
            self.plan.hashing.measure.as_secs_f64(),
            self.plan.hashing.warmup.as_secs_f64(),
        );
        println!("- whole run: {:.0} s", self.elapsed.as_secs_f64());
    }

    /// Scenarios with too many answers other than their success status.
    pub fn failures(&self) -> Vec<String> {
        let mut failures = Vec::new();
        let mut check = |users: u32, group: &GroupResult, allowed: &[&str]| {
            let bad: u64 = group
                .statuses
                .iter()
                .filter(|(status, _)| !allowed.contains(&status.as_str()))
                .map(|(_, count)| count)
                .sum();
            let share = bad as f64 / group.requests.max(1) as f64;
            if group.requests == 0 || share > MAX_BAD_SHARE {
                failures.push(format!(
                    "{} users, {}: {} of {} answers bad ({})",
                    self::users(users),
                    group.scenario.label(),
                    bad,
                    group.requests,
                    group.status_histogram()
                ));
            }
        };
        for group in &self.http.groups {
            check(0, group, &["200"]);
        }
        for phase in [&self.small, &self.large] {
            for group in phase.strict_runs().flat_map(|run| &run.groups) {
                check(phase.users, group, &["200"]);
            }
            // Past the hashing queue the server refuses with 503 by design.
            for group in phase.memory_probe.iter().flat_map(|run| &run.groups) {
                check(phase.users, group, &["200", "503"]);
            }
        }
        failures
    }
}

pub(super) fn combined(first: f64, second: f64) -> f64 {
    1.0 / (1.0 / first + 1.0 / second)
}

pub(super) fn users(count: u32) -> String {
    match count {
        0 => "-".into(),
        count if count >= 1_000_000 && count % 1_000_000 == 0 => format!("{}M", count / 1_000_000),
        count if count >= 1_000 && count % 1_000 == 0 => format!("{}k", count / 1_000),
        count => count.to_string(),
    }
}

pub(super) fn mib(kib: Option<u64>) -> String {
    kib.map_or_else(|| "n/a".into(), |kib| format!("{:.1}", kib as f64 / 1024.0))
}

/// Cores, CPU model and memory of this machine.
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name")?.split_once(':'))
        .map_or("unknown CPU", |(_, model)| model.trim());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_gib = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|rest| rest.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0 / 1024.0);
    let cores = cpuinfo
        .lines()
        .filter(|line| line.starts_with("processor"))
        .count();
    format!("{cores} cores, {model}, {memory_gib:.0} GiB memory")
}
