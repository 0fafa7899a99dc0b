//! The ceilings, measured in the same run on the server's core: a bare axum
//! router (served by this binary's hidden `bare-axum` command), the raw
//! rusqlite session read and PATCH transaction with the store's settings,
//! and raw Argon2id verifications at the server's default cost, computed as
//! the server's hashing threads compute them.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use neptun_accounts::domain::password::Password;
use rusqlite::{Connection, OpenFlags, OptionalExtension as _, TransactionBehavior};

use crate::accounts::{Account, Accounts, PASSWORD, new_token, token_hash};
use crate::process::{SERVER_CORE, pin_current_thread};
use crate::seed::computations;

/// Operations per second of one raw ceiling, measured on the server core.
#[derive(Clone, Copy, Debug)]
pub struct Rate {
    pub operations: u64,
    pub elapsed: Duration,
    /// Operations including the warm-up.
    pub calls: u64,
}

impl Rate {
    pub fn per_second(self) -> f64 {
        self.operations as f64 / self.elapsed.as_secs_f64()
    }

    pub fn micros_each(self) -> f64 {
        self.elapsed.as_secs_f64() * 1e6 / self.operations.max(1) as f64
    }
}

/// Serves the HTTP ceiling: one route, no layers, on the same runtime the
/// server builds (tokio's multi-threaded one, sized to the cores it may use).
pub fn serve_bare_axum(listen: SocketAddr) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let router = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
        let listener = tokio::net::TcpListener::bind(listen).await?;
        axum::serve(listener, router).await?;
        anyhow::Ok(())
    })
}

/// Runs `work` on a thread pinned to the server core until `duration` has
/// passed; each call of `work` answers how many operations it did, zero
/// when it has no more to do, and is told whether the window has started.
fn on_server_core<S, F>(duration: Duration, setup: S) -> anyhow::Result<Rate>
where
    S: FnOnce() -> anyhow::Result<F> + Send + 'static,
    F: FnMut(bool) -> anyhow::Result<u64>,
{
    std::thread::spawn(move || {
        pin_current_thread(SERVER_CORE)?;
        let mut work = setup()?;
        // A short warm-up fills the page cache and the statement cache.
        let warm_until = Instant::now() + duration / 10;
        let mut calls = 0_u64;
        while Instant::now() < warm_until {
            let done = work(false)?;
            anyhow::ensure!(done > 0, "too few operations planned for the warm-up");
            calls += done;
        }
        let started = Instant::now();
        let mut operations = 0_u64;
        loop {
            let done = work(true)?;
            operations += done;
            let elapsed = started.elapsed();
            if elapsed >= duration || done == 0 {
                return Ok(Rate {
                    operations,
                    elapsed,
                    calls: calls + operations,
                });
            }
        }
    })
    .join()
    .map_err(|_| anyhow::anyhow!("a ceiling thread panicked"))?
}

/// Opens a connection the way the store does (src/store/sqlite/connection.rs):
/// no mutex, busy timeout, foreign keys, `synchronous = NORMAL`, 32 cached
/// statements, plans that do not depend on bound values (QPSG), reads
/// through a map of the file as large as `serve` maps by default; the
/// database is in WAL mode already.
fn open_like_the_store(path: &Path) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let connection = Connection::open_with_flags(path, flags)?;
    connection.busy_timeout(Duration::from_secs(5))?;
    connection.pragma_update(None, "foreign_keys", true)?;
    connection.pragma_update(None, "synchronous", "NORMAL")?;
    connection.set_prepared_statement_cache_capacity(32);
    connection.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    connection.pragma_update(
        None,
        "mmap_size",
        i64::from(neptun_accounts::config::SQLITE_MMAP_MIB_MAX) << 20,
    )?;
    Ok(connection)
}

/// The store's session read (src/store/sqlite/mod.rs, `SELECT_SESSION`;
/// the PostgreSQL store's differs only in its placeholder).
pub const SELECT_SESSION: &str = "
    SELECT s.user_id, s.created_at, s.authenticated_at, s.last_seen_at, s.logged_in_at,
           s.public_id, u.email
    FROM sessions AS s JOIN users AS u ON u.id = s.user_id
    WHERE s.token_hash = ?1";

/// The hashes of at most 200,000 seeded sessions, evenly spread over every
/// user: what the read ceilings look up.
pub fn read_plan(accounts: &Accounts) -> Vec<[u8; 32]> {
    let step = (accounts.count / 200_000).max(1);
    accounts
        .stride(0, step)
        .iter()
        .map(|account| token_hash(&account.token))
        .collect()
}

