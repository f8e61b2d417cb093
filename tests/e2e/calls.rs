//! Calls over real HTTP and WebSocket, with a local mock VideoSDK (wiremock): the whole flow,
//! refused transitions that leave the database unchanged, provider failures, and a server
//! without VideoSDK credentials.

use super::*;
use concierge_e2e::{Backend, Ws};
use serde_json::Value;
use std::time::Duration;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const API_KEY: &str = "e2e-videosdk-key";
const SECRET: &str = "e2e-videosdk-secret";
const ROOM: &str = "abcd-efgh-ijkl";

/// A mock VideoSDK that creates `ROOM` and deactivates rooms.
async fn videosdk() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/rooms"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"roomId": ROOM})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/rooms/deactivate"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"roomId": ROOM})))
        .mount(&server)
        .await;
    server
}

/// An app on `backend` talking to `videosdk`; `None` when PostgreSQL is not configured.
/// Starts the fake VideoSDK `videosdk` and an app that calls it, then runs `body` on both;
/// skips when PostgreSQL is not configured.
async fn with_video<Fut: std::future::Future<Output = ()>>(
    backend: Backend,
    videosdk: impl std::future::Future<Output = MockServer>,
    body: impl FnOnce(TestApp, MockServer) -> Fut,
) {
    let videosdk = videosdk.await;
    let uri = videosdk.uri();
    let app = TestApp::spawn_with(
        backend,
        &[
            ("VIDEOSDK_API_KEY", API_KEY),
            ("VIDEOSDK_SECRET_KEY", SECRET),
            ("VIDEOSDK_BASE_URL", uri.as_str()),
            ("VIDEOSDK_TIMEOUT", "1s"),
            ("VIDEOSDK_MAX_ATTEMPTS", "2"),
        ],
    )
    .await;
    match app {
        Some(app) => body(app, videosdk).await,
        None => eprintln!("skipped: TEST_POSTGRES_URL is not set"),
    }
}

/// The next event called `name` on the socket, skipping other frames and events.
async fn next_event(ws: &mut Ws, name: &str) -> Value {
    loop {
        let frame = ws.next_of("event", 10).await;
        if frame["event"] == name {
            return frame;
        }
    }
}

/// The claims of a join token, verified with the VideoSDK secret.
fn claims(token: &str) -> Value {
    let key = jsonwebtoken::DecodingKey::from_secret(SECRET.as_bytes());
    let validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .expect("a join token signed with the VideoSDK secret")
        .claims
}

/// How many requests the mock VideoSDK got on `path`.
async fn hits(videosdk: &MockServer, on: &str) -> Vec<Value> {
    videosdk
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == on)
        .map(|r| serde_json::from_slice(&r.body).unwrap_or(Value::Null))
        .collect()
}

e2e!(
    donor_requests_admin_accepts_both_join_and_the_donor_ends,
    backend = |backend| with_video(backend, videosdk(), full_flow)
);

