//! # concierge-store
//!
//! Storage for Concierge: one Diesel code base over PostgreSQL and SQLite
//! (`#[derive(diesel::MultiConnection)]`), an r2d2 pool, embedded migrations and the event log.
//!
//! [`Store`] implements the domain's storage ports ([`UserRepository`], [`TicketRepository`],
//! [`MessageRepository`], [`EventLog`]); it is cheap to clone, so the server wraps clones in
//! `Arc<dyn Port>`. Diesel blocks, so every call runs on a blocking thread
//! (`tokio::task::spawn_blocking`), never on an async worker. Every write appends its domain
//! events in its own transaction; see [`events`] for how the log is numbered.
//!
//! ```no_run
//! # async fn demo() -> Result<(), concierge_store::StoreError> {
//! use concierge_store::{Store, StoreConfig};
//! // The application writes event payloads in its API's shapes (the server's `EventWire`).
//! let encoder = std::sync::Arc::new(concierge_server::wire::EventWire);
//! let store = Store::connect(StoreConfig::new("sqlite://data/concierge.db", encoder)).await?;
//! store.run_migrations().await?;
//! # Ok(()) }
//! ```
//!
//! [`UserRepository`]: concierge_domain::ports::UserRepository
//! [`TicketRepository`]: concierge_domain::ports::TicketRepository
//! [`MessageRepository`]: concierge_domain::ports::MessageRepository
//! [`EventLog`]: concierge_domain::ports::EventLog

// Panicking shortcuts stay in tests; elsewhere a failure is an error the caller sees.
#![cfg_attr(not(test), deny(clippy::expect_used, clippy::indexing_slicing))]

mod attachments;
pub mod audit;
pub mod blobs;
mod calls;
mod connection;
mod error;
pub mod events;
mod followers;
mod json_text;
pub mod listen;
pub mod login_failures;
mod message_rows;
mod messages;
mod migrations;
mod models;
mod push;
mod qa_reviews;
mod query;
#[cfg(feature = "s3")]
pub mod s3_blobs;
mod schema;
mod schema_attachments;
mod schema_calls;
mod schema_followers;
mod schema_insights;
mod schema_push;
mod schema_sla;
mod schema_webhooks;
mod search;
mod sla;
mod summaries;
mod tickets;
mod tx;
mod users;
mod webhooks;

#[cfg(test)]
mod blob_contract;
#[cfg(test)]
mod tests;

pub use blobs::LocalBlobs;
pub use connection::{
    establish_postgres, redact_url, Backend, DbConnection, DbManager, DbPool, StoreConfig,
};
pub use error::StoreError;
pub use migrations::{run_migrations, POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS};
#[cfg(feature = "s3")]
pub use s3_blobs::{S3Blobs, S3Config};

use concierge_domain::event::EventEncoder;
use concierge_domain::DomainError;
use diesel::connection::SimpleConnection;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// The store: a pool of database connections and the ports implemented on it.
#[derive(Clone)]
pub struct Store {
    pool: DbPool,
    backend: Backend,
    /// Bumped after each committed write that appended events (see [`listen`]).
    written: Arc<watch::Sender<u64>>,
    /// The PostgreSQL URL, for the listener's own connection.
    listen_url: Option<Arc<str>>,
    /// Whether [`Store::listen`] has started the listener.
    listening: Arc<AtomicBool>,
    /// Writes event payloads as JSON (the application's API shapes).
    encoder: Arc<dyn EventEncoder>,
    /// Whether writes record audit entries (`StoreConfig::audit`).
    audit: bool,
    /// SQLite: this process's writers queue here rather than in SQLite's busy handler, which
    /// sleeps in growing steps while the write lock is taken (long tails under load).
    sqlite_writer: Arc<std::sync::Mutex<()>>,
    /// One permit per pooled connection: a call waits here, on the async side, until a
    /// connection is free, so blocking threads are only ever as many as connections (not one
    /// parked thread per waiting request).
    permits: Arc<tokio::sync::Semaphore>,
    /// How long a call waits for a permit (the pool's connection timeout).
    wait: Duration,
    /// This store's name in `NOTIFY` payloads, so its listener skips its own (see [`listen`]).
    instance: Arc<str>,
    /// Committed writes that appended events, for the listener to announce (see [`listen`]).
    local_writes: Arc<std::sync::atomic::AtomicU64>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .field("pool", &self.pool_state())
            .finish()
    }
}

/// How the pool is used, for health reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolState {
    /// Open connections (busy and idle).
    pub connections: u32,
    /// Open connections not in use.
    pub idle: u32,
    /// The most connections the pool opens.
    pub max_size: u32,
}

