//! What an operator relies on: rate limits, CORS, security headers, request ids, metrics, and
//! a graceful stop that lets in-flight requests finish.

use super::*;
use concierge_e2e::Backend;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn failed_login(app: &TestApp, forwarded_for: Option<&str>) -> reqwest::Response {
    let mut request = app
        .client
        .post(format!("{}/auth/login", app.api))
        .json(&json!({"username": "admin", "password": "wrong password"}));
    if let Some(ip) = forwarded_for {
        request = request.header("x-forwarded-for", ip);
    }
    request.send().await.expect("login sent")
}

#[tokio::test]
async fn the_eleventh_failed_login_in_a_minute_gets_429_whatever_x_forwarded_for_says() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    for i in 0..10 {
        // A spoofed header changes nothing without a trusted proxy.
        let spoof = format!("198.51.100.{i}");
        assert_eq!(failed_login(&app, Some(&spoof)).await.status(), 401);
    }
    let refused = failed_login(&app, Some("203.0.113.77")).await;
    assert_eq!(refused.status(), 429);
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .expect("header")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry_after));
    assert!(refused.headers()["content-type"]
        .to_str()
        .expect("header")
        .starts_with("application/problem+json"));
    // Even the right password waits: the account and the IP are held back.
    app.post(
        "/auth/login",
        None,
        json!({"username": ADMIN, "password": ADMIN_PASSWORD}),
    )
    .await
    .expect_problem(429);
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_client_is_limited_not_the_proxy() {
    let app = TestApp::spawn_with(Backend::Sqlite, &[("TRUSTED_PROXIES", "127.0.0.1")])
        .await
        .expect("app");
    for _ in 0..10 {
        assert_eq!(failed_login(&app, Some("203.0.113.5")).await.status(), 401);
    }
    assert_eq!(failed_login(&app, Some("203.0.113.5")).await.status(), 429);
    // Another client behind the same proxy is not punished for it... but the account is.
    let other = app
        .client
        .post(format!("{}/auth/login", app.api))
        .header("x-forwarded-for", "203.0.113.6")
        .json(&json!({"username": "someone-else", "password": "x"}))
        .send()
        .await
        .expect("sent");
    assert_eq!(other.status(), 401);
}

#[tokio::test]
async fn donor_queries_are_limited_per_ip() {
    let app = TestApp::spawn_with(Backend::Sqlite, &[("RATE_LIMIT_DONOR_QUERIES", "3")])
        .await
        .expect("app");
    for i in 0..3 {
        app.donor_query(&format!("d-{i}"), "hi").await;
    }
    app.post(
        "/donor-queries",
        None,
        json!({"donor": "D", "donorId": "d-9", "message": "hi"}),
    )
    .await
    .expect_problem(429);
}

#[tokio::test]
async fn cors_answers_only_allowed_origins() {
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        &[("CORS_ORIGINS", "https://desk.example.org")],
    )
    .await
    .expect("app");
    for (origin, allowed) in [
        ("https://desk.example.org", true),
        ("https://evil.example.com", false),
    ] {
        let answer = app
            .client
            .get(format!("{}/health/ping", app.api))
            .header("origin", origin)
            .send()
            .await
            .expect("sent");
        let echoed = answer.headers().get("access-control-allow-origin");
        assert_eq!(echoed.is_some_and(|o| o == origin), allowed, "{origin}");
        if !allowed {
            assert!(echoed.is_none(), "{origin}: {echoed:?}");
        }
    }
    let preflight = app
        .client
        .request(reqwest::Method::OPTIONS, format!("{}/tasks", app.api))
        .header("origin", "https://desk.example.org")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .expect("sent");
    assert_eq!(preflight.status(), 204);
    assert!(preflight.headers()["access-control-allow-headers"]
        .to_str()
        .expect("header")
        .contains("authorization"));
}