async fn full_flow(app: TestApp, videosdk: MockServer) {
    let (id, donor_token) = app.donor_query("d-1", "My card does not work").await;
    let mut ws = app.ws_ready(&app.admin_token).await;
    ws.join(id, None).await;

    // The donor asks for a video call.
    let request = app
        .post(
            &format!("/communication/call/{id}/request"),
            Some(&donor_token),
            json!({"mode": "VIDEO", "message": "easier to show you"}),
        )
        .await
        .expect(201);
    assert_eq!(request.get("status"), "PENDING");
    assert_eq!(request.get("mode"), "VIDEO");
    let requested = next_event(&mut ws, "call_requested").await;
    assert_eq!(requested["data"]["id"], request.id());

    // The admin accepts the newest request: a room, and a staff token for it.
    let started = app
        .call_post(id, "accept-request", &app.admin_token)
        .await
        .expect(201);
    assert_eq!(started.get("roomName"), ROOM);
    assert_eq!(started.get("status"), "CREATED");
    assert_eq!(started.get("requestId"), request.id());
    let staff_claims = claims(started.get("token").as_str().expect("a staff token"));
    assert_eq!(staff_claims["roomId"], ROOM);
    assert_eq!(staff_claims["apikey"], API_KEY);
    assert_eq!(
        staff_claims["participantId"],
        started.get("participantId").clone()
    );
    let event = next_event(&mut ws, "call_started").await;
    assert_eq!(event["data"]["roomName"], ROOM);
    assert!(
        event["data"].get("token").is_none(),
        "tokens never go into events"
    );
    assert_eq!(hits(&videosdk, "/v2/rooms").await.len(), 1);

    // The donor finds the session with its own token for the same room.
    let sessions = app.call_sessions(id, &donor_token).await;
    let session = &sessions.data()[0];
    assert_eq!(session["roomName"], ROOM);
    assert_eq!(session["participantId"], format!("donor-{id}"));
    let donor_claims = claims(session["token"].as_str().expect("a donor token"));
    assert_eq!(donor_claims["roomId"], ROOM);
    assert_eq!(donor_claims["participantId"], format!("donor-{id}"));
    // Staff see it too, with their own token.
    let sessions = app.call_sessions(id, &app.admin_token).await;
    assert_ne!(sessions.data()[0]["token"], session["token"]);

    // The call begins, then the donor ends it: the provider's room is deactivated.
    app.put(
        &format!("/communication/call/{ROOM}/status"),
        Some(&donor_token),
        json!({"status": "ACTIVE"}),
    )
    .await
    .expect(200);
    let ended = app.call_post(ROOM, "end", &donor_token).await.expect(200);
    assert_eq!(ended.get("status"), "ENDED");
    assert!(ended.get("durationSeconds").is_i64());
    let event = next_event(&mut ws, "call_ended").await;
    assert_eq!(event["data"]["status"], "ENDED");
    assert_eq!(
        hits(&videosdk, "/v2/rooms/deactivate").await,
        [json!({"roomId": ROOM})]
    );

    // The conversation tells the story.
    let conversation = app.conversation(id, &donor_token).await;
    let types: Vec<&str> = conversation
        .data()
        .iter()
        .filter_map(|m| m["messageType"].as_str())
        .collect();
    assert_eq!(
        types,
        ["QUERY", "CALL_REQUEST", "CALL_STARTED", "CALL_ENDED"]
    );
    let last = &conversation.data()[3];
    assert_eq!(last["senderType"], "SYSTEM");
    assert!(
        last["content"]
            .as_str()
            .unwrap_or("")
            .contains("ended after"),
        "{last}"
    );

    // No token for an ended session; an agent may end nothing that has ended either.
    let sessions = app.call_sessions(id, &donor_token).await;
    assert!(sessions.data()[0].get("token").is_none());
}

e2e!(
    refused_call_changes_leave_the_database_unchanged,
    backend = |backend| with_video(backend, videosdk(), refusals)
);

