//! The VideoSDK client against a local mock of the v2 REST API: exact requests, tokens checked
//! with the secret, retries, timeouts and error mapping.

use concierge_domain::ports::VideoProvider;
use concierge_domain::video::Participant;
use concierge_domain::DomainError;
use concierge_video::{DisabledVideoProvider, VideoSdkConfig, VideoSdkProvider};
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde_json::{json, Value};
use std::time::Duration;
use wiremock::matchers::{body_json, header, header_exists, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const API_KEY: &str = "test-api-key";
const SECRET: &str = "test-secret-key-0123456789";

fn config(server: &MockServer) -> VideoSdkConfig {
    let mut config = VideoSdkConfig::new(API_KEY, SECRET).with_base_url(server.uri());
    config.timeout = Duration::from_millis(500);
    config.max_attempts = 3;
    config.retry_backoff = Duration::from_millis(10);
    config
}

fn provider(server: &MockServer) -> VideoSdkProvider {
    VideoSdkProvider::new(config(server)).expect("provider")
}

/// Verifies the signature (HS256, our secret) and expiry; returns the claims.
fn verified_claims(token: &str) -> Value {
    let header = decode_header(token).expect("a JWT header");
    assert_eq!(header.alg, Algorithm::HS256);
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 0;
    decode::<Value>(
        token,
        &DecodingKey::from_secret(SECRET.as_bytes()),
        &validation,
    )
    .expect("signed with the secret and not expired")
    .claims
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The management token of one received request, checked claim by claim.
fn assert_management_token(request: &Request) {
    let raw = request
        .headers
        .get("authorization")
        .expect("an Authorization header")
        .to_str()
        .expect("ASCII");
    assert!(
        !raw.starts_with("Bearer ") && !raw.starts_with("Basic "),
        "VideoSDK wants the raw token, got {raw:?}"
    );
    assert!(
        decode::<Value>(
            raw,
            &DecodingKey::from_secret(b"another secret"),
            &Validation::new(Algorithm::HS256)
        )
        .is_err(),
        "must not verify with another secret"
    );
    let claims = verified_claims(raw);
    assert_eq!(claims["apikey"], API_KEY);
    assert_eq!(claims["version"], 2);
    assert_eq!(claims["roles"], json!(["crawler"]));
    assert_eq!(claims["permissions"], json!(["allow_join", "allow_mod"]));
    assert!(claims.get("roomId").is_none());
    assert!(claims.get("participantId").is_none());
    let (iat, exp) = (
        claims["iat"].as_i64().expect("iat"),
        claims["exp"].as_i64().expect("exp"),
    );
    assert!((iat - now()).abs() <= 5, "iat is now");
    assert!(exp > now(), "exp in the future");
    assert!(
        exp - iat <= 600,
        "a management token lives at most 10 minutes"
    );
}

/// A fake VideoSDK answering POSTs to `on` with `response`, expecting exactly `times` of them.
async fn answering(on: &str, response: ResponseTemplate, times: u64) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(on))
        .respond_with(response)
        .expect(times)
        .mount(&server)
        .await;
    server
}

fn unavailable_message(err: DomainError) -> String {
    match err {
        DomainError::Unavailable(message) => message,
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn create_room_sends_the_documented_request_and_parses_the_room_id() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/rooms"))
        .and(header_exists("authorization"))
        .and(header("content-type", "application/json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "roomId": "abc-xyzw-lmno",
            "customRoomId": "whatever",
            "userId": "5f7edbb14c938bcd42944527",
            "disabled": false,
            "createdAt": "2022-03-25T04:49:11.024Z",
            "updatedAt": "2022-03-25T04:49:11.024Z",
            "id": "623d49c760a18e699abcc8a4",
            "links": {"get_room": "", "get_session": ""}
        })))
        .expect(1)
        .mount(&server)
        .await;

    let room = provider(&server).create_room().await.expect("a room");
    assert_eq!(room.room_id, "abc-xyzw-lmno");

    let requests = server.received_requests().await.expect("recorded");
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method.as_str(), "POST");
    assert_management_token(request);
    let body: Value = request.body_json().expect("a JSON body");
    let object = body.as_object().expect("an object");
    assert_eq!(object.len(), 1, "only customRoomId: {body}");
    let custom = body["customRoomId"].as_str().expect("customRoomId");
    assert!(
        custom.starts_with("concierge-") && custom.len() > 20,
        "{custom}"
    );
}

