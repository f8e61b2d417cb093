//! The Markdown report: the machine, the commands, every figure, the ratios to pgbench, and the
//! issue's targets with whether each is met.

use crate::pg::PgbenchResult;
use crate::server::mb;
use crate::stats::{ms, rate};
use crate::{Args, BackendRun};
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

/// Text after this line in an existing report is kept when the report is rewritten.
pub const NOTES_MARKER: &str =
    "<!-- concierge-bench: everything below this line is kept when the report is rewritten -->";

/// The machine the run is on.
#[derive(Debug, Clone, Default)]
pub struct Machine {
    /// Logical CPUs.
    pub cpus: usize,
    /// CPU model.
    pub cpu_model: String,
    /// Total memory.
    pub mem_total: String,
    /// Kernel release.
    pub kernel: String,
    /// /proc/loadavg's first three fields.
    pub loadavg: String,
    /// The commit, and how many files differ from it.
    pub commit: String,
}

impl Machine {
    /// Reads /proc and git.
    pub fn read() -> Self {
        let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
        let cpuinfo = read("/proc/cpuinfo");
        let field = |text: &str, key: &str| {
            text.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
                .unwrap_or_default()
        };
        let git = |args: &[&str]| {
            std::process::Command::new("git")
                .args(args)
                .current_dir(crate::server::workspace_root())
                .output()
                .ok()
                .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
                .unwrap_or_default()
        };
        let head = git(&["rev-parse", "--short", "HEAD"]).trim().to_string();
        let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
            .lines()
            .count();
        Self {
            cpus: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            cpu_model: field(&cpuinfo, "model name"),
            mem_total: field(&read("/proc/meminfo"), "MemTotal"),
            kernel: read("/proc/sys/kernel/osrelease").trim().to_string(),
            loadavg: read("/proc/loadavg")
                .split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" "),
            commit: if dirty == 0 {
                head
            } else {
                format!("{head} with {dirty} modified tracked files")
            },
        }
    }
}

/// Percent-encodes everything but unreserved characters.
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// `**met**` or `**missed**`.
pub fn yes(met: bool) -> &'static str {
    if met {
        "**met**"
    } else {
        "**missed**"
    }
}

/// Milliseconds under a second, else seconds.
pub fn secs(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.2} s", d.as_secs_f64())
    }
}

