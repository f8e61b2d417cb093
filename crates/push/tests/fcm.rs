//! The FCM notifier against a local wiremock server standing in for both Google's OAuth token
//! endpoint and FCM. The RSA key under `tests/fixtures/` is a throwaway made for these tests
//! only (`openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048`); it belongs to no
//! service account.

use concierge_domain::notification::{PushMessage, PushOutcome};
use concierge_domain::ports::PushNotifier;
use concierge_push::{FcmConfig, FcmConfigError, FcmNotifier, LogNotifier, FCM_SCOPE};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const TEST_ONLY_PRIVATE_KEY: &str = include_str!("fixtures/test-only-service-account-key.pem");
const TEST_ONLY_PRIVATE_KEY_PKCS1: &str =
    include_str!("fixtures/test-only-service-account-key.pkcs1.pem");
const TEST_ONLY_PUBLIC_KEY: &str = include_str!("fixtures/test-only-service-account-key.pub.pem");
const PROJECT: &str = "concierge-test";
const EMAIL: &str = "push@concierge-test.iam.gserviceaccount.com";
const TOKEN_PATH: &str = "/oauth2/token";
const SEND_PATH: &str = "/v1/projects/concierge-test/messages:send";
const DEVICE_TOKEN: &str = "dEvIcE-ToKeN-0123456789abcdefghijklmnopqrstuvwxyz";

fn config(server: &MockServer) -> FcmConfig {
    // The key as an environment variable usually carries it: one line with literal "\n".
    let env_style_key = TEST_ONLY_PRIVATE_KEY.replace('\n', "\\n");
    let mut config = FcmConfig::new(PROJECT, EMAIL, env_style_key);
    config.fcm_base_url = format!("{}/", server.uri());
    config.token_url = token_url(server);
    config.timeout = Duration::from_secs(3);
    config.retry_backoff = Duration::from_millis(10);
    config
}

fn token_url(server: &MockServer) -> String {
    format!("{}{TOKEN_PATH}", server.uri())
}

fn notifier(server: &MockServer) -> FcmNotifier {
    FcmNotifier::new(config(server)).expect("valid test configuration")
}

fn message() -> PushMessage {
    let mut data = BTreeMap::new();
    data.insert("ticketId".to_owned(), "t-42".to_owned());
    data.insert("kind".to_owned(), "new_message".to_owned());
    PushMessage {
        token: DEVICE_TOKEN.to_owned(),
        title: "New reply on your query".to_owned(),
        body: "Secret body text the logs must not show".to_owned(),
        data,
    }
}

fn token_response(access_token: &str, expires_in: u64) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "access_token": access_token,
        "expires_in": expires_in,
        "token_type": "Bearer",
    }))
}

/// A fake Google whose token endpoint hands out `ya29.t` for an hour.
async fn with_token() -> MockServer {
    let server = MockServer::start().await;
    mount_token(&server, "ya29.t", 3600).await;
    server
}

/// Answers every POST to `on` with `response`.
async fn mount_post(server: &MockServer, on: &str, response: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path(on))
        .respond_with(response)
        .mount(server)
        .await;
}

/// Answers the first POST to `on` with `first`; later ones fall through to other mocks.
async fn mount_post_once(server: &MockServer, on: &str, first: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path(on))
        .respond_with(first)
        .up_to_n_times(1)
        .with_priority(1)
        .mount(server)
        .await;
}

async fn mount_token(server: &MockServer, access_token: &str, expires_in: u64) {
    mount_post(server, TOKEN_PATH, token_response(access_token, expires_in)).await;
}

async fn mount_send(server: &MockServer, response: ResponseTemplate) {
    mount_post(server, SEND_PATH, response).await;
}

async fn mount_send_once(server: &MockServer, first: ResponseTemplate) {
    mount_post_once(server, SEND_PATH, first).await;
}

fn fcm_ok() -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(json!({"name": "projects/concierge-test/messages/0:1"}))
}

