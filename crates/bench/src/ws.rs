//! WebSocket load: fan-out latency to many subscribers of one ticket, and idle connections.

use crate::stats::{Samples, Summary};
use anyhow::{bail, Context, Result};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Each subscriber's read buffer: a few frames' worth.
const READ_BUFFER: usize = 4096;

/// The marker embedded in every fan-out message: `fanout#<index>@<micros since epoch>#`.
const MARK: &str = "fanout#";

/// Reads frames until one whose `type` is `want`; errors on `error` frames, close, or after 30 s.
async fn expect(ws: &mut Ws, want: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    for _ in 0..10_000 {
        let left = deadline.saturating_duration_since(Instant::now());
        let frame = tokio::time::timeout(left, ws.next())
            .await
            .context("timed out waiting for a frame")?
            .context("the socket closed")??;
        if let Message::Text(text) = frame {
            let v: serde_json::Value = serde_json::from_str(text.as_str())?;
            match v.get("type").and_then(serde_json::Value::as_str) {
                Some(t) if t == want => return Ok(()),
                Some("error") => bail!("error frame: {text}"),
                _ => {}
            }
        } else if let Message::Close(c) = frame {
            bail!("closed: {c:?}");
        }
    }
    bail!("no {want} frame")
}

/// Connects and authenticates with a first frame; joins `ticket` when given.
async fn connect(url: &str, token: &str, ticket: Option<i64>) -> Result<Ws> {
    // tungstenite's default 128 KiB read buffer is zeroed on every read; at 100,000 frames/s
    // that memset alone took 9% of the machine from the server under test.
    let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER);
    let (mut ws, _) = tokio::time::timeout(
        Duration::from_secs(30),
        tokio_tungstenite::connect_async_with_config(url, Some(config), true),
    )
    .await
    .context("connect timed out")??;
    ws.send(Message::Text(
        json!({"type": "auth", "token": token}).to_string().into(),
    ))
    .await?;
    expect(&mut ws, "ready").await?;
    if let Some(id) = ticket {
        ws.send(Message::Text(
            json!({"type": "join", "ticketId": id}).to_string().into(),
        ))
        .await?;
        expect(&mut ws, "joined").await?;
    }
    Ok(ws)
}

/// Opens `count` connections, `parallel` at a time.
async fn open_many(
    url: &str,
    token: &str,
    ticket: Option<i64>,
    count: usize,
    parallel: usize,
) -> Result<Vec<Ws>> {
    let gate = Arc::new(Semaphore::new(parallel));
    let mut tasks = Vec::with_capacity(count);
    for _ in 0..count {
        let (gate, url, token) = (gate.clone(), url.to_string(), token.to_string());
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await?;
            connect(&url, &token, ticket).await
        }));
    }
    let mut out = Vec::with_capacity(count);
    for t in tasks {
        out.push(t.await??);
    }
    Ok(out)
}

/// The fan-out measurement.
#[derive(Debug, Clone)]
pub struct FanoutResult {
    /// Subscribers.
    pub clients: usize,
    /// Messages posted (HTTP 201).
    pub posted: u64,
    /// Posts that failed.
    pub post_errors: u64,
    /// Time to connect, authenticate and join every subscriber.
    pub connect_time: Duration,
    /// Post-to-receipt latency over every (message, client) pair received.
    pub latency: Summary,
    /// Per message, post to its first receipt: the pipeline before the fan-out.
    pub first: Summary,
    /// Per message, post to its last receipt: the whole room served.
    pub last: Summary,
    /// Pairs never received.
    pub lost: u64,
    /// Receipts beyond the first of a pair.
    pub duplicated: u64,
    /// Subscribers whose socket ended early.
    pub dropped_clients: u64,
    /// Peak server RSS while it ran.
    pub peak_rss: u64,
    /// Server CPU over wall time while posting.
    pub server_cpu: f64,
    /// This process's CPU (the subscribers) over wall time while posting.
    pub bench_cpu: f64,
}