/// Renders the whole report.
pub fn render(
    args: &Args,
    machine: &Machine,
    machine_end: &Machine,
    pgbench: Option<&[PgbenchResult]>,
    runs: &[BackendRun],
    notes: &[String],
    elapsed: Duration,
) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# Benchmarks\n");
    let _ = writeln!(
        o,
        "Written by `just bench` (crates/bench, `concierge-bench`). Not run in CI. Every figure \
         below comes from one run on the machine described here; the load generator, the server \
         and PostgreSQL share it, so the client's own CPU use is shown next to the server's.\n"
    );
    let _ = writeln!(o, "## Machine\n");
    let _ = writeln!(o, "| | |\n| --- | --- |");
    let _ = writeln!(o, "| CPUs (`nproc`) | {} |", machine.cpus);
    let _ = writeln!(o, "| CPU model | {} |", machine.cpu_model);
    let _ = writeln!(o, "| memory | {} |", machine.mem_total);
    let _ = writeln!(o, "| kernel | {} |", machine.kernel);
    let _ = writeln!(
        o,
        "| load average (1, 5, 15 min) | {} at the start, {} at the end |",
        machine.loadavg, machine_end.loadavg
    );
    let _ = writeln!(o, "| code | {} |", machine.commit);
    let _ = writeln!(o, "| run time | {} |\n", secs(elapsed));

    let _ = writeln!(o, "## Commands\n");
    let _ = writeln!(
        o,
        "```sh\njust bench   # = ulimit -n (hard limit); cargo build --release -p concierge-server -p concierge-bench;\n             #   target/release/concierge-bench --out docs/benchmarks.md\ntarget/release/concierge-bench --backends {} --concurrency {} --duration {} --warmup {} \\\n  --tickets {} --messages {} --bcrypt-cost {} --ws-clients {} --fanout-interval-ms {} --fanout-secs {} --ws-idle {}\n```\n",
        args.backends.join(","),
        args.concurrency,
        args.duration,
        args.warmup,
        args.tickets,
        args.messages,
        args.bcrypt_cost,
        args.ws_clients,
        args.fanout_interval_ms,
        args.fanout_secs,
        args.ws_idle
    );
    if !args.server_env.is_empty() {
        let _ = writeln!(
            o,
            "Server variables set for this run: `{}`.\n",
            args.server_env.join("`, `")
        );
    }
    let _ = writeln!(
        o,
        "The server is `target/release/concierge serve` on 127.0.0.1 with `LOG_LEVEL=warn`, \
         `BCRYPT_COST={}`, a fixed `JWT_SECRET`, `SUPER_ADMIN_PASSWORD`, the per-IP rate limits off \
         (`RATE_LIMIT_*=0`: every request comes from 127.0.0.1), and otherwise its \
         defaults (`WORKERS` one per core, `DB_POOL_SIZE=10`). PostgreSQL runs get a fresh \
         database created on `TEST_POSTGRES_URL`; SQLite runs a fresh file in a temporary \
         directory. Each HTTP figure: {} workers each sending one request at a time \
         (keep-alive), {} s warm-up, then {} s measured; requests/s counts successes completed in \
         the measured period; latencies are nearest-rank percentiles over every request; errors are \
         transport failures or non-2xx answers.\n",
        args.bcrypt_cost, args.concurrency, args.warmup, args.duration
    );

    let _ = writeln!(o, "## The ceiling: pgbench on the same machine\n");
    let insert_tps = pgbench
        .and_then(|p| p.first())
        .map(|r| r.tps)
        .unwrap_or(0.0);
    let select_tps = pgbench.and_then(|p| p.get(1)).map(|r| r.tps).unwrap_or(0.0);
    match pgbench {
        Some(results) => {
            let _ = writeln!(
                o,
                "`pgbench -n -M prepared -j 2 -c {} -T {}` with the scripts in \
                 `crates/bench/pgbench/` (a {} s run first, thrown away). The select reads 50 of \
                 a ticket's 100 rows out of 1,000,000 by an index on `(ticket_id, id)`.\n",
                args.concurrency, args.duration, args.warmup
            );
            let _ = writeln!(
                o,
                "| script | transactions/s | p50 | p99 | p99.9 | failed |\n| --- | ---: | ---: | ---: | ---: | ---: |"
            );
            for r in results {
                let _ = writeln!(
                    o,
                    "| {} | {:.0} | {} | {} | {} | {} |",
                    r.name,
                    r.tps,
                    ms(r.latency.p50_us),
                    ms(r.latency.p99_us),
                    ms(r.latency.p999_us),
                    r.failed
                );
            }
            let _ = writeln!(o);
        }
        None => {
            let _ = writeln!(
                o,
                "Not measured (see the notes at the end of the report).\n"
            );
        }
    }

    for run in runs {
        render_run(&mut o, args, run, insert_tps, select_tps);
    }

    let _ = writeln!(o, "## Targets\n");
    let _ = writeln!(
        o,
        "From the issue (2 cores, PostgreSQL on the same machine); judged on every backend run.\n"
    );
    let _ = writeln!(
        o,
        "| target | backend | measured | |\n| --- | --- | --- | --- |"
    );
    for run in runs {
        targets(&mut o, run, insert_tps);
    }
    let _ = writeln!(o);
    if !notes.is_empty() || runs.iter().any(|r| !r.failures.is_empty()) {
        let _ = writeln!(o, "## Run notes\n");
        for n in notes {
            let _ = writeln!(o, "- {n}");
        }
        for r in runs {
            for f in &r.failures {
                let _ = writeln!(o, "- {}: {f}", r.backend);
            }
        }
        let _ = writeln!(o);
    }
    o
}

