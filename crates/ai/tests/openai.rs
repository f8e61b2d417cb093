//! The OpenAI-compatible analyzer against a local mock server: the exact request (model,
//! speaker-marked messages, strict response_format, auth header), reply validation, retries,
//! the token budget, redaction, and falling back on the local analyzer.

use chrono::Utc;
use concierge_ai::{
    analyzer_from_config, FallbackAnalyzer, LocalAnalyzer, OpenAiAnalyzer, OpenAiConfig,
};
use concierge_domain::analysis::{EntityKind, FlagKind, Speaker, Transcript, TranscriptLine};
use concierge_domain::ports::ConversationAnalyzer;
use concierge_domain::{DomainError, MessageId, TicketId};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const ENDPOINT: &str = "/v1/chat/completions";

fn config(server: &MockServer, key: Option<&str>) -> OpenAiConfig {
    OpenAiConfig {
        api_key: key.map(str::to_string),
        base_url: format!("{}/v1", server.uri()),
        model: "test-model".into(),
        timeout: Duration::from_secs(5),
        max_attempts: 3,
        max_retry_wait: Duration::from_secs(3),
        token_budget: 6000,
    }
}

fn analyzer(server: &MockServer) -> OpenAiAnalyzer {
    OpenAiAnalyzer::new(config(server, Some("test-key"))).expect("client builds")
}

fn line(id: i64, speaker: Speaker, text: &str) -> TranscriptLine {
    TranscriptLine {
        message_id: MessageId(id),
        speaker,
        text: text.to_string(),
        at: Utc::now(),
    }
}

fn transcript() -> Transcript {
    Transcript {
        ticket_id: TicketId(7),
        title: "Wrong receipt".into(),
        lines: vec![
            line(1, Speaker::Donor, "My receipt shows $500 but I gave $50."),
            line(2, Speaker::Staff, "Sorry! Which receipt number?"),
            line(3, Speaker::System, "Ticket transferred to Finance."),
            line(4, Speaker::Staff, "I've refunded the extra $450."),
        ],
    }
}

/// A chat completion whose message content is `content` serialized.
fn completion(content: &Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "test-model-2026-01-01",
        "choices": [{
            "index": 0,
            "message": { "role": "assistant", "content": content.to_string(), "refusal": null },
            "finish_reason": "stop"
        }],
        "usage": { "prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20 }
    }))
}

fn good_summary() -> Value {
    json!({
        "content": "The donor's receipt showed $500 instead of $50; staff refunded $450.",
        "key_points": ["Receipt amount wrong", "Refund of $450 issued"],
        "entities": [{ "kind": "AMOUNT", "value": "$450" }],
        "next_steps": "Send a corrected receipt."
    })
}

/// A fake Chat Completions server answering every request with `response`.
async fn answering(response: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(ENDPOINT))
        .respond_with(response)
        .mount(&server)
        .await;
    server
}

async fn sent_bodies(server: &MockServer) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .map(|r: &Request| r.body_json::<Value>().expect("request body is JSON"))
        .collect()
}

fn user_content(body: &Value) -> String {
    body["messages"][1]["content"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn summary_request_names_the_model_marks_speakers_and_asks_for_a_strict_schema() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(ENDPOINT))
        .and(header("authorization", "Bearer test-key"))
        .and(header("content-type", "application/json"))
        .respond_with(completion(&good_summary()))
        .expect(1)
        .mount(&server)
        .await;

    let draft = analyzer(&server)
        .summarize(transcript())
        .await
        .expect("summary");

    assert_eq!(draft.analyzer, "openai");
    assert_eq!(draft.model.as_deref(), Some("test-model-2026-01-01"));
    assert_eq!(draft.key_points.len(), 2);
    assert_eq!(draft.entities[0].kind, EntityKind::Amount);
    assert_eq!(
        draft.next_steps.as_deref(),
        Some("Send a corrected receipt.")
    );
    assert_eq!(draft.fallback_from, None);

    let body = &sent_bodies(&server).await[0];
    assert_eq!(body["model"], "test-model");
    assert_eq!(body["messages"][0]["role"], "system");
    assert_eq!(body["messages"][1]["role"], "user");
    let user = user_content(body);
    assert!(
        user.contains("Donor: My receipt shows $500 but I gave $50."),
        "{user}"
    );
    assert!(
        user.contains("Staff: Sorry! Which receipt number?"),
        "{user}"
    );
    assert!(
        user.contains("System: Ticket transferred to Finance."),
        "{user}"
    );
    let format = &body["response_format"];
    assert_eq!(format["type"], "json_schema");
    assert_eq!(format["json_schema"]["strict"], true);
    assert_eq!(format["json_schema"]["name"], "conversation_summary");
    assert_eq!(
        format["json_schema"]["schema"]["additionalProperties"],
        false
    );
    assert_eq!(
        format["json_schema"]["schema"]["required"],
        json!(["content", "key_points", "entities", "next_steps"])
    );
}

