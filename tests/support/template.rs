//! Pre-migrated databases: the migrations run once into a template per set of migrations, and
//! every test app's database is a copy of it, so the server's own start-up migration finds
//! nothing to do.
//!
//! A template is named by a hash of everything under `migrations/`, so changing a migration
//! makes a new one. Whoever builds a template removes the templates of other hashes (a process
//! that still wants one of those builds it again); nothing else piles up.
//!
//! - SQLite: `$TMPDIR/concierge-e2e-<hash>.sqlite`, built under another name and renamed into
//!   place, copied per test.
//! - PostgreSQL: a database `concierge_tmpl_<hash>`, built under an advisory lock (so concurrent
//!   test processes build it once) and renamed into place when complete; each test runs
//!   `CREATE DATABASE ... TEMPLATE concierge_tmpl_<hash>`.

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, RunQueryDsl, SqliteConnection};
use diesel_migrations::MigrationHarness;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// What PostgreSQL templates are called before their hash.
const PG_PREFIX: &str = "concierge_tmpl_";
/// What SQLite templates are called before their hash.
const SQLITE_PREFIX: &str = "concierge-e2e-";
/// The advisory lock builders of PostgreSQL templates take ("e2etmpl").
const PG_LOCK: i64 = 0x0065_3265_746d_706c;

/// 16 hex digits of SHA-256 over every file under `migrations/`: its path and its bytes.
pub(crate) fn migrations_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| hash_tree(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations")))
}

/// 16 hex digits of SHA-256 over the paths and bytes of every file under `root`.
fn hash_tree(root: &Path) -> String {
    let mut files = vec![];
    collect_files(root, &mut files);
    assert!(!files.is_empty(), "no files under {}", root.display());
    files.sort();
    let mut hasher = Sha256::new();
    for file in files {
        let bytes = std::fs::read(&file).expect("a readable migration file");
        let relative = file.strip_prefix(root).unwrap_or(&file);
        let relative = relative.to_string_lossy();
        hasher.update((relative.len() as u64).to_le_bytes());
        hasher.update(relative.as_bytes());
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
    }
    let digest = format!("{:x}", hasher.finalize());
    digest.chars().take(16).collect()
}

fn collect_files(dir: &Path, into: &mut Vec<PathBuf>) {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            collect_files(&path, into);
        } else {
            into.push(path);
        }
    }
}

// ---- SQLite ----

/// Copies the migrated SQLite template to `to`. Blocking.
pub(crate) fn copy_sqlite(to: &Path) {
    static TEMPLATE: OnceLock<PathBuf> = OnceLock::new();
    let template = TEMPLATE.get_or_init(|| build_sqlite(true));
    if std::fs::copy(template, to).is_err() {
        // Another process (on other migrations) removed it: build it again.
        let template = build_sqlite(false);
        std::fs::copy(&template, to).expect("copy the SQLite template");
    }
}