fn render_run(o: &mut String, args: &Args, run: &BackendRun, insert_tps: f64, select_tps: f64) {
    let pg = run.backend.starts_with("PostgreSQL");
    let _ = writeln!(o, "## {}\n", run.backend);
    let _ = writeln!(
        o,
        "Start-up to the first 200 on `/api/v1/health/ping`: **{}** on an empty database \
         (migrations, super admin hashed at cost {}), **{}** on the migrated one. Seeding {} \
         tickets and a {}-message conversation over the API (c={}) took {}.\n",
        secs(run.startup_fresh),
        args.bcrypt_cost,
        secs(run.startup_restart),
        args.tickets,
        args.messages,
        args.concurrency,
        secs(run.seed_time)
    );
    let _ = writeln!(
        o,
        "| c={} | requests/s | p50 | p99 | p99.9 | max | errors | server CPU | bench CPU | peak RSS |{}\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |{}",
        args.concurrency,
        if pg { " vs pgbench |" } else { "" },
        if pg { " ---: |" } else { "" }
    );
    for r in &run.http {
        let ratio = if !pg {
            String::new()
        } else if r.name.starts_with("post a message") && insert_tps > 0.0 {
            format!(" {:.0}% of insert |", 100.0 * r.rps / insert_tps)
        } else if r.name.starts_with("list") && select_tps > 0.0 {
            format!(" {:.0}% of select |", 100.0 * r.rps / select_tps)
        } else if r.name.starts_with("create") && insert_tps > 0.0 {
            format!(" {:.0}% of insert |", 100.0 * r.rps / insert_tps)
        } else {
            " |".to_string()
        };
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} | {:.0}% | {:.0}% | {} |{}",
            r.name,
            rate(r.rps),
            ms(r.latency.p50_us),
            ms(r.latency.p99_us),
            ms(r.latency.p999_us),
            ms(r.latency.max_us),
            r.errors,
            100.0 * r.server_cpu,
            100.0 * r.bench_cpu,
            mb(r.peak_rss),
            ratio
        );
    }
    let _ = writeln!(o);
    let errs: Vec<_> = run
        .http
        .iter()
        .filter_map(|r| r.first_error.as_ref().map(|e| (r.name.as_str(), e)))
        .collect();
    for (name, e) in errs {
        let _ = writeln!(o, "- first error of *{name}*: `{e}`");
    }
    let _ = writeln!(
        o,
        "CPU is CPU time over wall time in the measured period (100% = one core of {}).\n",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    let _ = writeln!(
        o,
        "Memory (VmRSS): **{}** idle after start, {} idle after seeding.\n",
        mb(run.rss_idle_start),
        mb(run.rss_idle_seeded)
    );
    if let Some(f) = &run.fanout {
        let _ = writeln!(
            o,
            "Fan-out: {} staff WebSockets joined one ticket (in {}); one message posted over HTTP \
             every {} ms for {} s with the ticket's donor token; latency from just before the \
             POST to the `new_message` frame at each subscriber.\n",
            f.clients,
            secs(f.connect_time),
            args.fanout_interval_ms,
            args.fanout_secs
        );
        let _ = writeln!(
            o,
            "| posted | post errors | deliveries | p50 | p99 | p99.9 | max | lost | duplicated | sockets dropped | server CPU | bench CPU | peak RSS |\n| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
        );
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.0}% | {:.0}% | {} |\n",
            f.posted,
            f.post_errors,
            f.latency.count,
            ms(f.latency.p50_us),
            ms(f.latency.p99_us),
            ms(f.latency.p999_us),
            ms(f.latency.max_us),
            f.lost,
            f.duplicated,
            f.dropped_clients,
            100.0 * f.server_cpu,
            100.0 * f.bench_cpu,
            mb(f.peak_rss)
        );
        let _ = writeln!(
            o,
            "Per message: post to its first receipt p50 {}, p99 {} (the pipeline: HTTP, commit, \
             event-log read); post to its last receipt p50 {}, p99 {} (the whole room served).\n",
            ms(f.first.p50_us),
            ms(f.first.p99_us),
            ms(f.last.p50_us),
            ms(f.last.p99_us)
        );
    }
    if let Some(i) = &run.idle {
        let per = (i.rss_with.saturating_sub(i.rss_before)) / (i.connections.max(1) as u64);
        let _ = writeln!(
            o,
            "Idle connections: {} authenticated WebSockets (staff token, opened in {}): RSS {} \
             before, **{}** with them open ({:.1} KB each), {} after they closed.\n",
            i.connections,
            secs(i.connect_time),
            mb(i.rss_before),
            mb(i.rss_with),
            per as f64 / 1024.0,
            mb(i.rss_after)
        );
    }
}

