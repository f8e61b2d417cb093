//! Limits that protect without locking people out: /metrics behind a token (or its own
//! address) with labels no client can choose; failed logins that refuse an (account, IP) pair
//! and only slow the account down elsewhere; admins managed by the super admin alone; a compose
//! file that does not start with published secrets.

use super::*;
use concierge_e2e::{Backend, METRICS_TOKEN};
use reqwest::Method;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

fn metrics_url(port: u16) -> String {
    format!("http://127.0.0.1:{port}/metrics")
}

async fn scrape(app: &TestApp, token: Option<&str>) -> reqwest::Response {
    let mut request = app.client.get(metrics_url(app.port));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("scrape sent")
}

/// What `/metrics` shows to its token.
async fn metrics_text(app: &TestApp) -> String {
    let reply = scrape(app, Some(METRICS_TOKEN)).await;
    reply.text().await.expect("metrics text")
}

/// The series of the request counter (its labels, without values).
async fn request_series(app: &TestApp) -> BTreeSet<String> {
    let text = metrics_text(app).await;
    text.lines()
        .filter(|l| l.starts_with("concierge_http_requests_total{"))
        .filter_map(|l| l.rsplit_once(' ').map(|(series, _)| series.to_string()))
        .collect()
}

e2e!(
    metrics_answer_only_to_their_token,
    |app: TestApp| async move {
        let missing = scrape(&app, None).await;
        assert_eq!(missing.status(), 401);
        assert!(missing.headers()["content-type"]
            .to_str()
            .expect("header")
            .starts_with("application/problem+json"));
        assert_eq!(scrape(&app, Some("not-the-token")).await.status(), 401);
        // A staff token is not the metrics token either.
        assert_eq!(scrape(&app, Some(&app.admin_token)).await.status(), 401);
        let ok = scrape(&app, Some(METRICS_TOKEN)).await;
        assert_eq!(ok.status(), 200);
        let text = ok.text().await.expect("body");
        assert!(text.contains("concierge_db_pool_max_connections"));
    }
);

e2e!(
    metrics_are_not_served_unless_configured,
    [("METRICS_TOKEN", "")],
    |app: TestApp| async move {
        let reply = scrape(&app, None).await;
        assert_eq!(reply.status(), 404);
        assert_eq!(scrape(&app, Some(METRICS_TOKEN)).await.status(), 404);
    }
);

/// A free port on the loopback (bound, then let go).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

async fn metrics_on_their_own_address(backend: Backend) {
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let Some(app) =
        TestApp::spawn_with(backend, &[("METRICS_TOKEN", ""), ("METRICS_ADDR", &addr)]).await
    else {
        eprintln!("skipped: TEST_POSTGRES_URL is not set");
        return;
    };
    app.get("/tasks", Some(&app.admin_token)).await.expect(200);
    // Not on the public address...
    assert_eq!(scrape(&app, None).await.status(), 404);
    // ...but on the monitoring one, counting the public address's requests.
    let reply = app
        .client
        .get(metrics_url(port))
        .send()
        .await
        .expect("sent");
    assert_eq!(reply.status(), 200);
    let text = reply.text().await.expect("body");
    assert!(text.contains(
        "concierge_http_requests_total{method=\"GET\",route=\"/api/v1/tasks\",status=\"200\"} 1"
    ));
    // That address serves nothing else.
    let other = app
        .client
        .get(format!("http://127.0.0.1:{port}/api/v1/tasks"))
        .send()
        .await
        .expect("sent");
    assert_eq!(other.status(), 404);
}

e2e!(
    metrics_can_have_their_own_address,
    backend = metrics_on_their_own_address
);

/// Sends `count` requests with made-up methods to made-up and real paths.
async fn made_up_requests(app: &TestApp, tag: &str, count: usize) {
    let base = format!("http://127.0.0.1:{}", app.port);
    for i in 0..count {
        let method = Method::from_bytes(format!("X{tag}{i}").as_bytes()).expect("a method");
        let path = match i % 3 {
            0 => format!("/api/v1/{tag}-{i}"),
            1 => format!("/{tag}/{i}"),
            _ => "/api/v1/tasks".to_string(),
        };
        let reply = app
            .client
            .request(method, format!("{base}{path}"))
            .send()
            .await
            .expect("sent");
        assert!(
            reply.status().is_client_error(),
            "{path}: {}",
            reply.status()
        );
        // A made-up path with a real method, too.
        app.get(&format!("/{tag}-path-{i}"), None)
            .await
            .expect_problem(404);
    }
}

e2e!(
    made_up_methods_and_paths_add_no_metric_series,
    |app: TestApp| async move {
        // Warm up: the scrape itself and one round of made-up requests.
        request_series(&app).await;
        made_up_requests(&app, "madeupone", 30).await;
        let before = request_series(&app).await;
        let before_bytes = metrics_text(&app).await.len();

        made_up_requests(&app, "madeuptwo", 30).await;
        let after = request_series(&app).await;
        let after_text = metrics_text(&app).await;

        assert_eq!(before, after, "30 made-up requests added series");
        assert!(
            after_text.len() <= before_bytes + 500,
            "/metrics grew from {before_bytes} to {} bytes",
            after_text.len()
        );
        assert!(
            !after_text.contains("madeup"),
            "a client's input became a label"
        );
        for series in &after {
            let method = series
                .split("method=\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .unwrap_or_default();
            assert!(
                ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "OTHER"]
                    .contains(&method),
                "{series}"
            );
        }
    }
);

