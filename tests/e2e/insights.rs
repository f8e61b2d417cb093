//! Summaries and QA reviews end to end: the local analyzer with no API key, background
//! generation (202, `?wait=true`, `summary_ready` on the socket), QA reviews flagging a card
//! number, admin decisions, and the fallback from a broken OpenAI-compatible server.

use super::*;
use concierge_e2e::{Backend, Reply, Ws};
use serde_json::Value;

/// A donor query with 50 messages (the first opens it), alternating donor and staff.
async fn long_ticket(app: &TestApp) -> (i64, String) {
    let (id, donor) = app
        .donor_query(
            "d-ai",
            "Hello, my monthly donation was charged twice this month.",
        )
        .await;
    for i in 1..50 {
        let (token, text) = if i % 2 == 1 {
            (
                app.admin_token.as_str(),
                format!("Thanks for the details, I am checking payment number {i} now."),
            )
        } else {
            (
                donor.as_str(),
                format!("Message {i}: you can reach me at ann{i}@example.org if needed."),
            )
        };
        app.post(
            "/messages",
            Some(token),
            json!({"queryId": id, "content": text}),
        )
        .await
        .expect(201);
    }
    app.say(
        id,
        &app.admin_token,
        "The duplicate charge has been refunded; the refund arrives in 3 days.",
    )
    .await;
    (id, donor)
}

/// An admin socket joined to the ticket.
async fn watch(app: &TestApp, id: i64) -> Ws {
    let mut ws = app.ws_ready(&app.admin_token).await;
    ws.join(id, None).await;
    ws
}

/// Reads events until one of `kind` arrives.
/// Asks for a summary of ticket `id` with `token`, waiting for it when `wait`.
async fn generate(app: &TestApp, id: i64, token: Option<&str>, wait: bool) -> Reply {
    let query = if wait { "?wait=true" } else { "" };
    let path = format!("/summaries/generate/{id}{query}");
    app.post(&path, token, json!({})).await
}

async fn next_event(ws: &mut Ws, kind: &str) -> Value {
    loop {
        let frame = ws.next_of("event", 20).await;
        if frame["event"] == kind {
            return frame;
        }
    }
}

e2e!(
    summaries_with_the_local_analyzer_wait_and_background,
    |app: TestApp| async move {
        let (id, donor) = long_ticket(&app).await;
        let mut ws = watch(&app, id).await;
        let (_, agent) = app.staff("agent-ai", "AGENT").await;

        // No summary yet.
        app.get(&format!("/summaries/task/{id}"), Some(&agent))
            .await
            .expect_problem(404);

        // Waiting: 200 with the summary made by the local analyzer.
        let summary = generate(&app, id, Some(&agent), true).await.expect(200);
        assert_eq!(summary.get("analyzer"), "local");
        assert_eq!(summary.get("ticketId"), id);
        assert!(summary.get("fallbackFrom").is_null());
        assert!(!summary.get("content").as_str().unwrap_or("").is_empty());
        assert!(summary.get("keyPoints").is_array());
        let entities = summary
            .get("entities")
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(
            entities.iter().any(|e| e["kind"] == "EMAIL"),
            "emails are entities: {entities:?}"
        );
        let ready = next_event(&mut ws, "summary_ready").await;
        assert_eq!(ready["ticketId"], id);
        assert_eq!(ready["data"]["id"], summary.get("id").clone());

        // In the background: 202, then the event, then GET finds the new one.
        let accepted = generate(&app, id, Some(&agent), false).await.expect(202);
        assert_eq!(accepted.get("status"), "PENDING");
        let ready = next_event(&mut ws, "summary_ready").await;
        let current = app
            .get(&format!("/summaries/task/{id}"), Some(&agent))
            .await
            .expect(200);
        assert_eq!(current.get("id"), &ready["data"]["id"]);
        assert_ne!(current.get("id"), summary.get("id"));

        // The task view carries it.
        let task = app
            .get(&format!("/tasks/{id}"), Some(&agent))
            .await
            .expect(200);
        assert_eq!(task.get("summary")["id"], current.get("id").clone());

        // A hand-written one replaces it.
        let manual = app
            .post(
                "/summaries",
                Some(&agent),
                json!({"taskId": id, "content": "Refunded the double charge.", "keyPoints": ["refund"]}),
            )
            .await
            .expect(201);
        assert_eq!(manual.get("analyzer"), "manual");
        app.post(
            "/summaries",
            Some(&agent),
            json!({"taskId": id, "content": ""}),
        )
        .await
        .expect_problem(422);

        // Donors and strangers may not.
        generate(&app, id, Some(&donor), false)
            .await
            .expect_problem(403);
        app.get(&format!("/summaries/task/{id}"), Some(&donor))
            .await
            .expect_problem(403);
        generate(&app, id, None, false).await.expect_problem(401);
        generate(&app, 999999, Some(&agent), true)
            .await
            .expect_problem(404);

        // Health names the analyzer.
        let health = app
            .get("/health/advanced", Some(&app.admin_token))
            .await
            .expect(200);
        assert_eq!(health.get("adapters")["analyzer"]["kind"], "local");
    }
);