impl Store {
    /// Opens the pool for `config.url` and checks that one connection works. Does not migrate;
    /// call [`run_migrations`](Self::run_migrations).
    pub async fn connect(config: StoreConfig) -> Result<Store, StoreError> {
        let wait = config.connect_timeout;
        let encoder = config.event_encoder.clone();
        let audit = config.audit;
        let (pool, target) =
            tokio::task::spawn_blocking(move || connection::build_pool(&config)).await??;
        let (written, _) = watch::channel(0);
        let permits = Arc::new(tokio::sync::Semaphore::new(pool.max_size() as usize));
        Ok(Store {
            pool,
            backend: target.backend(),
            written: Arc::new(written),
            listen_url: match target {
                connection::Target::Postgres(url) => Some(url.into()),
                _ => None,
            },
            listening: Arc::new(AtomicBool::new(false)),
            encoder,
            audit,
            sqlite_writer: Arc::default(),
            permits,
            wait,
            instance: format!("{:016x}", rand::random::<u64>()).into(),
            local_writes: Arc::default(),
        })
    }

    /// Applies pending migrations; returns the versions applied.
    pub async fn run_migrations(&self) -> Result<Vec<String>, StoreError> {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || migrations::run_migrations(&pool)).await?
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool, for adapters that need a connection of their own.
    pub fn pool(&self) -> &DbPool {
        &self.pool
    }

    /// Round-trips a trivial statement and says how long it took (including waiting for a
    /// pooled connection).
    pub async fn ping(&self) -> Result<Duration, StoreError> {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            let mut conn = pool.get().map_err(StoreError::Pool)?;
            conn.batch_execute("SELECT 1")?;
            Ok(started.elapsed())
        })
        .await?
    }

    /// Open and idle connections.
    pub fn pool_state(&self) -> PoolState {
        let state = self.pool.state();
        PoolState {
            connections: state.connections,
            idle: state.idle_connections,
            max_size: self.pool.max_size(),
        }
    }

    /// Changes after every committed write of this store that appended events, and — once
    /// [`listen`](Self::listen) runs — after such writes of other instances sharing the
    /// PostgreSQL database. A tail task waits on it and still polls now and then (see
    /// [`listen`]).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.written.subscribe()
    }

    /// On PostgreSQL, starts (once) a thread with a connection of its own that `LISTEN`s for
    /// other instances' writes and wakes [`subscribe`](Self::subscribe)rs, and announces this
    /// instance's writes to them (an instance that never calls it is heard by others only
    /// through their polling); it reconnects when the connection drops and stops when the last
    /// clone of the store is dropped. Does nothing on SQLite, whose writers are all in this
    /// process.
    pub fn listen(&self) -> Result<(), StoreError> {
        let Some(url) = &self.listen_url else {
            return Ok(());
        };
        if self.listening.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        listen::spawn(
            url.to_string(),
            self.instance.clone(),
            Arc::downgrade(&self.written),
            Arc::downgrade(&self.local_writes),
        )
        .map_err(StoreError::Io)
    }

    fn wake(&self) {
        self.local_writes.fetch_add(1, Ordering::Release);
        listen::bump(&self.written);
    }

    /// Runs `work` with a pooled connection on a blocking thread.
    async fn run<T, F>(&self, work: F) -> concierge_domain::Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, error::Error> + Send + 'static,
    {
        let permit = tokio::time::timeout(self.wait, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| DomainError::Unavailable("no database connection is free".into()))?
            .map_err(DomainError::storage)?;
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let mut conn = pool.get().map_err(error::Error::Pool)?;
            let result = work(&mut conn);
            if let Err(error::Error::Db(err)) = &result {
                conn.note(err);
            }
            result
        })
        .await
        .map_err(DomainError::storage)?
        .map_err(DomainError::from)
    }

    /// Runs `work` with a pooled connection holding this process's writer turn on SQLite (see
    /// `sqlite_writer`); `work` opens its own transaction.
    async fn run_writing<T, F>(&self, work: F) -> concierge_domain::Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, error::Error> + Send + 'static,
    {
        let writer = (self.backend == Backend::Sqlite).then(|| self.sqlite_writer.clone());
        self.run(move |conn| {
            let _turn = writer.as_deref().map(lock);
            work(conn)
        })
        .await
    }

    /// Runs `work` in a write transaction (see [`tx`]).
    async fn write<T, F>(&self, work: F) -> concierge_domain::Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, error::Error> + Send + 'static,
    {
        self.run_writing(move |conn| tx::write(conn, work)).await
    }

    /// What a write made now appends with: the event encoder and the running request's audit
    /// context. Call it on the async side (the context is task-local).
    fn outbox(&self) -> audit::Outbox {
        audit::Outbox::new(self.encoder.clone(), self.audit)
    }

    /// Runs `work`, which appends events, in a write transaction; wakes readers once committed.
    async fn write_logged<T, F>(&self, work: F) -> concierge_domain::Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection, &audit::Outbox) -> Result<T, error::Error> + Send + 'static,
    {
        let outbox = self.outbox();
        let value = self
            .run_writing(move |conn| tx::write(conn, |conn| work(conn, &outbox)))
            .await?;
        self.wake();
        Ok(value)
    }
}

/// Takes a writer's turn; a poisoned lock (a writer panicked) still serialises the next ones.
fn lock(mutex: &std::sync::Mutex<()>) -> std::sync::MutexGuard<'_, ()> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
