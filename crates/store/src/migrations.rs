//! Embedded migrations. `migrations/postgres` and `migrations/sqlite` hold the same schema for
//! each backend under identical version names (a test fails when they drift); `build.rs`
//! rebuilds the crate when either changes.

use crate::connection::{DbConnection, DbPool};
use crate::error::StoreError;
use diesel::connection::SimpleConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

/// The PostgreSQL migrations.
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");
/// The SQLite migrations.
pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

/// A key for `pg_advisory_lock`, so instances starting together migrate one at a time.
const MIGRATION_LOCK: i64 = 0x636f_6e63_6965_7267; // "concierg"

/// Applies the pending migrations of the pool's backend; returns the versions applied. Blocking.
pub fn run_migrations(pool: &DbPool) -> Result<Vec<String>, StoreError> {
    let mut conn = pool.get().map_err(StoreError::Pool)?;
    let applied = match &mut **conn {
        DbConnection::Postgresql(c) => {
            c.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))?;
            let result = c
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|versions| versions.iter().map(ToString::to_string).collect());
            c.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))?;
            result
        }
        DbConnection::Sqlite(c) => c
            .run_pending_migrations(SQLITE_MIGRATIONS)
            .map(|versions| versions.iter().map(ToString::to_string).collect()),
    };
    applied.map_err(|e| StoreError::Migration(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::migration::MigrationSource;
    use std::path::Path;

    /// The version names compiled into `source`.
    fn embedded<DB: diesel::backend::Backend>(source: &EmbeddedMigrations) -> Vec<String>
    where
        EmbeddedMigrations: MigrationSource<DB>,
    {
        MigrationSource::<DB>::migrations(source)
            .unwrap()
            .iter()
            .map(|m| m.name().to_string())
            .collect()
    }

    fn folder_versions(backend: &str) -> Vec<String> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../migrations")
            .join(backend);
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap())
            .filter(|entry| entry.file_type().unwrap().is_dir())
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        for name in &names {
            for file in ["up.sql", "down.sql"] {
                assert!(
                    dir.join(name).join(file).is_file(),
                    "migrations/{backend}/{name} has no {file}"
                );
            }
        }
        names
    }

    #[test]
    fn both_backends_have_the_same_migration_versions() {
        let postgres = folder_versions("postgres");
        let sqlite = folder_versions("sqlite");
        assert!(!postgres.is_empty());
        assert_eq!(
            postgres, sqlite,
            "migrations/postgres and migrations/sqlite must keep identical version names"
        );

        // What is compiled in matches the folders (build.rs reruns on changes).
        assert_eq!(embedded::<diesel::pg::Pg>(&POSTGRES_MIGRATIONS), postgres);
        assert_eq!(
            embedded::<diesel::sqlite::Sqlite>(&SQLITE_MIGRATIONS),
            sqlite
        );
    }
}
