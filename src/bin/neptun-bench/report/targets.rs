//! The targets of issue 22 as PASS/MISS lines, on this run's figures.

use super::{Report, users};
use crate::load::Scenario;

impl Report<'_> {
    pub(super) fn print_targets(&self) {
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
        // Issue 22: a session check at 0.3 of the bare router, whatever
        // the database's own ceiling.
        let (http, _) = self.http_ceiling();
        for scenario in [Scenario::SessionGet, Scenario::HeadCheck] {
            line(
                format!(
                    "{} ≥ 0.3 × the bare axum route, same run ({size} users)",
                    scenario.label()
                ),
                large.scenario(scenario).map(|run| run.rate(0) / http),
                &at_least(0.3),
                "",
            );
        }
        for (scenario, floor) in [
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
        let mixed_detail = large.mixed.as_ref().map_or_else(String::new, |mixed| {
            format!(
                " (p99 {:.2} ms mixed, {:.2} ms alone)",
                mixed.mixed.groups[0].percentile_ms(0.99),
                mixed.alone.groups[0].percentile_ms(0.99)
            )
        });
        line(
            "session check p99 under mixed load (logins, PATCH email, reset codes) ≤ 2 × alone, same server".into(),
            self.mixed_p99_ratio(),
            &at_most(2.0),
            &mixed_detail,
        );
        if self.plan.backend.is_postgres() {
            for scenario in [Scenario::SessionGet, Scenario::PatchEmail] {
                line(
                    format!(
                        "{}: two instances on one database ≥ 1.6 × one ({size} users)",
                        scenario.label()
                    ),
                    self.pair_ratio(scenario),
                    &at_least(1.6),
                    "",
                );
            }
        }
        for scenario in [
            Scenario::SessionGet,
            Scenario::HeadCheck,
            Scenario::PatchEmail,
        ] {
            line(
                format!(
                    "{} at {size} users ≥ 0.9 × at {} users",
                    scenario.label(),
                    users(self.small.users)
                ),
                self.size_ratio(scenario),
                &at_least(0.9),
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
            "peak RSS under 256 concurrent logins, less the DB file's map, ≤ 128 MiB".into(),
            large
                .memory_probe
                .as_ref()
                .and_then(|probe| probe.server_peak_own_kib)
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
}
