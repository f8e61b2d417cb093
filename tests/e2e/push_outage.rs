//! The push dispatcher through FCM outages and a crash, against a fake FCM that answers 503
//! (with or without `Retry-After`) while it is down: every notification arrives after
//! recovery, exactly once, even when the instance sending them is killed mid-outage, and a
//! failing device never holds up a healthy one. Time is scaled down by configuration: a lease
//! of 2 s, backoff from 100 ms to 400 ms, an outage of 4 s. The time limits leave room for a
//! loaded machine and stay far below what the old dispatcher needed (a 30 s lease, eight
//! attempts in line).

use super::*;
use concierge_e2e::wait_for;
use concierge_e2e::Backend;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const KEY: &str =
    include_str!("../../crates/push/tests/fixtures/test-only-service-account-key.pem");

/// The fake FCM's switches and what it saw.
#[derive(Default)]
struct Seen {
    /// Every send is refused with 503.
    down: bool,
    /// Sends to these tokens are refused with 503.
    sick: HashSet<String>,
    /// The `Retry-After` of a 503, in seconds.
    retry_after: Option<u64>,
    /// (token, objectId) of every notification it took, in order.
    taken: Vec<(String, String)>,
    /// Refused sends per token.
    refused: HashMap<String, usize>,
}

#[derive(Clone, Default)]
struct FakeFcm(Arc<Mutex<Seen>>);

impl Respond for FakeFcm {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap_or_default();
        let message = &body["message"];
        let token = message["token"].as_str().unwrap_or_default().to_string();
        let object = message["data"]["objectId"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let mut seen = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if seen.down || seen.sick.contains(&token) {
            *seen.refused.entry(token).or_default() += 1;
            let error = json!({"error": {"code": 503, "status": "UNAVAILABLE",
                "message": "The service is currently unavailable."}});
            let reply = ResponseTemplate::new(503).set_body_json(error);
            return match seen.retry_after {
                Some(secs) => reply.insert_header("Retry-After", secs.to_string().as_str()),
                None => reply,
            };
        }
        seen.taken.push((token, object));
        ResponseTemplate::new(200)
            .set_body_json(json!({"name": "projects/concierge-test/messages/1"}))
    }
}

impl FakeFcm {
    async fn start() -> (MockServer, FakeFcm) {
        let server = concierge_e2e::google_token_server().await;
        let fcm = FakeFcm::default();
        Mock::given(method("POST"))
            .and(path("/v1/projects/concierge-test/messages:send"))
            .respond_with(fcm.clone())
            .mount(&server)
            .await;
        (server, fcm)
    }

