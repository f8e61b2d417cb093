//! Connections: one Diesel code base over PostgreSQL and SQLite through
//! `#[derive(MultiConnection)]`, an r2d2 pool, and the per-connection set-up each backend needs.
//!
//! The backend follows from the URL's scheme and nothing else: `sqlite://PATH` (or
//! `sqlite::memory:`) opens SQLite, `postgres://` / `postgresql://` opens PostgreSQL with the
//! URL handed to libpq as it is, so options such as `?sslmode=require` work.

use crate::error::StoreError;
use concierge_domain::event::EventEncoder;
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::R2D2Connection;
use diesel::sqlite::SqliteConnection;
use diesel::Connection;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// A connection to either backend. Queries written against it run on both; backend-specific
/// SQL matches on the variant.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    /// PostgreSQL.
    Postgresql(PgConnection),
    /// SQLite.
    Sqlite(SqliteConnection),
}

/// The pool of [`DbConnection`]s.
pub type DbPool = r2d2::Pool<DbManager>;

/// Which database the store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// PostgreSQL.
    Postgres,
    /// SQLite.
    Sqlite,
}

impl Backend {
    /// `"postgres"` or `"sqlite"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Postgres => "postgres",
            Backend::Sqlite => "sqlite",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How to reach the database.
#[derive(Clone)]
pub struct StoreConfig {
    /// `sqlite://PATH`, `sqlite::memory:`, `postgres://...` or `postgresql://...`.
    pub url: String,
    /// The most connections the pool opens (SQLite in memory always uses one).
    pub pool_size: u32,
    /// How long to wait for a connection from the pool (and for the first one at start-up).
    pub connect_timeout: Duration,
    /// PostgreSQL cancels a statement that runs longer (`SET statement_timeout`); `None` leaves
    /// the server's setting. Ignored by SQLite.
    pub statement_timeout: Option<Duration>,
    /// Writes the JSON payloads of the events every change appends (see
    /// [`EventEncoder`](concierge_domain::event::EventEncoder)).
    pub event_encoder: Arc<dyn EventEncoder>,
    /// Whether writes record audit entries (on by default; see `audit`).
    pub audit: bool,
}

impl StoreConfig {
    /// A configuration with defaults: 10 connections, 5 s to connect, 30 s per statement.
    pub fn new(url: impl Into<String>, event_encoder: Arc<dyn EventEncoder>) -> Self {
        Self {
            event_encoder,
            audit: true,
            url: url.into(),
            pool_size: 10,
            connect_timeout: Duration::from_secs(5),
            statement_timeout: Some(Duration::from_secs(30)),
        }
    }
}

impl fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreConfig")
            .field("url", &redact_url(&self.url))
            .field("pool_size", &self.pool_size)
            .field("connect_timeout", &self.connect_timeout)
            .field("statement_timeout", &self.statement_timeout)
            .finish()
    }
}

/// The URL with any password replaced by `***`, for logs.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// Opens a PostgreSQL connection. Every PostgreSQL connection of the project opens here, so
/// OpenSSL is set up before libpq first touches it.
///
/// libpq's TLS runs on OpenSSL, which by default frees its global state in an `atexit`
/// handler; a thread still closing or opening a connection as the process exits then reads
/// freed memory and the process dies with SIGSEGV instead of its exit code (the e2e test binary
/// did, about one exit in five). Initialising OpenSSL first with `OPENSSL_INIT_NO_ATEXIT`
/// (what `openssl_sys::init` does) leaves the state to the operating system.
pub fn establish_postgres(url: &str) -> diesel::ConnectionResult<PgConnection> {
    openssl_sys::init();
    PgConnection::establish(url)
}

/// Where the pool connects to, parsed from the URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// A libpq connection string.
    Postgres(String),
    /// A SQLite database file.
    SqliteFile(PathBuf),
    /// A private in-memory SQLite database (one connection).
    SqliteMemory,
}

