//! The end-to-end harness: starts the real server (`concierge_server::Application`) on a random
//! port with its own database — a copy of a pre-migrated SQLite file, or a PostgreSQL database
//! created from a pre-migrated template when `TEST_POSTGRES_URL` is set (see [`template`]) —
//! and its own upload directory, and drives it over HTTP.
//!
//! [`e2e!`] writes one test per backend: `name::sqlite` always, `name::postgres` when
//! PostgreSQL is configured. With `CONCIERGE_REQUIRE_POSTGRES=1` a missing `TEST_POSTGRES_URL`
//! fails the PostgreSQL tests instead of skipping them.

use concierge_server::{Application, Config};
use diesel::RunQueryDsl;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::PathBuf;

mod template;

/// The super admin every test app starts with.
pub const ADMIN: &str = "admin";
/// Its password.
pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";
/// The bearer token `/metrics` asks for in every test app.
pub const METRICS_TOKEN: &str = "metrics-token-for-tests";

/// Which database a test app runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A temporary SQLite file.
    Sqlite,
    /// A fresh database on `TEST_POSTGRES_URL`.
    Postgres,
}

/// A running server and a client for it.
pub struct TestApp {
    /// `http://127.0.0.1:PORT/api/v1`.
    pub api: String,
    /// The plain HTTP client.
    pub client: reqwest::Client,
    /// A token of the seeded super admin.
    pub admin_token: String,
    /// The backend.
    pub backend: Backend,
    /// The bound port.
    pub port: u16,
    /// The app's `DATABASE_URL`, for tests that look at what it stored.
    pub database_url: String,
    /// The app's `UPLOAD_DIR` (shared with its siblings).
    pub uploads: PathBuf,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    _dir: tempfile::TempDir,
    _postgres: Option<PostgresDb>,
}

struct PostgresDb {
    admin_url: String,
    name: String,
}

impl Drop for PostgresDb {
    fn drop(&mut self) {
        if let Ok(mut conn) = concierge_store::establish_postgres(&self.admin_url) {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut conn);
        }
    }
}

/// A response: status, headers and the body as JSON (`Value::Null` when empty or not JSON).
#[derive(Debug)]
pub struct Reply {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: reqwest::header::HeaderMap,
    /// The JSON body.
    pub body: Value,
    /// The raw body.
    pub text: String,
}

impl Reply {
    /// Sends `request` and reads the whole reply.
    async fn of(request: reqwest::RequestBuilder) -> Self {
        let response = request.send().await.expect("request sent");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body read");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
            text,
        }
    }

    /// `body[key]` as an owned string; panics when it is not a string.
    #[track_caller]
    pub fn string(&self, key: &str) -> String {
        self.body[key]
            .as_str()
            .unwrap_or_else(|| panic!("no string {key:?} in {}", self.text))
            .to_string()
    }

    /// `body[key]`.
    pub fn get(&self, key: &str) -> &Value {
        &self.body[key]
    }

    /// `body["id"]` as a number.
    pub fn id(&self) -> i64 {
        self.body["id"]
            .as_i64()
            .unwrap_or_else(|| panic!("no id in {}", self.text))
    }

    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text
        );
        self
    }

    /// Asserts an error status answered as problem+json.
    #[track_caller]
    pub fn expect_problem(self, status: u16) -> Self {
        let reply = self.expect(status);
        let content_type = reply
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert!(
            content_type.starts_with("application/problem+json"),
            "expected problem+json, got {content_type:?}: {}",
            reply.text
        );
        assert_eq!(reply.body["status"].as_u64(), Some(u64::from(status)));
        reply
    }
}