fn fcm_error(code: u16, status: &str, message: &str, fcm_code: Option<&str>) -> ResponseTemplate {
    let details = match fcm_code {
        Some(c) => {
            json!([{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": c}])
        }
        None => json!([]),
    };
    ResponseTemplate::new(code).set_body_json(json!({
        "error": {"code": code, "message": message, "status": status, "details": details}
    }))
}

async fn requests_to(server: &MockServer, wanted: &str) -> Vec<Request> {
    server
        .received_requests()
        .await
        .expect("request recording is on")
        .into_iter()
        .filter(|r| r.url.path() == wanted)
        .collect()
}

fn bearer(request: &Request) -> String {
    request
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

fn form(request: &Request) -> Vec<(String, String)> {
    let body = String::from_utf8(request.body.clone()).expect("utf-8 form");
    reqwest::Url::parse(&format!("http://form.invalid/?{body}"))
        .expect("form parses")
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

#[derive(Debug, Deserialize)]
struct AssertionClaims {
    iss: String,
    scope: String,
    aud: String,
    iat: i64,
    exp: i64,
}

fn verify_assertion(
    assertion: &str,
    token_url: &str,
) -> jsonwebtoken::errors::Result<AssertionClaims> {
    let key = DecodingKey::from_rsa_pem(TEST_ONLY_PUBLIC_KEY.as_bytes())?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[token_url]);
    validation.set_issuer(&[EMAIL]);
    validation.set_required_spec_claims(&["exp", "iat", "aud", "iss"]);
    Ok(jsonwebtoken::decode::<AssertionClaims>(assertion, &key, &validation)?.claims)
}

#[tokio::test]
async fn delivers_with_a_signed_assertion_and_the_exact_message() {
    let server = MockServer::start().await;
    mount_token(&server, "ya29.first", 3600).await;
    mount_send(&server, fcm_ok()).await;
    let fcm = notifier(&server);
    assert_eq!(fcm.name(), "fcm");
    assert_eq!(fcm.send_url(), format!("{}{SEND_PATH}", server.uri()));

    let before = chrono::Utc::now().timestamp();
    assert_eq!(fcm.send(message()).await, PushOutcome::Delivered);
    assert_eq!(fcm.last_error(), None);

    // The token request: a form with the JWT-bearer grant and an RS256 assertion.
    let token_requests = requests_to(&server, TOKEN_PATH).await;
    assert_eq!(token_requests.len(), 1);
    let token_request = &token_requests[0];
    assert_eq!(token_request.method.as_str(), "POST");
    assert_eq!(
        token_request
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/x-www-form-urlencoded")
    );
    let fields = form(token_request);
    assert_eq!(fields.len(), 2, "{fields:?}");
    assert_eq!(fields[0].0, "grant_type");
    assert_eq!(fields[0].1, "urn:ietf:params:oauth:grant-type:jwt-bearer");
    assert_eq!(fields[1].0, "assertion");
    let assertion = &fields[1].1;

    let header = jsonwebtoken::decode_header(assertion).expect("a JWT");
    assert_eq!(header.alg, Algorithm::RS256);
    assert_eq!(header.typ.as_deref(), Some("JWT"));
    let claims = verify_assertion(assertion, &token_url(&server))
        .expect("signed by the service account's key");
    assert_eq!(claims.iss, EMAIL);
    assert_eq!(claims.scope, FCM_SCOPE);
    assert_eq!(
        claims.scope,
        "https://www.googleapis.com/auth/firebase.messaging"
    );
    assert_eq!(claims.aud, token_url(&server));
    assert!(
        (before - 5..=before + 5).contains(&claims.iat),
        "iat {} vs now {before}",
        claims.iat
    );
    assert_eq!(claims.exp - claims.iat, 3600);

    // A forged signature does not verify, so the check above is real.
    let mut forged = assertion.clone();
    let last = if forged.ends_with('A') { 'B' } else { 'A' };
    forged.pop();
    forged.push(last);
    assert!(verify_assertion(&forged, &token_url(&server)).is_err());

    // The send request: bearer token and the exact FCM v1 message.
    let sends = requests_to(&server, SEND_PATH).await;
    assert_eq!(sends.len(), 1);
    assert_eq!(bearer(&sends[0]), "Bearer ya29.first");
    assert_eq!(
        sends[0]
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    let body: Value = sends[0].body_json().expect("JSON body");
    assert_eq!(
        body,
        json!({"message": {
            "token": DEVICE_TOKEN,
            "notification": {"title": "New reply on your query",
                             "body": "Secret body text the logs must not show"},
            "data": {"ticketId": "t-42", "kind": "new_message"},
            "android": {"priority": "high", "notification": {"sound": "default"}},
            "apns": {"headers": {"apns-priority": "10"},
                     "payload": {"aps": {"sound": "default", "thread-id": "t-42"}}}
        }})
    );
}

#[tokio::test]
async fn the_android_channel_is_sent_when_configured() {
    let server = MockServer::start().await;
    mount_token(&server, "ya29.channel", 3600).await;
    mount_send(&server, fcm_ok()).await;
    let mut config = config(&server);
    config.android_channel_id = Some("tickets".to_owned());
    let fcm = FcmNotifier::new(config).expect("valid");
    assert_eq!(fcm.send(message()).await, PushOutcome::Delivered);
    let body: Value = requests_to(&server, SEND_PATH).await[0]
        .body_json()
        .expect("JSON");
    assert_eq!(
        body["message"]["android"],
        json!({"priority": "high", "notification": {"channel_id": "tickets", "sound": "default"}})
    );
}

#[tokio::test]
async fn the_access_token_is_cached_across_sends() {
    let server = MockServer::start().await;
    mount_token(&server, "ya29.cached", 3600).await;
    mount_send(&server, fcm_ok()).await;
    let fcm = notifier(&server);

    assert_eq!(fcm.send(message()).await, PushOutcome::Delivered);
    assert_eq!(fcm.send(message()).await, PushOutcome::Delivered);

    assert_eq!(requests_to(&server, TOKEN_PATH).await.len(), 1);
    let sends = requests_to(&server, SEND_PATH).await;
    assert_eq!(sends.len(), 2);
    assert!(sends.iter().all(|r| bearer(r) == "Bearer ya29.cached"));
}

#[tokio::test]
async fn concurrent_sends_share_one_token_fetch() {
    let server = MockServer::start().await;
    mount_post(
        &server,
        TOKEN_PATH,
        token_response("ya29.shared", 3600).set_delay(Duration::from_millis(200)),
    )
    .await;
    mount_send(&server, fcm_ok()).await;
    let fcm = Arc::new(notifier(&server));

    let sends = (0..5).map(|_| {
        let fcm = Arc::clone(&fcm);
        tokio::spawn(async move { fcm.send(message()).await })
    });
    for send in sends.collect::<Vec<_>>() {
        assert_eq!(send.await.expect("task"), PushOutcome::Delivered);
    }
    assert_eq!(requests_to(&server, TOKEN_PATH).await.len(), 1);
    assert_eq!(requests_to(&server, SEND_PATH).await.len(), 5);
}

#[tokio::test]
async fn an_expiring_token_is_refreshed() {
    let server = MockServer::start().await;
    // The first token lives one second (so it is used for half a second), the next an hour.
    mount_post_once(&server, TOKEN_PATH, token_response("ya29.short", 1)).await;
    mount_token(&server, "ya29.long", 3600).await;
    mount_send(&server, fcm_ok()).await;
    let fcm = notifier(&server);

    assert_eq!(fcm.send(message()).await, PushOutcome::Delivered);
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(fcm.send(message()).await, PushOutcome::Delivered);
    assert_eq!(fcm.send(message()).await, PushOutcome::Delivered);

    assert_eq!(requests_to(&server, TOKEN_PATH).await.len(), 2);
    let bearers: Vec<String> = requests_to(&server, SEND_PATH)
        .await
        .iter()
        .map(bearer)
        .collect();
    assert_eq!(
        bearers,
        ["Bearer ya29.short", "Bearer ya29.long", "Bearer ya29.long"]
    );
}

#[tokio::test]
async fn an_unregistered_token_is_invalid() {
    let server = with_token().await;
    mount_send(
        &server,
        fcm_error(
            404,
            "NOT_FOUND",
            "Requested entity was not found.",
            Some("UNREGISTERED"),
        ),
    )
    .await;
    let fcm = notifier(&server);
    assert_eq!(fcm.send(message()).await, PushOutcome::InvalidToken);
    assert_eq!(requests_to(&server, SEND_PATH).await.len(), 1);
    // A dead device is not a service failure.
    assert_eq!(fcm.last_error(), None);
}

#[tokio::test]
async fn a_malformed_registration_token_is_invalid() {
    let server = with_token().await;
    mount_send(
        &server,
        fcm_error(
            400,
            "INVALID_ARGUMENT",
            "The registration token is not a valid FCM registration token",
            Some("INVALID_ARGUMENT"),
        ),
    )
    .await;
    assert_eq!(
        notifier(&server).send(message()).await,
        PushOutcome::InvalidToken
    );
}

#[tokio::test]
async fn a_503_is_retried_once_within_the_call() {
    let server = with_token().await;
    mount_send_once(
        &server,
        fcm_error(
            503,
            "UNAVAILABLE",
            "The service is currently unavailable.",
            None,
        ),
    )
    .await;
    mount_send(&server, fcm_ok()).await;
    let fcm = notifier(&server);

    assert_eq!(fcm.send(message()).await, PushOutcome::Delivered);
    assert_eq!(requests_to(&server, SEND_PATH).await.len(), 2);
    assert_eq!(requests_to(&server, TOKEN_PATH).await.len(), 1);
    assert_eq!(fcm.last_error(), None);
}

#[tokio::test]
async fn a_lasting_outage_is_retry_later_after_max_attempts() {
    let server = with_token().await;
    mount_send(
        &server,
        fcm_error(
            500,
            "INTERNAL",
            "Internal error encountered.",
            Some("INTERNAL"),
        ),
    )
    .await;
    let fcm = notifier(&server);

    assert_eq!(
        fcm.send(message()).await,
        PushOutcome::RetryLater { after: None }
    );
    assert_eq!(requests_to(&server, SEND_PATH).await.len(), 2);
    let last = fcm.last_error().expect("the outage is reported");
    assert!(last.contains("500") && last.contains("INTERNAL"), "{last}");
}

#[tokio::test]
async fn a_503_with_retry_after_goes_back_to_the_dispatcher() {
    let server = with_token().await;
    mount_send(
        &server,
        fcm_error(503, "UNAVAILABLE", "busy", None).insert_header("Retry-After", "30"),
    )
    .await;
    let outcome = notifier(&server).send(message()).await;
    assert_eq!(
        outcome,
        PushOutcome::RetryLater {
            after: Some(Duration::from_secs(30))
        }
    );
    assert_eq!(requests_to(&server, SEND_PATH).await.len(), 1);
}

#[tokio::test]
async fn a_rate_limit_is_retry_later_with_retry_after() {
    let server = with_token().await;
    mount_send(
        &server,
        fcm_error(
            429,
            "RESOURCE_EXHAUSTED",
            "Quota exceeded.",
            Some("QUOTA_EXCEEDED"),
        )
        .insert_header("Retry-After", "7"),
    )
    .await;
    let fcm = notifier(&server);
    assert_eq!(
        fcm.send(message()).await,
        PushOutcome::RetryLater {
            after: Some(Duration::from_secs(7))
        }
    );
    assert_eq!(
        requests_to(&server, SEND_PATH).await.len(),
        1,
        "no in-call retry on quota"
    );
    assert!(fcm
        .last_error()
        .expect("reported")
        .contains("QUOTA_EXCEEDED"));
}

#[tokio::test]
async fn a_401_renews_the_access_token_and_retries() {
    let server = MockServer::start().await;
    mount_post_once(&server, TOKEN_PATH, token_response("ya29.revoked", 3600)).await;
    mount_token(&server, "ya29.renewed", 3600).await;
    Mock::given(method("POST"))
        .and(path(SEND_PATH))
        .and(header("authorization", "Bearer ya29.revoked"))
        .respond_with(fcm_error(
            401,
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials.",
            None,
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(SEND_PATH))
        .and(header("authorization", "Bearer ya29.renewed"))
        .respond_with(fcm_ok())
        .mount(&server)
        .await;
    let fcm = notifier(&server);

    assert_eq!(fcm.send(message()).await, PushOutcome::Delivered);
    assert_eq!(requests_to(&server, TOKEN_PATH).await.len(), 2);
    let bearers: Vec<String> = requests_to(&server, SEND_PATH)
        .await
        .iter()
        .map(bearer)
        .collect();
    assert_eq!(bearers, ["Bearer ya29.revoked", "Bearer ya29.renewed"]);

    // The renewed token is the cached one now.
    assert_eq!(fcm.send(message()).await, PushOutcome::Delivered);
    assert_eq!(requests_to(&server, TOKEN_PATH).await.len(), 2);
}

#[tokio::test]
async fn a_401_with_a_fresh_token_too_is_rejected() {
    let server = MockServer::start().await;
    mount_token(&server, "ya29.useless", 3600).await;
    mount_send(
        &server,
        fcm_error(
            401,
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials.",
            None,
        ),
    )
    .await;
    let fcm = notifier(&server);

    match fcm.send(message()).await {
        PushOutcome::Rejected { reason } => assert!(reason.contains("401"), "{reason}"),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(requests_to(&server, SEND_PATH).await.len(), 2);
    assert_eq!(requests_to(&server, TOKEN_PATH).await.len(), 2);
}

#[tokio::test]
async fn another_bad_request_is_rejected_and_reported_until_a_success() {
    let server = with_token().await;
    mount_post_once(
        &server,
        SEND_PATH,
        ResponseTemplate::new(400).set_body_json(json!({"error": {
            "code": 400,
            "message": "Invalid value at 'message.data[0].value' (TYPE_STRING), 12",
            "status": "INVALID_ARGUMENT",
            "details": [{"@type": "type.googleapis.com/google.rpc.BadRequest",
                         "fieldViolations": [{"field": "message.data[0].value",
                                              "description": "Invalid value"}]}]
        }})),
    )
    .await;
    mount_send(&server, fcm_ok()).await;
    let fcm = notifier(&server);

    match fcm.send(message()).await {
        PushOutcome::Rejected { reason } => {
            assert!(reason.contains("INVALID_ARGUMENT"), "{reason}");
            assert!(reason.contains("message.data[0].value"), "{reason}");
            assert!(!reason.contains(DEVICE_TOKEN));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        requests_to(&server, SEND_PATH).await.len(),
        1,
        "no retry for a 400"
    );
    assert!(fcm
        .last_error()
        .expect("reported")
        .contains("INVALID_ARGUMENT"));

    assert_eq!(fcm.send(message()).await, PushOutcome::Delivered);
    assert_eq!(fcm.last_error(), None);
}

#[tokio::test]
async fn refused_credentials_at_the_token_endpoint_are_rejected() {
    let server = MockServer::start().await;
    mount_post(
        &server,
        TOKEN_PATH,
        ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_grant",
            "error_description": "Invalid JWT Signature."
        })),
    )
    .await;
    mount_send(&server, fcm_ok()).await;
    let fcm = notifier(&server);

    match fcm.send(message()).await {
        PushOutcome::Rejected { reason } => {
            assert!(reason.contains("invalid_grant"), "{reason}");
            assert!(reason.contains("Invalid JWT Signature."), "{reason}");
            assert!(reason.contains("FIREBASE_PRIVATE_KEY"), "{reason}");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(requests_to(&server, SEND_PATH).await.is_empty());
    assert!(fcm
        .last_error()
        .expect("reported")
        .contains("invalid_grant"));
}

#[tokio::test]
async fn a_token_endpoint_outage_is_retry_later() {
    let server = MockServer::start().await;
    mount_post(
        &server,
        TOKEN_PATH,
        ResponseTemplate::new(503).insert_header("Retry-After", "12"),
    )
    .await;
    let fcm = notifier(&server);
    assert_eq!(
        fcm.send(message()).await,
        PushOutcome::RetryLater {
            after: Some(Duration::from_secs(12))
        }
    );
    assert!(requests_to(&server, SEND_PATH).await.is_empty());
}

#[tokio::test]
async fn a_slow_token_endpoint_is_retry_later() {
    let server = MockServer::start().await;
    mount_post(
        &server,
        TOKEN_PATH,
        token_response("ya29.late", 3600).set_delay(Duration::from_secs(3)),
    )
    .await;
    let mut config = config(&server);
    config.timeout = Duration::from_millis(300);
    let fcm = FcmNotifier::new(config).expect("valid");
    let started = Instant::now();
    assert_eq!(
        fcm.send(message()).await,
        PushOutcome::RetryLater { after: None }
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(fcm.last_error().expect("reported").contains("timed out"));
}

#[tokio::test]
async fn a_slow_fcm_is_retry_later_within_the_timeout() {
    let server = with_token().await;
    mount_send(&server, fcm_ok().set_delay(Duration::from_secs(3))).await;
    let mut config = config(&server);
    config.timeout = Duration::from_millis(300);
    let fcm = FcmNotifier::new(config).expect("valid");

    let started = Instant::now();
    assert_eq!(
        fcm.send(message()).await,
        PushOutcome::RetryLater { after: None }
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    // FCM may have taken a timed-out message: no blind resend inside the call.
    assert_eq!(requests_to(&server, SEND_PATH).await.len(), 1);
    assert!(fcm.last_error().expect("reported").contains("timed out"));
}

#[tokio::test]
async fn an_unreachable_fcm_is_retry_later() {
    let server = with_token().await;
    // A port that was just free: nothing listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let mut config = config(&server);
    config.fcm_base_url = format!("http://127.0.0.1:{port}");
    let fcm = FcmNotifier::new(config).expect("valid");

    assert_eq!(
        fcm.send(message()).await,
        PushOutcome::RetryLater { after: None }
    );
    assert!(fcm
        .last_error()
        .expect("reported")
        .contains("connection failed"));
}

#[tokio::test]
async fn a_bad_private_key_is_a_clear_configuration_error() {
    let server = MockServer::start().await;
    for bad in [
        "",
        "just some text",
        "-----BEGIN PRIVATE KEY-----\\nbm90IGEga2V5\\n-----END PRIVATE KEY-----\\n",
        TEST_ONLY_PUBLIC_KEY,
    ] {
        let mut config = config(&server);
        config.private_key = concierge_push::normalize_private_key(bad);
        let err = FcmNotifier::new(config).expect_err("refused");
        assert!(
            matches!(
                err,
                FcmConfigError::InvalidPrivateKey(_) | FcmConfigError::Missing(_)
            ),
            "{bad:?}: {err:?}"
        );
        let text = err.to_string();
        assert!(
            text.contains("FIREBASE_PRIVATE_KEY") || text.contains("private_key"),
            "{text}"
        );
        assert!(
            !text.contains("bm90IGEga2V5"),
            "the key does not leak into the error: {text}"
        );
    }
    // The real key with real newlines is fine too, and so is its PKCS#1 form.
    let mut config = config(&server);
    config.private_key = TEST_ONLY_PRIVATE_KEY.to_owned();
    assert!(config.validate().is_ok());
    config.private_key = TEST_ONLY_PRIVATE_KEY_PKCS1.to_owned();
    assert!(config.validate().is_ok());
    let printed = format!("{config:?}");
    assert!(printed.contains("<redacted>") && !printed.contains("PRIVATE KEY"));
}

/// Captures everything `tracing` writes while a test runs on the current thread.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("capture lock")).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("capture lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

fn capture_logs() -> (Captured, tracing::subscriber::DefaultGuard) {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    (captured, guard)
}

#[tokio::test]
async fn fcm_logs_never_show_the_device_token_access_token_or_body() {
    let server = MockServer::start().await;
    mount_token(&server, "ya29.secret-access-token", 3600).await;
    mount_send_once(
        &server,
        fcm_error(
            400,
            "INVALID_ARGUMENT",
            "Request contains an invalid argument.",
            None,
        ),
    )
    .await;
    mount_send_once(
        &server,
        fcm_error(503, "UNAVAILABLE", "down", None).insert_header("Retry-After", "5"),
    )
    .await;
    mount_send(&server, fcm_ok()).await;
    let fcm = notifier(&server);

    let (logs, _guard) = capture_logs();
    assert!(matches!(
        fcm.send(message()).await,
        PushOutcome::Rejected { .. }
    ));
    assert!(matches!(
        fcm.send(message()).await,
        PushOutcome::RetryLater { .. }
    ));
    assert_eq!(fcm.send(message()).await, PushOutcome::Delivered);

    let text = logs.text();
    assert!(text.contains("FCM rejected the notification"), "{text}");
    assert!(
        text.contains("dEvIcE"),
        "a redacted hint of the device is kept: {text}"
    );
    assert!(!text.contains(DEVICE_TOKEN), "{text}");
    assert!(!text.contains("ya29.secret-access-token"), "{text}");
    assert!(!text.contains("Secret body text"), "{text}");
}

#[tokio::test]
async fn the_log_notifier_logs_title_keys_and_ticket_only() {
    let notifier = LogNotifier;
    assert_eq!(notifier.name(), "log");

    let (logs, _guard) = capture_logs();
    assert_eq!(notifier.send(message()).await, PushOutcome::Delivered);

    let text = logs.text();
    assert!(text.contains("INFO"), "{text}");
    assert!(text.contains("New reply on your query"), "{text}");
    assert!(text.contains("ticketId") && text.contains("kind"), "{text}");
    assert!(text.contains("t-42"), "{text}");
    assert!(!text.contains("dEvIcE"), "{text}");
    assert!(!text.contains("Secret body text"), "{text}");
}

#[tokio::test]
async fn both_notifiers_fit_the_port() {
    let server = MockServer::start().await;
    let notifiers: Vec<Arc<dyn PushNotifier>> =
        vec![Arc::new(LogNotifier::new()), Arc::new(notifier(&server))];
    let names: Vec<&str> = notifiers.iter().map(|n| n.name()).collect();
    assert_eq!(names, ["log", "fcm"]);
}