async fn refusals(app: TestApp, videosdk: MockServer) {
    let (id, donor_token) = app.donor_query("d-1", "Help").await;
    let (other_id, other_token) = app.donor_query("d-2", "Me too").await;
    let (_, agent_token) = app.staff("agent1", "AGENT").await;
    let request = app
        .request_call(id, Some(&donor_token), "AUDIO")
        .await
        .expect(201)
        .id();
    let accept = format!("/communication/call/{id}/accept-request/{request}");
    app.post(&accept, Some(&app.admin_token), Value::Null)
        .await
        .expect(201);
    let rejected = app
        .request_call(other_id, Some(&other_token), "VIDEO")
        .await
        .expect(201)
        .id();
    let rejected_reply = app
        .post(
            &format!("/communication/call/{other_id}/reject-request/{rejected}"),
            Some(&app.admin_token),
            json!({"reason": "no agents free"}),
        )
        .await
        .expect(200);
    assert_eq!(rejected_reply.get("status"), "REJECTED");
    assert_eq!(rejected_reply.get("reason"), "no agents free");
    app.call_post(ROOM, "end", &app.admin_token)
        .await
        .expect(200);

    let before = app.settled_event_head().await;
    let rooms_before = hits(&videosdk, "/v2/rooms").await.len();
    // A second accept of the same request, and of a rejected one: 409.
    app.post(&accept, Some(&app.admin_token), Value::Null)
        .await
        .expect_problem(409);
    app.call_post(
        other_id,
        &format!("accept-request/{rejected}"),
        &app.admin_token,
    )
    .await
    .expect_problem(409);
    // Rejecting the accepted one, and the newest pending one when none is left.
    app.call_post(id, &format!("reject-request/{request}"), &app.admin_token)
        .await
        .expect_problem(409);
    app.call_post(id, "accept-request", &app.admin_token)
        .await
        .expect_problem(404);
    // Ending an ended call, or marking it active again.
    app.call_post(ROOM, "end", &donor_token)
        .await
        .expect_problem(409);
    app.put(
        &format!("/communication/call/{ROOM}/status"),
        Some(&donor_token),
        json!({"status": "ACTIVE"}),
    )
    .await
    .expect_problem(409);
    // Another ticket's donor: it never learns the call exists.
    app.call_post(ROOM, "end", &other_token)
        .await
        .expect_problem(404);
    app.get(&format!("/communication/calls/{id}"), Some(&other_token))
        .await
        .expect_problem(404);
    app.request_call(id, Some(&other_token), "VIDEO")
        .await
        .expect_problem(404);
    app.call_post(id, &format!("cancel-request/{request}"), &other_token)
        .await
        .expect_problem(404);
    // Roles: an agent may not accept, start or delete; a donor may not accept or delete.
    app.call_post(other_id, "accept-request", &agent_token)
        .await
        .expect_problem(403);
    app.call_post(other_id, "", &agent_token)
        .await
        .expect_problem(403);
    app.call_post(id, "accept-request", &donor_token)
        .await
        .expect_problem(403);
    app.delete(&format!("/communication/call/{ROOM}"), Some(&agent_token))
        .await
        .expect_problem(403);
    app.get(
        &format!("/communication/call/{id}/requests"),
        Some(&donor_token),
    )
    .await
    .expect_problem(403);
    // Staff may not request on a donor's behalf; bad input is 422, no token 401.
    app.request_call(id, Some(&app.admin_token), "VIDEO")
        .await
        .expect_problem(403);
    app.request_call(id, Some(&donor_token), "HOLOGRAM")
        .await
        .expect_invalid("mode");
    app.request_call(id, None, "VIDEO")
        .await
        .expect_problem(401);
    app.expect_head(before, "refused call changes").await;
    assert_eq!(hits(&videosdk, "/v2/rooms").await.len(), rooms_before);
    assert_eq!(hits(&videosdk, "/v2/rooms/deactivate").await.len(), 1);

    // The admin's list shows both requests of the ticket's history; the room can be deleted.
    let requests = app
        .get(
            &format!("/communication/call/{id}/requests"),
            Some(&app.admin_token),
        )
        .await
        .expect(200);
    assert_eq!(requests.data()[0]["status"], "ACCEPTED");
    app.delete(
        &format!("/communication/call/{ROOM}"),
        Some(&app.admin_token),
    )
    .await
    .expect(204);
    app.call_post(ROOM, "end", &app.admin_token)
        .await
        .expect_problem(404);
}

e2e!(
    provider_failures_answer_503_and_store_no_session,
    // A VideoSDK that answers nothing yet: each case mounts its own failure.
    backend = |backend| with_video(backend, MockServer::start(), provider_failures)
);