fn postgres_url() -> Option<String> {
    let url = std::env::var("TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty());
    if url.is_none() && std::env::var("CONCIERGE_REQUIRE_POSTGRES").as_deref() == Ok("1") {
        panic!("CONCIERGE_REQUIRE_POSTGRES=1 but TEST_POSTGRES_URL is not set");
    }
    url
}

/// The test S3 server's endpoint and bucket: `TEST_S3_ENDPOINT` and `TEST_S3_BUCKET` (default
/// `concierge-test`), the bucket created when missing. `None` (the caller skips, saying so)
/// when no endpoint is set; a failure instead with `CONCIERGE_REQUIRE_S3=1`. The store's
/// blob contract tests use it too.
pub async fn test_s3_bucket() -> Option<(String, String)> {
    let Some(endpoint) = std::env::var("TEST_S3_ENDPOINT")
        .ok()
        .filter(|e| !e.is_empty())
    else {
        assert!(
            std::env::var("CONCIERGE_REQUIRE_S3").as_deref() != Ok("1"),
            "CONCIERGE_REQUIRE_S3=1 but TEST_S3_ENDPOINT is not set"
        );
        eprintln!("skipped: TEST_S3_ENDPOINT is not set");
        return None;
    };
    let bucket = std::env::var("TEST_S3_BUCKET").unwrap_or_else(|_| "concierge-test".into());
    // A local S3 server takes an unsigned bucket creation; an existing bucket is fine.
    let created = reqwest::Client::new()
        .put(format!("{}/{bucket}", endpoint.trim_end_matches('/')))
        .send()
        .await
        .expect("the S3 server answers");
    assert!(
        created.status().is_success() || created.status() == StatusCode::CONFLICT,
        "creating the bucket: {}",
        created.status()
    );
    Some((endpoint, bucket))
}

/// An S3 bucket on the test server, under a prefix of its own.
pub struct TestBucket {
    /// The adapter on it, to look at what it holds.
    pub blobs: concierge_store::S3Blobs,
    vars: Vec<(String, String)>,
}

impl TestBucket {
    /// A fresh prefix in the test bucket ([`test_s3_bucket`]); `None` when there is none.
    pub async fn new() -> Option<Self> {
        let (endpoint, bucket) = test_s3_bucket().await?;
        let prefix = format!("e2e/{:016x}", rand::random::<u64>());
        let vars: Vec<(String, String)> = [
            ("BLOB_STORE", "s3"),
            ("S3_BUCKET", bucket.as_str()),
            ("S3_ENDPOINT", endpoint.as_str()),
            ("S3_REGION", "us-east-1"),
            ("S3_ACCESS_KEY_ID", "test-key-id"),
            ("S3_SECRET_ACCESS_KEY", TEST_S3_SECRET),
            ("S3_PREFIX", prefix.as_str()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let config = Config::from_vars(vars.iter().cloned().collect()).expect("S3 settings");
        let concierge_server::blob_store::BlobStoreConfig::S3(s3) = config.blob_store else {
            panic!("BLOB_STORE=s3 was not read");
        };
        let blobs = concierge_store::S3Blobs::new(&s3).expect("an S3 client");
        Some(Self { blobs, vars })
    }

    /// The configuration variables that put an app's files here.
    pub fn vars(&self) -> Vec<(&str, &str)> {
        self.vars
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    /// The keys stored under the prefix.
    pub async fn keys(&self) -> Vec<String> {
        self.blobs.keys().await.expect("listing the bucket")
    }
}

/// The secret key test apps sign S3 requests with (a health report must never show it).
pub const TEST_S3_SECRET: &str = "test-secret-never-shown";

fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let root = match base.rfind('/') {
        Some(i) if i > base.find("://").map_or(0, |s| s + 2) => &base[..i],
        _ => base,
    };
    match query {
        Some(q) => format!("{root}/{name}?{q}"),
        None => format!("{root}/{name}"),
    }
}

/// A test body that reads only some fields of its app (`app.client`, say) would capture just
/// those, dropping the rest — the server's stop handle and database with it — as the body
/// starts. A `Drop` impl makes the app move whole.
impl Drop for TestApp {
    fn drop(&mut self) {}
}

impl TestApp {
    /// Starts a server on `backend`; `None` when PostgreSQL is asked for and not configured.
    pub async fn spawn(backend: Backend) -> Option<Self> {
        Self::spawn_with(backend, &[]).await
    }

    /// Like [`spawn`](Self::spawn) with extra configuration variables.
    pub async fn spawn_with(backend: Backend, extra: &[(&str, &str)]) -> Option<Self> {
        let dir = tempfile::tempdir().expect("temp dir");
        let given = extra.iter().find(|(k, _)| *k == "DATABASE_URL");
        let (database_url, postgres) = match backend {
            _ if given.is_some() => (given.map(|(_, v)| v.to_string()).unwrap_or_default(), None),
            Backend::Sqlite => {
                let file = dir.path().join("concierge.db");
                let to = file.clone();
                tokio::task::spawn_blocking(move || template::copy_sqlite(&to))
                    .await
                    .expect("copying the SQLite template");
                (format!("sqlite://{}", file.display()), None)
            }
            Backend::Postgres => {
                let admin_url = postgres_url()?;
                let name = format!("concierge_e2e_{:016x}", rand::random::<u64>());
                let (url, db) = (admin_url.clone(), name.clone());
                tokio::task::spawn_blocking(move || template::create_postgres(&url, &db))
                    .await
                    .expect("creating the test database");
                let url = with_database(&admin_url, &name);
                (url, Some(PostgresDb { admin_url, name }))
            }
        };
        let default_uploads = dir.path().join("uploads");
        let mut vars: HashMap<String, String> = [
            ("HOST", "127.0.0.1"),
            ("PORT", "0"),
            ("JWT_SECRET", "e2e-secret-that-is-long-enough-for-hs256"),
            ("SUPER_ADMIN_PASSWORD", ADMIN_PASSWORD),
            ("BCRYPT_COST", "4"),
            ("WORKERS", "2"),
            ("DB_POOL_SIZE", "8"),
            ("LOG_LEVEL", "warn"),
            // Tests send bursts from one IP; the limits have tests of their own.
            ("RATE_LIMIT_REQUESTS", "0"),
            ("RATE_LIMIT_DONOR_QUERIES", "0"),
            ("RATE_LIMIT_REGISTER", "0"),
            ("METRICS_TOKEN", METRICS_TOKEN),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        vars.insert("DATABASE_URL".into(), database_url.clone());
        vars.insert("UPLOAD_DIR".into(), default_uploads.display().to_string());
        for (k, v) in extra {
            vars.insert(k.to_string(), v.to_string());
        }
        let uploads = PathBuf::from(&vars["UPLOAD_DIR"]);
        let config = Config::from_vars(vars).expect("test configuration");
        let app = Application::build(config).await.expect("server starts");
        let port = app.port();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(app.serve_until(async {
            let _ = stopped.await;
        }));
        let mut test_app = Self {
            api: format!("http://127.0.0.1:{port}/api/v1"),
            client: reqwest::Client::new(),
            admin_token: String::new(),
            backend,
            port,
            database_url,
            uploads,
            stop: Some(stop),
            server: Some(server),
            _dir: dir,
            _postgres: postgres,
        };
        test_app.admin_token = test_app.login(ADMIN, ADMIN_PASSWORD).await;
        Some(test_app)
    }

    /// Stops the server gracefully (as on SIGTERM) and waits until it has stopped.
    pub async fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }

    /// Opens a WebSocket whose socket takes in at most a few kilobytes until the test reads: a
    /// client that stops reading fills up fast.
    pub async fn ws_small_buffer(&self) -> Ws {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
        let tcp = socket
            .connect(([127, 0, 0, 1], self.port).into())
            .await
            .expect("tcp connect");
        let url = format!("ws://127.0.0.1:{}/api/v1/ws", self.port);
        let (stream, _) =
            tokio_tungstenite::client_async(url, tokio_tungstenite::MaybeTlsStream::Plain(tcp))
                .await
                .expect("ws handshake");
        Ws { stream }
    }

    /// Two instances on one PostgreSQL database, for what must cross from one to the other;
    /// `None` (and a note that the test is skipped) when PostgreSQL is not configured.
    pub async fn two_on_postgres() -> Option<(TestApp, TestApp)> {
        let Some(first) = Self::spawn(Backend::Postgres).await else {
            eprintln!("skipped: TEST_POSTGRES_URL is not set");
            return None;
        };
        let second = first.sibling().await;
        Some((first, second))
    }

    /// Starts a second server on the same database (another instance).
    pub async fn sibling(&self) -> TestApp {
        self.sibling_with(&[]).await
    }

    /// Starts a second server on the same database and upload directory with extra
    /// configuration variables.
    pub async fn sibling_with(&self, extra: &[(&str, &str)]) -> TestApp {
        let uploads = self.uploads.display().to_string();
        let mut vars = vec![("UPLOAD_DIR", uploads.as_str())];
        vars.extend_from_slice(extra);
        vars.push(("DATABASE_URL", self.database_url.as_str()));
        Box::pin(Self::spawn_with(self.backend, &vars))
            .await
            .expect("sibling")
    }

    /// Like [`spawn_with`](Self::spawn_with), on a runtime of its own that
    /// [`Killable::kill`] ends the way `kill -9` ends a process: every task of the server (the
    /// push dispatcher among them) stops where it is, and nothing of a graceful shutdown runs.
    pub async fn spawn_killable(backend: Backend, extra: &[(&str, &str)]) -> Option<Killable> {
        let extra: Vec<(String, String)> = extra
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        tokio::task::spawn_blocking(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("a runtime for the killable server");
            let vars: Vec<(&str, &str)> = extra
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let app = runtime.block_on(Self::spawn_with(backend, &vars))?;
            Some(Killable {
                app,
                runtime: Some(runtime),
            })
        })
        .await
        .expect("starting the killable server")
    }

    /// Opens a WebSocket to `/api/v1/ws`, with a bearer token on the upgrade when given.
    pub async fn ws(&self, token: Option<&str>) -> Ws {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = format!("ws://127.0.0.1:{}/api/v1/ws", self.port)
            .into_client_request()
            .expect("ws request");
        if let Some(token) = token {
            request.headers_mut().insert(
                "authorization",
                format!("Bearer {token}").parse().expect("header"),
            );
        }
        let (stream, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("ws connect");
        Ws { stream }
    }

    /// Opens a WebSocket with a bearer token on the upgrade and waits for its `ready` frame.
    pub async fn ws_ready(&self, token: &str) -> Ws {
        let mut ws = self.ws(Some(token)).await;
        ws.next_of("ready", 10).await;
        ws
    }

    /// Sends a request; `body` is sent as JSON unless it is `Value::Null`.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Value,
    ) -> Reply {
        let mut request = self.client.request(method, format!("{}{path}", self.api));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if !body.is_null() {
            request = request.json(&body);
        }
        Reply::of(request).await
    }

    /// GET.
    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.call(Method::GET, path, token, Value::Null).await
    }

    /// POST with a JSON body.
    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.call(Method::POST, path, token, body).await
    }

    /// PUT with a JSON body.
    pub async fn put(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.call(Method::PUT, path, token, body).await
    }

    /// PATCH with a JSON body.
    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.call(Method::PATCH, path, token, body).await
    }

    /// DELETE.
    pub async fn delete(&self, path: &str, token: Option<&str>) -> Reply {
        self.call(Method::DELETE, path, token, Value::Null).await
    }

    /// Logs in and returns the access token.
    pub async fn login(&self, username: &str, password: &str) -> String {
        let reply = self
            .post(
                "/auth/login",
                None,
                json!({ "username": username, "password": password }),
            )
            .await
            .expect(200);
        reply.string("accessToken")
    }

    /// Creates a staff user (as the super admin) and returns its id and a token.
    pub async fn staff(&self, username: &str, role: &str) -> (i64, String) {
        let password = format!("{username}-password");
        let reply = self
            .post(
                "/users",
                Some(&self.admin_token),
                json!({ "username": username, "name": username, "password": password, "role": role }),
            )
            .await
            .expect(201);
        let token = self.login(username, &password).await;
        (reply.id(), token)
    }

    /// Posts `text` to a ticket's conversation with `token` (a donor's or staff's); the new
    /// message's id.
    pub async fn say(&self, ticket: i64, token: &str, text: &str) -> i64 {
        self.post(
            "/messages",
            Some(token),
            json!({"queryId": ticket, "content": text}),
        )
        .await
        .expect(201)
        .id()
    }

    /// Opens a donor query and returns its id and the donor token.
    pub async fn donor_query(&self, donor_id: &str, message: &str) -> (i64, String) {
        let reply = self
            .post(
                "/donor-queries",
                None,
                json!({ "donor": format!("Donor {donor_id}"), "donorId": donor_id, "message": message }),
            )
            .await
            .expect(201);
        (reply.id(), reply.string("donorToken"))
    }

    /// PATCHes `/donor-queries/{id}/{action}` (`accept`, `resolve`, `transfer`, `donor-close`,
    /// ...) with `token` and `body`.
    pub async fn ticket_action(&self, id: i64, action: &str, token: &str, body: Value) -> Reply {
        let path = format!("/donor-queries/{id}/{action}");
        self.patch(&path, Some(token), body).await
    }

    /// PATCHes ticket `id` itself with `token` and `body`.
    pub async fn update_ticket(&self, id: i64, token: &str, body: Value) -> Reply {
        let path = format!("/donor-queries/{id}");
        self.patch(&path, Some(token), body).await
    }

    /// The super admin accepts ticket `id` (200).
    pub async fn accept(&self, id: i64) -> Reply {
        let admin = self.admin_token.clone();
        self.ticket_action(id, "accept", &admin, json!({}))
            .await
            .expect(200)
    }

    /// Ticket `id` as `token` sees it (200).
    pub async fn ticket(&self, id: i64, token: &str) -> Reply {
        let path = format!("/donor-queries/{id}");
        self.get(&path, Some(token)).await.expect(200)
    }

    /// Ticket `id`'s conversation as `token` sees it (200).
    pub async fn conversation(&self, id: i64, token: &str) -> Reply {
        let path = format!("/messages/query/{id}");
        self.get(&path, Some(token)).await.expect(200)
    }

    /// POSTs `body` to `/messages` with `token`.
    pub async fn message(&self, token: &str, body: Value) -> Reply {
        self.post("/messages", Some(token), body).await
    }

    /// POSTs a call request of `mode` on ticket `id` with `token`.
    pub async fn request_call(&self, id: i64, token: Option<&str>, mode: &str) -> Reply {
        let path = format!("/communication/call/{id}/request");
        self.post(&path, token, json!({ "mode": mode })).await
    }

    /// POSTs no body to `/communication/call/{target}/{op}` (`accept-request`, `end`,
    /// `reject-request/{request}`, ...; `""` for the call itself) with `token`.
    pub async fn call_post(&self, target: impl std::fmt::Display, op: &str, token: &str) -> Reply {
        let path = match op {
            "" => format!("/communication/call/{target}"),
            op => format!("/communication/call/{target}/{op}"),
        };
        self.post(&path, Some(token), Value::Null).await
    }

    /// Creates a task with `token`; its id.
    pub async fn task(&self, token: &str, body: Value) -> i64 {
        self.post("/tasks", Some(token), body)
            .await
            .expect(201)
            .id()
    }

    /// The donor behind `token` closes ticket `id` itself.
    pub async fn donor_close(&self, id: i64, token: &str) -> Reply {
        let path = format!("/donor-queries/{id}/donor-close");
        self.post(&path, Some(token), json!({})).await
    }

    /// Changes the password of `token`'s user from `current` to `new`.
    pub async fn change_password(&self, token: &str, current: &str, new: &str) -> Reply {
        let body = json!({ "currentPassword": current, "newPassword": new });
        self.put("/users/me/password", Some(token), body).await
    }

    /// GETs `path` with an `X-Request-Id`; the raw response.
    pub async fn with_request_id(&self, path: &str, request_id: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.api))
            .header("x-request-id", request_id)
            .send()
            .await
            .expect("request sent")
    }

    /// PATCHes user `id` with `token` and `body`.
    pub async fn update_user(&self, id: i64, token: &str, body: Value) -> Reply {
        let path = format!("/users/{id}");
        self.patch(&path, Some(token), body).await
    }

    /// The call sessions of ticket `id` as `token` sees them (200).
    pub async fn call_sessions(&self, id: i64, token: &str) -> Reply {
        let path = format!("/communication/calls/{id}");
        self.get(&path, Some(token)).await.expect(200)
    }

    /// Asserts that logging in as `username` with `password` is refused (401).
    pub async fn login_refused(&self, username: &str, password: &str) -> Reply {
        let body = json!({ "username": username, "password": password });
        self.post("/auth/login", None, body)
            .await
            .expect_problem(401)
    }

    /// The event log's head. Every ticket or message write appends an event in the same
    /// transaction, so an unchanged head proves a refused request wrote nothing.
    pub async fn event_head(&self) -> i64 {
        let health = self
            .get("/health/advanced", Some(&self.admin_token))
            .await
            .expect(200);
        health.body["eventLog"]["head"]
            .as_i64()
            .unwrap_or_else(|| panic!("no event log head in {}", health.text))
    }
}