#[tokio::test]
async fn without_a_key_no_authorization_header_is_sent() {
    let server = answering(completion(&good_summary())).await;
    let keyless = OpenAiAnalyzer::new(config(&server, None)).expect("client builds");
    keyless.summarize(transcript()).await.expect("summary");
    let requests = server.received_requests().await.unwrap_or_default();
    assert_eq!(requests.len(), 1);
    assert!(requests[0].headers.get("authorization").is_none());
}

#[tokio::test]
async fn a_good_review_reply_becomes_a_verdict() {
    let server = answering(completion(&json!({
        "flags": [
            { "kind": "PII_CARD", "evidence": "4111 1111 1111 1111" },
            { "kind": "NEGATIVE_SENTIMENT", "evidence": "this is a joke" }
        ],
        "sentiment": -0.6
    })))
    .await;
    let message = line(
        9,
        Speaker::Donor,
        "My card 4111 1111 1111 1111, this is a joke",
    );
    let verdict = analyzer(&server)
        .review(message, transcript())
        .await
        .expect("verdict");
    assert_eq!(verdict.analyzer, "openai");
    assert_eq!(verdict.flags[0].kind, FlagKind::PiiCard);
    assert_eq!(verdict.flags[0].evidence, "**** **** **** 1111");
    assert!((verdict.sentiment + 0.6).abs() < 1e-6);

    let body = &sent_bodies(&server).await[0];
    assert_eq!(
        body["response_format"]["json_schema"]["name"],
        "message_review"
    );
    assert_eq!(body["response_format"]["json_schema"]["strict"], true);
    let user = user_content(body);
    assert!(
        user.contains("Message to review:\nDonor: My card **** **** **** 1111"),
        "{user}"
    );
    assert!(!user.contains("4111 1111"), "{user}");
}

async fn summary_with_reply(content: Value) -> Result<(), DomainError> {
    let server = answering(completion(&content)).await;
    analyzer(&server).summarize(transcript()).await.map(|_| ())
}