impl Target {
    pub(crate) fn parse(url: &str) -> Result<Self, StoreError> {
        if url == "sqlite::memory:" || url == "sqlite://:memory:" {
            return Ok(Target::SqliteMemory);
        }
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(StoreError::InvalidUrl("sqlite:// needs a file path".into()));
            }
            return Ok(Target::SqliteFile(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Target::Postgres(url.to_string()));
        }
        Err(StoreError::InvalidUrl(format!(
            "{}: expected sqlite://PATH, sqlite::memory: or postgres://...",
            redact_url(url)
        )))
    }

    pub(crate) fn backend(&self) -> Backend {
        match self {
            Target::Postgres(_) => Backend::Postgres,
            Target::SqliteFile(_) | Target::SqliteMemory => Backend::Sqlite,
        }
    }
}

/// Opens connections of the configured backend (never guessing from a failed attempt).
#[derive(Debug)]
pub struct DbManager {
    target: Target,
}

/// A pooled connection that remembers when its server went away, so the pool drops it instead
/// of handing it out again. This replaces a `SELECT 1` before every use (a round trip per
/// checkout): a connection is known bad after its first failure, and the request that met the
/// failure is the only one to see it.
pub struct PooledDb {
    conn: DbConnection,
    lost: bool,
}

impl PooledDb {
    /// Records whether `err` means the connection itself is gone.
    pub(crate) fn note(&mut self, err: &diesel::result::Error) {
        use diesel::result::{DatabaseErrorKind, Error};
        if matches!(
            err,
            Error::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                _
            ) | Error::BrokenTransactionManager
        ) {
            self.lost = true;
        }
    }
}

impl std::ops::Deref for PooledDb {
    type Target = DbConnection;
    fn deref(&self) -> &DbConnection {
        &self.conn
    }
}

impl std::ops::DerefMut for PooledDb {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.conn
    }
}

impl r2d2::ManageConnection for DbManager {
    type Connection = PooledDb;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<PooledDb, Self::Error> {
        let conn = match &self.target {
            Target::Postgres(url) => DbConnection::Postgresql(establish_postgres(url)?),
            Target::SqliteFile(path) => {
                let path = path.to_str().ok_or_else(|| {
                    diesel::ConnectionError::InvalidConnectionUrl(
                        "the SQLite path is not UTF-8".into(),
                    )
                })?;
                DbConnection::Sqlite(SqliteConnection::establish(path)?)
            }
            Target::SqliteMemory => DbConnection::Sqlite(SqliteConnection::establish(":memory:")?),
        };
        Ok(PooledDb { conn, lost: false })
    }

    fn is_valid(&self, conn: &mut PooledDb) -> Result<(), Self::Error> {
        conn.conn.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut PooledDb) -> bool {
        conn.lost || conn.conn.is_broken()
    }
}

/// Per-connection settings, applied when the pool opens a connection.
#[derive(Debug)]
struct Setup {
    statement_timeout: Option<Duration>,
}

/// SQLite: write-ahead log (readers do not block the writer), wait up to 5 s for the write
/// lock instead of failing, enforce foreign keys, and sync at checkpoints only (safe in WAL).
const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; \
     PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;";