/// A server on a runtime of its own ([`TestApp::spawn_killable`]); it derefs to its
/// [`TestApp`], which stays usable for its database (and its HTTP side, until killed).
pub struct Killable {
    app: TestApp,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Killable {
    /// Ends the server as `kill -9` would: its tasks are dropped mid-work, its lease and state
    /// in the database stay as they were. Its database lives on while this value does.
    pub fn kill(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl std::ops::Deref for Killable {
    type Target = TestApp;

    fn deref(&self) -> &TestApp {
        &self.app
    }
}

impl Drop for Killable {
    fn drop(&mut self) {
        // A runtime must not be dropped inside another one's task; this one never is.
        self.kill();
    }
}

/// Writes a test module `name` with two tests, `name::sqlite` and `name::postgres` (skipped
/// unless PostgreSQL is configured), each on a runtime with two worker threads. The body is a
/// closure or the name of an async function:
///
/// - `e2e!(name, |app: TestApp| async move { .. })`: a fresh app on each database;
/// - `e2e!(name, |app: TestApp, uploads: PathBuf| async move { .. })`: with its `UPLOAD_DIR`;
/// - `e2e!(name, vars = EXPR, body)`: the app starts with these configuration variables
///   (`EXPR` borrows as `&[(&str, &str)]`); `e2e!(name, [("VAR", "value"), ..], body)` is
///   short for a list written out;
/// - `e2e!(name, backend = body)`: `body(Backend)` starts its own apps (after a mock, say, or
///   killable ones) and skips when [`TestApp::spawn`] answers `None`.
///
/// One of them runs with `cargo test -p concierge-e2e --test e2e -- file::name::sqlite --exact`
/// (`file` is the test's file in tests/e2e, e.g. `limits`).
#[macro_export]
macro_rules! e2e {
    ($name:ident, backend = $body:expr $(,)?) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                ($body)($crate::Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                ($body)($crate::Backend::Postgres).await;
            }
        }
    };
    ($name:ident, vars = $vars:expr, $body:expr $(,)?) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $crate::run_app($crate::Backend::Sqlite, &$vars, $body).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $crate::run_app($crate::Backend::Postgres, &$vars, $body).await;
            }
        }
    };
    ($name:ident, [$($vars:tt)*], $body:expr $(,)?) => {
        $crate::e2e!($name, vars = [$($vars)*], $body);
    };
    ($name:ident, $body:expr $(,)?) => {
        $crate::e2e!($name, vars = [], $body);
    };
}