fn parse_mark(text: &str) -> Option<(usize, u64)> {
    let at = text.find(MARK)? + MARK.len();
    let rest = &text[at..];
    let (index, rest) = rest.split_once('@')?;
    let (micros, _) = rest.split_once('#')?;
    Some((index.parse().ok()?, micros.parse().ok()?))
}

/// `clients` staff sockets join `ticket`; one message is posted over HTTP every `interval`
/// for `duration` with the ticket's donor token; every subscriber records when each arrives.
#[allow(clippy::too_many_arguments)]
pub async fn fanout(
    http: &reqwest::Client,
    base: &str,
    ws_url: &str,
    staff_token: &str,
    ticket: (i64, &str),
    clients: usize,
    interval: Duration,
    duration: Duration,
    server_pid: u32,
    rss: &crate::server::RssSampler,
) -> Result<FanoutResult> {
    let total = usize::try_from(duration.as_millis() / interval.as_millis().max(1))?.max(1);
    let t_connect = Instant::now();
    let sockets = open_many(ws_url, staff_token, Some(ticket.0), clients, 100).await?;
    let connect_time = t_connect.elapsed();
    let epoch = Instant::now();
    // The subscribers stop reading once every posted message has arrived or at the deadline.
    let posted_count = Arc::new(AtomicU64::new(u64::MAX));
    let deadline = epoch + duration + Duration::from_secs(15);
    let mut readers = Vec::with_capacity(clients);
    for mut ws in sockets {
        let posted_count = posted_count.clone();
        readers.push(tokio::spawn(async move {
            let mut seen = vec![0u16; total];
            let mut arrived = vec![u64::MAX; total];
            let mut unique = 0u64;
            let mut dropped = false;
            for _ in 0..(total * 4 + 10_000) {
                if unique >= posted_count.load(Ordering::Relaxed) {
                    break;
                }
                let left = deadline.saturating_duration_since(Instant::now());
                // Wake now and then to see whether posting is over.
                let wait = left.min(Duration::from_millis(200));
                if wait.is_zero() {
                    break;
                }
                let frame = match tokio::time::timeout(wait, ws.next()).await {
                    Err(_) => continue,
                    Ok(None) | Ok(Some(Err(_))) => {
                        dropped = true;
                        break;
                    }
                    Ok(Some(Ok(f))) => f,
                };
                let now = epoch.elapsed().as_micros();
                let Message::Text(text) = frame else {
                    if let Message::Close(_) = frame {
                        dropped = true;
                        break;
                    }
                    continue;
                };
                let text = text.as_str();
                if !text.contains("\"new_message\"") {
                    continue;
                }
                if let Some((i, sent)) = parse_mark(text) {
                    if let (Some(slot), Some(at)) = (seen.get_mut(i), arrived.get_mut(i)) {
                        *slot = slot.saturating_add(1);
                        if *slot == 1 {
                            unique += 1;
                            *at = u64::try_from(now).unwrap_or(u64::MAX).saturating_sub(sent);
                        }
                    }
                }
            }
            let _ = ws.close(None).await;
            (seen, arrived, dropped)
        }));
    }

    let _ = rss.take_peak();
    let cpu0 = crate::server::cpu_time(server_pid);
    let own0 = crate::server::own_cpu_time();
    let ok = Arc::new(std::sync::Mutex::new(vec![false; total]));
    let post_errors = Arc::new(AtomicU64::new(0));
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut posts = Vec::with_capacity(total);
    for i in 0..total {
        ticker.tick().await;
        let (http, ok, errs) = (http.clone(), ok.clone(), post_errors.clone());
        let url = format!("{base}/api/v1/messages");
        let (id, token) = (ticket.0, ticket.1.to_string());
        posts.push(tokio::spawn(async move {
            let sent = epoch.elapsed().as_micros();
            let body = json!({
                "queryId": id,
                "content": format!("{MARK}{i}@{sent}# a message for every subscriber"),
                "clientMessageId": format!("fanout-{i}"),
            });
            let r = tokio::time::timeout(
                Duration::from_secs(10),
                crate::http::post_json(&http, &url, Some(&token), &body),
            )
            .await;
            match r {
                Ok(Ok(_)) => {
                    if let Ok(mut ok) = ok.lock() {
                        if let Some(slot) = ok.get_mut(i) {
                            *slot = true;
                        }
                    }
                }
                _ => {
                    errs.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for p in posts {
        p.await?;
    }
    let cpu = crate::server::cpu_time(server_pid).saturating_sub(cpu0);
    let own = crate::server::own_cpu_time().saturating_sub(own0);
    let post_wall = epoch.elapsed();
    let ok = ok.lock().map(|o| o.clone()).unwrap_or_default();
    let posted = ok.iter().filter(|&&b| b).count() as u64;
    posted_count.store(posted, Ordering::Relaxed);

    let mut all = Samples::with_capacity(clients * total);
    let mut first = vec![u64::MAX; total];
    let mut last = vec![0u64; total];
    let (mut lost, mut duplicated, mut dropped_clients) = (0u64, 0u64, 0u64);
    for r in readers {
        let (seen, arrived, dropped) = r.await?;
        dropped_clients += u64::from(dropped);
        let per_message = seen
            .iter()
            .zip(&arrived)
            .zip(first.iter_mut().zip(last.iter_mut()));
        for (i, ((&n, &micros), (first, last))) in per_message.enumerate() {
            if ok.get(i) == Some(&true) && n == 0 {
                lost += 1;
            }
            duplicated += u64::from(n.saturating_sub(1));
            if micros != u64::MAX {
                all.push_micros(micros);
                *first = (*first).min(micros);
                *last = (*last).max(micros);
            }
        }
    }
    let per_message = |values: &[u64]| {
        let mut samples = Samples::with_capacity(total);
        for (&v, &earliest) in values.iter().zip(&first) {
            if earliest != u64::MAX {
                samples.push_micros(v);
            }
        }
        samples.summary()
    };
    let (first, last) = (per_message(&first), per_message(&last));
    Ok(FanoutResult {
        clients,
        posted,
        post_errors: post_errors.load(Ordering::Relaxed),
        connect_time,
        latency: all.summary(),
        first,
        last,
        lost,
        duplicated,
        dropped_clients,
        peak_rss: rss.take_peak(),
        server_cpu: cpu.as_secs_f64() / post_wall.as_secs_f64(),
        bench_cpu: own.as_secs_f64() / post_wall.as_secs_f64(),
    })
}

/// The idle-connections measurement.
#[derive(Debug, Clone)]
pub struct IdleResult {
    /// Connections held.
    pub connections: usize,
    /// Time to open and authenticate them all.
    pub connect_time: Duration,
    /// Server RSS before opening them.
    pub rss_before: u64,
    /// Server RSS with all of them open (after settling 2 s).
    pub rss_with: u64,
    /// Server RSS 2 s after they closed.
    pub rss_after: u64,
}

/// Opens `count` authenticated idle sockets, reads the server's RSS, closes them.
pub async fn idle(
    ws_url: &str,
    token: &str,
    count: usize,
    server: &crate::server::Server,
) -> Result<IdleResult> {
    let rss_before = server.rss()?;
    let t0 = Instant::now();
    let sockets = open_many(ws_url, token, None, count, 200).await?;
    let connect_time = t0.elapsed();
    // Keep reading (answering pings) while they are held.
    let mut holders = Vec::with_capacity(count);
    for mut ws in sockets {
        holders.push(tokio::spawn(async move {
            let until = Instant::now() + Duration::from_secs(4);
            for _ in 0..1000 {
                let left = until.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                match tokio::time::timeout(left, ws.next()).await {
                    Ok(Some(Ok(_))) => {}
                    _ => break,
                }
            }
            let _ = ws.close(None).await;
        }));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_with = server.rss()?;
    for h in holders {
        h.await?;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_after = server.rss()?;
    Ok(IdleResult {
        connections: count,
        connect_time,
        rss_before,
        rss_with,
        rss_after,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_marker_out_of_an_event() {
        let frame = r#"{"type":"event","event":"new_message","data":{"content":"fanout#42@123456# a message"}}"#;
        assert_eq!(parse_mark(frame), Some((42, 123_456)));
        assert_eq!(parse_mark("{\"content\":\"hello\"}"), None);
    }
}
