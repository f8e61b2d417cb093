//! `concierge-bench`: starts the release server on PostgreSQL and SQLite, seeds it, measures it,
//! runs pgbench for the ceiling, and prints (or writes) a Markdown report. `just bench` runs it.
//! Every request goes to 127.0.0.1; every loop is bounded in count and time.

// Panicking shortcuts stay in tests; elsewhere a failure is an error the caller sees.
#![cfg_attr(not(test), deny(clippy::expect_used, clippy::indexing_slicing))]

mod http;
mod pg;
mod report;
mod search;
mod seed;
mod server;
mod stats;
mod ws;

use anyhow::{Context, Result};
use clap::Parser;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Load generator for Concierge.
#[derive(Parser, Debug, Clone)]
#[command(name = "concierge-bench")]
pub struct Args {
    /// Backends to measure, comma-separated: postgres, sqlite.
    #[arg(long, default_value = "postgres,sqlite", value_delimiter = ',')]
    pub backends: Vec<String>,
    /// PostgreSQL to create the benchmark databases on.
    #[arg(
        long,
        env = "TEST_POSTGRES_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    pub postgres_url: String,
    /// The server binary (default: target/release/concierge of this workspace).
    #[arg(long)]
    pub server_bin: Option<PathBuf>,
    /// Concurrent HTTP workers.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Measured seconds per HTTP scenario (and per pgbench script).
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// Warm-up seconds before each measurement.
    #[arg(long, default_value_t = 2)]
    pub warmup: u64,
    /// Tickets to seed.
    #[arg(long, default_value_t = 10_000)]
    pub tickets: usize,
    /// Messages in the conversation that is listed.
    #[arg(long, default_value_t = 1_000)]
    pub messages: usize,
    /// BCRYPT_COST for the server (12 is its default).
    #[arg(long, default_value_t = 12)]
    pub bcrypt_cost: u32,
    /// WebSocket subscribers of one ticket.
    #[arg(long, default_value_t = 1_000)]
    pub ws_clients: usize,
    /// Milliseconds between fan-out posts.
    #[arg(long, default_value_t = 10)]
    pub fanout_interval_ms: u64,
    /// Seconds of fan-out posting.
    #[arg(long, default_value_t = 10)]
    pub fanout_secs: u64,
    /// Idle authenticated WebSocket connections.
    #[arg(long, default_value_t = 10_000)]
    pub ws_idle: usize,
    /// Skip pgbench.
    #[arg(long)]
    pub no_pgbench: bool,
    /// Run only the scenarios whose name contains one of these (comma-separated), e.g.
    /// `post,fan-out,idle`; all when empty.
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Scenario groups to run, comma-separated: `standard` (everything above the search
    /// section), `search` (bulk-seeded search and the index's cost to posting).
    #[arg(long, default_value = "standard,search", value_delimiter = ',')]
    pub scenarios: Vec<String>,
    /// Messages seeded in bulk for the search scenario.
    #[arg(long, default_value_t = 1_000_000)]
    pub search_messages: u64,
    /// Tickets seeded in bulk for the search scenario.
    #[arg(long, default_value_t = 20_000)]
    pub search_tickets: u64,
    /// Concurrent search clients.
    #[arg(long, default_value_t = 8)]
    pub search_concurrency: usize,
    /// Measured seconds per search and post measurement of the search scenario (default:
    /// `--duration`).
    #[arg(long)]
    pub search_duration: Option<u64>,
    /// Extra server variables, `KEY=VALUE` (repeatable), e.g. `--server-env DB_POOL_SIZE=32`.
    #[arg(long)]
    pub server_env: Vec<String>,
    /// Keep the benchmark databases (PostgreSQL's and the SQLite files) after the run.
    #[arg(long)]
    pub keep: bool,
    /// Write the report here (notes after the marker in an existing file are kept).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Everything measured on one backend.
#[derive(Debug)]
pub struct BackendRun {
    /// `PostgreSQL 15.x` or `SQLite`.
    pub backend: String,
    /// Start-up on an empty database (migrations, super admin).
    pub startup_fresh: Duration,
    /// Start-up on the migrated database.
    pub startup_restart: Duration,
    /// RSS right after start.
    pub rss_idle_start: u64,
    /// RSS idle after seeding.
    pub rss_idle_seeded: u64,
    /// Time to seed the tickets and the conversation.
    pub seed_time: Duration,
    /// HTTP scenarios.
    pub http: Vec<http::LoadResult>,
    /// Fan-out.
    pub fanout: Option<ws::FanoutResult>,
    /// Idle connections.
    pub idle: Option<ws::IdleResult>,
    /// Phases that failed, with why.
    pub failures: Vec<String>,
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let started = Instant::now();
    let machine = report::Machine::read();
    let root = server::workspace_root();
    let binary = args
        .server_bin
        .clone()
        .unwrap_or_else(|| root.join("target/release/concierge"));
    let tmp = tempfile::Builder::new()
        .prefix("concierge-bench-")
        .tempdir()?;
    // `--keep`: the SQLite files and PostgreSQL databases outlive the run.
    let (_tmp_guard, tmp_path) = if args.keep {
        let kept = tmp.keep();
        eprintln!("keeping {}", kept.display());
        (None, kept)
    } else {
        let path = tmp.path().to_path_buf();
        (Some(tmp), path)
    };
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .timeout(Duration::from_secs(60))
        .build()?;

    let pg_version = match pg::version(&args.postgres_url).await {
        Ok(v) => Some(v),
        Err(e) => {
            eprintln!("PostgreSQL unavailable at the configured URL: {e:#}");
            None
        }
    };

    let wants = |group: &str| args.scenarios.iter().any(|s| s.trim() == group);
    let mut notes = Vec::new();
    let pgbench = if !wants("standard") {
        None
    } else if args.no_pgbench {
        notes.push("pgbench skipped (--no-pgbench).".to_string());
        None
    } else if pg_version.is_none() {
        notes.push("pgbench skipped: PostgreSQL is unavailable.".to_string());
        None
    } else if let Some(bin) = pg::pgbench_binary() {
        eprintln!("pgbench ceiling ...");
        let db = pg::TempDb::create(&args.postgres_url, "concierge_bench_pgbench").await?;
        let dir = tmp_path.join("pgbench");
        std::fs::create_dir_all(&dir)?;
        let r = pg::ceiling(
            &bin,
            &db.url,
            args.concurrency,
            Duration::from_secs(args.warmup),
            Duration::from_secs(args.duration),
            &dir,
        )
        .await;
        db.drop_db().await?;
        match r {
            Ok(r) => Some(r),
            Err(e) => {
                notes.push(format!("pgbench failed: {e:#}"));
                None
            }
        }
    } else {
        notes.push(
            "pgbench skipped: no pgbench binary (apt-get install postgresql-contrib).".to_string(),
        );
        None
    };

    let mut runs = Vec::new();
    let mut search_runs = Vec::new();
    for backend in &args.backends {
        let name = backend.trim().to_ascii_lowercase();
        for group in ["standard", "search"].into_iter().filter(|g| wants(g)) {
            let Some((label, url, db)) = fresh_database(
                &args,
                &name,
                group,
                pg_version.as_deref(),
                tmp_path.as_path(),
                &mut notes,
            )
            .await?
            else {
                continue;
            };
            eprintln!("== {label} ({group})");
            let spec = server_spec(
                &args,
                &binary,
                url,
                tmp_path.join(format!("work-{name}-{group}")),
            );
            let result = if group == "search" {
                search::run(&args, &client, &spec, &label)
                    .await
                    .map(|r| search_runs.push(r))
            } else {
                run_backend(&args, &client, &spec, &label)
                    .await
                    .map(|r| runs.push(r))
            };
            if let Some(db) = db.filter(|_| !args.keep) {
                if let Err(e) = db.drop_db().await {
                    eprintln!("dropping the benchmark database: {e:#}");
                }
            }
            if let Err(e) = result {
                notes.push(format!("{label} {group} run failed: {e:#}"));
            }
        }
    }

    let machine_end = report::Machine::read();
    let section = (!search_runs.is_empty())
        .then(|| search::render(&args, &search_runs, &machine, &machine_end));
    let old = args
        .out
        .as_ref()
        .and_then(|p| std::fs::read_to_string(p).ok())
        .unwrap_or_default();
    let text = if wants("standard") {
        let text = report::render(
            &args,
            &machine,
            &machine_end,
            pgbench.as_deref(),
            &runs,
            &notes,
            started.elapsed(),
        );
        // A run without the search scenario keeps the last search section.
        match (&section, old.find(search::BEGIN), old.find(search::END)) {
            (Some(s), _, _) => search::splice(&text, s),
            (None, Some(b), Some(e)) if b < e => {
                search::splice(&text, &old[b..e + search::END.len()])
            }
            _ => text,
        }
    } else {
        // Only the search section changes; the rest of the report stays as it was.
        let mut s = section.clone().unwrap_or_default();
        for n in &notes {
            s = s.replace(search::END, &format!("- {n}\n\n{}", search::END));
        }
        if args.out.is_some() {
            search::splice(&old, &s)
        } else {
            s
        }
    };
    println!("{text}");
    if let Some(out) = &args.out {
        let written = if wants("standard") {
            report::write_keeping_notes(out, &text)
        } else {
            std::fs::write(out, &text)
        };
        written.with_context(|| format!("writing {}", out.display()))?;
        eprintln!("wrote {}", out.display());
    }
    Ok(())
}

/// A fresh database for one backend and scenario group: its label, URL, and the PostgreSQL
/// database to drop afterwards. None (with a note) when the backend cannot run.
async fn fresh_database(
    args: &Args,
    name: &str,
    group: &str,
    pg_version: Option<&str>,
    tmp: &std::path::Path,
    notes: &mut Vec<String>,
) -> Result<Option<(String, String, Option<pg::TempDb>)>> {
    Ok(match name {
        "postgres" | "postgresql" | "pg" => {
            let Some(v) = pg_version else {
                notes.push("PostgreSQL run skipped: PostgreSQL is unavailable.".to_string());
                return Ok(None);
            };
            let db_name = format!("concierge_bench_{group}");
            let db = pg::TempDb::create(&args.postgres_url, &db_name).await?;
            Some((format!("PostgreSQL {v}"), db.url.clone(), Some(db)))
        }
        "sqlite" => {
            let dir = tmp.join(format!("sqlite-{group}"));
            std::fs::create_dir_all(&dir)?;
            let path = dir.join("concierge.db");
            Some((
                "SQLite".to_string(),
                format!("sqlite://{}", path.display()),
                None,
            ))
        }
        other => {
            notes.push(format!("unknown backend {other:?} skipped"));
            None
        }
    })
}

/// How the server is started for a run.
fn server_spec(
    args: &Args,
    binary: &std::path::Path,
    database_url: String,
    workdir: PathBuf,
) -> server::ServerSpec {
    server::ServerSpec {
        binary: binary.to_path_buf(),
        database_url,
        bcrypt_cost: args.bcrypt_cost,
        admin_password: "bench-admin-password".to_string(),
        workdir,
        // All load comes from 127.0.0.1: per-IP rate limits (0 = off) would measure 429s.
        extra_env: [
            "RATE_LIMIT_REQUESTS",
            "RATE_LIMIT_DONOR_QUERIES",
            "RATE_LIMIT_LOGIN_IP",
            "RATE_LIMIT_LOGIN_ACCOUNT",
        ]
        .iter()
        .map(|k| (k.to_string(), "0".to_string()))
        .chain(args.server_env.iter().filter_map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), v.to_string()))
        }))
        .collect(),
    }
}