/// Builds the template unless it exists; with `sweep`, removes the templates of other hashes.
fn build_sqlite(sweep: bool) -> PathBuf {
    let dir = std::env::temp_dir();
    let name = format!("{SQLITE_PREFIX}{}.sqlite", migrations_hash());
    let path = dir.join(&name);
    if !path.exists() {
        // Built aside and renamed into place, so no one copies a half-migrated file.
        let building = tempfile::Builder::new()
            .prefix("concierge-building-")
            .suffix(".sqlite")
            .tempfile_in(&dir)
            .expect("a file for the SQLite template");
        let url = building.path().to_str().expect("a UTF-8 temp path");
        let mut conn = SqliteConnection::establish(url).expect("open the SQLite template");
        conn.batch_execute("PRAGMA foreign_keys = ON")
            .expect("foreign keys on");
        conn.run_pending_migrations(concierge_store::SQLITE_MIGRATIONS)
            .expect("migrate the SQLite template");
        drop(conn);
        building.persist(&path).expect("rename the SQLite template");
    }
    if sweep {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let other = entry.file_name().to_string_lossy().into_owned();
            if other.starts_with(SQLITE_PREFIX) && other.ends_with(".sqlite") && other != name {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    path
}

// ---- PostgreSQL ----

/// Creates the database `name` as a copy of the migrated template, on the server of
/// `admin_url`. Blocking.
pub(crate) fn create_postgres(admin_url: &str, name: &str) {
    static TEMPLATE: OnceLock<String> = OnceLock::new();
    let template = TEMPLATE.get_or_init(|| build_postgres(admin_url, true));
    let mut conn = concierge_store::establish_postgres(admin_url)
        .unwrap_or_else(|e| panic!("cannot reach TEST_POSTGRES_URL: {e}"));
    let mut last = String::new();
    for _ in 0..20 {
        match diesel::sql_query(format!("CREATE DATABASE {name} TEMPLATE {template}"))
            .execute(&mut conn)
        {
            Ok(_) => return,
            Err(e) => last = e.to_string(),
        }
        if last.contains("does not exist") {
            // Another process (on other migrations) dropped it: build it again.
            build_postgres(admin_url, false);
        } else {
            // Someone is connected to the template (a sweeper dropping it, say): wait.
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
    panic!("cannot create {name} from {template}: {last}");
}

/// Builds the template database unless it exists and returns its name; with `sweep`, drops
/// the templates of other hashes.
fn build_postgres(admin_url: &str, sweep: bool) -> String {
    let name = format!("{PG_PREFIX}{}", migrations_hash());
    let mut admin = concierge_store::establish_postgres(admin_url)
        .unwrap_or_else(|e| panic!("cannot reach TEST_POSTGRES_URL: {e}"));
    // One builder at a time across every test process; a crashed one's lock goes with its
    // connection.
    admin
        .batch_execute(&format!("SELECT pg_advisory_lock({PG_LOCK})"))
        .expect("the template lock");
    if !database_names(&mut admin).contains(&name) {
        // Built aside and renamed into place, so no one copies a half-migrated database.
        let building = format!("{name}_{:08x}", rand::random::<u32>());
        diesel::sql_query(format!("CREATE DATABASE {building}"))
            .execute(&mut admin)
            .expect("create the template database");
        let mut conn =
            concierge_store::establish_postgres(&crate::with_database(admin_url, &building))
                .expect("connect to the template database");
        conn.run_pending_migrations(concierge_store::POSTGRES_MIGRATIONS)
            .expect("migrate the template database");
        drop(conn);
        diesel::sql_query(format!("ALTER DATABASE {building} RENAME TO {name}"))
            .execute(&mut admin)
            .expect("rename the template database");
    }
    if sweep {
        for other in database_names(&mut admin) {
            if other.starts_with(PG_PREFIX) && other != name {
                // In use (being copied) means it stays; its next sweep comes.
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {other}"))
                    .execute(&mut admin);
            }
        }
    }
    admin
        .batch_execute(&format!("SELECT pg_advisory_unlock({PG_LOCK})"))
        .expect("the template lock released");
    name
}

fn database_names(conn: &mut PgConnection) -> Vec<String> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        datname: String,
    }
    diesel::sql_query("SELECT datname FROM pg_database")
        .load::<Row>(conn)
        .expect("the database names")
        .into_iter()
        .map(|r| r.datname)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_of_the_sqlite_template_has_no_pending_migration() {
        let dir = tempfile::tempdir().expect("temp dir");
        let copy = dir.path().join("copy.db");
        copy_sqlite(&copy);
        let mut conn =
            SqliteConnection::establish(copy.to_str().expect("utf-8")).expect("open the copy");
        let pending = conn
            .pending_migrations(concierge_store::SQLITE_MIGRATIONS)
            .expect("pending migrations");
        assert!(pending.is_empty(), "{} pending", pending.len());
        let applied = conn.applied_migrations().expect("applied migrations");
        assert!(!applied.is_empty());
    }

    #[test]
    fn a_copy_of_the_postgres_template_has_no_pending_migration() {
        let Some(admin_url) = crate::postgres_url() else {
            return eprintln!("skipped: TEST_POSTGRES_URL is not set");
        };
        let name = format!("concierge_e2e_{:016x}", rand::random::<u64>());
        create_postgres(&admin_url, &name);
        let db = crate::PostgresDb {
            admin_url: admin_url.clone(),
            name: name.clone(),
        };
        let mut conn =
            concierge_store::establish_postgres(&crate::with_database(&admin_url, &name))
                .expect("connect to the copy");
        let pending = conn
            .pending_migrations(concierge_store::POSTGRES_MIGRATIONS)
            .expect("pending migrations");
        assert!(pending.is_empty(), "{} pending", pending.len());
        drop(conn);
        drop(db);
    }

    #[test]
    fn the_hash_changes_with_any_migration_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let one = dir.path().join("2026-01-01-000001_one");
        std::fs::create_dir(&one).expect("mkdir");
        std::fs::write(one.join("up.sql"), "CREATE TABLE a (id INT);").expect("write");
        std::fs::write(one.join("down.sql"), "DROP TABLE a;").expect("write");
        let first = hash_tree(dir.path());
        assert_eq!(first.len(), 16);
        assert_eq!(
            hash_tree(dir.path()),
            first,
            "the same files, the same hash"
        );

        std::fs::write(one.join("up.sql"), "CREATE TABLE a (id BIGINT);").expect("write");
        let edited = hash_tree(dir.path());
        assert_ne!(edited, first, "an edited migration");

        let two = dir.path().join("2026-01-01-000002_two");
        std::fs::create_dir(&two).expect("mkdir");
        std::fs::write(two.join("up.sql"), "").expect("write");
        let added = hash_tree(dir.path());
        assert_ne!(added, edited, "an added migration");

        std::fs::rename(&two, dir.path().join("2026-01-01-000003_two")).expect("rename");
        assert_ne!(hash_tree(dir.path()), added, "a renamed migration");
    }
}
