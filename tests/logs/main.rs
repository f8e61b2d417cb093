//! What the server logs: never a password, a password hash or a token. Every log line of the
//! server is captured (at the most verbose level, as JSON) while a login, a donor query, a donor
//! message and a password change happen, then searched for the secrets they carried. A request's
//! lines carry its id.

use concierge_e2e::{Backend, TestApp, ADMIN, ADMIN_PASSWORD};
use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_hold_no_password_hash_or_token() {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .with_env_filter("trace")
        .with_writer(move || writer.clone())
        .init();

    let app = TestApp::spawn_with(Backend::Sqlite, &[("LOG_LEVEL", "trace")])
        .await
        .expect("app");
    let created = app
        .post(
            "/donor-queries",
            None,
            json!({"donor": "Ann", "donorId": "d-log", "message": "hello", "fcmToken": "device-secret-token"}),
        )
        .await
        .expect(201);
    let donor_token = created.string("donorToken");
    let id = created.id();
    app.say(id, &donor_token, "a message").await;
    app.post(
        "/auth/login",
        None,
        json!({"username": ADMIN, "password": "not-the-password-xyz"}),
    )
    .await
    .expect(401);
    let changed = app
        .change_password(&app.admin_token, ADMIN_PASSWORD, "a-brand-new-password")
        .await
        .expect(200);
    let new_token = changed.string("accessToken");
    app.get("/auth/me", Some(&new_token)).await.expect(200);
    // A caller's request id is on the request's log lines; the query string is not logged.
    let traced = app
        .with_request_id("/health/ping?token=query-secret-xyz", "log-trace-42")
        .await;
    assert_eq!(traced.headers()["x-request-id"], "log-trace-42");

    let logs = String::from_utf8(capture.0.lock().expect("log buffer").clone()).expect("utf-8");
    assert!(
        logs.contains("handled"),
        "the capture works: {} bytes",
        logs.len()
    );
    let handled = logs
        .lines()
        .find(|line| line.contains("log-trace-42") && line.contains("handled"))
        .expect("a `handled` line with the caller's request id");
    let line: serde_json::Value = serde_json::from_str(handled).expect("a JSON line");
    assert_eq!(line["span"]["request_id"], "log-trace-42", "{line}");
    assert_eq!(line["span"]["path"], "/api/v1/health/ping", "{line}");
    assert_eq!(line["fields"]["status"], 200, "{line}");
    for secret in [
        "query-secret-xyz",
        ADMIN_PASSWORD,
        "not-the-password-xyz",
        "a-brand-new-password",
        "device-secret-token",
        donor_token.as_str(),
        app.admin_token.as_str(),
        new_token.as_str(),
        "$2b$",
        "$2y$",
    ] {
        assert!(!logs.contains(secret), "the log holds a secret: {secret:?}");
    }
}