#[tokio::test]
async fn each_room_gets_its_own_custom_room_id() {
    let server = answering(
        "/v2/rooms",
        ResponseTemplate::new(200).set_body_json(json!({"roomId": "a-b-c"})),
        2,
    )
    .await;
    let provider = provider(&server);
    provider.create_room().await.expect("first");
    provider.create_room().await.expect("second");
    let requests = server.received_requests().await.expect("recorded");
    let ids: Vec<Value> = requests
        .iter()
        .map(|r| r.body_json::<Value>().expect("json")["customRoomId"].clone())
        .collect();
    assert_ne!(ids[0], ids[1]);
}

#[tokio::test]
async fn refused_credentials_are_a_clear_unavailable() {
    for status in [401, 403] {
        // One request: a refusal is not retried.
        let server = answering(
            "/v2/rooms",
            ResponseTemplate::new(status).set_body_json(json!({"message": "Invalid token"})),
            1,
        )
        .await;
        let err = provider(&server).create_room().await.expect_err("refused");
        let message = unavailable_message(err);
        assert!(
            message.contains("VideoSDK refused the credentials"),
            "{message}"
        );
        assert!(message.contains(&status.to_string()), "{message}");
        assert!(message.contains("Invalid token"), "{message}");
        assert!(!message.contains(SECRET), "{message}");
    }
}

#[tokio::test]
async fn other_client_errors_carry_the_providers_message() {
    let server = answering(
        "/v2/rooms",
        ResponseTemplate::new(400).set_body_json(json!({"message": "customRoomId is invalid"})),
        1,
    )
    .await;
    let message = unavailable_message(provider(&server).create_room().await.expect_err("400"));
    assert!(message.contains("rejected the request"), "{message}");
    assert!(message.contains("HTTP 400"), "{message}");
    assert!(message.contains("customRoomId is invalid"), "{message}");
}

#[tokio::test]
async fn a_server_error_is_retried_with_the_same_custom_room_id() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/rooms"))
        .respond_with(ResponseTemplate::new(500).set_body_string("boom"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/rooms"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"roomId": "abcd-efgh-ijkl"})))
        .expect(1)
        .mount(&server)
        .await;

    let room = provider(&server).create_room().await.expect("second try");
    assert_eq!(room.room_id, "abcd-efgh-ijkl");
    let requests = server.received_requests().await.expect("recorded");
    assert_eq!(requests.len(), 2, "exactly two calls");
    for request in &requests {
        assert_management_token(request);
    }
    let first: Value = requests[0].body_json().expect("json");
    let second: Value = requests[1].body_json().expect("json");
    assert_eq!(first, second, "a retry repeats the same customRoomId");
}

#[tokio::test]
async fn server_errors_on_every_attempt_are_unavailable() {
    let server = answering(
        "/v2/rooms",
        ResponseTemplate::new(503).set_body_json(json!({"message": "down"})),
        3,
    )
    .await;
    let message = unavailable_message(provider(&server).create_room().await.expect_err("down"));
    assert!(message.contains("VideoSDK is failing"), "{message}");
    assert!(message.contains("HTTP 503 after 3 attempts"), "{message}");
    assert_eq!(server.received_requests().await.expect("recorded").len(), 3);
}

#[tokio::test]
async fn a_slow_provider_times_out_into_unavailable() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/rooms"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"roomId": "late-late-late"}))
                .set_delay(Duration::from_secs(3)),
        )
        .mount(&server)
        .await;
    let mut config = config(&server);
    config.timeout = Duration::from_millis(200);
    config.max_attempts = 2;
    let provider = VideoSdkProvider::new(config).expect("provider");

    let started = std::time::Instant::now();
    let message = unavailable_message(provider.create_room().await.expect_err("too slow"));
    assert!(message.contains("did not answer within"), "{message}");
    assert!(message.contains("2 attempts"), "{message}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "gave up in time"
    );
    assert_eq!(server.received_requests().await.expect("recorded").len(), 2);
}