fn targets(o: &mut String, run: &BackendRun, insert_tps: f64) {
    let b = &run.backend;
    let find = |prefix: &str| run.http.iter().find(|r| r.name.starts_with(prefix));
    if let Some(r) = find("post a message") {
        let half = insert_tps / 2.0;
        let met = insert_tps > 0.0 && r.rps >= half && r.latency.p99_us < 10_000 && r.errors == 0;
        let _ = writeln!(
            o,
            "| post a message >= half pgbench insert ({half:.0}/s), p99 < 10 ms | {b} | {:.0}/s, p99 {} | {} |",
            r.rps,
            ms(r.latency.p99_us),
            yes(met)
        );
    }
    for r in run.http.iter().filter(|r| r.name.starts_with("list")) {
        let met = r.rps >= 10_000.0 && r.latency.p99_us < 10_000 && r.errors == 0;
        let _ = writeln!(
            o,
            "| {}: >= 10,000/s, p99 < 10 ms | {b} | {:.0}/s, p99 {} | {} |",
            r.name,
            r.rps,
            ms(r.latency.p99_us),
            yes(met)
        );
    }
    if let Some(f) = &run.fanout {
        let met = f.latency.p99_us < 50_000 && f.lost == 0 && f.duplicated == 0 && f.posted > 0;
        let _ = writeln!(
            o,
            "| {}-subscriber fan-out p99 < 50 ms, none lost or duplicated | {b} | p99 {}, lost {}, duplicated {} | {} |",
            f.clients,
            ms(f.latency.p99_us),
            f.lost,
            f.duplicated,
            yes(met)
        );
    }
    if let Some(i) = &run.idle {
        let _ = writeln!(
            o,
            "| {} idle WebSockets < 300 MB RSS | {b} | {} | {} |",
            i.connections,
            mb(i.rss_with),
            yes(i.rss_with < 300 * 1024 * 1024)
        );
    }
    let _ = writeln!(
        o,
        "| idle server < 30 MB | {b} | {} | {} |",
        mb(run.rss_idle_start),
        yes(run.rss_idle_start < 30 * 1024 * 1024)
    );
    let _ = writeln!(
        o,
        "| start-up < 1 s | {b} | {} fresh, {} restart | {} |",
        secs(run.startup_fresh),
        secs(run.startup_restart),
        yes(run.startup_fresh < Duration::from_secs(1))
    );
}

/// Writes `report` to `path`, keeping whatever follows [`NOTES_MARKER`] in the old file.
pub fn write_keeping_notes(path: &Path, report: &str) -> std::io::Result<()> {
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let notes = old
        .find(NOTES_MARKER)
        .map(|i| old[i + NOTES_MARKER.len()..].to_string())
        .unwrap_or_else(|| "\n\n## Notes\n\nWhat limits each missed target goes here.\n".into());
    std::fs::write(path, format!("{report}{NOTES_MARKER}{notes}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_cursors() {
        assert_eq!(url_encode("ab-_.~9"), "ab-_.~9");
        assert_eq!(url_encode("a+b/c="), "a%2Bb%2Fc%3D");
    }

    #[test]
    fn keeps_notes_below_the_marker() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("b.md");
        write_keeping_notes(&path, "# one\n")?;
        let first = std::fs::read_to_string(&path)?;
        assert!(first.starts_with("# one\n"));
        let edited = first.replace("goes here.", "is the database.");
        std::fs::write(&path, edited)?;
        write_keeping_notes(&path, "# two\n")?;
        let second = std::fs::read_to_string(&path)?;
        assert!(second.starts_with("# two\n"));
        assert!(second.contains("is the database."));
        assert!(!second.contains("# one"));
        Ok(())
    }
}