#[tokio::test]
async fn replies_that_do_not_match_the_schema_are_rejected() {
    let mut missing_field = good_summary();
    missing_field
        .as_object_mut()
        .map(|o| o.remove("next_steps"));
    let mut wrong_enum = good_summary();
    wrong_enum["entities"][0]["kind"] = json!("PERSON");
    let mut wrong_type = good_summary();
    wrong_type["key_points"] = json!("one long string");
    let mut unknown_field = good_summary();
    unknown_field["confidence"] = json!(0.9);

    for (case, reply) in [
        ("missing field", missing_field),
        ("wrong enum", wrong_enum),
        ("wrong type", wrong_type),
        ("unknown field", unknown_field),
    ] {
        match summary_with_reply(reply).await {
            Err(DomainError::Unavailable(reason)) => {
                assert!(
                    reason.contains("does not match the schema"),
                    "{case}: {reason}"
                )
            }
            other => panic!("{case}: expected a schema error, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_sentiment_out_of_range_is_rejected() {
    let server = answering(completion(&json!({ "flags": [], "sentiment": 3 }))).await;
    let result = analyzer(&server)
        .review(line(1, Speaker::Donor, "hi"), transcript())
        .await;
    assert!(matches!(result, Err(DomainError::Unavailable(r)) if r.contains("sentiment")));
}

#[tokio::test]
async fn an_invalid_reply_falls_back_on_the_local_analyzer_and_says_why() {
    let server = answering(completion(&json!({ "summary": "free text" }))).await;
    let chain = FallbackAnalyzer::new(Arc::new(analyzer(&server)), Arc::new(LocalAnalyzer::new()));
    assert_eq!(chain.name(), "openai>local");

    let draft = chain
        .summarize(transcript())
        .await
        .expect("fallback summary");
    assert_eq!(draft.analyzer, "local");
    assert_eq!(draft.model, None);
    let reason = draft.fallback_from.unwrap_or_default();
    assert!(
        reason.starts_with("openai: reply does not match the schema"),
        "{reason}"
    );
    assert!(draft
        .content
        .contains("My receipt shows $500 but I gave $50."));

    let verdict = chain
        .review(
            line(5, Speaker::Donor, "Mail me at jo@example.org"),
            transcript(),
        )
        .await
        .expect("fallback verdict");
    assert_eq!(verdict.analyzer, "local");
    assert_eq!(verdict.flags[0].kind, FlagKind::PiiEmail);
    assert!(verdict
        .fallback_from
        .is_some_and(|r| r.starts_with("openai: ")));
}

#[tokio::test]
async fn an_unreachable_server_falls_back_too() {
    let unreachable = OpenAiConfig {
        base_url: "http://127.0.0.1:1/v1".into(),
        max_attempts: 1,
        ..OpenAiConfig::default()
    };
    let chain = analyzer_from_config(Some(unreachable));
    let draft = chain
        .summarize(transcript())
        .await
        .expect("fallback summary");
    assert_eq!(draft.analyzer, "local");
    assert!(draft
        .fallback_from
        .is_some_and(|r| r.starts_with("openai: request failed")));
}

#[tokio::test]
async fn analyzer_from_config_uses_the_remote_model_when_it_answers() {
    let server = answering(completion(&good_summary())).await;
    let chain = analyzer_from_config(Some(config(&server, Some("k"))));
    assert_eq!(chain.name(), "openai>local");
    let draft = chain.summarize(transcript()).await.expect("summary");
    assert_eq!(draft.analyzer, "openai");
    assert_eq!(draft.fallback_from, None);
}

#[tokio::test]
async fn a_429_with_retry_after_is_waited_out_then_the_answer_is_used() {
    // The catch-all answer (priority 5) comes after one 429 (priority 1).
    let server = answering(completion(&good_summary())).await;
    Mock::given(method("POST"))
        .and(path(ENDPOINT))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "1")
                .set_body_json(json!({ "error": { "message": "Rate limit reached" } })),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;

    let started = Instant::now();
    let draft = analyzer(&server)
        .summarize(transcript())
        .await
        .expect("summary after the retry");
    assert_eq!(draft.analyzer, "openai");
    assert!(started.elapsed() >= Duration::from_millis(950));
    assert_eq!(sent_bodies(&server).await.len(), 2);
}

#[tokio::test]
async fn server_errors_are_tried_at_most_max_attempts_times() {
    let server = answering(
        ResponseTemplate::new(503)
            .insert_header("x-ratelimit-reset-requests", "10ms")
            .set_body_string("overloaded"),
    )
    .await;
    let result = analyzer(&server).summarize(transcript()).await;
    match result {
        Err(DomainError::Unavailable(reason)) => assert_eq!(reason, "HTTP 503: overloaded"),
        other => panic!("expected unavailable, got {other:?}"),
    }
    assert_eq!(sent_bodies(&server).await.len(), 3);
}

#[tokio::test]
async fn a_wait_longer_than_allowed_is_not_waited_for() {
    let server = answering(ResponseTemplate::new(429).insert_header("retry-after", "120")).await;
    let started = Instant::now();
    let result = analyzer(&server).summarize(transcript()).await;
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(matches!(result, Err(DomainError::Unavailable(r)) if r.contains("429")));
    assert_eq!(sent_bodies(&server).await.len(), 1);
}

#[tokio::test]
async fn a_client_error_is_not_retried() {
    let server = answering(ResponseTemplate::new(401).set_body_json(json!({
        "error": { "message": "Incorrect API key provided: sk-live-abcdefghijklmnopqrstuvwxyz" }
    })))
    .await;
    let result = analyzer(&server).summarize(transcript()).await;
    match result {
        Err(DomainError::Unavailable(reason)) => {
            assert_eq!(reason, "HTTP 401: Incorrect API key provided: [redacted]")
        }
        other => panic!("expected unavailable, got {other:?}"),
    }
    assert_eq!(sent_bodies(&server).await.len(), 1);
}

#[tokio::test]
async fn a_long_conversation_is_cut_to_the_budget_keeping_the_first_and_newest_messages() {
    let server = answering(completion(&good_summary())).await;
    let mut long = transcript();
    long.lines = (0..300)
        .map(|i| {
            let speaker = if i % 2 == 0 {
                Speaker::Donor
            } else {
                Speaker::Staff
            };
            line(
                i,
                speaker,
                &format!("message {i}: {}", "more detail ".repeat(10)),
            )
        })
        .collect();
    let small = OpenAiConfig {
        token_budget: 800,
        ..config(&server, Some("k"))
    };
    OpenAiAnalyzer::new(small)
        .expect("client builds")
        .summarize(long)
        .await
        .expect("summary");

    let user = user_content(&sent_bodies(&server).await[0]);
    assert!(user.contains("Donor: message 0: "), "first message kept");
    assert!(user.contains("Staff: message 299: "), "newest message kept");
    assert!(!user.contains("message 150: "), "middle cut");
    let marker = user
        .lines()
        .find(|l| l.starts_with("[... "))
        .expect("gap marked");
    assert!(marker.ends_with(" messages omitted ...]"), "{marker}");
    assert!(user.chars().count() / 4 <= 800 + 50, "within budget");
}

#[tokio::test]
async fn secrets_are_redacted_from_the_sent_body() {
    let server = answering(completion(&good_summary())).await;
    let jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0MiIsInJvbGUiOiJhZG1pbiJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ";
    let key = "sk-proj-4fGh8JkL0mNpQrStUvWxYz123456";
    let mut leaky = transcript();
    leaky.lines.push(line(
        5,
        Speaker::Staff,
        &format!("Use header Authorization: Bearer {jwt} or the key {key} for the export."),
    ));
    leaky
        .lines
        .push(line(6, Speaker::Donor, &format!("my token is {jwt}")));
    analyzer(&server).summarize(leaky).await.expect("summary");

    let raw = server
        .received_requests()
        .await
        .unwrap_or_default()
        .first()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .unwrap_or_default();
    assert!(!raw.contains("eyJhbGciOi"), "JWT leaked: {raw}");
    assert!(!raw.contains("sk-proj"), "key leaked: {raw}");
    assert!(raw.contains("[redacted]"));
    assert!(raw.contains("for the export."));
}
