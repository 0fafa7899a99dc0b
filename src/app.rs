//! Building the application from its settings, and serving it.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use tokio::net::TcpListener;

use crate::config::{Config, ConfigError};
use crate::domain::password::PasswordPolicy;
use crate::domain::password_hasher::{HashingCost, HashingError, PasswordHasher};
use crate::domain::session::SessionPolicy;
use crate::domain::time::Timestamp;
use crate::http::serve::{ConnectionLimits, serve};
use crate::http::{AppContext, AppState};
use crate::store::{self, Store, StoreError, StoreOptions};

/// How often expired sessions are swept from the database.
const EXPIRED_SESSION_SWEEP: Duration = Duration::from_secs(3600);

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("password hashing: {0}")]
    Hashing(#[from] HashingError),
}

/// The service, ready to serve.
pub struct App {
    state: AppState,
    limits: ConnectionLimits,
}

impl App {
    /// Validates `config`, opens and migrates the database, and prepares hashing.
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        config.validate()?;
        let store = store::connect(
            &config.database_url,
            StoreOptions {
                sqlite_synchronous: config.sqlite_synchronous,
                max_connections: config.database_max_connections,
            },
        )
        .await?;
        let cost = HashingCost {
            memory_kib: config.argon2_memory_kib,
            iterations: config.argon2_iterations,
            parallelism: config.argon2_parallelism,
        };
        let hasher = PasswordHasher::new(cost, config.hash_workers(), config.hash_queue)?;
        hasher.warm_up();
        let state = AppState::new(AppContext {
            store,
            hasher,
            sessions: SessionPolicy::new(config.session_lifetime, config.session_idle_timeout),
            new_passwords: PasswordPolicy::for_new_passwords(
                crate::domain::password::DEFAULT_MIN_LENGTH,
            ),
            cookie_secure: config.cookie_secure,
            body_limit: config.body_limit,
            public_origin: config.public_url.clone(),
            cors_origins: config.cors_origins.clone(),
            request_timeout: config.request_timeout,
            started_at: Instant::now(),
        });
        let limits = ConnectionLimits {
            header_read_timeout: config.header_read_timeout,
            idle_timeout: config.idle_timeout,
            max_connections: config.max_connections,
        };
        Ok(Self { state, limits })
    }

    /// The router, for serving or for driving in-process.
    pub fn router(&self) -> Router {
        crate::http::router(self.state.clone())
    }

    /// The hashing pool (its counters are read by tests and metrics).
    pub fn hasher(&self) -> &PasswordHasher {
        &self.state.hasher
    }

    /// Serves on `listener` until `shutdown` completes.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let sweeper = tokio::spawn(sweep_expired_sessions(
            Arc::clone(&self.state.store),
            self.state.sessions,
        ));
        let served = serve(listener, self.router(), self.limits, shutdown).await;
        sweeper.abort();
        served
    }
}

async fn sweep_expired_sessions(store: Arc<dyn Store>, sessions: SessionPolicy) {
    let mut ticks = tokio::time::interval(EXPIRED_SESSION_SWEEP);
    loop {
        ticks.tick().await;
        let (created_before, seen_before) = sessions.expiry_cutoffs(Timestamp::now());
        match store
            .delete_expired_sessions(created_before, seen_before)
            .await
        {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(deleted, "expired sessions removed"),
            Err(err) => tracing::warn!(%err, "could not remove expired sessions"),
        }
    }
}
