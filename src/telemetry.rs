//! Prometheus metrics through the `metrics` facade: one process-wide
//! recorder, rendered as text at `GET /metrics`. The names, in one place so
//! that dashboards can rely on them.

use std::collections::HashMap;
use std::sync::{OnceLock, RwLock};
use std::time::Duration;

use metrics::{Counter, Histogram, counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::store::PoolStatus;

/// Seconds; from a cache-hot session read to a slow, queued password hash.
const LATENCY_BUCKETS: [f64; 14] = [
    0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// How often histogram samples are folded in when nobody scrapes.
pub const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The recorder's handle, installing the recorder on first use. If the host
/// program installed another recorder first, ours stays empty and says so.
pub fn handle() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &LATENCY_BUCKETS)
                // Fails only on an empty bucket list, which this is not.
                .unwrap_or_else(|_| PrometheusBuilder::new())
                .build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("another metrics recorder is installed; /metrics stays empty");
            }
            handle
        })
        .clone()
}

/// One answered request, by method, matched route and status.
pub fn request_answered(method: &'static str, route: &str, status: u16, latency: Duration) {
    let record = |series: &RequestSeries| {
        series.count.increment(1);
        series.duration.record(latency.as_secs_f64());
    };
    let cache = REQUEST_SERIES.get_or_init(RwLock::default);
    if let Ok(cache) = cache.read()
        && let Some(series) = cache.get(route).and_then(|by| by.get(&(method, status)))
    {
        return record(series);
    }
    let labels = [
        ("method", method.to_owned()),
        ("route", route.to_owned()),
        ("status", status.to_string()),
    ];
    let series = RequestSeries {
        count: counter!("http_requests_total", &labels),
        duration: histogram!("http_request_duration_seconds", &labels),
    };
    record(&series);
    if let Ok(mut cache) = cache.write() {
        cache
            .entry(route.to_owned())
            .or_default()
            .insert((method, status), series);
    }
}

/// The request metrics' handles by route, then by method and status: each
/// series is looked up by its labels once, not on every request (the
/// labels' strings and the registry's lookup were a request's share of
/// allocations). Routes are matched paths, so the set stays small.
type SeriesByRoute = HashMap<String, HashMap<(&'static str, u16), RequestSeries>>;

static REQUEST_SERIES: OnceLock<RwLock<SeriesByRoute>> = OnceLock::new();

struct RequestSeries {
    count: Counter,
    duration: Histogram,
}

pub fn signed_up() {
    counter!("neptun_sign_ups_total").increment(1);
    session_created();
}

pub fn login(succeeded: bool) {
    let outcome = if succeeded { "success" } else { "failure" };
    counter!("neptun_logins_total", "outcome" => outcome).increment(1);
    if succeeded {
        session_created();
    }
}

fn session_created() {
    counter!("neptun_sessions_created_total").increment(1);
}

/// Why sessions ended before their time.
#[derive(Clone, Copy, Debug)]
pub enum Revocation {
    Logout,
    PasswordChange,
    AccountDeleted,
    Admin,
    /// The owner ended them from the session list.
    User,
}

pub fn sessions_revoked(reason: Revocation, count: u64) {
    let reason = match reason {
        Revocation::Logout => "logout",
        Revocation::PasswordChange => "password_change",
        Revocation::AccountDeleted => "account_deleted",
        Revocation::Admin => "admin",
        Revocation::User => "user",
    };
    counter!("neptun_sessions_revoked_total", "reason" => reason).increment(count);
}

/// A 429: which limit refused.
pub fn throttled(limit: &'static str) {
    counter!("neptun_throttle_refusals_total", "limit" => limit).increment(1);
}

/// A mail left the outbox for the relay.
pub fn mail_sent() {
    counter!("neptun_mails_sent_total").increment(1);
}

/// A mail was given up (refused for good, or a day old).
pub fn mail_failed() {
    counter!("neptun_mails_failed_total").increment(1);
}

/// Mails waiting in the outbox.
pub fn mails_queued(count: u64) {
    gauge!("neptun_mails_queued").set(count as f64);
}

/// Events removed by the retention purge.
pub fn events_purged(count: u64) {
    counter!("neptun_events_purged_total").increment(count);
}

/// Password hashing: a request starts waiting for a thread.
pub fn hash_queue_entered() {
    gauge!("neptun_password_hash_queue_depth").increment(1.0);
}

/// Password hashing: a request stops waiting (a thread, or cancellation).
pub fn hash_queue_left() {
    gauge!("neptun_password_hash_queue_depth").decrement(1.0);
}

/// Password hashing: how long a request waited for a thread.
pub fn hash_waited(wait: Duration) {
    histogram!("neptun_password_hash_wait_seconds").record(wait.as_secs_f64());
}

/// Password hashing: refused with 503 because the queue was full.
pub fn hash_refused() {
    counter!("neptun_password_hash_refusals_total").increment(1);
}

/// Database connections, read at each scrape.
pub fn database_pool(status: PoolStatus) {
    gauge!("neptun_database_connections", "state" => "max").set(status.max as f64);
    gauge!("neptun_database_connections", "state" => "in_use").set(status.in_use as f64);
}

/// Log lines dropped because stderr stalled, read at each scrape.
pub fn log_lines_dropped(total: u64) {
    counter!("neptun_log_lines_dropped_total").absolute(total);
}