impl r2d2::CustomizeConnection<PooledDb, diesel::r2d2::Error> for Setup {
    fn on_acquire(&self, conn: &mut PooledDb) -> Result<(), diesel::r2d2::Error> {
        let conn: &mut DbConnection = conn;
        let sql = match conn {
            DbConnection::Sqlite(_) => SQLITE_PRAGMAS.to_string(),
            DbConnection::Postgresql(_) => {
                let mut sql = String::from("SET TIME ZONE 'UTC';");
                if let Some(timeout) = self.statement_timeout {
                    sql.push_str(&format!(
                        " SET statement_timeout = {};",
                        timeout.as_millis()
                    ));
                }
                sql
            }
        };
        conn.batch_execute(&sql)
            .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Adds libpq's `connect_timeout` (whole seconds, at least 2) unless the URL sets one, so a
/// host that does not answer fails instead of hanging.
fn with_connect_timeout(url: &str, timeout: Duration) -> String {
    if url.contains("connect_timeout=") {
        return url.to_string();
    }
    let secs = timeout.as_secs_f64().ceil().max(2.0) as u64;
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}connect_timeout={secs}")
}

/// Builds the pool and opens its first connection, so a wrong URL fails here. Blocking.
pub(crate) fn build_pool(config: &StoreConfig) -> Result<(DbPool, Target), StoreError> {
    let target = Target::parse(&config.url)?;
    if let Target::SqliteFile(path) = &target {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(StoreError::Io)?;
        }
    }
    let target = match target {
        Target::Postgres(url) => {
            Target::Postgres(with_connect_timeout(&url, config.connect_timeout))
        }
        other => other,
    };
    let memory = target == Target::SqliteMemory;
    let builder = r2d2::Pool::builder()
        .max_size(if memory { 1 } else { config.pool_size.max(1) })
        .connection_timeout(config.connect_timeout)
        // `PooledDb` remembers a lost connection; no `SELECT 1` before every use.
        .test_on_check_out(false)
        .connection_customizer(Box::new(Setup {
            statement_timeout: config.statement_timeout,
        }));
    // An in-memory database lives as long as its one connection: never let the pool close it.
    let builder = if memory {
        builder
            .min_idle(Some(1))
            .idle_timeout(None)
            .max_lifetime(None)
    } else {
        builder.min_idle(Some(1))
    };
    let pool = builder
        .build(DbManager {
            target: target.clone(),
        })
        .map_err(StoreError::Pool)?;
    Ok((pool, target))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_choose_the_backend() {
        assert_eq!(
            Target::parse("sqlite://data/concierge.db").unwrap(),
            Target::SqliteFile("data/concierge.db".into())
        );
        assert_eq!(
            Target::parse("sqlite:///var/lib/c.db").unwrap(),
            Target::SqliteFile("/var/lib/c.db".into())
        );
        assert_eq!(
            Target::parse("sqlite::memory:").unwrap(),
            Target::SqliteMemory
        );
        let pg = "postgresql://u:p@db:5432/c?sslmode=require";
        assert_eq!(Target::parse(pg).unwrap(), Target::Postgres(pg.to_string()));
        assert!(Target::parse("postgres://x/y").is_ok());
        for bad in ["sqlite://", "mysql://x", "data.db", ""] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn libpq_gets_a_connect_timeout() {
        let t = Duration::from_millis(4500);
        assert_eq!(
            with_connect_timeout("postgres://h/db", t),
            "postgres://h/db?connect_timeout=5"
        );
        assert_eq!(
            with_connect_timeout("postgres://h/db?sslmode=require", Duration::ZERO),
            "postgres://h/db?sslmode=require&connect_timeout=2"
        );
        assert_eq!(
            with_connect_timeout("postgres://h/db?connect_timeout=9", t),
            "postgres://h/db?connect_timeout=9"
        );
    }

    #[tokio::test]
    async fn sqlite_in_memory_works() {
        let store = crate::Store::connect(StoreConfig::new(
            "sqlite::memory:",
            std::sync::Arc::new(concierge_server::wire::EventWire),
        ))
        .await
        .unwrap();
        store.run_migrations().await.unwrap();
        assert_eq!(store.pool_state().max_size, 1);
        use concierge_domain::ports::UserRepository;
        assert_eq!(store.count().await.unwrap(), 0);
        assert_eq!(store.backend(), Backend::Sqlite);
        assert!(store.ping().await.unwrap() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn unreachable_databases_fail_fast() {
        let mut config = StoreConfig::new(
            "postgres://nobody@127.0.0.1:1/none",
            std::sync::Arc::new(concierge_server::wire::EventWire),
        );
        config.connect_timeout = Duration::from_secs(2);
        let started = std::time::Instant::now();
        assert!(matches!(
            crate::Store::connect(config).await,
            Err(StoreError::Pool(_))
        ));
        assert!(started.elapsed() < Duration::from_secs(10));
        assert!(matches!(
            crate::Store::connect(StoreConfig::new(
                "mysql://x",
                std::sync::Arc::new(concierge_server::wire::EventWire)
            ))
            .await,
            Err(StoreError::InvalidUrl(_))
        ));
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://u:secret@db:5432/c?sslmode=require"),
            "postgres://u:***@db:5432/c?sslmode=require"
        );
        assert_eq!(redact_url("postgres://u@db/c"), "postgres://u@db/c");
        assert_eq!(redact_url("sqlite://a/b.db"), "sqlite://a/b.db");
        let config = StoreConfig::new(
            "postgres://u:secret@db/c",
            std::sync::Arc::new(concierge_server::wire::EventWire),
        );
        assert!(!format!("{config:?}").contains("secret"));
    }
}
