//! The local analyzer on the committed fixture conversation (tests/fixtures/conversation.json):
//! every phone, email and card is found, the order number is not a card, and the summary keeps
//! the sentence stating the problem and the one stating the resolution.

use chrono::{DateTime, Utc};
use concierge_ai::LocalAnalyzer;
use concierge_domain::analysis::{
    EntityKind, FlagKind, Speaker, SummaryDraft, Transcript, TranscriptLine, Verdict,
};
use concierge_domain::ports::ConversationAnalyzer;
use concierge_domain::{MessageId, TicketId};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Fixture {
    ticket_id: i64,
    title: String,
    messages: Vec<FixtureMessage>,
    expect: Expect,
}

#[derive(Deserialize)]
struct FixtureMessage {
    id: i64,
    speaker: String,
    at: DateTime<Utc>,
    text: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Expect {
    phones: Vec<String>,
    emails: Vec<String>,
    cards: Vec<String>,
    not_cards: Vec<String>,
    problem: String,
    resolution: String,
}

fn load() -> (Transcript, Expect) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/conversation.json"
    );
    let raw = std::fs::read_to_string(path).expect("fixture is readable");
    let fixture: Fixture = serde_json::from_str(&raw).expect("fixture is valid JSON");
    let lines = fixture
        .messages
        .into_iter()
        .map(|m| TranscriptLine {
            message_id: MessageId(m.id),
            speaker: match m.speaker.as_str() {
                "donor" => Speaker::Donor,
                "staff" => Speaker::Staff,
                "system" => Speaker::System,
                other => panic!("unknown speaker {other}"),
            },
            text: m.text,
            at: m.at,
        })
        .collect();
    let transcript = Transcript {
        ticket_id: TicketId(fixture.ticket_id),
        title: fixture.title,
        lines,
    };
    (transcript, fixture.expect)
}

async fn review_all(transcript: &Transcript) -> Vec<Verdict> {
    let analyzer = LocalAnalyzer::new();
    let mut verdicts = Vec::new();
    for line in &transcript.lines {
        let verdict = analyzer
            .review(line.clone(), transcript.clone())
            .await
            .expect("local review never fails");
        verdicts.push(verdict);
    }
    verdicts
}

fn evidence(verdicts: &[Verdict], kind: FlagKind) -> Vec<String> {
    verdicts
        .iter()
        .flat_map(|v| v.flags.iter())
        .filter(|f| f.kind == kind)
        .map(|f| f.evidence.clone())
        .collect()
}

#[tokio::test]
async fn review_finds_every_phone_email_and_card_of_the_fixture() {
    let (transcript, expect) = load();
    let verdicts = review_all(&transcript).await;
    assert_eq!(evidence(&verdicts, FlagKind::PiiPhone), expect.phones);
    assert_eq!(evidence(&verdicts, FlagKind::PiiEmail), expect.emails);
    assert_eq!(evidence(&verdicts, FlagKind::PiiCard), expect.cards);
}

#[tokio::test]
async fn the_order_number_failing_luhn_is_not_a_card_nor_a_phone() {
    let (transcript, expect) = load();
    let verdicts = review_all(&transcript).await;
    for not_card in &expect.not_cards {
        let last_four = &not_card[not_card.len() - 4..];
        for flag in verdicts.iter().flat_map(|v| v.flags.iter()) {
            assert!(
                !flag.evidence.ends_with(last_four),
                "{not_card} was flagged as {flag:?}"
            );
        }
    }
}

/// The local analyzer's summary of the fixture, and what the fixture expects.
async fn local_summary() -> (SummaryDraft, Expect) {
    let (transcript, expect) = load();
    let draft = LocalAnalyzer::new()
        .summarize(transcript)
        .await
        .expect("local summary never fails");
    (draft, expect)
}

#[tokio::test]
async fn summary_keeps_the_problem_and_the_resolution() {
    let (draft, expect) = local_summary().await;
    assert!(
        draft.content.contains(&expect.problem),
        "problem missing from {:?}",
        draft.content
    );
    assert!(
        draft.content.contains(&expect.resolution),
        "resolution missing from {:?}",
        draft.content
    );
    let problem_at = draft.content.find(&expect.problem);
    let resolution_at = draft.content.find(&expect.resolution);
    assert!(problem_at < resolution_at, "kept in conversation order");
    assert!(draft.key_points.len() >= 2);
    assert!(draft
        .next_steps
        .as_deref()
        .is_some_and(|s| s.starts_with("Resolved:")));
    assert_eq!(draft.analyzer, "local");
    assert_eq!(draft.model, None);
}

#[tokio::test]
async fn summary_entities_cover_the_facts_of_the_fixture() {
    let (draft, expect) = local_summary().await;
    let of = |kind: EntityKind| -> Vec<String> {
        draft
            .entities
            .iter()
            .filter(|e| e.kind == kind)
            .map(|e| e.value.clone())
            .collect()
    };
    assert_eq!(of(EntityKind::Phone), expect.phones);
    assert_eq!(of(EntityKind::Email), expect.emails);
    assert_eq!(
        of(EntityKind::Url),
        vec!["https://donate.example.org/receipts/998877"]
    );
    assert_eq!(of(EntityKind::Amount), vec!["$500.00", "$50.00", "$450.00"]);
    assert_eq!(of(EntityKind::Date), vec!["2026-11-21", "Nov 21"]);
    assert_eq!(
        of(EntityKind::Reference),
        vec!["receipt 998877", "order 4532 0151 1283 0367"]
    );
}
