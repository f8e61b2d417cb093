//! PostgreSQL: a fresh database per run (created and dropped with `psql`), and the pgbench
//! ceiling (custom scripts in crates/bench/pgbench/).

use crate::stats::{Samples, Summary};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::time::Duration;

const SETUP: &str = include_str!("../pgbench/setup.sql");
const INSERT: &str = include_str!("../pgbench/insert.sql");
const SELECT50: &str = include_str!("../pgbench/select50.sql");

/// `url` with its database name replaced by `db` (query string kept).
pub fn with_database(url: &str, db: &str) -> Result<String> {
    let (head, query) = match url.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (url, None),
    };
    let scheme_end = head
        .find("://")
        .context("a PostgreSQL URL needs a scheme")?
        + 3;
    let path_start = head[scheme_end..]
        .find('/')
        .map(|i| scheme_end + i)
        .unwrap_or(head.len());
    let mut out = format!("{}/{db}", &head[..path_start]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    Ok(out)
}

/// Runs one SQL command with psql on `url`.
pub async fn psql(url: &str, sql: &str) -> Result<String> {
    let out = tokio::process::Command::new("psql")
        .args([
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-At",
            "-d",
            url,
            "-c",
            sql,
        ])
        .kill_on_drop(true)
        .output()
        .await
        .context("running psql (is the PostgreSQL client installed?)")?;
    if !out.status.success() {
        bail!("psql: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Whether PostgreSQL answers on `url`, and its version.
pub async fn version(url: &str) -> Result<String> {
    psql(url, "SHOW server_version").await
}

/// A database created for this run; [`TempDb::drop_db`] removes it.
pub struct TempDb {
    admin_url: String,
    name: String,
    /// Its URL.
    pub url: String,
}

impl TempDb {
    /// Creates `name` (dropping a leftover of that name first).
    pub async fn create(admin_url: &str, name: &str) -> Result<Self> {
        psql(admin_url, &format!("DROP DATABASE IF EXISTS {name}")).await?;
        psql(admin_url, &format!("CREATE DATABASE {name}")).await?;
        Ok(Self {
            admin_url: admin_url.to_string(),
            name: name.to_string(),
            url: with_database(admin_url, name)?,
        })
    }

    /// Drops it (forcing out leftover sessions).
    pub async fn drop_db(self) -> Result<()> {
        psql(
            &self.admin_url,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        )
        .await
        .map(|_| ())
    }
}

/// pgbench's result for one script.
#[derive(Debug, Clone)]
pub struct PgbenchResult {
    /// What it does.
    pub name: &'static str,
    /// Transactions per second (pgbench's own figure, without connection time).
    pub tps: f64,
    /// Per-transaction latencies from pgbench's log.
    pub latency: Summary,
    /// Failed transactions.
    pub failed: u64,
}

/// The pgbench binary: on PATH, or PostgreSQL 15's.
pub fn pgbench_binary() -> Option<PathBuf> {
    let candidates = [
        "/usr/bin/pgbench",
        "/usr/lib/postgresql/16/bin/pgbench",
        "/usr/lib/postgresql/15/bin/pgbench",
    ];
    candidates
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .or_else(|| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|d| d.join("pgbench"))
                    .find(|p| p.is_file())
            })
        })
}

/// Sets up the tables and runs both scripts at `clients` for `duration` each, after a
/// warm-up run of `warmup` that is thrown away.
pub async fn ceiling(
    pgbench: &Path,
    url: &str,
    clients: usize,
    warmup: Duration,
    duration: Duration,
    dir: &Path,
) -> Result<Vec<PgbenchResult>> {
    let setup = dir.join("setup.sql");
    std::fs::write(&setup, SETUP)?;
    let out = tokio::process::Command::new("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f"])
        .arg(&setup)
        .kill_on_drop(true)
        .output()
        .await?;
    if !out.status.success() {
        bail!(
            "pgbench set-up: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let mut results = Vec::new();
    for (name, script) in [
        ("single-row insert, indexed table", INSERT),
        ("50-row indexed select", SELECT50),
    ] {
        let file = dir.join(format!("{}.sql", results.len()));
        std::fs::write(&file, script)?;
        run(pgbench, url, &file, clients, warmup, dir, "warm").await?;
        let (tps, failed, latency) = run(pgbench, url, &file, clients, duration, dir, "run")
            .await
            .with_context(|| format!("pgbench {name}"))?;
        results.push(PgbenchResult {
            name,
            tps,
            latency,
            failed,
        });
    }
    Ok(results)
}

async fn run(
    pgbench: &Path,
    url: &str,
    script: &Path,
    clients: usize,
    duration: Duration,
    dir: &Path,
    tag: &str,
) -> Result<(f64, u64, Summary)> {
    let logdir = dir.join(format!("log-{tag}-{}", script_stem(script)));
    let _ = std::fs::remove_dir_all(&logdir);
    std::fs::create_dir_all(&logdir)?;
    let secs = duration.as_secs().max(1);
    let out = tokio::process::Command::new(pgbench)
        .args(["-n", "-M", "prepared", "-j", "2", "-l"])
        .arg(format!("--log-prefix={}", logdir.join("pgbench").display()))
        .arg(format!("-c{clients}"))
        .arg(format!("-T{secs}"))
        .arg("-f")
        .arg(script)
        .arg(url)
        .current_dir(&logdir)
        .kill_on_drop(true)
        .output()
        .await
        .context("running pgbench")?;
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    if !out.status.success() {
        bail!(
            "pgbench failed: {}{}",
            stdout,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let tps = stdout
        .lines()
        .find(|l| l.starts_with("tps ="))
        .and_then(|l| l.split_whitespace().nth(2))
        .and_then(|v| v.parse::<f64>().ok())
        .context("no tps line in pgbench's output")?;
    let failed = stdout
        .lines()
        .find(|l| l.starts_with("number of failed transactions"))
        .and_then(|l| l.split(':').nth(1))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    let mut samples = Samples::default();
    for entry in std::fs::read_dir(&logdir)? {
        let text = std::fs::read_to_string(entry?.path())?;
        for line in text.lines() {
            // client_id transaction_no time script_no time_epoch time_us
            if let Some(us) = line.split_whitespace().nth(2).and_then(|v| v.parse().ok()) {
                samples.push_micros(us);
            }
        }
    }
    Ok((tps, failed, samples.summary()))
}

fn script_stem(p: &Path) -> String {
    p.file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_database_name() -> Result<()> {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "b")?,
            "postgres://postgres@127.0.0.1:5432/b"
        );
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "b")?,
            "postgres://u:p@h/b?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h:1", "b")?, "postgres://h:1/b");
        Ok(())
    }
}
