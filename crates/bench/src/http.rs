//! HTTP load: a fixed number of workers, each sending one request at a time for a warm-up and
//! then a measured period; every loop is bounded in count and time.

use crate::server::{cpu_time, own_cpu_time};
use crate::stats::{Samples, Summary};
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// At most this many requests per worker in one measurement, whatever its duration.
const MAX_REQUESTS_PER_WORKER: u64 = 5_000_000;

/// One kind of request.
#[derive(Clone)]
pub enum Op {
    /// GET /health/ping.
    Ping,
    /// POST /auth/login.
    Login {
        /// Username.
        username: String,
        /// Password.
        password: String,
    },
    /// POST /donor-queries (with a first message).
    CreateQuery,
    /// POST /messages, worker `w` into `tickets[w % len]` with that ticket's donor token.
    PostMessage {
        /// (ticket id, donor token).
        tickets: Arc<Vec<(i64, String)>>,
    },
    /// GET `paths[(worker + n * workers) % len]` on the worker's `n`th request, with a token.
    GetEach {
        /// Paths and queries under the base URL.
        paths: Arc<Vec<String>>,
        /// Bearer token.
        token: String,
    },
    /// GET a path with a bearer token.
    Get {
        /// Path and query under the base URL.
        path: String,
        /// Bearer token.
        token: String,
    },
}

/// What one measurement found.
#[derive(Debug, Clone)]
pub struct LoadResult {
    /// Name in the report.
    pub name: String,
    /// Successful requests per second in the measured period.
    pub rps: f64,
    /// Latencies of successful requests in the measured period.
    pub latency: Summary,
    /// Failed requests (transport errors or an unexpected status) in the measured period.
    pub errors: u64,
    /// The first error seen, if any.
    pub first_error: Option<String>,
    /// Server CPU time over wall time in the measured period (1.0 = one core).
    pub server_cpu: f64,
    /// This process's CPU time over wall time in the measured period.
    pub bench_cpu: f64,
    /// Peak server RSS during the measurement.
    pub peak_rss: u64,
}

/// Sends one request; Ok(true) when it got the expected status.
async fn send(
    client: &reqwest::Client,
    base: &str,
    op: &Op,
    worker: usize,
    workers: usize,
    seq: u64,
) -> Result<()> {
    let resp = match op {
        Op::Ping => {
            client
                .get(format!("{base}/api/v1/health/ping"))
                .send()
                .await?
        }
        Op::Login { username, password } => {
            client
                .post(format!("{base}/api/v1/auth/login"))
                .json(&json!({"username": username, "password": password}))
                .send()
                .await?
        }
        Op::CreateQuery => {
            client
                .post(format!("{base}/api/v1/donor-queries"))
                .json(&json!({
                    "donor": "Bench Donor",
                    "donorId": format!("bench-{worker}-{seq}"),
                    "message": "My receipt shows the wrong amount, could you check it please?",
                }))
                .send()
                .await?
        }
        Op::PostMessage { tickets } => {
            let (ticket, token) = tickets
                .get(worker % tickets.len().max(1))
                .context("no ticket to post into")?;
            client
                .post(format!("{base}/api/v1/messages"))
                .bearer_auth(token)
                .json(&json!({
                    "queryId": ticket,
                    "content": "It says 50 instead of 15, could you fix it?",
                    "clientMessageId": format!("bench-{worker}-{seq}"),
                }))
                .send()
                .await?
        }
        Op::GetEach { paths, token } => {
            let n = paths.len().max(1) as u64;
            let i = (worker as u64 + seq.wrapping_mul(workers as u64)) % n;
            let path = paths
                .get(usize::try_from(i).unwrap_or(0))
                .context("no path to get")?;
            client
                .get(format!("{base}{path}"))
                .bearer_auth(token)
                .send()
                .await?
        }
        Op::Get { path, token } => {
            client
                .get(format!("{base}{path}"))
                .bearer_auth(token)
                .send()
                .await?
        }
    };
    let status = resp.status();
    // Read the whole body: that is part of the request's cost.
    let body = resp.bytes().await?;
    if !status.is_success() {
        bail!(
            "{status}: {}",
            String::from_utf8_lossy(body.get(..200).unwrap_or(&body))
        );
    }
    Ok(())
}

