//! The local, extractive summary: score every sentence of the conversation, keep the best
//! within a length budget, and give them back in conversation order.
//!
//! A sentence scores for the words it shares with the rest of the conversation (term
//! frequency), for being the donor's opening statement, for problem words from the donor
//! ("wrong", "charged", "refund", ...) and for resolution words from staff ("refunded",
//! "fixed", ...). Greetings and one-word replies score below everything else.

use crate::cards::mask_cards;
use crate::entities::extract_entities;
use crate::sentences::{contains_phrase, shorten, split_sentences, words};
use concierge_domain::analysis::{EntityKind, Speaker, SummaryDraft, Transcript};
use std::collections::HashMap;

/// At most this many sentences are kept.
const MAX_SENTENCES: usize = 5;
/// The kept sentences together stay under this many characters.
const MAX_CHARS: usize = 700;
/// A key point is cut to this many characters.
const KEY_POINT_CHARS: usize = 160;

const PROBLEM_WORDS: [&str; 21] = [
    "wrong",
    "can't",
    "cannot",
    "error",
    "charged",
    "overcharged",
    "refund",
    "not working",
    "doesn't work",
    "didn't work",
    "broken",
    "incorrect",
    "failed",
    "missing",
    "twice",
    "double",
    "problem",
    "issue",
    "instead of",
    "mistake",
    "never received",
];
const RESOLUTION_WORDS: [&str; 12] = [
    "fixed",
    "refunded",
    "resolved",
    "done",
    "updated",
    "corrected",
    "reissued",
    "issued",
    "processed",
    "cancelled",
    "sorted",
    "credited",
];
const SMALL_TALK: [&str; 22] = [
    "hi",
    "hello",
    "hey",
    "thanks",
    "thank",
    "you",
    "ok",
    "okay",
    "great",
    "bye",
    "good",
    "morning",
    "afternoon",
    "evening",
    "so",
    "much",
    "cheers",
    "sure",
    "yes",
    "no",
    "please",
    "there",
];
/// Entity kinds that make a sentence more worth keeping.
const FACT_KINDS: [EntityKind; 3] = [EntityKind::Amount, EntityKind::Date, EntityKind::Reference];
const STOPWORDS: [&str; 48] = [
    "the", "a", "an", "and", "or", "but", "is", "are", "was", "were", "be", "been", "to", "of",
    "in", "on", "for", "with", "at", "by", "it", "this", "that", "i", "you", "we", "my", "your",
    "our", "me", "us", "can", "could", "will", "would", "have", "has", "had", "do", "did", "not",
    "so", "if", "as", "from", "just", "please", "there",
];

/// One sentence with what the scorer needs.
struct Candidate {
    line: usize,
    order: usize,
    speaker: Speaker,
    text: String,
    score: f32,
}

/// Summarises a transcript without any network. `analyzer` is `local`, `model` is `None`.
pub fn summarize_transcript(transcript: &Transcript) -> SummaryDraft {
    let candidates = score_sentences(transcript);
    let kept = pick(candidates);
    let content = render(&kept);
    let key_points = kept
        .iter()
        .map(|c| {
            shorten(
                &format!("{}: {}", label(c.speaker), c.text),
                KEY_POINT_CHARS,
            )
        })
        .collect();
    SummaryDraft {
        content: if content.is_empty() {
            format!("{} (no messages yet)", transcript.title.trim())
        } else {
            content
        },
        key_points,
        entities: extract_entities(transcript.lines.iter().map(|l| l.text.as_str())),
        next_steps: next_steps(transcript).map(|s| mask_cards(&s)),
        analyzer: "local".to_string(),
        model: None,
        fallback_from: None,
    }
}

/// The label a speaker gets in summaries and prompts.
pub(crate) fn label(speaker: Speaker) -> &'static str {
    match speaker {
        Speaker::Donor => "Donor",
        Speaker::Staff => "Staff",
        Speaker::System => "System",
    }
}

fn is_content_word(word: &str) -> bool {
    (word.len() >= 3 || word.chars().all(|c| c.is_ascii_digit())) && !STOPWORDS.contains(&word)
}

fn has_any(words: &[String], list: &[&str]) -> bool {
    list.iter().any(|phrase| contains_phrase(words, phrase))
}

