//! The search scenario: a fresh database per backend seeded in bulk (crate::seed), then
//! `GET /api/v1/search` from a few clients over a mix of one-word, two-word, phrase and filtered
//! queries, and the cost of the index to a post: the post scenario with the search triggers in
//! place and dropped, alternated on the same data.

use crate::http::{self, LoadResult, Op};
use crate::report::url_encode;
use crate::server::{Server, ServerSpec};
use crate::stats::{ms, rate};
use crate::{seed, Args};
use anyhow::{Context, Result};
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

/// Start and end of the search section in docs/benchmarks.md (a search-only run replaces it).
pub const BEGIN: &str = "<!-- concierge-bench: search begins -->";
pub const END: &str = "<!-- concierge-bench: search ends -->";

/// The queries, by class; each request takes the next of its class's list.
pub const CLASSES: &[(&str, &[&str])] = &[
    (
        "one word",
        &[
            "refund",
            "receipt",
            "password",
            "declined",
            "chargeback",
            "sponsorship",
            "invoice",
            "unsubscribe",
            "marathon",
            "probate",
            "paypal",
            "duplicate",
            "vaccine",
            "crash",
            "postcode",
            "legacy",
        ],
    ),
    (
        "two words",
        &[
            "refund twice",
            "receipt email",
            "card declined",
            "password reset",
            "monthly donation",
            "tax receipt",
            "direct debit",
            "app crash",
            "wrong amount",
            "gift aid",
            "standing order",
            "bank transfer",
        ],
    ),
    (
        "phrase",
        &[
            "\"the refund\"",
            "\"my receipt\"",
            "\"direct debit\"",
            "\"to cancel\"",
            "\"my card\"",
            "\"the payment\"",
            "\"thank you\"",
            "\"for the donation\"",
        ],
    ),
    (
        "filtered",
        &[
            "refund status:OPEN",
            "receipt status:PENDING_REPLY",
            "password type:ticket",
            "declined created:>2026-11-01",
            "card type:message created:>2026-10-01",
            "invoice status:OPEN status:IN_PROGRESS",
            "donation priority:URGENT",
            "email status:RESOLVED created:>2026-06-01",
        ],
    ),
];

/// Everything the scenario measured on one backend.
#[derive(Debug)]
pub struct SearchRun {
    /// `PostgreSQL 15.x` or `SQLite`.
    pub backend: String,
    /// Bulk seeding, index included.
    pub seed_time: Duration,
    /// The mix, then each class alone.
    pub loads: Vec<LoadResult>,
    /// Post a message: (with the search triggers, result), in the order run.
    pub posts: Vec<(bool, LoadResult)>,
    /// Phases that failed, with why.
    pub failures: Vec<String>,
}

fn paths(queries: &[&str]) -> Vec<String> {
    queries
        .iter()
        .map(|q| format!("/api/v1/search?q={}&limit=20", url_encode(q)))
        .collect()
}

/// The triggers that index a new message: dropped and restored around the "without" runs.
struct Triggers {
    pg_url: Option<String>,
    sqlite_path: Option<String>,
}

const PG_DROP: &str = "DROP TRIGGER messages_search ON messages";
const PG_CREATE: &str = "CREATE TRIGGER messages_search BEFORE INSERT OR UPDATE OF content ON \
     messages FOR EACH ROW EXECUTE FUNCTION messages_search_trigger()";
const SQLITE_DROP: &str = "DROP TRIGGER messages_fts_insert";
const SQLITE_CREATE: &str = "CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN \
     INSERT INTO messages_fts (rowid, content, file_names) VALUES (new.id, new.content, ''); END";

impl Triggers {
    async fn exec(&self, sql: &str) -> Result<()> {
        match (&self.pg_url, &self.sqlite_path) {
            (Some(url), _) => crate::pg::psql(url, sql).await.map(|_| ()),
            (None, Some(path)) => seed::sqlite_exec(path, sql).await,
            (None, None) => anyhow::bail!("no database"),
        }
    }

