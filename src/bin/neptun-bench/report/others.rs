//! The figures beside the tables: size ratios, the flood and the mixed
//! load, the two instances on one database, seeding, start and memory.

use super::tables::optional;
use super::{Report, mib, users};
use crate::load::{RunResult, Scenario};

impl Report<'_> {
    pub(super) fn print_others(&self) {
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
            println!(
                "- session checks during a login flood: {}",
                checks_beside(flood)
            );
        }
        if let Some(mixed) = &self.large.mixed {
            println!(
                "- session checks under mixed load (a server with mail on): {}; {} mails reached the relay during the run",
                checks_beside(&mixed.mixed),
                mixed.mails,
            );
            println!(
                "- the same checks alone on that server just before: {}; p99 mixed / alone = {}",
                checks_beside(&mixed.alone),
                optional(self.mixed_p99_ratio(), 2),
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
                "- {} concurrent logins: peak RSS less the database file's mapped pages {} MiB (sampled; with them, VmHWM {} MiB); answers {} (503 is the hashing queue refusing past its bound)",
                group.connections,
                mib(probe.server_peak_own_kib),
                mib(probe.server_peak_rss_kib),
                group.status_histogram(),
            );
        }
    }

    pub(super) fn size_ratio(&self, scenario: Scenario) -> Option<f64> {
        Some(self.large.scenario(scenario)?.rate(0) / self.small.scenario(scenario)?.rate(0))
    }

    /// p99 of session checks under mixed load over p99 alone.
    pub(super) fn mixed_p99_ratio(&self) -> Option<f64> {
        let mixed = self.large.mixed.as_ref()?;
        Some(mixed.mixed.groups[0].percentile_ms(0.99) / mixed.alone.groups[0].percentile_ms(0.99))
    }

    /// Requests/s of a scenario on two instances over one, same database.
    pub(super) fn pair_ratio(&self, scenario: Scenario) -> Option<f64> {
        let pair = self
            .large
            .pair
            .iter()
            .find(|pair| pair.one.groups[0].scenario == scenario)?;
        Some(pair.two.rate(0) / pair.one.rate(0))
    }

    pub(super) fn print_pair(&self) {
        if self.large.pair.is_empty() {
            return;
        }
        println!("\n## Two instances on one database\n");
        println!(
            "One instance pinned to core 0, measured just before two: instance 1 on core 0, instance 2 on core 1 beside the load generator, whose connections alternate between them; PostgreSQL unpinned. CPU is each process's utime + stime over the window (/proc/PID/stat; PostgreSQL: every process named postgres), in cores (1.00 = one core fully); others = the machine's busy time (/proc/stat) less those.\n"
        );
        println!(
            "| users | scenario | instances | conns | req/s | p50 ms | p99 ms | statuses | two / one | instance 1 CPU | instance 2 CPU | load generator CPU | PostgreSQL CPU | others | machine busy (of {} cores) |",
            crate::process::online_cores()
        );
        println!("|---:|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|");
        for pair in &self.large.pair {
            let scenario = pair.one.groups[0].scenario;
            for (instances, run) in [(1, &pair.one), (2, &pair.two)] {
                let group = &run.groups[0];
                let ratio = if instances == 2 {
                    optional(self.pair_ratio(scenario), 2)
                } else {
                    "-".into()
                };
                println!(
                    "| {} | {} | {instances} | {} | {:.0} | {:.2} | {:.2} | {} | {ratio} | {} |",
                    users(self.large.users),
                    scenario.label(),
                    group.connections,
                    run.rate(0),
                    group.percentile_ms(0.5),
                    group.percentile_ms(0.99),
                    group.status_histogram(),
                    cpu_shares(run),
                );
            }
        }
    }
}

/// "p99 …, p50 …, N checks/s (statuses)" of group 0, then each other group.
fn checks_beside(run: &RunResult) -> String {
    let checks = &run.groups[0];
    let mut text = format!(
        "p99 {:.2} ms, p50 {:.2} ms, {:.0} checks/s ({})",
        checks.percentile_ms(0.99),
        checks.percentile_ms(0.5),
        run.rate(0),
        checks.status_histogram(),
    );
    let beside: Vec<String> = run
        .groups
        .iter()
        .enumerate()
        .skip(1)
        .map(|(index, group)| {
            format!(
                "{:.1}/s {} on {} connections ({})",
                run.rate(index),
                group.scenario.label(),
                group.connections,
                group.status_histogram(),
            )
        })
        .collect();
    if !beside.is_empty() {
        text.push_str(&format!(", alongside {}", beside.join(", ")));
    }
    text
}

/// The CPU columns of the two-instance table, in cores.
fn cpu_shares(run: &RunResult) -> String {
    let usage = &run.usage;
    let instance = |index: usize| {
        usage.servers.get(index).map_or_else(
            || "-".to_owned(),
            |spent| format!("{:.2}", run.share(*spent)),
        )
    };
    let postgres = usage.postgres.map(|spent| run.share(spent));
    let known = run.server_utilisation() + run.client_utilisation() + postgres.unwrap_or(0.0);
    format!(
        "{} | {} | {:.2} | {} | {:.2} | {:.2}",
        instance(0),
        instance(1),
        run.client_utilisation(),
        optional(postgres, 2),
        (usage.machine_busy_cores - known).max(0.0),
        usage.machine_busy_cores,
    )
}