fn score_sentences(transcript: &Transcript) -> Vec<Candidate> {
    let mut frequency: HashMap<String, f32> = HashMap::new();
    for line in &transcript.lines {
        for word in words(&line.text).into_iter().filter(|w| is_content_word(w)) {
            *frequency.entry(word).or_default() += 1.0;
        }
    }
    let max_frequency = frequency.values().copied().fold(1.0, f32::max);
    let first_donor = transcript
        .lines
        .iter()
        .position(|l| l.speaker == Speaker::Donor);
    let total_lines = transcript.lines.len().max(1);

    let mut candidates = Vec::new();
    for (line_index, line) in transcript.lines.iter().enumerate() {
        for (sentence_index, sentence) in split_sentences(&line.text).into_iter().enumerate() {
            let sentence_words = words(sentence.text);
            let content: Vec<&String> = sentence_words
                .iter()
                .filter(|w| is_content_word(w))
                .collect();
            let mut score = if content.is_empty() {
                0.0
            } else {
                let sum: f32 = content
                    .iter()
                    .map(|w| frequency.get(w.as_str()).copied().unwrap_or(0.0) / max_frequency)
                    .sum();
                sum / (content.len() as f32).sqrt()
            };
            let problem = has_any(&sentence_words, &PROBLEM_WORDS);
            let resolution = has_any(&sentence_words, &RESOLUTION_WORDS);
            match line.speaker {
                Speaker::Donor => {
                    if Some(line_index) == first_donor {
                        score += if sentence_index == 0 { 1.0 } else { 0.6 };
                    }
                    if problem {
                        score += 1.5;
                    }
                }
                Speaker::Staff => {
                    if resolution {
                        score += 1.5;
                        if line_index * 3 >= total_lines * 2 {
                            score += 0.5;
                        }
                    }
                    if sentence.text.ends_with('?') {
                        score -= 0.3;
                    }
                }
                Speaker::System => score -= 0.5,
            }
            // Amounts, dates and references are facts worth keeping; contact details are not
            // what the conversation was about.
            let entities = extract_entities([sentence.text]);
            if entities.iter().any(|e| FACT_KINDS.contains(&e.kind)) {
                score += 0.3;
            }
            if entities.iter().any(|e| !FACT_KINDS.contains(&e.kind)) {
                score -= 0.6;
            }
            if sentence_words.len() < 4 {
                score -= 1.0;
            }
            if sentence_words
                .iter()
                .all(|w| SMALL_TALK.contains(&w.as_str()))
            {
                score -= 2.0;
            }
            candidates.push(Candidate {
                line: line_index,
                order: sentence_index,
                speaker: line.speaker,
                // A summary is stored and shown: card numbers never go in whole.
                text: mask_cards(sentence.text),
                score,
            });
        }
    }
    candidates
}

fn pick(mut candidates: Vec<Candidate>) -> Vec<Candidate> {
    candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<Candidate> = Vec::new();
    let mut used = 0;
    for candidate in candidates {
        if kept.len() == MAX_SENTENCES {
            break;
        }
        let len = candidate.text.chars().count() + 8;
        if candidate.score <= 0.0 || used + len > MAX_CHARS {
            continue;
        }
        used += len;
        kept.push(candidate);
    }
    kept.sort_by_key(|c| (c.line, c.order));
    kept
}

/// "Donor: first. second. Staff: third." — a speaker's label when the speaker changes.
fn render(kept: &[Candidate]) -> String {
    let mut out = String::new();
    let mut last: Option<Speaker> = None;
    for candidate in kept {
        if !out.is_empty() {
            out.push(' ');
        }
        if last != Some(candidate.speaker) {
            out.push_str(label(candidate.speaker));
            out.push_str(": ");
            last = Some(candidate.speaker);
        }
        out.push_str(&candidate.text);
    }
    out
}