e2e!(
    concurrent_generations_of_one_ticket_share_one_run,
    |app: TestApp| async move {
        let (id, _) = long_ticket(&app).await;
        let path = format!("/summaries/generate/{id}?wait=true");
        let requests = (0..4).map(|_| app.post(&path, Some(&app.admin_token), json!({})));
        let replies = futures_util::future::join_all(requests).await;
        let ids: std::collections::HashSet<i64> =
            replies.into_iter().map(|r| r.expect(200).id()).collect();
        assert!(ids.len() < 4, "joined requests share a summary: {ids:?}");
    }
);

e2e!(
    a_card_number_is_flagged_and_an_admin_decides_once,
    |app: TestApp| async move {
        let (id, donor) = app.donor_query("d-card", "I need help with my gift").await;
        let mut ws = watch(&app, id).await;
        let message = app
            .say(
                id,
                &donor,
                "Please charge my card 4111 1111 1111 1111 instead.",
            )
            .await;
        let (_, agent) = app.staff("agent-qa", "AGENT").await;

        let review = app
            .post("/qa", Some(&agent), json!({"messageId": message}))
            .await
            .expect(201);
        assert_eq!(review.get("status"), "PENDING");
        assert_eq!(review.get("messageId"), message);
        assert_eq!(review.get("ticketId"), id);
        assert_eq!(review.get("analyzer"), "local");
        let flags = review.get("verdict")["flags"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let card = flags
            .iter()
            .find(|f| f["kind"] == "PII_CARD")
            .unwrap_or_else(|| panic!("no PII_CARD in {flags:?}"));
        let evidence = card["evidence"].as_str().unwrap_or("");
        assert!(
            evidence.ends_with("1111") && !evidence.contains("4111"),
            "{evidence}"
        );
        let review_id = review.id();
        let created = next_event(&mut ws, "qa_review_updated").await;
        assert_eq!(created["data"]["status"], "PENDING");

        // Asking again returns the same review.
        let again = app
            .post("/qa", Some(&agent), json!({"messageId": message}))
            .await
            .expect(200);
        assert_eq!(again.id(), review_id);

        // Lists, filtered.
        let pending = app
            .get("/qa?status=PENDING", Some(&agent))
            .await
            .expect(200);
        assert_eq!(pending.data().len(), 1);
        let of_task = app
            .get(&format!("/qa/task/{id}?status=PENDING"), Some(&agent))
            .await
            .expect(200);
        assert_eq!(of_task.data()[0]["id"], review_id);
        app.get("/qa?status=MAYBE", Some(&agent))
            .await
            .expect_problem(422);

        // An agent may not decide; an admin may, once.
        let approve = json!({"status": "APPROVED", "feedback": "Real card number; redact it."});
        app.put(&format!("/qa/{review_id}"), Some(&agent), approve.clone())
            .await
            .expect_problem(403);
        let approved = app
            .put(
                &format!("/qa/{review_id}"),
                Some(&app.admin_token),
                approve.clone(),
            )
            .await
            .expect(200);
        assert_eq!(approved.get("status"), "APPROVED");
        assert!(approved.get("reviewerId").is_i64());
        assert_eq!(approved.get("feedback"), "Real card number; redact it.");
        app.put(&format!("/qa/{review_id}"), Some(&app.admin_token), approve)
            .await
            .expect_problem(409);
        app.put(
            &format!("/qa/{review_id}"),
            Some(&app.admin_token),
            json!({"status": "PENDING"}),
        )
        .await
        .expect_problem(422);
        let decided = next_event(&mut ws, "qa_review_updated").await;
        assert_eq!(decided["data"]["status"], "APPROVED");

        assert!(app
            .get("/qa?status=PENDING", Some(&agent))
            .await
            .expect(200)
            .data()
            .is_empty());
        app.post("/qa", Some(&donor), json!({"messageId": message}))
            .await
            .expect_problem(403);
        app.post("/qa", Some(&agent), json!({"messageId": 999_999}))
            .await
            .expect_problem(404);
        app.post("/qa", Some(&agent), json!({}))
            .await
            .expect_problem(422);
    }
);

/// A remote analyzer whose replies break the schema: the local analyzer stands in and the
/// summary says so.
async fn broken_remote_falls_back(backend: Backend) {
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(header("authorization", "Bearer sk-test"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "model": "gpt-4o-mini",
            "choices": [{
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": "{\"summary\": 42}"}
            }]
        })))
        .mount(&server)
        .await;
    let base = format!("{}/v1", server.uri());
    let Some(app) = TestApp::spawn_with(
        backend,
        &[
            ("OPENAI_API_KEY", "sk-test"),
            ("OPENAI_BASE_URL", base.as_str()),
            ("OPENAI_MAX_ATTEMPTS", "1"),
        ],
    )
    .await
    else {
        eprintln!("skipped: TEST_POSTGRES_URL is not set");
        return;
    };
    let (id, _) = app
        .donor_query("d-remote", "My receipt never arrived, can you resend it?")
        .await;
    app.say(
        id,
        &app.admin_token,
        "I have resent the receipt to your email.",
    )
    .await;
    let summary = generate(&app, id, Some(&app.admin_token), true)
        .await
        .expect(200);
    assert_eq!(summary.get("analyzer"), "local");
    assert!(
        summary
            .get("fallbackFrom")
            .as_str()
            .is_some_and(|f| f.contains("openai")),
        "fallbackFrom names the remote analyzer: {}",
        summary.text
    );
    let stored = app
        .get(&format!("/summaries/task/{id}"), Some(&app.admin_token))
        .await
        .expect(200);
    assert_eq!(stored.get("fallbackFrom"), summary.get("fallbackFrom"));
    let health = app
        .get("/health/advanced", Some(&app.admin_token))
        .await
        .expect(200);
    assert_eq!(health.get("adapters")["analyzer"]["kind"], "openai>local");
    let asked = server.received_requests().await.unwrap_or_default();
    assert!(!asked.is_empty(), "the remote analyzer was asked first");
}