    fn with<T>(&self, f: impl FnOnce(&mut Seen) -> T) -> T {
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn taken(&self) -> Vec<(String, String)> {
        self.with(|s| s.taken.clone())
    }

    fn took(&self, object: &str) -> bool {
        self.with(|s| s.taken.iter().any(|(_, o)| o == object))
    }

    fn refused(&self, token: &str) -> usize {
        self.with(|s| s.refused.get(token).copied().unwrap_or(0))
    }

    fn refused_in_all(&self) -> usize {
        self.with(|s| s.refused.values().sum())
    }
}

/// The server's settings for the fake FCM, with the dispatcher's time scaled down.
fn settings(fcm: &MockServer, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let base = fcm.uri();
    let mut vars: Vec<(String, String)> = [
        ("FIREBASE_PROJECT_ID", "concierge-test"),
        (
            "FIREBASE_CLIENT_EMAIL",
            "push@concierge-test.iam.gserviceaccount.com",
        ),
        ("FIREBASE_PRIVATE_KEY", KEY),
        ("FCM_MAX_ATTEMPTS", "1"),
        ("EVENT_POLL_INTERVAL", "50ms"),
        ("PUSH_LEASE", "2s"),
        ("PUSH_RETRY_BACKOFF", "100ms"),
        ("PUSH_RETRY_MAX_BACKOFF", "400ms"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    vars.push(("FCM_BASE_URL".into(), base.clone()));
    vars.push(("FCM_TOKEN_URL".into(), format!("{base}/token")));
    for (k, v) in extra {
        vars.retain(|(name, _)| name != k);
        vars.push((k.to_string(), v.to_string()));
    }
    vars
}

fn refs(vars: &[(String, String)]) -> Vec<(&str, &str)> {
    vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

async fn leading(app: &TestApp) -> bool {
    let health = app
        .get("/health/advanced", Some(&app.admin_token))
        .await
        .expect(200);
    health.body["push"]["leading"] == true
}

async fn wait_until_leading(app: &TestApp, secs: u64) -> Duration {
    let start = Instant::now();
    while !leading(app).await {
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "the instance did not take the push lease within {secs} s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    start.elapsed()
}

/// A donor query whose donor's phone is `token`, accepted by the admin; its id.
async fn query_with_phone(app: &TestApp, donor_id: &str, token: &str) -> i64 {
    let id = app
        .post(
            "/donor-queries",
            None,
            json!({"donor": donor_id, "donorId": donor_id, "fcmToken": token, "message": "Hello"}),
        )
        .await
        .expect(201)
        .id();
    app.accept(id).await;
    id
}

/// A staff reply on the ticket (one notification, to the donor's phone); the message's id.
async fn reply(app: &TestApp, ticket: i64, text: &str) -> String {
    app.say(ticket, &app.admin_token, text).await.to_string()
}

/// Replies on `ticket`, whose phone is healthy, and asserts FCM took the push within 3 s.
async fn prompt_reply(app: &TestApp, fcm: &FakeFcm, ticket: i64, text: &str) -> String {
    let sent = reply(app, ticket, text).await;
    let took = wait_for(text, 10, || fcm.took(&sent)).await;
    assert!(
        took < Duration::from_secs(3),
        "the healthy phone waited {took:?} for {text:?}"
    );
    sent
}

/// Asserts that FCM took each expected (message, token) exactly once, and nothing else.
fn exactly_once(fcm: &FakeFcm, expected: &HashMap<String, String>) {
    let taken = fcm.taken();
    for (message, token) in expected {
        let times = taken
            .iter()
            .filter(|(t, o)| o == message && t == token)
            .count();
        assert_eq!(times, 1, "message {message} to {token}: {taken:?}");
    }
    assert_eq!(taken.len(), expected.len(), "nothing else: {taken:?}");
}

/// Two instances; FCM goes down for 4 s; the leading instance is killed in the middle of it.
async fn outage_with_a_kill(backend: Backend, retry_after: Option<u64>) {
    let (server, fcm) = FakeFcm::start().await;
    let vars = settings(&server, &[]);
    let Some(mut a) = TestApp::spawn_killable(backend, &refs(&vars)).await else {
        eprintln!("skipped: TEST_POSTGRES_URL is not set");
        return;
    };
    wait_until_leading(&a, 10).await;
    let b = a.sibling_with(&refs(&vars)).await;
    let mut tickets = vec![];
    for i in 0..4 {
        let token = format!("phone-{i}");
        tickets.push((
            query_with_phone(&b, &format!("d-out-{i}"), &token).await,
            token,
        ));
    }
    // message id -> the phone it is for
    let mut expected = HashMap::new();
    let first = reply(&b, tickets[0].0, "before").await;
    expected.insert(first.clone(), tickets[0].1.clone());
    wait_for("the first reply, through A", 10, || fcm.took(&first)).await;
    assert!(leading(&a).await && !leading(&b).await, "A sends, B waits");

    let outage = Instant::now();
    fcm.with(|s| {
        s.down = true;
        s.retry_after = retry_after;
    });
    for (ticket, token) in &tickets {
        expected.insert(reply(&b, *ticket, "during").await, token.clone());
    }
    // A queued them and retries each device on its own.
    wait_for("A retrying every device", 10, || {
        tickets.iter().all(|(_, token)| fcm.refused(token) >= 2)
    })
    .await;
    a.kill();
    let killed = Instant::now();
    for (ticket, token) in &tickets {
        expected.insert(reply(&b, *ticket, "after the kill").await, token.clone());
    }
    // B takes over once A's 2 s lease has run out, not after 30 s.
    wait_until_leading(&b, 10).await;
    let takeover = killed.elapsed();
    assert!(
        takeover < Duration::from_secs(5),
        "B led {takeover:?} after the kill"
    );
    // B retries A's queue and its own failures while FCM is still down.
    let before = fcm.refused_in_all();
    wait_for("B retrying", 10, || {
        fcm.refused_in_all() >= before + 2 * tickets.len()
    })
    .await;
    assert!(fcm.taken().len() == 1, "nothing got through the outage");

    tokio::time::sleep(Duration::from_secs(4).saturating_sub(outage.elapsed())).await;
    fcm.with(|s| s.down = false);
    let caught_up = wait_for("every notification after recovery", 15, || {
        expected.keys().all(|m| fcm.took(m))
    })
    .await;
    // The longest wait between attempts is Retry-After's 1 s, else 400 ms (and a loaded
    // machine's slack).
    assert!(
        caught_up < Duration::from_secs(6),
        "caught up {caught_up:?} after recovery"
    );
    // Nothing more comes: wait out a lease and more than the longest backoff.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    exactly_once(&fcm, &expected);
}

e2e!(
    an_fcm_outage_with_a_kill_mid_way_loses_nothing_and_sends_nothing_twice,
    backend = |backend| outage_with_a_kill(backend, None)
);

e2e!(
    an_outage_answering_retry_after_with_a_kill_mid_way_loses_nothing_and_sends_nothing_twice,
    backend = |backend| outage_with_a_kill(backend, Some(1))
);

/// One phone's sends fail (503, `Retry-After: 1`) while another's go through.
async fn a_failing_device_waits_alone(backend: Backend) {
    let (server, fcm) = FakeFcm::start().await;
    fcm.with(|s| {
        s.sick.insert("sick-phone".into());
        s.retry_after = Some(1);
    });
    let vars = settings(&server, &[]);
    let Some(app) = TestApp::spawn_with(backend, &refs(&vars)).await else {
        eprintln!("skipped: TEST_POSTGRES_URL is not set");
        return;
    };
    let sick = query_with_phone(&app, "d-sick", "sick-phone").await;
    let well = query_with_phone(&app, "d-well", "well-phone").await;
    let mut expected = HashMap::new();

    let to_sick = reply(&app, sick, "first, to the failing phone").await;
    expected.insert(to_sick.clone(), "sick-phone".to_string());
    let to_well = prompt_reply(&app, &fcm, well, "then to the healthy one").await;
    expected.insert(to_well, "well-phone".to_string());

    // The failing phone is retried, no sooner than Retry-After asks, while the healthy one
    // keeps getting its notifications at once.
    wait_for("two retries of the failing phone", 10, || {
        fcm.refused("sick-phone") >= 3
    })
    .await;
    let again = prompt_reply(&app, &fcm, well, "and again").await;
    expected.insert(again, "well-phone".to_string());
    assert!(!fcm.took(&to_sick));

    fcm.with(|s| s.sick.clear());
    wait_for("the failing phone's reply once it recovers", 10, || {
        fcm.took(&to_sick)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    exactly_once(&fcm, &expected);
}

e2e!(
    a_failing_device_does_not_hold_up_a_healthy_one,
    backend = a_failing_device_waits_alone
);

/// A phone that never recovers is tried for PUSH_RETRY_FOR (3 s here), then given up on.
async fn given_up_after_retry_for(backend: Backend) {
    let (server, fcm) = FakeFcm::start().await;
    fcm.with(|s| {
        s.sick.insert("dead-phone".into());
    });
    let vars = settings(
        &server,
        &[
            ("PUSH_RETRY_FOR", "3s"),
            ("PUSH_RETRY_BACKOFF", "50ms"),
            ("PUSH_RETRY_MAX_BACKOFF", "100ms"),
        ],
    );
    let Some(app) = TestApp::spawn_with(backend, &refs(&vars)).await else {
        eprintln!("skipped: TEST_POSTGRES_URL is not set");
        return;
    };
    let ticket = query_with_phone(&app, "d-dead", "dead-phone").await;
    let posted = Instant::now();
    reply(&app, ticket, "hello?").await;
    let gave_up = loop {
        let health = app
            .get("/health/advanced", Some(&app.admin_token))
            .await
            .expect(200);
        let last = health.body["push"]["lastError"]
            .as_str()
            .unwrap_or_default();
        if last.contains("gave up") {
            break posted.elapsed();
        }
        assert!(
            posted.elapsed() < Duration::from_secs(15),
            "never given up on: {}",
            health.text
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        gave_up >= Duration::from_millis(2900),
        "given up on after {gave_up:?}, before PUSH_RETRY_FOR"
    );
    let tried = fcm.refused("dead-phone");
    assert!(tried >= 2, "tried again before giving up: {tried}");
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(fcm.refused("dead-phone"), tried, "and not after");
}

e2e!(
    a_notification_is_retried_for_push_retry_for_then_given_up,
    backend = given_up_after_retry_for
);

/// An instance that stops gracefully gives its lease up: another one sends at once, even with
/// a long lease.
async fn a_graceful_stop_hands_over(backend: Backend) {
    let (server, fcm) = FakeFcm::start().await;
    let vars = settings(&server, &[("PUSH_LEASE", "60s")]);
    let Some(mut a) = TestApp::spawn_with(backend, &refs(&vars)).await else {
        eprintln!("skipped: TEST_POSTGRES_URL is not set");
        return;
    };
    wait_until_leading(&a, 10).await;
    let b = a.sibling_with(&refs(&vars)).await;
    let ticket = query_with_phone(&b, "d-hand", "hand-phone").await;
    a.shutdown().await;
    let took = wait_until_leading(&b, 10).await;
    assert!(
        took < Duration::from_secs(3),
        "B led {took:?} after A stopped"
    );
    let message = reply(&b, ticket, "still here").await;
    wait_for("the reply, through B", 5, || fcm.took(&message)).await;
}

e2e!(
    a_gracefully_stopped_instance_hands_the_lease_over_at_once,
    backend = a_graceful_stop_hands_over
);
