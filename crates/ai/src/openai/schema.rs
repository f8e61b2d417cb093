//! The JSON schemas sent as `response_format` (strict structured outputs) and the strict
//! types the model's reply must deserialize into before anything is used: unknown fields,
//! unknown enum values, wrong types, empty or overlong strings and an out-of-range sentiment
//! are all rejected.

use crate::cards::mask_card;
use concierge_domain::analysis::{Entity, EntityKind, Flag, FlagKind};
use serde::Deserialize;
use serde_json::{json, Value};

/// The schema name for summaries.
pub(crate) const SUMMARY_SCHEMA_NAME: &str = "conversation_summary";
/// The schema name for reviews.
pub(crate) const REVIEW_SCHEMA_NAME: &str = "message_review";

const MAX_CONTENT: usize = 4000;
const MAX_POINTS: usize = 12;
const MAX_POINT: usize = 500;
const MAX_ENTITIES: usize = 100;
const MAX_VALUE: usize = 300;
const MAX_FLAGS: usize = 30;

/// `response_format` for a summary.
pub(crate) fn summary_format() -> Value {
    response_format(
        SUMMARY_SCHEMA_NAME,
        json!({
            "type": "object",
            "properties": {
                "content": { "type": "string", "description": "The summary, 2 to 5 sentences." },
                "key_points": { "type": "array", "items": { "type": "string" } },
                "entities": tagged_list(
                    &["PHONE", "EMAIL", "URL", "AMOUNT", "DATE", "REFERENCE"],
                    "value"
                ),
                "next_steps": { "type": ["string", "null"] }
            },
            "required": ["content", "key_points", "entities", "next_steps"],
            "additionalProperties": false
        }),
    )
}

/// `response_format` for a review.
pub(crate) fn review_format() -> Value {
    response_format(
        REVIEW_SCHEMA_NAME,
        json!({
            "type": "object",
            "properties": {
                "flags": tagged_list(
                    &["PII_CARD", "PII_EMAIL", "PII_PHONE", "ABUSIVE", "NEGATIVE_SENTIMENT"],
                    "evidence"
                ),
                "sentiment": { "type": "number", "description": "From -1 (very negative) to 1 (very positive)." }
            },
            "required": ["flags", "sentiment"],
            "additionalProperties": false
        }),
    )
}

/// An array of `{kind, <text>}` objects, `kind` one of `kinds` and `<text>` a string.
fn tagged_list(kinds: &[&str], text: &str) -> Value {
    json!({
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "kind": { "type": "string", "enum": kinds },
                text: { "type": "string" }
            },
            "required": ["kind", text],
            "additionalProperties": false
        }
    })
}

fn response_format(name: &str, schema: Value) -> Value {
    json!({
        "type": "json_schema",
        "json_schema": { "name": name, "strict": true, "schema": schema }
    })
}

/// A summary as the model must return it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SummaryReply {
    pub content: String,
    pub key_points: Vec<String>,
    pub entities: Vec<EntityReply>,
    /// Required, though it may be null: a missing field is an error.
    #[serde(deserialize_with = "Option::deserialize")]
    pub next_steps: Option<String>,
}

/// An entity as the model must return it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EntityReply {
    pub kind: EntityKindReply,
    pub value: String,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum EntityKindReply {
    Phone,
    Email,
    Url,
    Amount,
    Date,
    Reference,
}

/// A review as the model must return it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReviewReply {
    pub flags: Vec<FlagReply>,
    pub sentiment: f64,
}

/// A flag as the model must return it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FlagReply {
    pub kind: FlagKindReply,
    pub evidence: String,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum FlagKindReply {
    PiiCard,
    PiiEmail,
    PiiPhone,
    Abusive,
    NegativeSentiment,
}

/// A summary that passed the checks, in domain types.
pub(crate) struct CheckedSummary {
    pub content: String,
    pub key_points: Vec<String>,
    pub entities: Vec<Entity>,
    pub next_steps: Option<String>,
}

/// A review that passed the checks, in domain types.
pub(crate) struct CheckedReview {
    pub flags: Vec<Flag>,
    pub sentiment: f32,
}

fn check_text(field: &str, text: &str, max: usize, allow_empty: bool) -> Result<String, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() && !allow_empty {
        return Err(format!("{field} is empty"));
    }
    if trimmed.chars().count() > max {
        return Err(format!("{field} is longer than {max} characters"));
    }
    Ok(trimmed.to_string())
}

fn check_count(field: &str, count: usize, max: usize) -> Result<(), String> {
    if count > max {
        return Err(format!("{field} has more than {max} items"));
    }
    Ok(())
}