e2e!(
    a_broken_remote_analyzer_falls_back_to_local,
    backend = broken_remote_falls_back
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_summary_is_generated_after_every_n_messages_when_configured() {
    let app = TestApp::spawn_with(
        concierge_e2e::Backend::Sqlite,
        &[
            ("SUMMARY_EVERY_N_MESSAGES", "3"),
            ("EVENT_POLL_INTERVAL", "100ms"),
        ],
    )
    .await
    .expect("app");
    let (id, donor) = app.donor_query("d-auto", "My receipt is wrong").await;
    app.say(id, &donor, "It says 50.").await;
    app.get(&format!("/summaries/task/{id}"), Some(&app.admin_token))
        .await
        .expect_problem(404);
    app.say(id, &donor, "It should be 15.").await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let reply = app
            .get(&format!("/summaries/task/{id}"), Some(&app.admin_token))
            .await;
        if reply.status == 200 {
            assert_eq!(reply.get("analyzer"), "local");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no automatic summary"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_summary_is_generated_automatically_by_default() {
    let app = TestApp::spawn(concierge_e2e::Backend::Sqlite)
        .await
        .expect("app");
    let (id, donor) = app.donor_query("d-manual", "Hello").await;
    for n in 0..5 {
        app.message(&donor, json!({"queryId": id, "content": format!("m{n}")}))
            .await
            .expect(201);
    }
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    app.get(&format!("/summaries/task/{id}"), Some(&app.admin_token))
        .await
        .expect_problem(404);
}