    /// Drops the insert trigger; returns the last message id it indexed.
    async fn drop(&self) -> Result<i64> {
        let last = match (&self.pg_url, &self.sqlite_path) {
            (Some(url), _) => crate::pg::psql(url, "SELECT coalesce(max(id), 0) FROM messages")
                .await?
                .parse()
                .context("reading the last message id")?,
            (None, Some(path)) => seed::sqlite_max_id(path, "messages").await?,
            (None, None) => anyhow::bail!("no database"),
        };
        let sql = if self.pg_url.is_some() {
            PG_DROP
        } else {
            SQLITE_DROP
        };
        self.exec(sql).await?;
        Ok(last)
    }

    /// Restores it, and indexes what was posted after `last` (as the migration indexes rows
    /// that existed before it).
    async fn restore(&self, last: i64) -> Result<()> {
        if self.pg_url.is_some() {
            self.exec(PG_CREATE).await?;
            self.exec(&format!(
                "UPDATE messages SET search = concierge_message_search(id, content) WHERE id > {last}"
            ))
            .await?;
        } else {
            self.exec(SQLITE_CREATE).await?;
            self.exec(&format!(
                "INSERT INTO messages_fts (rowid, content, file_names) SELECT id, content, '' \
                 FROM messages WHERE id > {last}"
            ))
            .await?;
        }
        Ok(())
    }
}

/// Seeds a fresh database at `spec.database_url` and measures search and posting on it.
pub async fn run(
    args: &Args,
    client: &reqwest::Client,
    spec: &ServerSpec,
    label: &str,
) -> Result<SearchRun> {
    // Start once to migrate, stop, load in bulk, start again.
    Server::start(spec, client).await?.stop().await?;
    let (tickets, messages) = (args.search_tickets, args.search_messages);
    eprintln!("{label}: seeding {tickets} tickets and {messages} messages in bulk ...");
    let triggers = if spec.database_url.starts_with("postgres") {
        Triggers {
            pg_url: Some(spec.database_url.clone()),
            sqlite_path: None,
        }
    } else {
        Triggers {
            pg_url: None,
            sqlite_path: Some(
                spec.database_url
                    .trim_start_matches("sqlite://")
                    .to_string(),
            ),
        }
    };
    let seed_time = match (&triggers.pg_url, &triggers.sqlite_path) {
        (Some(url), _) => seed::postgres(url, tickets, messages).await?,
        (None, Some(path)) => seed::sqlite(path, tickets, messages).await?,
        (None, None) => anyhow::bail!("no database"),
    };
    eprintln!("{label}: seeded in {seed_time:?}");
    let srv = Server::start(spec, client).await?;
    let rss = crate::server::RssSampler::start(srv.pid);
    let base = srv.base.clone();
    let admin = http::login(client, &base, "admin", &spec.admin_password).await?;
    let c = args.search_concurrency.max(1);
    let warmup = Duration::from_secs(args.warmup);
    let duration = Duration::from_secs(args.search_duration.unwrap_or(args.duration));
    let mut loads = Vec::new();
    let mut failures = Vec::new();

    let all: Vec<String> = CLASSES.iter().flat_map(|(_, q)| paths(q)).collect();
    let mut runs: Vec<(String, Vec<String>)> = vec![(
        format!(
            "search, the mix ({} queries, {} classes)",
            all.len(),
            CLASSES.len()
        ),
        all,
    )];
    runs.extend(
        CLASSES
            .iter()
            .map(|(name, q)| (format!("search, {name} only"), paths(q))),
    );
    for (name, paths) in runs {
        eprintln!("{label}: {name} ...");
        let op = Op::GetEach {
            paths: Arc::new(paths),
            token: admin.clone(),
        };
        match http::measure(&name, client, &base, srv.pid, &rss, op, c, warmup, duration).await {
            Ok(r) => {
                progress(&r);
                loads.push(r);
            }
            Err(e) => failures.push(format!("{name}: {e:#}")),
        }
    }

    // Posting: the same tickets and workers as the main post scenario, with and without the
    // trigger, in the order with, without, without, with, without, with, with, without (a
    // linear drift over the run cancels out of the means).
    let pc = args.concurrency.max(1);
    let post_into = http::seed_queries(client, &base, pc, pc).await?;
    let post_into = Arc::new(post_into);
    let mut posts = Vec::new();
    for with in [true, false, false, true, false, true, true, false] {
        let last = if with {
            None
        } else {
            Some(triggers.drop().await?)
        };
        let name = format!(
            "post a message (donor token, {pc} tickets), search triggers {}",
            if with { "in place" } else { "dropped" }
        );
        eprintln!("{label}: {name} ...");
        let op = Op::PostMessage {
            tickets: post_into.clone(),
        };
        let r = http::measure(
            &name, client, &base, srv.pid, &rss, op, pc, warmup, duration,
        )
        .await;
        if let Some(last) = last {
            triggers.restore(last).await?;
        }
        match r {
            Ok(r) => {
                progress(&r);
                posts.push((with, r));
            }
            Err(e) => failures.push(format!("{name}: {e:#}")),
        }
    }
    srv.stop().await?;
    Ok(SearchRun {
        backend: label.to_string(),
        seed_time,
        loads,
        posts,
        failures,
    })
}