e2e!(
    every_response_has_a_request_id_and_security_headers,
    |app: TestApp| async move {
        for (path, token) in [
            ("/health/ping", None),
            ("/tasks", None),
            ("/tasks", Some(app.admin_token.as_str())),
            ("/no-such-route", None),
        ] {
            let reply = app.get(path, token).await;
            let id = reply.headers.get("x-request-id").expect("x-request-id");
            assert!(!id.is_empty());
            assert_eq!(reply.headers["x-content-type-options"], "nosniff");
            assert_eq!(reply.headers["x-frame-options"], "DENY");
            if token.is_some() {
                assert_eq!(reply.headers["cache-control"], "no-store");
            }
        }
        // A caller's own sane id is kept.
        let reply = app.with_request_id("/health/ping", "trace-abc-123").await;
        assert_eq!(reply.headers()["x-request-id"], "trace-abc-123");
    }
);

e2e!(
    metrics_parse_as_prometheus_text,
    |app: TestApp| async move {
        app.get("/tasks", Some(&app.admin_token)).await.expect(200);
        let url = app.api.replace("/api/v1", "/metrics");
        let text = app
            .client
            .get(url)
            .bearer_auth(concierge_e2e::METRICS_TOKEN)
            .send()
            .await
            .expect("sent")
            .text()
            .await
            .expect("body");
        let sample = regex_lite_line;
        for line in text.lines().filter(|l| !l.is_empty()) {
            assert!(sample(line), "not Prometheus text: {line:?}");
        }
        assert!(text.contains("concierge_http_requests_total{method=\"GET\",route=\"/api/v1/tasks\",status=\"200\"} 1"));
        assert!(text.contains("concierge_http_request_duration_seconds_bucket"));
        assert!(text.contains("concierge_db_pool_max_connections"));
    }
);

/// One line of the text format: a comment, or `name{labels} value`.
fn regex_lite_line(line: &str) -> bool {
    if let Some(rest) = line.strip_prefix("# ") {
        return rest.starts_with("HELP ") || rest.starts_with("TYPE ");
    }
    let (series, value) = match line.rsplit_once(' ') {
        Some(parts) => parts,
        None => return false,
    };
    let name_ok = |n: &str| {
        !n.is_empty()
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    };
    let series_ok = match series.split_once('{') {
        Some((name, labels)) => name_ok(name) && labels.ends_with('}'),
        None => name_ok(series),
    };
    series_ok && (value.parse::<f64>().is_ok() || value == "+Inf")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_during_a_slow_request_lets_it_finish() {
    let mut app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    let body =
        json!({"donor": "Slow", "donorId": "d-slow", "message": "one byte at a time"}).to_string();
    let (first, rest) = body.split_at(body.len() / 2);
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", app.port))
        .await
        .expect("connect");
    let head = format!(
        "POST /api/v1/donor-queries HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    stream
        .write_all(first.as_bytes())
        .await
        .expect("first half");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    // The server is told to stop (as on SIGTERM) while the request is half sent.
    let stopping = tokio::spawn(async move {
        app.shutdown().await;
        app
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    stream
        .write_all(rest.as_bytes())
        .await
        .expect("second half");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .await
        .expect("response");
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    let _ = stopping.await.expect("stopped");
}

/// An app on the SQLite file `url` that seeds the admin `manager` with `password`.
async fn seeding_manager(url: &str, password: &str) -> TestApp {
    let vars = [
        ("DATABASE_URL", url),
        ("ADMIN_USERNAME", "manager"),
        ("ADMIN_PASSWORD", password),
    ];
    TestApp::spawn_with(Backend::Sqlite, &vars)
        .await
        .expect("app")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_seeding_is_idempotent() {
    let dir = tempfile::tempdir().expect("dir");
    let url = format!("sqlite://{}/seed.db", dir.path().display());
    let first = seeding_manager(&url, "manager-password-1").await;
    let token = first.login("manager", "manager-password-1").await;
    let me = first.get("/auth/me", Some(&token)).await.expect(200);
    assert_eq!(me.get("role"), "ADMIN");
    // A second start on the same database, with another password: nothing changes.
    let second = seeding_manager(&url, "another-password-2").await;
    second.login("manager", "manager-password-1").await;
    let users = second
        .get("/users?limit=100", Some(&second.admin_token))
        .await
        .expect(200);
    let managers = users.body["data"]
        .as_array()
        .expect("list")
        .iter()
        .filter(|u| u["username"] == "manager")
        .count();
    assert_eq!(managers, 1);
}