#[tokio::test]
async fn an_unreachable_provider_is_unavailable() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let mut config =
        VideoSdkConfig::new(API_KEY, SECRET).with_base_url(format!("http://127.0.0.1:{port}"));
    config.retry_backoff = Duration::from_millis(5);
    config.max_attempts = 2;
    let provider = VideoSdkProvider::new(config).expect("provider");
    let message = unavailable_message(provider.create_room().await.expect_err("nobody there"));
    assert!(message.contains("could not be reached"), "{message}");
}

#[tokio::test]
async fn an_answer_without_room_id_is_unavailable() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/rooms"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "x"})))
        .mount(&server)
        .await;
    let message = unavailable_message(provider(&server).create_room().await.expect_err("no id"));
    assert!(message.contains("without a roomId"), "{message}");
}

#[tokio::test]
async fn end_room_deactivates_the_room() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/rooms/deactivate"))
        .and(header_exists("authorization"))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({"roomId": "abcd-efgh-ijkl"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "roomId": "abcd-efgh-ijkl",
            "disabled": true
        })))
        .expect(1)
        .mount(&server)
        .await;
    provider(&server)
        .end_room("abcd-efgh-ijkl")
        .await
        .expect("deactivated");
    let requests = server.received_requests().await.expect("recorded");
    assert_eq!(requests.len(), 1);
    assert_management_token(&requests[0]);
}

#[tokio::test]
async fn ending_a_room_that_is_gone_is_fine() {
    let server = answering(
        "/v2/rooms/deactivate",
        ResponseTemplate::new(404).set_body_json(json!({"message": "Room not found"})),
        1,
    )
    .await;
    provider(&server)
        .end_room("gone-gone-gone")
        .await
        .expect("a missing room is already ended");

    let server = answering(
        "/v2/rooms/deactivate",
        ResponseTemplate::new(400).set_body_json(json!({"message": "Room is already deactivated"})),
        1,
    )
    .await;
    provider(&server)
        .end_room("done-done-done")
        .await
        .expect("an inactive room is already ended");
}

#[tokio::test]
async fn end_room_failures_are_unavailable() {
    let server = answering(
        "/v2/rooms/deactivate",
        ResponseTemplate::new(401).set_body_json(json!({"message": "Unauthorized"})),
        1,
    )
    .await;
    let message = unavailable_message(provider(&server).end_room("a-b-c").await.expect_err("401"));
    assert!(message.contains("refused the credentials"), "{message}");

    let server = answering("/v2/rooms/deactivate", ResponseTemplate::new(502), 3).await;
    let message = unavailable_message(provider(&server).end_room("a-b-c").await.expect_err("502"));
    assert!(message.contains("HTTP 502 after 3 attempts"), "{message}");
}