/// Where the ticket stands: resolved (a staff resolution the donor did not dispute), waiting
/// on staff (the donor spoke last), or waiting on the donor (staff asked a question).
fn next_steps(transcript: &Transcript) -> Option<String> {
    let spoken: Vec<_> = transcript
        .lines
        .iter()
        .filter(|l| l.speaker != Speaker::System)
        .collect();
    let last = spoken.last()?;
    let resolution = spoken
        .iter()
        .rposition(|l| l.speaker == Speaker::Staff && has_any(&words(&l.text), &RESOLUTION_WORDS));
    if let Some((resolved, after)) = resolution.and_then(|at| spoken.get(at..)?.split_first()) {
        let disputed = after
            .iter()
            .any(|l| l.speaker == Speaker::Donor && has_any(&words(&l.text), &PROBLEM_WORDS));
        if !disputed {
            let sentence = split_sentences(&resolved.text)
                .into_iter()
                .find(|s| has_any(&words(s.text), &RESOLUTION_WORDS))
                .map_or(resolved.text.as_str(), |s| s.text);
            return Some(format!(
                "Resolved: {} Close the ticket unless the donor reports anything else.",
                shorten(sentence, KEY_POINT_CHARS)
            ));
        }
    }
    let last_sentence = split_sentences(&last.text)
        .last()
        .map_or(last.text.clone(), |s| s.text.to_string());
    Some(match last.speaker {
        Speaker::Donor => format!(
            "Waiting on staff: reply to the donor's last message (\"{}\").",
            shorten(&last_sentence, KEY_POINT_CHARS)
        ),
        _ if last.text.contains('?') => {
            let question = split_sentences(&last.text)
                .into_iter()
                .rfind(|s| s.text.ends_with('?'))
                .map_or(last_sentence.clone(), |s| s.text.to_string());
            format!(
                "Waiting on the donor to answer: {}",
                shorten(&question, KEY_POINT_CHARS)
            )
        }
        _ => format!(
            "Follow up on the last staff message: {}",
            shorten(&last_sentence, KEY_POINT_CHARS)
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use concierge_domain::analysis::TranscriptLine;
    use concierge_domain::{MessageId, TicketId};

    fn transcript(lines: &[(Speaker, &str)]) -> Transcript {
        Transcript {
            ticket_id: TicketId(1),
            title: "Receipt".into(),
            lines: lines
                .iter()
                .enumerate()
                .map(|(i, (speaker, text))| TranscriptLine {
                    message_id: MessageId(i as i64 + 1),
                    speaker: *speaker,
                    text: text.to_string(),
                    at: Utc::now(),
                })
                .collect(),
        }
    }

    #[test]
    fn keeps_problem_and_resolution_in_conversation_order() {
        let t = transcript(&[
            (
                Speaker::Donor,
                "Hi there. I was charged twice for my donation of $25.",
            ),
            (Speaker::Staff, "Hello! Sorry to hear that."),
            (Speaker::Staff, "Which card did you use?"),
            (Speaker::Donor, "The Visa ending 1111."),
            (Speaker::Staff, "I've refunded the second charge of $25."),
            (Speaker::Donor, "Thanks!"),
        ]);
        let draft = summarize_transcript(&t);
        let problem = draft
            .content
            .find("I was charged twice")
            .expect("problem kept");
        let fix = draft
            .content
            .find("I've refunded")
            .expect("resolution kept");
        assert!(problem < fix);
        assert!(!draft.content.contains("Thanks!"));
        assert!(draft
            .next_steps
            .as_deref()
            .is_some_and(|s| s.starts_with("Resolved:")));
        assert_eq!(draft.analyzer, "local");
    }

    #[test]
    fn next_steps_waits_on_staff_when_the_donor_spoke_last() {
        let t = transcript(&[
            (Speaker::Donor, "My receipt shows the wrong amount."),
            (Speaker::Staff, "Could you send the receipt number?"),
            (Speaker::Donor, "It is receipt 998877."),
        ]);
        let steps = summarize_transcript(&t).next_steps.unwrap_or_default();
        assert!(steps.starts_with("Waiting on staff"), "{steps}");
    }

    #[test]
    fn next_steps_waits_on_the_donor_after_a_question() {
        let t = transcript(&[
            (Speaker::Donor, "My receipt shows the wrong amount."),
            (Speaker::Staff, "Could you send the receipt number?"),
        ]);
        let steps = summarize_transcript(&t).next_steps.unwrap_or_default();
        assert!(steps.contains("receipt number?"), "{steps}");
    }

    #[test]
    fn card_numbers_never_reach_the_summary() {
        let t = transcript(&[
            (
                Speaker::Donor,
                "I was charged twice on card 4111 1111 1111 1111, please refund.",
            ),
            (Speaker::Staff, "Which card 4111 1111 1111 1111 exactly?"),
        ]);
        let draft = summarize_transcript(&t);
        let all = format!(
            "{} {:?} {:?}",
            draft.content, draft.key_points, draft.next_steps
        );
        assert!(all.contains("**** **** **** 1111"), "{all}");
        assert!(!all.contains("4111 1111"), "{all}");
    }

    #[test]
    fn an_empty_conversation_still_has_content() {
        let draft = summarize_transcript(&transcript(&[]));
        assert!(draft.content.contains("Receipt"));
        assert!(draft.key_points.is_empty());
        assert_eq!(draft.next_steps, None);
    }
}