/// A test body [`e2e!`] can run on an app: an async closure or function taking the app, or the
/// app and its upload directory.
pub trait AppTest<Args> {
    /// Runs the body on `app`.
    fn run(self, app: TestApp) -> impl std::future::Future<Output = ()>;
}

impl<F, Fut> AppTest<(TestApp,)> for F
where
    F: FnOnce(TestApp) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    fn run(self, app: TestApp) -> impl std::future::Future<Output = ()> {
        self(app)
    }
}

/// [`AppTest`] for a body that takes the app and `$arg`, drawn from the app by `$draw`.
macro_rules! app_test_with {
    ($arg:ty, |$app:ident| $draw:expr) => {
        impl<F, Fut> AppTest<(TestApp, $arg)> for F
        where
            F: FnOnce(TestApp, $arg) -> Fut,
            Fut: std::future::Future<Output = ()>,
        {
            fn run(self, $app: TestApp) -> impl std::future::Future<Output = ()> {
                let extra = $draw;
                self($app, extra)
            }
        }
    };
}

// The app's upload directory, and the admin's token.
app_test_with!(PathBuf, |app| app.uploads.clone());
app_test_with!(String, |app| app.admin_token.clone());

/// Starts an app on `backend` with `vars` and runs `body` on it; skips when PostgreSQL is not
/// configured. What [`e2e!`] runs.
#[doc(hidden)]
pub async fn run_app<Args>(backend: Backend, vars: &[(&str, &str)], body: impl AppTest<Args>) {
    match TestApp::spawn_with(backend, vars).await {
        Some(app) => body.run(app).await,
        None => eprintln!("skipped: TEST_POSTGRES_URL is not set"),
    }
}