/// Parses and checks a summary reply.
pub(crate) fn parse_summary(content: &str) -> Result<CheckedSummary, String> {
    let reply: SummaryReply = serde_json::from_str(content).map_err(|e| e.to_string())?;
    check_count("key_points", reply.key_points.len(), MAX_POINTS)?;
    check_count("entities", reply.entities.len(), MAX_ENTITIES)?;
    let key_points = reply
        .key_points
        .iter()
        .map(|p| check_text("key_points[]", p, MAX_POINT, false))
        .collect::<Result<Vec<_>, _>>()?;
    let mut entities: Vec<Entity> = Vec::new();
    for entity in &reply.entities {
        let value = check_text("entities[].value", &entity.value, MAX_VALUE, false)?;
        let entity = Entity {
            kind: entity_kind(entity.kind),
            value,
        };
        if !entities.contains(&entity) {
            entities.push(entity);
        }
    }
    let next_steps = match &reply.next_steps {
        Some(steps) => {
            Some(check_text("next_steps", steps, MAX_CONTENT, true)?).filter(|s| !s.is_empty())
        }
        None => None,
    };
    Ok(CheckedSummary {
        content: check_text("content", &reply.content, MAX_CONTENT, false)?,
        key_points,
        entities,
        next_steps,
    })
}

/// Parses and checks a review reply. A card flag's evidence is masked again whatever the
/// model wrote.
pub(crate) fn parse_review(content: &str) -> Result<CheckedReview, String> {
    let reply: ReviewReply = serde_json::from_str(content).map_err(|e| e.to_string())?;
    if !reply.sentiment.is_finite() || !(-1.0..=1.0).contains(&reply.sentiment) {
        return Err(format!("sentiment {} is outside [-1, 1]", reply.sentiment));
    }
    check_count("flags", reply.flags.len(), MAX_FLAGS)?;
    let flags = reply
        .flags
        .iter()
        .map(|flag| {
            let evidence = check_text("flags[].evidence", &flag.evidence, MAX_VALUE, false)?;
            let kind = flag_kind(flag.kind);
            Ok(Flag {
                kind,
                evidence: if kind == FlagKind::PiiCard {
                    mask_card(&evidence)
                } else {
                    evidence
                },
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(CheckedReview {
        flags,
        // In range, checked above.
        sentiment: reply.sentiment as f32,
    })
}

fn entity_kind(kind: EntityKindReply) -> EntityKind {
    match kind {
        EntityKindReply::Phone => EntityKind::Phone,
        EntityKindReply::Email => EntityKind::Email,
        EntityKindReply::Url => EntityKind::Url,
        EntityKindReply::Amount => EntityKind::Amount,
        EntityKindReply::Date => EntityKind::Date,
        EntityKindReply::Reference => EntityKind::Reference,
    }
}

fn flag_kind(kind: FlagKindReply) -> FlagKind {
    match kind {
        FlagKindReply::PiiCard => FlagKind::PiiCard,
        FlagKindReply::PiiEmail => FlagKind::PiiEmail,
        FlagKindReply::PiiPhone => FlagKind::PiiPhone,
        FlagKindReply::Abusive => FlagKind::Abusive,
        FlagKindReply::NegativeSentiment => FlagKind::NegativeSentiment,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemas_are_strict_and_require_every_property() {
        for format in [summary_format(), review_format()] {
            assert_eq!(format["type"], "json_schema");
            assert_eq!(format["json_schema"]["strict"], true);
            let schema = &format["json_schema"]["schema"];
            assert_eq!(schema["additionalProperties"], false);
            let properties: Vec<&String> = schema["properties"]
                .as_object()
                .map(|o| o.keys().collect())
                .unwrap_or_default();
            let required = schema["required"].as_array().cloned().unwrap_or_default();
            assert_eq!(properties.len(), required.len());
        }
    }

    #[test]
    fn a_good_summary_parses() {
        let reply = r#"{"content":"Donor was overcharged; staff refunded.","key_points":["refund"],
            "entities":[{"kind":"AMOUNT","value":"$450.00"},{"kind":"AMOUNT","value":"$450.00"}],"next_steps":null}"#;
        let checked = parse_summary(reply);
        assert!(checked
            .as_ref()
            .is_ok_and(|s| s.entities.len() == 1 && s.next_steps.is_none()));
    }

    #[test]
    fn bad_summaries_are_rejected() {
        for reply in [
            r#"{"content":"x","key_points":[],"entities":[]}"#,
            r#"{"content":"x","key_points":[],"entities":[{"kind":"PERSON","value":"Jo"}],"next_steps":null}"#,
            r#"{"content":42,"key_points":[],"entities":[],"next_steps":null}"#,
            r#"{"content":"x","key_points":[],"entities":[],"next_steps":null,"mood":"ok"}"#,
            r#"{"content":"  ","key_points":[],"entities":[],"next_steps":null}"#,
            "not json",
        ] {
            assert!(parse_summary(reply).is_err(), "{reply}");
        }
    }

    #[test]
    fn reviews_are_checked_and_card_evidence_masked() {
        let ok = parse_review(
            r#"{"flags":[{"kind":"PII_CARD","evidence":"4111 1111 1111 1111"}],"sentiment":-0.2}"#,
        );
        assert!(ok.is_ok_and(|r| r.flags[0].evidence == "**** **** **** 1111"));
        for reply in [
            r#"{"flags":[],"sentiment":1.5}"#,
            r#"{"flags":[{"kind":"RUDE","evidence":"x"}],"sentiment":0}"#,
            r#"{"flags":[],"sentiment":"low"}"#,
            r#"{"flags":[]}"#,
        ] {
            assert!(parse_review(reply).is_err(), "{reply}");
        }
    }
}