/// Raw point reads of sessions by their hash, spread over the whole table.
pub fn session_read(
    database: PathBuf,
    accounts: &Accounts,
    duration: Duration,
) -> anyhow::Result<Rate> {
    let hashes = read_plan(accounts);
    on_server_core(duration, move || {
        let connection = open_like_the_store(&database)?;
        connection.pragma_update(None, "query_only", true)?;
        let mut next = 0_usize;
        Ok(move |_| {
            let hash = &hashes[next % hashes.len()];
            next += 1;
            let found = connection
                .prepare_cached(SELECT_SESSION)?
                .query_row([hash.as_slice()], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, i64>(1)?,
                        row.get::<_, i64>(2)?,
                        row.get::<_, i64>(3)?,
                        row.get::<_, i64>(4)?,
                        row.get::<_, String>(5)?,
                        row.get::<_, String>(6)?,
                    ))
                })
                .optional()?;
            found.context("a seeded session was not found")?;
            Ok(1)
        })
    })
}

/// The store's two statements of an email change (`update_account`).
pub const UPDATE_USER: &str = "
    UPDATE users SET email = COALESCE(?2, email),
                     password_hash = COALESCE(?3, password_hash),
                     updated_at = ?4
    WHERE id = ?1 RETURNING email";
pub const MOVE_SESSION: &str = "
    UPDATE sessions SET token_hash = ?3, authenticated_at = ?4,
                        last_seen_at = ?5, logged_in_at = ?6
    WHERE token_hash = ?1 AND user_id = ?2";

/// One planned email change: the user, the session hash it presents, the
/// hash the session moves to, the new email.
pub struct Rotation {
    pub user_id: String,
    pub presented: [u8; 32],
    pub rotated: [u8; 32],
    pub email: String,
}

/// The changes one connection of a PATCH ceiling makes, in order, and
/// each changed account as it is after its change.
pub struct LanePlan {
    pub rotations: Vec<Rotation>,
    pub after: Vec<Account>,
}

/// `per_lane` email changes for each of `lanes` connections, over users
/// spread across the whole table (at most 200,000). Lanes share no user, so
/// they may run concurrently, each in its order. Tokens and emails are made
/// before the clock starts: a ceiling is the database's work only.
pub fn plan_rotations(
    accounts: &Accounts,
    lanes: usize,
    per_lane: usize,
) -> anyhow::Result<Vec<LanePlan>> {
    let step = (accounts.count / 200_000).max(1);
    let mut users: Vec<Vec<Account>> = vec![Vec::new(); lanes];
    for (turn, account) in accounts.stride(0, step).into_iter().enumerate() {
        users[turn % lanes].push(account);
    }
    users
        .into_iter()
        .map(|mut own| {
            anyhow::ensure!(!own.is_empty(), "fewer users than ceiling connections");
            let mut lane = LanePlan {
                rotations: Vec::with_capacity(per_lane),
                after: Vec::with_capacity(per_lane),
            };
            for turn in 0..per_lane {
                let count = own.len();
                let account = &mut own[turn % count];
                let token = new_token();
                let email = account.next_email();
                lane.rotations.push(Rotation {
                    user_id: account.user_id.clone(),
                    presented: token_hash(&account.token),
                    rotated: token_hash(&token),
                    email: email.clone(),
                });
                account.token = token;
                account.email = email;
                account.generation += 1;
                account.changed = true;
                lane.after.push(account.clone());
            }
            Ok(lane)
        })
        .collect()
}

/// Takes back into `accounts` the users of the first `ran` changes of a
/// lane: only those changed the database; later turns of a user overwrite
/// earlier ones.
pub fn absorb_rotations(accounts: &mut Accounts, after: Vec<Account>, ran: u64) {
    let ran = usize::try_from(ran).unwrap_or(usize::MAX).min(after.len());
    accounts.absorb(after.into_iter().take(ran));
}

/// Writes to a commit in the grouped ceiling: the most the store's writer
/// groups (`MOST_JOBS_PER_COMMIT` in src/store/sqlite/writer.rs).
pub const WRITES_PER_COMMIT: usize = 64;

