//! The server under test: the release binary as a child process on 127.0.0.1, its start-up
//! time, memory (VmRSS) and CPU time read from /proc.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What the server is started with.
#[derive(Debug, Clone)]
pub struct ServerSpec {
    /// target/release/concierge.
    pub binary: PathBuf,
    /// `sqlite://...` or `postgres://...`.
    pub database_url: String,
    /// BCRYPT_COST.
    pub bcrypt_cost: u32,
    /// SUPER_ADMIN_PASSWORD.
    pub admin_password: String,
    /// Working directory (uploads, logs).
    pub workdir: PathBuf,
    /// Extra variables (WORKERS, DB_POOL_SIZE, ...), passed as given.
    pub extra_env: Vec<(String, String)>,
}

/// A running server; killed when dropped.
pub struct Server {
    child: tokio::process::Child,
    /// Its process id.
    pub pid: u32,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// `ws://127.0.0.1:PORT/api/v1/ws`.
    pub ws_url: String,
    /// Spawn to the first 200 on /api/v1/health/ping.
    pub startup: Duration,
}

/// A free port on 127.0.0.1 (bound and released; the server binds it right after).
fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("binding a probe port")?;
    Ok(listener.local_addr()?.port())
}

impl Server {
    /// Spawns the server and waits (at most 30 s) for the first 200 on /health/ping.
    pub async fn start(spec: &ServerSpec, http: &reqwest::Client) -> Result<Self> {
        if !spec.binary.is_file() {
            bail!(
                "{} is missing: run `cargo build --release -p concierge-server` first",
                spec.binary.display()
            );
        }
        let port = free_port()?;
        std::fs::create_dir_all(&spec.workdir)?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(spec.workdir.join("server.log"))
            .context("opening the server log")?;
        let mut cmd = tokio::process::Command::new(&spec.binary);
        cmd.arg("serve")
            .current_dir(&spec.workdir)
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("DATABASE_URL", &spec.database_url)
            .env("JWT_SECRET", "concierge-bench-secret-0123456789abcdef")
            .env("SUPER_ADMIN_PASSWORD", &spec.admin_password)
            .env("BCRYPT_COST", spec.bcrypt_cost.to_string())
            .env("LOG_LEVEL", "warn")
            .env("UPLOAD_DIR", spec.workdir.join("uploads"))
            .env_remove("CONCIERGE_ENV")
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .kill_on_drop(true);
        for (k, v) in &spec.extra_env {
            cmd.env(k, v);
        }
        let started = Instant::now();
        let mut child = cmd.spawn().context("spawning the server")?;
        let pid = child.id().context("the server has no pid")?;
        let base = format!("http://127.0.0.1:{port}");
        let ping = format!("{base}/api/v1/health/ping");
        let deadline = started + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait()? {
                bail!(
                    "the server exited during start-up ({status}); see {}",
                    spec.workdir.join("server.log").display()
                );
            }
            if let Ok(resp) = http.get(&ping).send().await {
                if resp.status().is_success() {
                    break;
                }
            }
            if Instant::now() > deadline {
                bail!("the server did not answer /health/ping within 30 s");
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let startup = started.elapsed();
        Ok(Self {
            child,
            pid,
            ws_url: format!("ws://127.0.0.1:{port}/api/v1/ws"),
            base,
            startup,
        })
    }

    /// Current resident set size in bytes.
    pub fn rss(&self) -> Result<u64> {
        rss_of(self.pid)
    }

    /// Stops the server and waits for it.
    pub async fn stop(mut self) -> Result<()> {
        self.child.start_kill()?;
        let _ = tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await;
        Ok(())
    }
}

/// VmRSS of a process, bytes.
pub fn rss_of(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .context("no VmRSS line")?;
    let kb: u64 = line
        .split_whitespace()
        .nth(1)
        .context("no VmRSS value")?
        .parse()?;
    Ok(kb * 1024)
}

/// User + system CPU time of a process (clock ticks of 10 ms, Linux's USER_HZ).
pub fn cpu_time(pid: u32) -> Duration {
    cpu_time_of(&format!("/proc/{pid}/stat")).unwrap_or_default()
}

/// CPU time of this process.
pub fn own_cpu_time() -> Duration {
    cpu_time_of("/proc/self/stat").unwrap_or_default()
}

fn cpu_time_of(path: &str) -> Option<Duration> {
    let stat = std::fs::read_to_string(path).ok()?;
    // The command name may hold spaces; fields are counted after its closing parenthesis.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 of stat (utime, stime) are 12 and 13 after the name.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 10))
}

/// Samples a process's RSS every 50 ms and keeps the peak since the last reset.
pub struct RssSampler {
    peak: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl RssSampler {
    /// Starts sampling `pid`.
    pub fn start(pid: u32) -> Self {
        let peak = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s) = (peak.clone(), stop.clone());
        tokio::spawn(async move {
            // Bounded: stops with the sampler or after a day.
            for _ in 0..(24 * 3600 * 20) {
                if s.load(Ordering::Relaxed) {
                    break;
                }
                if let Ok(rss) = rss_of(pid) {
                    p.fetch_max(rss, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        Self { peak, stop }
    }

    /// The peak since the last call, and starts a new period.
    pub fn take_peak(&self) -> u64 {
        self.peak.swap(0, Ordering::Relaxed)
    }
}

impl Drop for RssSampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Megabytes, one decimal.
pub fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
}

/// The workspace root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}