// ---- helpers for the bad-input, security and permission tests ----

impl Reply {
    /// The `field` names of a validation problem's `errors`.
    pub fn fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .filter_map(|e| e["field"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Asserts a 422 problem whose `errors` name `field`.
    #[track_caller]
    pub fn expect_invalid(self, field: &str) -> Self {
        let reply = self.expect_problem(422);
        assert!(
            reply.fields().iter().any(|f| f == field),
            "expected errors[].field {field:?}: {}",
            reply.text
        );
        reply
    }

    /// [`expect_problem`](Self::expect_problem), saying which case (`what`) it was when the
    /// status differs.
    #[track_caller]
    pub fn expect_problem_for(self, status: u16, what: &str) -> Self {
        assert_eq!(self.status.as_u16(), status, "{what}: {}", self.text);
        self.expect_problem(status)
    }

    /// [`expect_invalid`](Self::expect_invalid), saying which case (`what`) it was when the
    /// status differs.
    #[track_caller]
    pub fn expect_invalid_for(self, field: &str, what: &str) -> Self {
        self.expect_problem_for(422, what).expect_invalid(field)
    }

    /// `body["data"]` as a slice (a list page's items).
    #[track_caller]
    pub fn data(&self) -> &[Value] {
        self.body["data"]
            .as_array()
            .unwrap_or_else(|| panic!("no data array in {}", self.text))
    }
}

impl TestApp {
    /// Sends raw bytes with the given content type (none when `None`), for bodies the JSON
    /// helpers cannot produce.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: impl Into<reqwest::Body>,
    ) -> Reply {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.api))
            .body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(content_type) = content_type {
            request = request.header(reqwest::header::CONTENT_TYPE, content_type);
        }
        Reply::of(request).await
    }

    /// Sends each `(method, path, body)` of `cases` with `token` and asserts that every one is
    /// answered with a problem of `status`.
    pub async fn expect_each<P: AsRef<str>>(
        &self,
        status: u16,
        token: Option<&str>,
        cases: impl IntoIterator<Item = (Method, P, Value)>,
    ) {
        for (method, path, body) in cases {
            let path = path.as_ref();
            self.call(method.clone(), path, token, body)
                .await
                .expect_problem_for(status, &format!("{method} {path}"));
        }
    }

    /// Asserts the event log's head is still `before` (a [`settled_event_head`]): the refused
    /// requests wrote nothing.
    ///
    /// [`settled_event_head`]: Self::settled_event_head
    pub async fn expect_head(&self, before: i64, what: &str) {
        let now = self.settled_event_head().await;
        assert_eq!(now, before, "{what} appended events to the log");
    }

    /// [`event_head`](Self::event_head) once every event committed so far is readable. On
    /// PostgreSQL the head only shows events below the cluster's snapshot horizon, so a
    /// transaction still open anywhere in the cluster (another test creating its database, say)
    /// holds it back and a plain `event_head` can lag behind this test's own writes. This waits
    /// until every transaction older than now has ended.
    pub async fn settled_event_head(&self) -> i64 {
        if let Some(pg) = &self._postgres {
            let url = pg.admin_url.clone();
            tokio::task::spawn_blocking(move || wait_for_pg_horizon(&url))
                .await
                .expect("waiting for the horizon");
        }
        self.event_head().await
    }
}