/// Runs `op` from `concurrency` workers: `warmup` unmeasured, then `duration` measured.
#[allow(clippy::too_many_arguments)]
pub async fn measure(
    name: &str,
    client: &reqwest::Client,
    base: &str,
    server_pid: u32,
    rss: &crate::server::RssSampler,
    op: Op,
    concurrency: usize,
    warmup: Duration,
    duration: Duration,
) -> Result<LoadResult> {
    let start = Instant::now();
    let measure_from = start + warmup;
    let end = measure_from + duration;
    let errors = Arc::new(AtomicU64::new(0));
    let first_error = Arc::new(std::sync::Mutex::new(None::<String>));
    let mut tasks = Vec::with_capacity(concurrency);
    for worker in 0..concurrency {
        let (client, base, op) = (client.clone(), base.to_string(), op.clone());
        let (errors, first_error) = (errors.clone(), first_error.clone());
        tasks.push(tokio::spawn(async move {
            let mut samples = Samples::with_capacity(64 * 1024);
            for seq in 0..MAX_REQUESTS_PER_WORKER {
                let t0 = Instant::now();
                if t0 >= end {
                    break;
                }
                // A request that hangs is cut off at the end of the period (plus 10 s).
                let limit = end.saturating_duration_since(t0) + Duration::from_secs(10);
                let result = tokio::time::timeout(
                    limit,
                    send(&client, &base, &op, worker, concurrency, seq),
                )
                .await
                .unwrap_or_else(|_| Err(anyhow::anyhow!("timed out")));
                let t1 = Instant::now();
                // A request counts when it completes within the measured period (slow ones,
                // like a login at bcrypt cost 12, may have started in the warm-up).
                if t1 < measure_from {
                    continue;
                }
                match result {
                    Ok(()) if t1 <= end => samples.push(t1 - t0),
                    // Requests that finish after the period count as neither.
                    Ok(()) => {}
                    Err(e) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                        if let Ok(mut first) = first_error.lock() {
                            first.get_or_insert_with(|| format!("{e:#}"));
                        }
                    }
                }
            }
            samples
        }));
    }
    // CPU and memory are read over the measured period only.
    tokio::time::sleep_until(measure_from.into()).await;
    let _ = rss.take_peak();
    let (srv0, own0, wall0) = (cpu_time(server_pid), own_cpu_time(), Instant::now());
    tokio::time::sleep_until(end.into()).await;
    let (srv1, own1, wall) = (cpu_time(server_pid), own_cpu_time(), wall0.elapsed());
    let peak_rss = rss.take_peak();
    let mut all = Samples::default();
    for task in tasks {
        all.merge(task.await?);
    }
    let ok = all.len();
    let first_error = first_error.lock().ok().and_then(|f| f.clone());
    Ok(LoadResult {
        name: name.to_string(),
        rps: ok as f64 / duration.as_secs_f64(),
        latency: all.summary(),
        errors: errors.load(Ordering::Relaxed),
        first_error,
        server_cpu: (srv1.saturating_sub(srv0)).as_secs_f64() / wall.as_secs_f64(),
        bench_cpu: (own1.saturating_sub(own0)).as_secs_f64() / wall.as_secs_f64(),
        peak_rss,
    })
}

/// POSTs JSON and returns the body, failing on any other status than 2xx.
pub async fn post_json(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    body: &Value,
) -> Result<Value> {
    let mut req = client.post(url).json(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await?;
    let status = resp.status();
    let text = resp.text().await?;
    if !status.is_success() {
        bail!("POST {url}: {status}: {text}");
    }
    Ok(serde_json::from_str(&text)?)
}

/// GETs JSON with a token.
pub async fn get_json(client: &reqwest::Client, url: &str, token: &str) -> Result<Value> {
    let resp = client.get(url).bearer_auth(token).send().await?;
    let status = resp.status();
    let text = resp.text().await?;
    if !status.is_success() {
        bail!("GET {url}: {status}: {text}");
    }
    Ok(serde_json::from_str(&text)?)
}

/// Logs in and returns the access token.
pub async fn login(client: &reqwest::Client, base: &str, user: &str, pass: &str) -> Result<String> {
    let v = post_json(
        client,
        &format!("{base}/api/v1/auth/login"),
        None,
        &json!({"username": user, "password": pass}),
    )
    .await?;
    v.get("accessToken")
        .and_then(serde_json::Value::as_str)
        .map(str::to_string)
        .context("no accessToken in the login reply")
}

/// Creates `count` donor queries from `concurrency` workers; returns (id, donor token) in
/// creation order of their index.
pub async fn seed_queries(
    client: &reqwest::Client,
    base: &str,
    count: usize,
    concurrency: usize,
) -> Result<Vec<(i64, String)>> {
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, base, next) = (client.clone(), base.to_string(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut made = Vec::new();
            // Bounded by `count` in total.
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count as u64 {
                    break;
                }
                let v = post_json(
                    &client,
                    &format!("{base}/api/v1/donor-queries"),
                    None,
                    &json!({
                        "donor": format!("Seed Donor {i}"),
                        "donorId": format!("seed-{i}"),
                        "message": format!("Seed query number {i}: my receipt is wrong."),
                    }),
                )
                .await?;
                let id = v
                    .get("id")
                    .and_then(serde_json::Value::as_i64)
                    .context("no id")?;
                let token = v
                    .get("donorToken")
                    .and_then(serde_json::Value::as_str)
                    .context("no donorToken")?
                    .to_string();
                made.push((i, id, token));
            }
            anyhow::Ok(made)
        }));
    }
    let mut all = Vec::with_capacity(count);
    for t in tasks {
        all.extend(t.await??);
    }
    all.sort_by_key(|(i, _, _)| *i);
    Ok(all.into_iter().map(|(_, id, tok)| (id, tok)).collect())
}

/// Posts `count` messages into one ticket with its donor token (`concurrency` at a time).
pub async fn seed_messages(
    client: &reqwest::Client,
    base: &str,
    ticket: (i64, &str),
    count: usize,
    concurrency: usize,
) -> Result<()> {
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, base, next) = (client.clone(), base.to_string(), next.clone());
        let (id, token) = (ticket.0, ticket.1.to_string());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count as u64 {
                    break;
                }
                post_json(
                    &client,
                    &format!("{base}/api/v1/messages"),
                    Some(&token),
                    &json!({
                        "queryId": id,
                        "content": format!("Conversation message {i}: still waiting on the refund."),
                        "clientMessageId": format!("seed-{i}"),
                    }),
                )
                .await?;
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(())
}

/// Follows `nextCursor` from `path` (which has a `limit`) for `pages` pages and returns the
/// cursor of the page after them.
pub async fn deep_cursor(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    token: &str,
    pages: usize,
) -> Result<String> {
    let mut cursor: Option<String> = None;
    for _ in 0..pages {
        let url = match &cursor {
            None => format!("{base}{path}"),
            Some(c) => format!("{base}{path}&cursor={c}"),
        };
        let v = get_json(client, &url, token).await?;
        cursor = Some(
            v.get("nextCursor")
                .and_then(serde_json::Value::as_str)
                .context("the list ended before the deep page")?
                .to_string(),
        );
    }
    cursor.context("no pages walked")
}