/// A login attempt from `ip` (the test apps trust 127.0.0.1 as a proxy).
pub(crate) async fn login_from(
    app: &TestApp,
    ip: &str,
    username: &str,
    password: &str,
) -> (u16, Duration) {
    let started = Instant::now();
    let reply = app
        .client
        .post(format!("{}/auth/login", app.api))
        .header("x-forwarded-for", ip)
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .expect("login sent");
    (reply.status().as_u16(), started.elapsed())
}

e2e!(
    an_attacker_locks_only_itself_out_of_an_account_and_its_owner_gets_in_slowed,
    [
        ("TRUSTED_PROXIES", "127.0.0.1"),
        ("RATE_LIMIT_LOGIN_IP", "0"),
        ("RATE_LIMIT_LOGIN_ACCOUNT_IP", "5"),
        ("RATE_LIMIT_LOGIN_ACCOUNT", "3"),
        ("RATE_LIMIT_LOGIN_DELAY_MAX", "400ms"),
    ],
    |app: TestApp| async move {
        let attacker = "203.0.113.66";
        for _ in 0..5 {
            let (status, _) = login_from(&app, attacker, ADMIN, "a-wrong-guess").await;
            assert_eq!(status, 401);
        }
        // The attacker's address is refused on this account, even with the right password...
        let (status, _) = login_from(&app, attacker, ADMIN, ADMIN_PASSWORD).await;
        assert_eq!(status, 429);
        // ...not on others.
        let (status, _) = login_from(&app, attacker, "someone-else", "a-guess").await;
        assert_eq!(status, 401);
        // The owner, elsewhere, gets in: after a delay, never a refusal.
        let (status, waited) = login_from(&app, "198.51.100.2", ADMIN, ADMIN_PASSWORD).await;
        assert_eq!(status, 200);
        assert!(waited >= Duration::from_millis(400), "waited {waited:?}");
        // More failures from more addresses: the delay stays capped and the owner still gets in.
        for i in 0..4 {
            let (status, _) = login_from(&app, &format!("192.0.2.{i}"), ADMIN, "guess").await;
            assert_eq!(status, 401);
        }
        let (status, waited) = login_from(&app, "198.51.100.2", ADMIN, ADMIN_PASSWORD).await;
        assert_eq!(status, 200);
        assert!(waited < Duration::from_secs(3), "waited {waited:?}");
    }
);

e2e!(
    a_megabyte_login_name_is_an_ordinary_failed_login,
    [
        ("TRUSTED_PROXIES", "127.0.0.1"),
        ("RATE_LIMIT_LOGIN_IP", "0")
    ],
    |app: TestApp| async move {
        let huge = "n".repeat(512 * 1024);
        for _ in 0..10 {
            let (status, _) = login_from(&app, "203.0.113.9", &huge, "pw").await;
            assert_eq!(status, 401);
        }
        // Every over-long name is one account to the limiter: another one is refused too.
        let (status, _) = login_from(&app, "203.0.113.9", &"m".repeat(300), "pw").await;
        assert_eq!(status, 429);
        let (status, _) = login_from(&app, "203.0.113.9", ADMIN, ADMIN_PASSWORD).await;
        assert_eq!(status, 200);
    }
);

e2e!(
    only_the_super_admin_manages_admins,
    |app: TestApp| async move {
        let (_, anna) = app.staff("anna", "ADMIN").await;
        let (bert_id, bert) = app.staff("bert", "ADMIN").await;
        let (agent_id, _) = app.staff("carl", "AGENT").await;
        for change in [
            json!({"isActive": false}),
            json!({"role": "AGENT"}),
            json!({"name": "Renamed"}),
        ] {
            app.patch(&format!("/users/{bert_id}"), Some(&anna), change)
                .await
                .expect_problem(403);
        }
        let me = app.get("/auth/me", Some(&bert)).await.expect(200);
        assert_eq!(
            (me.get("role"), me.get("isActive")),
            (&json!("ADMIN"), &json!(true))
        );
        // An admin still manages agents; the super admin manages admins.
        app.update_user(agent_id, &anna, json!({"isActive": false}))
            .await
            .expect(200);
        let demoted = app
            .update_user(
                bert_id,
                &app.admin_token,
                json!({"role": "AGENT", "isActive": false}),
            )
            .await
            .expect(200);
        assert_eq!(demoted.get("role"), "AGENT");
        app.get("/auth/me", Some(&bert)).await.expect_problem(401);
    }
);

#[test]
fn compose_refuses_to_start_without_its_secrets() {
    let compose = include_str!("../../docker-compose.yml");
    for name in ["JWT_SECRET", "SUPER_ADMIN_PASSWORD"] {
        assert!(
            compose.contains(&format!("{name}: ${{{name}:?")),
            "{name} must be required (${{{name}:?...}})"
        );
    }
    assert!(
        !compose.contains(":-change-me"),
        "a published default secret"
    );
}
