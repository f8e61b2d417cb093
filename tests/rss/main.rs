//! Memory stays flat while a large file streams in and out of S3: a 50 MiB upload (the file
//! limit raised for it) and its download grow this process's resident memory by less than
//! 20 MiB at the peak. Its own test binary, with one test, so no other test's allocations
//! count; the process holds the server and a client that generates and hashes the bytes as
//! they go. Skipped without `TEST_S3_ENDPOINT` (a failure with `CONCIERGE_REQUIRE_S3=1`);
//! runs on SQLite, then on PostgreSQL when configured.

use concierge_e2e::{Backend, TestApp, TestBucket};
use futures_util::StreamExt;
use reqwest::multipart::{Form, Part};
use sha2::{Digest, Sha256};

const SIZE: usize = 50 * 1024 * 1024;
const CHUNK: usize = 64 * 1024;
const BUDGET: u64 = 20 * 1024 * 1024;

/// `VmRSS` or `VmHWM` of this process, in bytes.
fn status(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .unwrap_or_else(|| panic!("no {field}"));
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("a number of kB");
    kib * 1024
}

/// The file's byte at `i`: a PDF header, then a pattern.
fn byte(i: usize) -> u8 {
    const HEAD: &[u8] = b"%PDF-1.4\n";
    HEAD.get(i).copied().unwrap_or((i % 251) as u8)
}

fn body() -> reqwest::Body {
    let chunks = futures_util::stream::iter((0..SIZE).step_by(CHUNK).map(|start| {
        let end = (start + CHUNK).min(SIZE);
        Ok::<_, std::io::Error>((start..end).map(byte).collect::<Vec<u8>>())
    }));
    reqwest::Body::wrap_stream(chunks)
}

fn digest_of_file() -> Vec<u8> {
    let mut hash = Sha256::new();
    for start in (0..SIZE).step_by(CHUNK) {
        let end = (start + CHUNK).min(SIZE);
        hash.update((start..end).map(byte).collect::<Vec<u8>>());
    }
    hash.finalize().to_vec()
}

/// Uploads and downloads the file; returns the peak growth of resident memory.
async fn round_trip(app: &TestApp, bucket: &TestBucket, expected: &[u8]) -> u64 {
    let (ticket, donor) = app.donor_query("donor-big", "a big file").await;
    let post = |part: Part| {
        let form = Form::new()
            .text("queryId", ticket.to_string())
            .text("content", "here")
            .part("files", part);
        app.client
            .post(format!("{}/messages", app.api))
            .bearer_auth(&donor)
            .multipart(form)
            .send()
    };
    // A small file first, so the clients and pools exist before the measure.
    let small = Part::bytes(b"%PDF-1.4\nsmall".to_vec())
        .file_name("small.pdf")
        .mime_str("application/pdf")
        .expect("mime");
    assert_eq!(post(small).await.expect("sent").status(), 201);

    let before = status("VmRSS:");
    // Resets VmHWM to the current RSS (Linux 4.0+), so it shows this upload's peak.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let big = Part::stream_with_length(body(), SIZE as u64)
        .file_name("big.pdf")
        .mime_str("application/pdf")
        .expect("mime");
    let reply = post(big).await.expect("sent");
    assert_eq!(reply.status(), 201);
    let posted: serde_json::Value = reply.json().await.expect("json");
    let url = posted["attachments"][0]["url"].as_str().expect("url");
    assert_eq!(posted["attachments"][0]["size"], SIZE);
    assert_eq!(bucket.keys().await.len(), 2);

    let root = app.api.trim_end_matches("/api/v1");
    let response = app
        .client
        .get(format!("{root}{url}"))
        .bearer_auth(&donor)
        .send()
        .await
        .expect("download");
    assert_eq!(response.status(), 200);
    let mut hash = Sha256::new();
    let mut stream = response.bytes_stream();
    let mut read = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.expect("chunk");
        read += chunk.len();
        hash.update(&chunk);
    }
    assert_eq!(read, SIZE);
    assert_eq!(hash.finalize().to_vec(), expected);
    status("VmHWM:").saturating_sub(before)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_50_mib_file_streams_through_s3_in_flat_memory() {
    let expected = digest_of_file();
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(bucket) = TestBucket::new().await else {
            return;
        };
        let mut vars = bucket.vars();
        let limit = (60 * 1024 * 1024).to_string();
        vars.push(("MAX_FILE_BYTES", limit.as_str()));
        let Some(app) = TestApp::spawn_with(backend, &vars).await else {
            eprintln!("{backend:?} skipped");
            continue;
        };
        let growth = round_trip(&app, &bucket, &expected).await;
        eprintln!(
            "{backend:?}: resident memory grew by {:.1} MiB at the peak",
            growth as f64 / (1024.0 * 1024.0)
        );
        assert!(growth < BUDGET, "{backend:?}: grew by {growth} bytes");
    }
}
