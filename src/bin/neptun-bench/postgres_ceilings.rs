//! The PostgreSQL ceilings: the store's session read and PATCH transaction
//! through tokio-postgres, over as many connections as the server's pool,
//! driven from one thread on the server core (as the server's one pinned
//! core drives its pool). PostgreSQL's own processes are not pinned.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tokio_postgres::Client;

use crate::accounts::Accounts;
use crate::ceilings::{
    self, LanePlan, MOVE_SESSION, Rate, Rotation, SELECT_SESSION, UPDATE_USER, absorb_rotations,
    plan_rotations,
};
use crate::postgres::{CONNECTIONS, connect};
use crate::process::{SERVER_CORE, pin_current_thread};

/// One connection's loop of operations.
trait Lane {
    /// One operation; false when the lane has none left.
    async fn step(&mut self) -> anyhow::Result<bool>;
}

/// The SQLite statements' `?N` placeholders as PostgreSQL's `$N`.
fn dollars(sql: &str) -> String {
    sql.replace('?', "$")
}

/// Raw point reads of sessions by their hash, over [`CONNECTIONS`]
/// connections, each starting at its own place in the spread of sessions.
pub fn session_read(url: &str, accounts: &Accounts, duration: Duration) -> anyhow::Result<Rate> {
    struct Read {
        client: Client,
        statement: tokio_postgres::Statement,
        hashes: Arc<Vec<[u8; 32]>>,
        next: usize,
    }
    impl Lane for Read {
        async fn step(&mut self) -> anyhow::Result<bool> {
            let hash = &self.hashes[self.next % self.hashes.len()];
            self.next += 1;
            let row = self
                .client
                .query_opt(&self.statement, &[&hash.as_slice()])
                .await?
                .context("a seeded session was not found")?;
            let _: (String, i64, i64, i64, i64, String, String) = (
                row.try_get(0)?,
                row.try_get(1)?,
                row.try_get(2)?,
                row.try_get(3)?,
                row.try_get(4)?,
                row.try_get(5)?,
                row.try_get(6)?,
            );
            Ok(true)
        }
    }
    let hashes = Arc::new(ceilings::read_plan(accounts));
    let (rate, _) = lanes_on_server_core(url, duration, (0..CONNECTIONS).collect(), {
        move |client: Client, lane: usize| {
            let hashes = Arc::clone(&hashes);
            async move {
                let statement = client.prepare(&dollars(SELECT_SESSION)).await?;
                let next = lane * hashes.len() / CONNECTIONS;
                Ok(Read {
                    client,
                    statement,
                    hashes,
                    next,
                })
            }
        }
    })?;
    Ok(rate)
}

/// The raw PATCH transaction of an email change, as the PostgreSQL store
/// runs it (src/store/postgres/mod.rs, `update_account`), over
/// [`CONNECTIONS`] connections that share no user. The users it changes are
/// taken back into `accounts`.
pub fn patch_transaction(
    url: &str,
    accounts: &mut Accounts,
    duration: Duration,
    seen_at_ms: i64,
) -> anyhow::Result<Rate> {
    struct Patch {
        client: Client,
        update_user: tokio_postgres::Statement,
        move_session: tokio_postgres::Statement,
        plan: std::vec::IntoIter<Rotation>,
        seen_at_ms: i64,
    }
    impl Lane for Patch {
        async fn step(&mut self) -> anyhow::Result<bool> {
            let Some(rotation) = self.plan.next() else {
                return Ok(false);
            };
            let now = ceilings::now_ms();
            let transaction = self.client.transaction().await?;
            transaction
                .query_opt(
                    &self.update_user,
                    &[
                        &rotation.user_id.as_str(),
                        &Some(rotation.email.as_str()),
                        &None::<&str>,
                        &now,
                    ],
                )
                .await?
                .context("a seeded user was not found")?;
            let moved = transaction
                .execute(
                    &self.move_session,
                    &[
                        &rotation.presented.as_slice(),
                        &rotation.user_id.as_str(),
                        &rotation.rotated.as_slice(),
                        &now,
                        &self.seen_at_ms,
                        &now,
                    ],
                )
                .await?;
            anyhow::ensure!(moved == 1, "a seeded session was not moved");
            transaction.commit().await?;
            Ok(true)
        }
    }
    // Enough for 4,000 transactions a second on each connection; a lane
    // that runs out fails the ceiling rather than ending its window early.
    let per_lane = usize::try_from(duration.as_millis() * 4 + 1_000)?;
    let (rotations, afters): (Vec<_>, Vec<_>) = plan_rotations(accounts, CONNECTIONS, per_lane)?
        .into_iter()
        .map(|LanePlan { rotations, after }| (rotations, after))
        .unzip();
    let (rate, calls) = lanes_on_server_core(url, duration, rotations, {
        move |client: Client, rotations: Vec<Rotation>| async move {
            Ok(Patch {
                update_user: client.prepare(&dollars(UPDATE_USER)).await?,
                move_session: client.prepare(&dollars(MOVE_SESSION)).await?,
                client,
                plan: rotations.into_iter(),
                seen_at_ms,
            })
        }
    })?;
    for (after, ran) in afters.into_iter().zip(calls) {
        absorb_rotations(accounts, after, ran);
    }
    Ok(rate)
}

/// Runs one lane per element of `inputs`, each on its own connection, on a
/// thread pinned to the server core: a warm-up of a tenth of `duration`,
/// then `duration` measured. Returns the rate and each lane's operations
/// (warm-up included).
fn lanes_on_server_core<I, L, S, F>(
    url: &str,
    duration: Duration,
    inputs: Vec<I>,
    setup: S,
) -> anyhow::Result<(Rate, Vec<u64>)>
where
    I: Send + 'static,
    L: Lane + 'static,
    S: Fn(Client, I) -> F + Send + 'static,
    F: Future<Output = anyhow::Result<L>>,
{
    let url = url.to_owned();
    std::thread::spawn(move || {
        pin_current_thread(SERVER_CORE)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let local = tokio::task::LocalSet::new();
        local.block_on(&runtime, async move {
            let mut lanes = Vec::with_capacity(inputs.len());
            for input in inputs {
                lanes.push(setup(connect(&url).await?, input).await?);
            }
            let measuring = Rc::new(Cell::new(false));
            let done = Rc::new(Cell::new(false));
            let mut handles = Vec::with_capacity(lanes.len());
            for mut lane in lanes {
                let (measuring, done) = (Rc::clone(&measuring), Rc::clone(&done));
                handles.push(tokio::task::spawn_local(async move {
                    let (mut warm, mut measured) = (0_u64, 0_u64);
                    while !done.get() {
                        anyhow::ensure!(lane.step().await?, "a ceiling lane ran out of work");
                        if measuring.get() {
                            measured += 1;
                        } else {
                            warm += 1;
                        }
                    }
                    anyhow::Ok((warm, measured))
                }));
            }
            tokio::time::sleep(duration / 10).await;
            measuring.set(true);
            let started = Instant::now();
            tokio::time::sleep(duration).await;
            // Operations that finish after this still count as measured;
            // one per lane at most, against thousands in the window.
            done.set(true);
            let elapsed = started.elapsed();
            let (mut operations, mut calls) = (0, Vec::new());
            for handle in handles {
                let (warm, measured) = handle.await.context("a ceiling lane panicked")??;
                operations += measured;
                calls.push(warm + measured);
            }
            Ok((
                Rate {
                    operations,
                    elapsed,
                    calls: calls.iter().sum(),
                },
                calls,
            ))
        })
    })
    .join()
    .map_err(|_| anyhow::anyhow!("a ceiling thread panicked"))?
}