async fn provider_failures(app: TestApp, videosdk: MockServer) {
    let (id, donor_token) = app.donor_query("d-1", "Help").await;
    app.request_call(id, Some(&donor_token), "VIDEO")
        .await
        .expect(201);
    let failures = [
        (
            ResponseTemplate::new(401).set_body_string("bad token"),
            "credentials",
        ),
        (
            ResponseTemplate::new(400).set_body_string("bad request"),
            "rejected",
        ),
        (
            ResponseTemplate::new(502).set_body_string("upstream"),
            "failing",
        ),
        (
            ResponseTemplate::new(200)
                .set_body_json(json!({"roomId": ROOM}))
                .set_delay(Duration::from_secs(3)),
            "",
        ),
    ];
    for (response, says) in failures {
        videosdk.reset().await;
        Mock::given(method("POST"))
            .and(path("/v2/rooms"))
            .respond_with(response)
            .mount(&videosdk)
            .await;
        let before = app.settled_event_head().await;
        let reply = app
            .call_post(id, "accept-request", &app.admin_token)
            .await
            .expect_problem(503);
        let detail = reply.get("detail").as_str().unwrap_or("").to_string();
        assert!(detail.contains(says), "{detail}");
        assert!(!detail.contains(SECRET));
        app.post(
            &format!("/communication/call/{id}"),
            Some(&app.admin_token),
            json!({"mode": "AUDIO"}),
        )
        .await
        .expect_problem(503);
        app.expect_head(before, "a failed room creation").await;
        let sessions = app.call_sessions(id, &app.admin_token).await;
        assert!(sessions.data().is_empty(), "{}", sessions.text);
    }
    // The request is still pending: once the provider works, it can be accepted.
    videosdk.reset().await;
    Mock::given(method("POST"))
        .and(path("/v2/rooms"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"roomId": ROOM})))
        .mount(&videosdk)
        .await;
    app.call_post(id, "accept-request", &app.admin_token)
        .await
        .expect(201);
}

e2e!(
    without_videosdk_calls_answer_503_but_requests_still_work,
    |app: TestApp| async move {
        let (id, donor_token) = app.donor_query("d-1", "Help").await;
        let (_, agent_token) = app.staff("agent1", "AGENT").await;
        let health = app
            .get("/health/advanced", Some(&app.admin_token))
            .await
            .expect(200);
        assert_eq!(health.body["adapters"]["video"]["kind"], "disabled");
        assert_eq!(health.body["adapters"]["video"]["configured"], false);

        let first = app
            .post(
                &format!("/communication/call/{id}/request"),
                Some(&donor_token),
                json!({"mode": "AUDIO", "message": "call me"}),
            )
            .await
            .expect(201)
            .id();
        let second = app
            .request_call(id, Some(&donor_token), "VIDEO")
            .await
            .expect(201)
            .id();
        // 403 comes before 503.
        app.call_post(id, "accept-request", &agent_token)
            .await
            .expect_problem(403);
        let before = app.settled_event_head().await;
        let refused = app
            .call_post(id, "accept-request", &app.admin_token)
            .await
            .expect_problem(503);
        assert!(
            refused
                .get("detail")
                .as_str()
                .unwrap_or("")
                .contains("not configured"),
            "{}",
            refused.text
        );
        app.call_post(id, "", &app.admin_token)
            .await
            .expect_problem(503);
        app.expect_head(before, "an unconfigured accept").await;
        // Requests can still be rejected and withdrawn.
        app.post(
            &format!("/communication/call/{id}/reject-request/{first}"),
            Some(&app.admin_token),
            json!({"reason": "no video here"}),
        )
        .await
        .expect(200);
        let cancelled = app
            .call_post(id, &format!("cancel-request/{second}"), &donor_token)
            .await
            .expect(200);
        assert_eq!(cancelled.get("status"), "CANCELLED");
        let sessions = app.call_sessions(id, &donor_token).await;
        assert!(sessions.data().is_empty());
    }
);
