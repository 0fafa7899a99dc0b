//! Seeding a migrated SQLite database directly with rusqlite: every user
//! with the same precomputed Argon2id hash and one live session, in one
//! transaction. The rows themselves ([`SeedRow`]) are shared with the
//! PostgreSQL seeding.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use neptun_accounts::domain::argon2_worker::Computations;
use neptun_accounts::domain::password::Password;
use neptun_accounts::domain::password_hasher::HashingCost;
use rusqlite::Connection;

use crate::accounts::{Accounts, PASSWORD, token_hash};

/// The cost the hashes are seeded with, the server is started with and the
/// report names: the server's default, from the one place that defines it.
pub const COST: HashingCost = HashingCost::DEFAULT;

/// What a desktop Chromium sends, so seeded devices weigh what real ones do.
pub const BENCH_USER_AGENT: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

/// The server's own Argon2id computations at [`COST`]: the seeded hashes
/// and the hashing ceiling use the implementation the server hashes with.
pub fn computations() -> anyhow::Result<Computations> {
    Computations::new(COST).map_err(|err| anyhow::anyhow!("argon2 parameters: {err}"))
}

/// The `--argon2-*` flags that start the server at [`COST`], said rather
/// than left to its defaults, so the seeded hashes never need a rehash.
pub fn server_cost_args() -> Vec<String> {
    [
        ("--argon2-memory-kib", COST.memory_kib),
        ("--argon2-iterations", COST.iterations),
        ("--argon2-parallelism", COST.parallelism),
    ]
    .into_iter()
    .flat_map(|(flag, value)| [flag.to_owned(), value.to_string()])
    .collect()
}

/// `m=…, t=…, p=…`, as the report labels [`COST`].
pub fn cost_label() -> String {
    format!(
        "m={}, t={}, p={}",
        COST.memory_kib, COST.iterations, COST.parallelism
    )
}

/// The PHC string of [`PASSWORD`] at the default cost, computed once.
pub fn password_hash() -> anyhow::Result<String> {
    let computations = computations()?;
    let mut arena = computations.new_arena();
    computations
        .hash_with_salt(
            &Password::new(PASSWORD.into()),
            b"neptun-bench-salt",
            &mut arena,
        )
        .map_err(|err| anyhow::anyhow!("argon2: {err}"))
}

/// The network every seeded device is recorded from.
pub const BENCH_ADDRESS: &str = "127.0.0.0/24";

/// One seeded user with its session and device, whatever the database.
pub struct SeedRow {
    pub user_id: String,
    pub email: String,
    pub token_hash: [u8; 32],
    pub created_at: i64,
    /// Unique, and as long as a real one (22 characters).
    pub public_id: String,
}

impl SeedRow {
    pub fn of(accounts: &Accounts, index: u32) -> Self {
        let account = accounts.seeded(index);
        Self {
            token_hash: token_hash(&account.token),
            user_id: account.user_id,
            email: account.email,
            created_at: accounts.first_created_ms + i64::from(index),
            public_id: format!("bench{index:017}"),
        }
    }
}

/// When every seeded session was last seen: `seen_ahead` after the last
/// user was created (see [`seed`]).
pub fn seen_at(accounts: &Accounts, seen_ahead: Duration) -> i64 {
    accounts.first_created_ms
        + i64::from(accounts.count)
        + i64::try_from(seen_ahead.as_millis()).unwrap_or(0)
}

/// Inserts `accounts.count` users and one session each; returns the time taken.
///
/// Sessions are seeded as last seen `seen_ahead` from now, so that session
/// checks during the run measure the read path: a session seen over a
/// minute ago would add the once-a-minute `last_seen_at` write to the first
/// check of each of a million sessions, which is another workload.
pub fn seed(
    database: &Path,
    accounts: &Accounts,
    password_hash: &str,
    seen_ahead: Duration,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let mut connection =
        Connection::open(database).with_context(|| format!("opening {}", database.display()))?;
    // Bulk loading only: a large page cache, and no fsync until the end.
    connection.execute_batch("PRAGMA cache_size = -524288; PRAGMA synchronous = OFF;")?;
    let seen_at = seen_at(accounts, seen_ahead);
    let transaction = connection.transaction()?;
    {
        let mut insert_user = transaction.prepare(
            "INSERT INTO users (id, email, password_hash, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?4)",
        )?;
        let mut insert_session = transaction.prepare(
            "INSERT INTO sessions (token_hash, user_id, created_at, authenticated_at, last_seen_at,
                                   logged_in_at, public_id)
             VALUES (?1, ?2, ?3, ?3, ?4, ?3, ?5)",
        )?;
        // A browser's User-Agent, as long as real ones are.
        let mut insert_device = transaction.prepare(
            "INSERT INTO session_devices (public_id, user_agent, address) VALUES (?1, ?2, ?3)",
        )?;
        for index in 0..accounts.count {
            let row = SeedRow::of(accounts, index);
            insert_user.execute((&row.user_id, &row.email, password_hash, row.created_at))?;
            insert_session.execute((
                row.token_hash.as_slice(),
                &row.user_id,
                row.created_at,
                seen_at,
                &row.public_id,
            ))?;
            insert_device.execute((&row.public_id, BENCH_USER_AGENT, BENCH_ADDRESS))?;
        }
    }
    transaction.commit()?;
    connection.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
    Ok(started.elapsed())
}