/// The raw PATCH transaction of an email change (src/store/sqlite/mod.rs,
/// `update_account`): update the user, move the session to a new token
/// hash, commit. With `per_commit` above one, that many changes share one
/// commit, each in a savepoint of its own, as the store's writer groups
/// the writes that wait together (src/store/sqlite/writer.rs). The users
/// it changes are taken back into `accounts`; their sessions are marked
/// seen at `seen_at_ms`, like the seeded ones. Also answers the page
/// cache's hits and misses over the window.
pub fn patch_transaction(
    database: PathBuf,
    accounts: &mut Accounts,
    duration: Duration,
    seen_at_ms: i64,
    per_commit: usize,
) -> anyhow::Result<(Rate, PageCache)> {
    // Enough for 10 µs transactions; were they faster, the window would
    // end early and the rate still be right.
    let planned = usize::try_from(duration.as_millis() * 110)?;
    let LanePlan { rotations, after } = plan_rotations(accounts, 1, planned)?
        .pop()
        .context("no plan")?;
    let page_cache = Arc::new(Mutex::new(PageCache::default()));
    let counted = Arc::clone(&page_cache);
    let rate = on_server_core(duration, move || {
        let mut connection = open_like_the_store(&database)?;
        let mut plan = rotations.into_iter();
        Ok(move |measuring| {
            let mut transaction =
                connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut done = 0_u64;
            for rotation in plan.by_ref().take(per_commit) {
                if per_commit == 1 {
                    rotation.apply(&transaction, seen_at_ms)?;
                } else {
                    let savepoint = transaction.savepoint()?;
                    rotation.apply(&savepoint, seen_at_ms)?;
                    savepoint.commit()?;
                }
                done += 1;
            }
            transaction.commit()?;
            let (hits, misses) = page_cache_counts(&connection);
            if measuring {
                let mut page_cache = counted.lock().expect("page cache counts");
                page_cache.hits += hits;
                page_cache.misses += misses;
            }
            Ok(done)
        })
    })?;
    absorb_rotations(accounts, after, rate.calls);
    let page_cache = *page_cache.lock().expect("page cache counts");
    Ok((rate, page_cache))
}

impl Rotation {
    fn apply(&self, connection: &Connection, seen_at_ms: i64) -> anyhow::Result<()> {
        let now = now_ms();
        let _: String = connection.prepare_cached(UPDATE_USER)?.query_row(
            (
                self.user_id.as_str(),
                Some(self.email.as_str()),
                None::<&str>,
                now,
            ),
            |row| row.get(0),
        )?;
        let moved = connection.prepare_cached(MOVE_SESSION)?.execute((
            self.presented.as_slice(),
            self.user_id.as_str(),
            self.rotated.as_slice(),
            now,
            seen_at_ms,
            now,
        ))?;
        anyhow::ensure!(moved == 1, "a seeded session was not moved");
        Ok(())
    }
}

/// The writer's page cache over a ceiling's window: pages found in it and
/// pages read from the file (SQLite's own counters).
#[derive(Clone, Copy, Debug, Default)]
pub struct PageCache {
    pub hits: u64,
    pub misses: u64,
}

impl PageCache {
    pub fn hit_rate(self) -> f64 {
        self.hits as f64 / (self.hits + self.misses).max(1) as f64
    }
}

/// Page cache hits and misses since the last call, from SQLite's counters.
fn page_cache_counts(connection: &Connection) -> (u64, u64) {
    let read = |counter| {
        let (mut current, mut highest) = (0, 0);
        // SAFETY: the handle is this connection's own, used on the thread
        // that owns the connection; SQLite only writes the two integers.
        let status = unsafe {
            rusqlite::ffi::sqlite3_db_status(
                connection.handle(),
                counter,
                &mut current,
                &mut highest,
                1,
            )
        };
        if status == rusqlite::ffi::SQLITE_OK {
            u64::try_from(current).unwrap_or(0)
        } else {
            0
        }
    };
    (
        read(rusqlite::ffi::SQLITE_DBSTATUS_CACHE_HIT),
        read(rusqlite::ffi::SQLITE_DBSTATUS_CACHE_MISS),
    )
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
        })
}

/// Raw Argon2id verifications of the seeded password at the default cost:
/// the server's own verification (PHC parsing, one thread's reused arena),
/// without its queue, threads or HTTP.
pub fn hashing(password_hash: String, duration: Duration) -> anyhow::Result<Rate> {
    on_server_core(duration, move || {
        let computations = computations()?;
        let mut arena = computations.new_arena();
        let password = Password::new(PASSWORD.into());
        Ok(move |_| {
            let outcome = computations
                .verify(&password, Some(&password_hash), &mut arena)
                .map_err(|err| anyhow::anyhow!("verification: {err}"))?;
            anyhow::ensure!(outcome.matched, "the seeded password did not verify");
            Ok(1)
        })
    })
}