/// A mock server whose `POST /token` hands out Google OAuth tokens, for the push tests' FCM
/// endpoint to be mounted on.
pub async fn google_token_server() -> wiremock::MockServer {
    use wiremock::matchers::{method, path};
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(
            json!({"access_token": "ya29.test", "expires_in": 3600, "token_type": "Bearer"}),
        ))
        .mount(&server)
        .await;
    server
}

/// Percent-encodes a query-string value (everything but unreserved characters).
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Unpadded base64url, as in JWTs.
pub fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

/// Waits until no PostgreSQL transaction that started before this call is still running.
fn wait_for_pg_horizon(admin_url: &str) {
    use diesel::dsl::sql;
    use diesel::sql_types::BigInt;
    let mut conn = concierge_store::establish_postgres(admin_url)
        .unwrap_or_else(|e| panic!("cannot reach TEST_POSTGRES_URL: {e}"));
    let now: i64 = diesel::select(sql::<BigInt>("pg_current_xact_id()::text::bigint"))
        .get_result(&mut conn)
        .expect("a transaction id");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let horizon: i64 = diesel::select(sql::<BigInt>(
            "pg_snapshot_xmin(pg_current_snapshot())::text::bigint",
        ))
        .get_result(&mut conn)
        .expect("the snapshot horizon");
        if horizon > now {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "a PostgreSQL transaction older than {now} stayed open for 30 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// A WebSocket client for tests.
pub struct Ws {
    /// The raw stream.
    pub stream: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

/// What a socket yields next.
#[derive(Debug)]
pub enum WsItem {
    /// A JSON text frame.
    Json(Value),
    /// A close frame with its code.
    Closed(u16),
    /// The connection ended without a close frame.
    Ended,
}

impl Ws {
    /// Sends a JSON text frame.
    pub async fn send(&mut self, frame: Value) {
        use futures_util::SinkExt;
        self.stream
            .send(tokio_tungstenite::tungstenite::Message::text(
                frame.to_string(),
            ))
            .await
            .expect("ws send");
    }

    /// Sends raw text.
    pub async fn send_text(&mut self, text: &str) {
        use futures_util::SinkExt;
        self.stream
            .send(tokio_tungstenite::tungstenite::Message::text(text))
            .await
            .expect("ws send");
    }

    /// The next JSON frame or close, skipping pings; panics after `secs` seconds.
    pub async fn next_item(&mut self, secs: u64) -> WsItem {
        use futures_util::StreamExt;
        use tokio_tungstenite::tungstenite::Message;
        // One deadline for the whole wait: pings do not extend it.
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            let next = tokio::time::timeout_at(deadline, self.stream.next())
                .await
                .expect("no frame in time");
            match next {
                Some(Ok(Message::Text(text))) => {
                    return WsItem::Json(serde_json::from_str(&text).expect("json frame"))
                }
                Some(Ok(Message::Close(frame))) => {
                    return WsItem::Closed(frame.map(|f| u16::from(f.code)).unwrap_or(1005))
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return WsItem::Ended,
            }
        }
    }

    /// The next JSON frame; panics on a close or after `secs` seconds.
    pub async fn next_json(&mut self, secs: u64) -> Value {
        match self.next_item(secs).await {
            WsItem::Json(v) => v,
            other => panic!("expected a frame, got {other:?}"),
        }
    }

    /// The next frame of type `kind`, skipping others (typing, ready, ...).
    pub async fn next_of(&mut self, kind: &str, secs: u64) -> Value {
        loop {
            let frame = self.next_json(secs).await;
            if frame["type"] == kind {
                return frame;
            }
        }
    }

    /// Authenticates with a first `auth` frame and waits for `ready`.
    pub async fn auth(&mut self, token: &str) -> Value {
        self.send(json!({"type": "auth", "token": token})).await;
        self.next_of("ready", 10).await
    }

    /// Joins a ticket (with `since` when given) and returns the replayed events and the
    /// `joined` frame.
    pub async fn join(&mut self, ticket_id: i64, since: Option<i64>) -> (Vec<Value>, Value) {
        let mut frame = json!({"type": "join", "ticketId": ticket_id});
        if let Some(since) = since {
            frame["since"] = json!(since);
        }
        self.send(frame).await;
        let mut events = vec![];
        loop {
            let frame = self.next_json(10).await;
            match frame["type"].as_str() {
                Some("joined") => return (events, frame),
                Some("event") => events.push(frame),
                Some("error") => panic!("join refused: {frame}"),
                _ => {}
            }
        }
    }
}

/// Polls `check` every 20 ms until it holds; how long that took. Panics after `secs` seconds,
/// naming `what`.
pub async fn wait_for(
    what: &str,
    secs: u64,
    mut check: impl FnMut() -> bool,
) -> std::time::Duration {
    let start = std::time::Instant::now();
    while !check() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(secs),
            "{what}: not within {secs} s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    start.elapsed()
}
