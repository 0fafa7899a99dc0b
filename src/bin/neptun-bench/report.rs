//! The report: Markdown tables of the scenarios and ceilings, the ratios,
//! the targets as PASS/MISS lines, and the failures that end the run
//! non-zero (answers other than the success status above 0.1 %).

use std::time::Duration;

use crate::Plan;
use crate::ceilings::{self, Rate};
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
    pub hashing: Rate,
    pub http: RunResult,
    pub small: PhaseResult,
    pub large: PhaseResult,
    pub elapsed: Duration,
}

impl Report<'_> {
    /// HTTP ceiling in requests/s, and how it was found.
    fn http_ceiling(&self) -> (f64, &'static str) {
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
            Scenario::PatchEmail => combined(http, phase.patch_grouped.per_second()),
            Scenario::PatchPassword | Scenario::Login | Scenario::SignUp => {
                self.hashing.per_second()
            }
            Scenario::Bare => http,
        }
    }

    fn ratio(&self, scenario: Scenario, phase: &PhaseResult) -> Option<f64> {
        let run = phase.scenario(scenario)?;
        Some(run.rate(0) / self.ceiling(scenario, phase))
    }

    pub fn print(&self) {
        self.print_header();
        self.print_scenarios();
        self.print_ceilings();
        self.print_others();
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
        println!(
            "- server pinned to core 0, load generator to core 1; fast scenarios {} connections, {:.0} s after {:.0} s warm-up; hashing scenarios {} connections, {:.0} s after {:.0} s",
            self.plan.connections,
            self.plan.fast.measure.as_secs_f64(),
            self.plan.fast.warmup.as_secs_f64(),
            self.plan.hashing_connections,
            self.plan.hashing.measure.as_secs_f64(),
            self.plan.hashing.warmup.as_secs_f64(),
        );
        println!("- whole run: {:.0} s", self.elapsed.as_secs_f64());
    }

    fn print_scenarios(&self) {
        println!("\n## Scenarios\n");
        println!(
            "| users | scenario | conns | req/s | p50 ms | p99 ms | statuses | server CPU µs/req | server / others on its core | peak RSS MiB | ceiling req/s | ratio | CPU ratio |"
        );
        println!("|---:|---|---:|---:|---:|---:|---|---:|---|---:|---:|---:|---:|");
        for phase in [&self.small, &self.large] {
            for run in &phase.scenarios {
                let group = &run.groups[0];
                let ceiling = self.ceiling(group.scenario, phase);
                println!(
                    "| {} | {} | {} | {:.0} | {:.2} | {:.2} | {} | {:.0} | {:.0} % / {:.0} % | {} | {:.0} | {:.2} | {:.2} |",
                    users(phase.users),
                    group.scenario.label(),
                    group.connections,
                    run.rate(0),
                    group.percentile_ms(0.5),
                    group.percentile_ms(0.99),
                    group.status_histogram(),
                    run.server_cpu_us_per_request(),
                    run.server_utilisation() * 100.0,
                    run.others_on_server_core() * 100.0,
                    mib(run.server_peak_rss_kib),
                    ceiling,
                    run.rate(0) / ceiling,
                    1e6 / ceiling / run.server_cpu_us_per_request(),
                );
            }
        }
    }

    fn print_ceilings(&self) {
        println!("\n## Ceilings (same run, server core)\n");
        println!("| ceiling | per second | µs each | note |");
        println!("|---|---:|---:|---|");
        let (http, how) = self.http_ceiling();
        let bare = &self.http.groups[0];
        println!(
            "| HTTP: bare axum, one route, no layers | {:.0} | {:.1} | {how}; measured {:.0} req/s, p99 {:.2} ms, {}, server core {:.0} % busy (others {:.0} %), load generator {:.0} % |",
            http,
            1e6 / http,
            self.http.rate(0),
            bare.percentile_ms(0.99),
            bare.status_histogram(),
            self.http.server_utilisation() * 100.0,
            self.http.others_on_server_core() * 100.0,
            self.http.client_utilisation() * 100.0,
        );
        for phase in [&self.small, &self.large] {
            println!(
                "| SQLite session read by hash, {} users | {:.0} | {:.1} | rusqlite, the store's query and PRAGMAs |",
                users(phase.users),
                phase.session_read.per_second(),
                phase.session_read.micros_each(),
            );
            println!(
                "| SQLite PATCH transaction, {} users | {:.0} | {:.1} | update email + rotate session, one transaction; page cache hits {:.1} % |",
                users(phase.users),
                phase.patch_transaction.per_second(),
                phase.patch_transaction.micros_each(),
                phase.page_cache.hit_rate() * 100.0,
            );
            println!(
                "| SQLite PATCH transactions, grouped, {} users | {:.0} | {:.1} | the same, {} to a commit, each in a savepoint (the writer's group commit); ×{:.2} |",
                users(phase.users),
                phase.patch_grouped.per_second(),
                phase.patch_grouped.micros_each(),
                ceilings::WRITES_PER_COMMIT,
                phase.patch_grouped.per_second() / phase.patch_transaction.per_second(),
            );
        }
        println!(
            "| Argon2id verification ({}) | {:.1} | {:.0} | one thread |",
            crate::seed::cost_label(),
            self.hashing.per_second(),
            self.hashing.micros_each(),
        );
        println!(
            "\nCombined ceilings: session check = 1/(1/HTTP + 1/read), PATCH email = 1/(1/HTTP + 1/grouped transaction); login, sign-up and password PATCH = hashing. The ratio divides requests/s by the ceiling; the CPU ratio divides the ceiling's µs per operation by the server's CPU µs per request, which other processes on the server's core disturb less."
        );
    }

    fn print_others(&self) {
        println!("\n## Size, flood, memory, start\n");
        for scenario in [
            Scenario::SessionGet,
            Scenario::HeadCheck,
            Scenario::PatchEmail,
        ] {
            if let Some(ratio) = self.size_ratio(scenario) {
                println!(
                    "- {}: {} users / {} users = {ratio:.2}",
                    scenario.label(),
                    users(self.large.users),
                    users(self.small.users)
                );
            }
        }
        if let Some(flood) = &self.large.flood {
            let checks = &flood.groups[0];
            let logins = &flood.groups[1];
            println!(
                "- session checks during a login flood: p99 {:.2} ms, p50 {:.2} ms, {:.0} checks/s ({}), alongside {:.1} logins/s ({})",
                checks.percentile_ms(0.99),
                checks.percentile_ms(0.5),
                flood.rate(0),
                checks.status_histogram(),
                flood.rate(1),
                logins.status_histogram(),
            );
        }
        for phase in [&self.small, &self.large] {
            println!(
                "- {} users: seeded in {:.1} s; start to listening on the existing database {:.0} ms; idle RSS {:.1} MiB",
                users(phase.users),
                phase.seeding.as_secs_f64(),
                phase.start_to_listening.as_secs_f64() * 1000.0,
                phase.idle_rss_kib as f64 / 1024.0,
            );
        }
        if let Some(probe) = &self.large.memory_probe {
            let group = &probe.groups[0];
            println!(
                "- {} concurrent logins: peak RSS {} MiB; answers {} (503 is the hashing queue refusing past its bound)",
                group.connections,
                mib(probe.server_peak_rss_kib),
                group.status_histogram(),
            );
        }
    }

    fn size_ratio(&self, scenario: Scenario) -> Option<f64> {
        Some(self.large.scenario(scenario)?.rate(0) / self.small.scenario(scenario)?.rate(0))
    }

    fn print_targets(&self) {
        println!("\n## Targets (reported, never asserted)\n");
        let large = &self.large;
        let line = |name: String, value: Option<f64>, pass: &dyn Fn(f64) -> bool, unit: &str| {
            match value {
                Some(value) => println!(
                    "- {} {name}: {value:.2}{unit}",
                    if pass(value) { "PASS" } else { "MISS" }
                ),
                None => println!("- n/a  {name}: not measured"),
            }
        };
        let at_least = |floor: f64| move |value: f64| value >= floor;
        let at_most = |ceiling: f64| move |value: f64| value <= ceiling;
        let size = users(large.users);
        for (scenario, floor) in [
            (Scenario::SessionGet, 0.5),
            (Scenario::HeadCheck, 0.5),
            (Scenario::PatchEmail, 0.8),
            (Scenario::Login, 0.9),
            (Scenario::PatchPassword, 0.9),
        ] {
            line(
                format!(
                    "{} ≥ {floor} × its ceiling ({size} users)",
                    scenario.label()
                ),
                self.ratio(scenario, large),
                &at_least(floor),
                "",
            );
        }
        line(
            "session check p99 during a login flood ≤ 25 ms".into(),
            large
                .flood
                .as_ref()
                .map(|flood| flood.groups[0].percentile_ms(0.99)),
            &at_most(25.0),
            " ms",
        );
        for scenario in [Scenario::SessionGet, Scenario::PatchEmail] {
            line(
                format!(
                    "{} at {size} users ≥ 0.8 × at {} users",
                    scenario.label(),
                    users(self.small.users)
                ),
                self.size_ratio(scenario),
                &at_least(0.8),
                "",
            );
        }
        line(
            format!("idle RSS ≤ 16 MiB ({size} users)"),
            Some(large.idle_rss_kib as f64 / 1024.0),
            &at_most(16.0),
            " MiB",
        );
        line(
            "peak RSS under 256 concurrent logins ≤ 128 MiB".into(),
            large
                .memory_probe
                .as_ref()
                .and_then(|probe| probe.server_peak_rss_kib)
                .map(|kib| kib as f64 / 1024.0),
            &at_most(128.0),
            " MiB",
        );
        line(
            format!("start to listening on an existing database ≤ 100 ms ({size} users)"),
            Some(large.start_to_listening.as_secs_f64() * 1000.0),
            &at_most(100.0),
            " ms",
        );
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
            let runs = phase.scenarios.iter().chain(&phase.flood);
            for group in runs.flat_map(|run| &run.groups) {
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

fn combined(first: f64, second: f64) -> f64 {
    1.0 / (1.0 / first + 1.0 / second)
}

fn users(count: u32) -> String {
    match count {
        0 => "-".into(),
        count if count >= 1_000_000 && count % 1_000_000 == 0 => format!("{}M", count / 1_000_000),
        count if count >= 1_000 && count % 1_000 == 0 => format!("{}k", count / 1_000),
        count => count.to_string(),
    }
}

fn mib(kib: Option<u64>) -> String {
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