async fn run_backend(
    args: &Args,
    client: &reqwest::Client,
    spec: &server::ServerSpec,
    label: &str,
) -> Result<BackendRun> {
    let warmup = Duration::from_secs(args.warmup);
    let duration = Duration::from_secs(args.duration);
    let c = args.concurrency;

    let first = server::Server::start(spec, client).await?;
    let startup_fresh = first.startup;
    first.stop().await?;
    let srv = server::Server::start(spec, client).await?;
    let startup_restart = srv.startup;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_idle_start = srv.rss()?;
    let rss = server::RssSampler::start(srv.pid);
    let base = srv.base.clone();
    eprintln!(
        "{label}: started in {:?} (fresh {:?}), idle RSS {}",
        startup_restart,
        startup_fresh,
        server::mb(rss_idle_start)
    );

    let admin = http::login(client, &base, "admin", &spec.admin_password).await?;
    let t_seed = Instant::now();
    let tickets = http::seed_queries(client, &base, args.tickets.max(40), c).await?;
    let conv = tickets.first().context("no tickets seeded")?;
    // The first message came with the query; the rest make up `messages`.
    http::seed_messages(
        client,
        &base,
        (conv.0, &conv.1),
        args.messages.saturating_sub(1),
        c,
    )
    .await?;
    let seed_time = t_seed.elapsed();
    eprintln!(
        "{label}: seeded {} tickets and {} messages in {seed_time:?}",
        tickets.len(),
        args.messages
    );
    let deep_pages = (args.tickets * 9 / 10) / 100;
    let deep = http::deep_cursor(
        client,
        &base,
        "/api/v1/donor-queries?limit=100",
        &admin,
        deep_pages.max(1),
    )
    .await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_idle_seeded = srv.rss()?;

    let post_into: Vec<(i64, String)> = tickets.iter().skip(1).take(c).cloned().collect();
    let fan_ticket = tickets.get(c + 1).context("too few tickets")?.clone();
    let scenarios: Vec<(String, http::Op)> = vec![
        ("GET /health/ping".to_string(), http::Op::Ping),
        (
            format!(
                "list a conversation of {} messages (first page of 50)",
                args.messages
            ),
            http::Op::Get {
                path: format!("/api/v1/messages/query/{}?limit=50", conv.0),
                token: admin.clone(),
            },
        ),
        (
            format!("list tickets, {} exist (first page of 50)", args.tickets),
            http::Op::Get {
                path: "/api/v1/donor-queries?limit=50".to_string(),
                token: admin.clone(),
            },
        ),
        (
            format!(
                "list tickets, {} exist (page of 50 at row {} by cursor)",
                args.tickets,
                deep_pages * 100
            ),
            http::Op::Get {
                path: format!(
                    "/api/v1/donor-queries?limit=50&cursor={}",
                    report::url_encode(&deep)
                ),
                token: admin.clone(),
            },
        ),
        (
            "post a message (donor token, 32 tickets)".to_string(),
            http::Op::PostMessage {
                tickets: std::sync::Arc::new(post_into),
            },
        ),
        (
            "create a donor query (with a first message)".to_string(),
            http::Op::CreateQuery,
        ),
        (
            format!("login (bcrypt cost {})", args.bcrypt_cost),
            http::Op::Login {
                username: "admin".to_string(),
                password: spec.admin_password.clone(),
            },
        ),
    ];
    let mut results = Vec::new();
    let mut failures = Vec::new();
    let wanted = |name: &str| args.only.is_empty() || args.only.iter().any(|o| name.contains(o));
    for (name, op) in scenarios.into_iter().filter(|(n, _)| wanted(n)) {
        eprintln!("{label}: {name} ...");
        match http::measure(&name, client, &base, srv.pid, &rss, op, c, warmup, duration).await {
            Ok(r) => {
                eprintln!(
                    "  {} req/s, p50 {}, p99 {}, errors {}",
                    stats::rate(r.rps),
                    stats::ms(r.latency.p50_us),
                    stats::ms(r.latency.p99_us),
                    r.errors
                );
                results.push(r);
            }
            Err(e) => failures.push(format!("{name}: {e:#}")),
        }
    }

    eprintln!("{label}: fan-out to {} subscribers ...", args.ws_clients);
    let fanout = if !wanted("fan-out") {
        None
    } else {
        match ws::fanout(
            client,
            &base,
            &srv.ws_url,
            &admin,
            (fan_ticket.0, &fan_ticket.1),
            args.ws_clients,
            Duration::from_millis(args.fanout_interval_ms.max(1)),
            Duration::from_secs(args.fanout_secs),
            srv.pid,
            &rss,
        )
        .await
        {
            Ok(f) => {
                eprintln!(
                    "  p50 {}, p99 {}, max {}, lost {}, duplicated {}; first receipt p50 {}, \
                     p99 {}; last receipt p50 {}, p99 {}",
                    stats::ms(f.latency.p50_us),
                    stats::ms(f.latency.p99_us),
                    stats::ms(f.latency.max_us),
                    f.lost,
                    f.duplicated,
                    stats::ms(f.first.p50_us),
                    stats::ms(f.first.p99_us),
                    stats::ms(f.last.p50_us),
                    stats::ms(f.last.p99_us)
                );
                Some(f)
            }
            Err(e) => {
                failures.push(format!("fan-out: {e:#}"));
                None
            }
        }
    };
    tokio::time::sleep(Duration::from_secs(2)).await;

    eprintln!("{label}: {} idle connections ...", args.ws_idle);
    let idle = if !wanted("idle") {
        None
    } else {
        match ws::idle(&srv.ws_url, &admin, args.ws_idle, &srv).await {
            Ok(i) => {
                eprintln!("  RSS with them open: {}", server::mb(i.rss_with));
                Some(i)
            }
            Err(e) => {
                failures.push(format!("idle connections: {e:#}"));
                None
            }
        }
    };
    srv.stop().await?;
    Ok(BackendRun {
        backend: label.to_string(),
        startup_fresh,
        startup_restart,
        rss_idle_start,
        rss_idle_seeded,
        seed_time,
        http: results,
        fanout,
        idle,
        failures,
    })
}