#[tokio::test]
async fn a_donor_joins_as_a_guest() {
    // No server at all: join tokens are minted locally.
    let provider = VideoSdkProvider::new(
        VideoSdkConfig::new(API_KEY, SECRET).with_base_url("http://127.0.0.1:9"),
    )
    .expect("provider");
    let donor = Participant {
        id: "donor-42".to_owned(),
        name: "Ada".to_owned(),
        is_host: false,
    };
    let join = provider
        .join_token("abcd-efgh-ijkl", &donor)
        .expect("a token");
    assert_eq!(join.expires_in, Duration::from_secs(2 * 60 * 60));
    let claims = verified_claims(&join.token);
    assert_eq!(claims["apikey"], API_KEY);
    assert_eq!(claims["permissions"], json!(["allow_join"]));
    assert_eq!(claims["version"], 2);
    assert_eq!(claims["roomId"], "abcd-efgh-ijkl");
    assert_eq!(claims["participantId"], "donor-42");
    assert_eq!(claims["roles"], json!(["rtc"]));
    let (iat, exp) = (
        claims["iat"].as_i64().expect("iat"),
        claims["exp"].as_i64().expect("exp"),
    );
    assert!((iat - now()).abs() <= 5);
    assert_eq!(exp - iat, 7200);
}

#[tokio::test]
async fn staff_join_as_hosts_with_moderation() {
    let server = MockServer::start().await;
    let mut config = config(&server);
    config.join_token_ttl = Duration::from_secs(15 * 60);
    let provider = VideoSdkProvider::new(config).expect("provider");
    let staff = Participant {
        id: "staff-7".to_owned(),
        name: "Grace".to_owned(),
        is_host: true,
    };
    let join = provider
        .join_token("abcd-efgh-ijkl", &staff)
        .expect("a token");
    assert_eq!(join.expires_in, Duration::from_secs(900));
    let claims = verified_claims(&join.token);
    assert_eq!(claims["permissions"], json!(["allow_join", "allow_mod"]));
    assert_eq!(claims["participantId"], "staff-7");
    assert_eq!(claims["roomId"], "abcd-efgh-ijkl");
    assert_eq!(claims["roles"], json!(["rtc"]));
    assert_eq!(claims["version"], 2);
    let exp = claims["exp"].as_i64().expect("exp");
    assert!(exp > now() && exp - now() <= 900);
    assert!(
        server
            .received_requests()
            .await
            .expect("recorded")
            .is_empty(),
        "no network for join tokens"
    );
}

#[tokio::test]
async fn join_tokens_need_a_room_and_a_clean_participant_id() {
    let provider = VideoSdkProvider::new(VideoSdkConfig::new(API_KEY, SECRET)).expect("provider");
    let mut who = Participant {
        id: "donor-1".to_owned(),
        name: "Ada".to_owned(),
        is_host: false,
    };
    assert!(matches!(
        provider.join_token(" ", &who),
        Err(DomainError::Invalid(_))
    ));
    who.id = "donor 1".to_owned();
    assert!(matches!(
        provider.join_token("a-b-c", &who),
        Err(DomainError::Invalid(_))
    ));
}

#[tokio::test]
async fn the_disabled_provider_says_calls_are_not_configured() {
    let disabled = DisabledVideoProvider;
    let message = unavailable_message(disabled.create_room().await.expect_err("disabled"));
    assert!(message.contains("VIDEOSDK_API_KEY"), "{message}");
    let who = Participant {
        id: "donor-1".to_owned(),
        name: "Ada".to_owned(),
        is_host: false,
    };
    assert!(matches!(
        disabled.join_token("a-b-c", &who),
        Err(DomainError::Unavailable(_))
    ));
    disabled.end_room("a-b-c").await.expect("nothing to end");
}

#[tokio::test]
async fn a_short_retry_after_is_waited_out_and_a_long_one_ends_the_retries() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/rooms"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/rooms"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"roomId": "r-1"})))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let started = std::time::Instant::now();
    let room = provider(&server)
        .create_room()
        .await
        .expect("after the wait");
    assert_eq!(room.room_id, "r-1");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was honoured"
    );

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/rooms"))
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "120"))
        .mount(&server)
        .await;
    let message = unavailable_message(provider(&server).create_room().await.expect_err("busy"));
    assert!(message.contains("HTTP 503 after 1 attempt:"), "{message}");
    assert_eq!(server.received_requests().await.expect("recorded").len(), 1);
}
