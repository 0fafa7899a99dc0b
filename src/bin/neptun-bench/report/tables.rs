//! The scenario and ceiling tables.

use super::{Report, mib, users};
use crate::backend::Backend;

impl Report<'_> {
    fn postgres(&self) -> bool {
        self.plan.backend.is_postgres()
    }

    pub(super) fn print_scenarios(&self) {
        println!("\n## Scenarios\n");
        println!(
            "| users | scenario | conns | req/s | p50 ms | p99 ms | statuses | server CPU µs/req | server / others on its core | peak RSS less DB map MiB | ceiling req/s | ratio | CPU ratio |{}",
            if self.postgres() {
                " PostgreSQL CPU µs/req |"
            } else {
                ""
            }
        );
        println!(
            "|---:|---|---:|---:|---:|---:|---|---:|---|---:|---:|---:|---:|{}",
            if self.postgres() { "---:|" } else { "" }
        );
        for phase in [&self.small, &self.large] {
            for run in &phase.scenarios {
                let group = &run.groups[0];
                let ceiling = self.ceiling(group.scenario, phase);
                let postgres = if self.postgres() {
                    format!(" {} |", optional(run.postgres_cpu_us_per_request(), 0))
                } else {
                    String::new()
                };
                println!(
                    "| {} | {} | {} | {:.0} | {:.2} | {:.2} | {} | {:.0} | {:.0} % / {:.0} % | {} | {:.0} | {:.2} | {:.2} |{postgres}",
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
                    mib(run.server_peak_own_kib),
                    ceiling,
                    run.rate(0) / ceiling,
                    1e6 / ceiling / run.server_cpu_us_per_request(),
                );
            }
        }
    }

    pub(super) fn print_ceilings(&self) {
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
        let (database, how) = match self.plan.backend {
            Backend::Sqlite => (
                "SQLite",
                "rusqlite, the store's query and PRAGMAs".to_owned(),
            ),
            Backend::Postgres { .. } => (
                "PostgreSQL",
                format!(
                    "tokio-postgres, the store's query, {} connections like the server's pool, driven from the server core (PostgreSQL unpinned)",
                    crate::postgres::CONNECTIONS
                ),
            ),
        };
        for phase in [&self.small, &self.large] {
            println!(
                "| {database} session read by hash, {} users | {:.0} | {:.1} | {how} |",
                users(phase.users),
                phase.session_read.per_second(),
                phase.session_read.micros_each(),
            );
            let patch = &phase.patch_transaction;
            let page_cache = patch.page_cache.map_or(String::new(), |cache| {
                format!("; page cache hits {:.1} %", cache.hit_rate() * 100.0)
            });
            println!(
                "| {database} PATCH transaction, {} users | {:.0} | {:.1} | update email + rotate session, one transaction; {how}{page_cache} |",
                users(phase.users),
                patch.one_each.per_second(),
                patch.one_each.micros_each(),
            );
            if let Some(grouped) = patch.grouped {
                println!(
                    "| {database} PATCH transactions, grouped, {} users | {:.0} | {:.1} | the same, {} to a commit, each in a savepoint (the writer's group commit): ×{:.2} the one-each figure |",
                    users(phase.users),
                    grouped.per_second(),
                    grouped.micros_each(),
                    crate::ceilings::WRITES_PER_COMMIT,
                    grouped.per_second() / patch.one_each.per_second(),
                );
            }
        }
        println!(
            "| Argon2id verification ({}) | {:.1} | {:.0} | one thread |",
            crate::seed::cost_label(),
            self.hashing.per_second(),
            self.hashing.micros_each(),
        );
        println!(
            "\nCombined ceilings: session check = 1/(1/HTTP + 1/read), PATCH email = 1/(1/HTTP + 1/transaction), the grouped transaction on SQLite; login, sign-up and password PATCH = hashing. The ratio divides requests/s by the ceiling; the CPU ratio divides the ceiling's µs per operation by the server's CPU µs per request, which other processes on the server's core disturb less."
        );
        if self.postgres() {
            println!(
                "\nOn PostgreSQL a database ceiling's µs each is its wall time over its connections together (one operation's share of the window), and the database's own work runs in PostgreSQL's processes beside the server's: the CPU ratio compares the server's CPU with that, and the last column of the scenarios is PostgreSQL's CPU per request (every process named postgres, from /proc)."
            );
        }
    }
}

/// A figure, or "n/a" when it was not measured.
pub(super) fn optional(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(|| "n/a".into(), |value| format!("{value:.decimals$}"))
}