fn progress(r: &LoadResult) {
    eprintln!(
        "  {} req/s, p50 {}, p95 {}, p99 {}, errors {}",
        rate(r.rps),
        ms(r.latency.p50_us),
        ms(r.latency.p95_us),
        ms(r.latency.p99_us),
        r.errors
    );
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    if n == 0 {
        0.0
    } else {
        sum / n as f64
    }
}

/// The posts' mean rate and mean p50 with the triggers in place (`true`) or dropped.
fn post_means(run: &SearchRun, with: bool) -> (f64, f64) {
    let sel = || run.posts.iter().filter(move |(w, _)| *w == with);
    (
        mean(sel().map(|(_, r)| r.rps)),
        mean(sel().map(|(_, r)| r.latency.p50_us as f64)),
    )
}

/// The search section of the report, between [`BEGIN`] and [`END`].
pub fn render(
    args: &Args,
    runs: &[SearchRun],
    machine: &crate::report::Machine,
    machine_end: &crate::report::Machine,
) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "{BEGIN}\n## Search\n");
    let _ = writeln!(
        o,
        "Code {}; {} CPUs ({}); load average {} at the start, {} at the end.\n",
        machine.commit, machine.cpus, machine.cpu_model, machine.loadavg, machine_end.loadavg
    );
    let _ = writeln!(
        o,
        "```sh\ntarget/release/concierge-bench --scenarios search --backends {} --search-tickets {} \\\n  --search-messages {} --search-concurrency {} --concurrency {} --duration {} --warmup {}\n```\n",
        args.backends.join(","),
        args.search_tickets,
        args.search_messages,
        args.search_concurrency,
        args.concurrency,
        args.search_duration.unwrap_or(args.duration),
        args.warmup
    );
    let _ = writeln!(
        o,
        "A fresh database per backend, migrated by the server, then {} tickets and {} messages \
         written straight into its tables (`crates/bench/src/seed.rs`: `COPY` on PostgreSQL, \
         `INSERT` on SQLite, so the search triggers index every row \
         as they index the server's writes; on PostgreSQL the messages' GIN index is built after \
         the load by the migration's own `CREATE INDEX`). Text: 4 to 40 words a message drawn \
         from a fixed {}-word vocabulary with Zipf weights by a seeded RNG (the same rows every \
         run). Staff token, `limit=20`, {} clients each sending one request at a time; each \
         class's queries taken in turn. The mix is every class's queries together.\n",
        args.search_tickets,
        args.search_messages,
        seed::VOCABULARY.len(),
        args.search_concurrency
    );
    for (name, queries) in CLASSES {
        let _ = writeln!(
            o,
            "- {name}: {}",
            queries
                .iter()
                .map(|q| format!("`{q}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let _ = writeln!(o);
    for run in runs {
        let _ = writeln!(
            o,
            "### {}\n\nSeeding took {}.\n",
            run.backend,
            crate::report::secs(run.seed_time)
        );
        let _ = writeln!(
            o,
            "| c={} | requests/s | p50 | p95 | p99 | max | errors | server CPU | bench CPU | peak RSS |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
            args.search_concurrency
        );
        for r in &run.loads {
            row(&mut o, r);
        }
        let _ = writeln!(
            o,
            "\nPosting a message with the search index kept by its trigger and with the trigger \
             dropped (the same server, data and tickets; c={}, in the order listed):\n",
            args.concurrency
        );
        let _ = writeln!(
            o,
            "| c={} | requests/s | p50 | p95 | p99 | max | errors | server CPU | bench CPU | peak RSS |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
            args.concurrency
        );
        for (_, r) in &run.posts {
            row(&mut o, r);
        }
        let (with_rps, with_p50) = post_means(run, true);
        let (without_rps, without_p50) = post_means(run, false);
        if without_rps > 0.0 && with_rps > 0.0 {
            let _ = writeln!(
                o,
                "\nMeans: {} posts/s with the index, {} without: **{:+.1}%** throughput; p50 {} \
                 against {} (**{:+.1}%**).\n",
                rate(with_rps),
                rate(without_rps),
                100.0 * (with_rps / without_rps - 1.0),
                ms(with_p50 as u64),
                ms(without_p50 as u64),
                100.0 * (with_p50 / without_p50.max(1.0) - 1.0)
            );
        }
        for r in run.loads.iter().chain(run.posts.iter().map(|(_, r)| r)) {
            if let Some(e) = &r.first_error {
                let _ = writeln!(o, "- first error of *{}*: `{e}`", r.name);
            }
        }
        for f in &run.failures {
            let _ = writeln!(o, "- failed: {f}");
        }
        let _ = writeln!(o);
    }
    let _ = writeln!(
        o,
        "Targets (issue 16): search p95 < 50 ms on the mix; posting at most 15% slower with the \
         index.\n\n| target | backend | measured | |\n| --- | --- | --- | --- |"
    );
    for run in runs {
        if let Some(mix) = run.loads.first() {
            let _ = writeln!(
                o,
                "| search mix p95 < 50 ms at c={} | {} | p95 {} | {} |",
                args.search_concurrency,
                run.backend,
                ms(mix.latency.p95_us),
                crate::report::yes(mix.latency.p95_us < 50_000 && mix.errors == 0)
            );
        }
        let (with_rps, _) = post_means(run, true);
        let (without_rps, _) = post_means(run, false);
        if without_rps > 0.0 {
            let slower = 100.0 * (1.0 - with_rps / without_rps);
            let _ = writeln!(
                o,
                "| posting <= 15% slower with the index | {} | {slower:.1}% slower | {} |",
                run.backend,
                crate::report::yes(slower <= 15.0)
            );
        }
    }
    let _ = writeln!(o, "\n{END}");
    o
}

fn row(o: &mut String, r: &LoadResult) {
    let _ = writeln!(
        o,
        "| {} | {} | {} | {} | {} | {} | {} | {:.0}% | {:.0}% | {} |",
        r.name,
        rate(r.rps),
        ms(r.latency.p50_us),
        ms(r.latency.p95_us),
        ms(r.latency.p99_us),
        ms(r.latency.max_us),
        r.errors,
        100.0 * r.server_cpu,
        100.0 * r.bench_cpu,
        crate::server::mb(r.peak_rss)
    );
}

/// `report` with its search section replaced by `section` (or put before the notes marker, or
/// at the end, when it has none).
pub fn splice(report: &str, section: &str) -> String {
    if let (Some(b), Some(e)) = (report.find(BEGIN), report.find(END)) {
        if b < e {
            let after = &report[e + END.len()..];
            return format!("{}{}{}", &report[..b], section.trim_end(), after);
        }
    }
    match report.find(crate::report::NOTES_MARKER) {
        Some(i) => format!("{}{section}\n{}", &report[..i], &report[i..]),
        None => format!("{report}\n{section}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splice_replaces_only_the_search_section() {
        let marker = crate::report::NOTES_MARKER;
        let first = splice(
            &format!("# B\n\ntable\n\n{marker}\nnotes\n"),
            &format!("{BEGIN}\none\n{END}\n"),
        );
        assert!(first.contains("table\n\n<!-- concierge-bench: search begins -->\none\n"));
        assert!(first.ends_with(&format!("{marker}\nnotes\n")));
        let second = splice(&first, &format!("{BEGIN}\ntwo\n{END}\n"));
        assert!(second.contains("two") && !second.contains("one"));
        assert!(second.contains("table") && second.ends_with("notes\n"));
        assert_eq!(second.matches(BEGIN).count(), 1);
    }
}
