//! The ceilings, measured in the same run on the server's core: a bare axum
//! router (served by this binary's hidden `bare-axum` command), the raw
//! rusqlite session read and PATCH transaction with the store's settings,
//! and raw Argon2id verifications at the server's default cost.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use argon2::password_hash::{PasswordHash, PasswordVerifier as _};
use rusqlite::{Connection, OpenFlags, OptionalExtension as _, TransactionBehavior};

use crate::accounts::{Account, Accounts, PASSWORD, new_token, token_hash};
use crate::process::{SERVER_CORE, pin_current_thread};
use crate::seed::default_argon2;

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
/// passed; `work` does one operation per call, or answers false when it has
/// no more to do.
fn on_server_core<S, F>(duration: Duration, setup: S) -> anyhow::Result<Rate>
where
    S: FnOnce() -> anyhow::Result<F> + Send + 'static,
    F: FnMut() -> anyhow::Result<bool>,
{
    std::thread::spawn(move || {
        pin_current_thread(SERVER_CORE)?;
        let mut work = setup()?;
        // A short warm-up fills the page cache and the statement cache.
        let warm_until = Instant::now() + duration / 10;
        let mut calls = 0_u64;
        while Instant::now() < warm_until {
            anyhow::ensure!(work()?, "too few operations planned for the warm-up");
            calls += 1;
        }
        let started = Instant::now();
        let mut operations = 0_u64;
        loop {
            let more = work()?;
            operations += u64::from(more);
            let elapsed = started.elapsed();
            if elapsed >= duration || !more {
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
/// statements, plans that do not depend on bound values (QPSG); the
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
    Ok(connection)
}

/// The store's session read (src/store/sqlite/mod.rs, `SELECT_SESSION`;
/// the PostgreSQL store's differs only in its placeholder).
pub const SELECT_SESSION: &str = "
    SELECT s.user_id, s.created_at, s.authenticated_at, s.last_seen_at, s.logged_in_at, u.email,
           s.public_id
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
        Ok(move || {
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
            Ok(true)
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

/// The raw PATCH transaction of an email change (src/store/sqlite/mod.rs,
/// `update_account`): update the user, move the session to a new token
/// hash, commit. The users it changes are taken back into `accounts`; their
/// sessions are marked seen at `seen_at_ms`, like the seeded ones.
pub fn patch_transaction(
    database: PathBuf,
    accounts: &mut Accounts,
    duration: Duration,
    seen_at_ms: i64,
) -> anyhow::Result<Rate> {
    // Enough for 10 µs transactions; were they faster, the window would
    // end early and the rate still be right.
    let planned = usize::try_from(duration.as_millis() * 110)?;
    let LanePlan { rotations, after } = plan_rotations(accounts, 1, planned)?
        .pop()
        .context("no plan")?;
    let rate = on_server_core(duration, move || {
        let mut connection = open_like_the_store(&database)?;
        let mut plan = rotations.into_iter();
        Ok(move || {
            let Some(rotation) = plan.next() else {
                return Ok(false);
            };
            let now = now_ms();
            let transaction =
                connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let _: String = transaction.prepare_cached(UPDATE_USER)?.query_row(
                (
                    rotation.user_id.as_str(),
                    Some(rotation.email.as_str()),
                    None::<&str>,
                    now,
                ),
                |row| row.get(0),
            )?;
            let moved = transaction.prepare_cached(MOVE_SESSION)?.execute((
                rotation.presented.as_slice(),
                rotation.user_id.as_str(),
                rotation.rotated.as_slice(),
                now,
                seen_at_ms,
                now,
            ))?;
            anyhow::ensure!(moved == 1, "a seeded session was not moved");
            transaction.commit()?;
            Ok(true)
        })
    })?;
    absorb_rotations(accounts, after, rate.calls);
    Ok(rate)
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
        })
}

/// Raw Argon2id verifications of the seeded password at the default cost.
pub fn hashing(password_hash: String, duration: Duration) -> anyhow::Result<Rate> {
    on_server_core(duration, move || {
        let argon2 = default_argon2()?;
        Ok(move || {
            let parsed = PasswordHash::new(&password_hash)
                .map_err(|err| anyhow::anyhow!("stored hash: {err}"))?;
            argon2
                .verify_password(PASSWORD.as_bytes(), &parsed)
                .map_err(|err| anyhow::anyhow!("verification: {err}"))?;
            Ok(true)
        })
    })
}
