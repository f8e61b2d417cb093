//! SLA policies: which tickets they cover and the targets they set.

use crate::error::{FieldError, Result};
use crate::ids::{CalendarId, PolicyId};
use crate::ticket::{Channel, Priority};
use crate::validate;
use chrono::{DateTime, Utc};

/// The longest target or warning a policy may set: ten years of seconds.
pub const MAX_SECONDS: i64 = 10 * 365 * 24 * 3600;

/// Which tickets a policy covers; an absent field matches every value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PolicyMatch {
    /// Only tickets of this channel.
    pub channel: Option<Channel>,
    /// Only tickets of this priority.
    pub priority: Option<Priority>,
}

impl PolicyMatch {
    /// Whether a ticket of this channel and priority is covered.
    pub fn covers(&self, channel: Channel, priority: Priority) -> bool {
        self.channel.is_none_or(|c| c == channel) && self.priority.is_none_or(|p| p == priority)
    }

    /// How many fields it names: a ticket takes the covering policy that names the most.
    pub fn specificity(&self) -> u8 {
        u8::from(self.channel.is_some()) + u8::from(self.priority.is_some())
    }
}

/// A policy's targets in counted seconds; an absent target means that clock is not kept.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Targets {
    /// Creation to the first staff answer.
    pub first_response: Option<i64>,
    /// Each donor message after an answer to the next staff answer.
    pub next_response: Option<i64>,
    /// Creation to resolved or closed.
    pub resolution: Option<i64>,
}

/// The settings of a policy, as written and as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyRules {
    /// A name for people.
    pub name: String,
    /// Which tickets it covers.
    pub matches: PolicyMatch,
    /// Its targets.
    pub targets: Targets,
    /// The business-hours calendar its clocks count in; `None`: around the clock.
    pub calendar_id: Option<CalendarId>,
    /// How long before a due time the warning goes out, in counted seconds; 0: no warning.
    pub warn_before: i64,
    /// Whether time in PENDING_REPLY stays out of the resolution clock.
    pub pause_while_pending_reply: bool,
}

/// A stored policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Its id.
    pub id: PolicyId,
    /// Its settings.
    pub rules: PolicyRules,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A policy as a client writes it; absent `warn_before` is 0, absent
/// `pause_while_pending_reply` is true.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PolicyInput {
    /// A name for people.
    pub name: String,
    /// Which tickets it covers.
    pub matches: PolicyMatch,
    /// Its targets.
    pub targets: Targets,
    /// Its calendar, or around the clock.
    pub calendar_id: Option<CalendarId>,
    /// Warning lead time in seconds.
    pub warn_before: Option<i64>,
    /// Pause resolution while PENDING_REPLY.
    pub pause_while_pending_reply: Option<bool>,
}

impl PolicyInput {
    /// Checks every field (whether the calendar exists is checked where the policy is stored).
    pub fn validated(&self) -> Result<PolicyRules> {
        let mut errors = vec![];
        let name = validate::text(&mut errors, "name", &self.name, 1, 200);
        let targets = [
            ("targets.firstResponse", self.targets.first_response),
            ("targets.nextResponse", self.targets.next_response),
            ("targets.resolution", self.targets.resolution),
        ];
        for (field, target) in targets {
            if target.is_some_and(|t| !(1..=MAX_SECONDS).contains(&t)) {
                errors.push(FieldError::new(
                    field,
                    format!("must be between 1 and {MAX_SECONDS} seconds"),
                ));
            }
        }
        if targets.iter().all(|(_, t)| t.is_none()) {
            errors.push(FieldError::new("targets", "must set at least one target"));
        }
        let warn_before = self.warn_before.unwrap_or(0);
        if !(0..=MAX_SECONDS).contains(&warn_before) {
            errors.push(FieldError::new(
                "warnBefore",
                format!("must be between 0 and {MAX_SECONDS} seconds"),
            ));
        }
        validate::finish(
            errors,
            PolicyRules {
                name,
                matches: self.matches,
                targets: self.targets,
                calendar_id: self.calendar_id,
                warn_before,
                pause_while_pending_reply: self.pause_while_pending_reply.unwrap_or(true),
            },
        )
    }
}

/// The policy a ticket of this channel and priority takes: the covering one that names the
/// most fields (channel and priority over one of them over none); between equals, the oldest.
pub fn select(policies: &[Policy], channel: Channel, priority: Priority) -> Option<&Policy> {
    policies
        .iter()
        .filter(|p| p.rules.matches.covers(channel, priority))
        .min_by_key(|p| (std::cmp::Reverse(p.rules.matches.specificity()), p.id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DomainError;

    fn policy(id: i64, channel: Option<Channel>, priority: Option<Priority>) -> Policy {
        Policy {
            id: PolicyId(id),
            rules: PolicyRules {
                name: format!("p{id}"),
                matches: PolicyMatch { channel, priority },
                targets: Targets {
                    resolution: Some(3600),
                    ..Targets::default()
                },
                calendar_id: None,
                warn_before: 0,
                pause_while_pending_reply: true,
            },
            created_at: DateTime::UNIX_EPOCH,
            updated_at: DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn the_most_specific_covering_policy_wins_and_the_oldest_breaks_ties() {
        let policies = vec![
            policy(1, None, None),
            policy(2, Some(Channel::Donor), None),
            policy(3, None, Some(Priority::Urgent)),
            policy(4, Some(Channel::Donor), Some(Priority::Urgent)),
            policy(5, Some(Channel::Internal), None),
        ];
        let pick = |c, p| select(&policies, c, p).map(|p| p.id.0);
        assert_eq!(pick(Channel::Donor, Priority::Urgent), Some(4));
        assert_eq!(pick(Channel::Donor, Priority::Low), Some(2));
        assert_eq!(pick(Channel::Internal, Priority::Urgent), Some(3));
        assert_eq!(pick(Channel::Internal, Priority::Low), Some(5));
        let fallback = vec![policy(7, None, None), policy(6, None, None)];
        assert_eq!(
            select(&fallback, Channel::Donor, Priority::Low).map(|p| p.id.0),
            Some(6)
        );
        let none = vec![policy(8, Some(Channel::Internal), None)];
        assert!(select(&none, Channel::Donor, Priority::Low).is_none());
    }

    #[test]
    fn a_priority_change_re_selects_the_policy() {
        let policies = vec![
            policy(1, Some(Channel::Donor), None),
            policy(2, Some(Channel::Donor), Some(Priority::Urgent)),
        ];
        assert_eq!(
            select(&policies, Channel::Donor, Priority::Medium).map(|p| p.id.0),
            Some(1)
        );
        assert_eq!(
            select(&policies, Channel::Donor, Priority::Urgent).map(|p| p.id.0),
            Some(2)
        );
    }

    #[test]
    fn input_is_checked_field_by_field_with_defaults() {
        let ok = PolicyInput {
            name: " Gold ".into(),
            targets: Targets {
                first_response: Some(60),
                ..Targets::default()
            },
            ..PolicyInput::default()
        }
        .validated()
        .unwrap();
        assert_eq!(ok.name, "Gold");
        assert_eq!(ok.warn_before, 0);
        assert!(ok.pause_while_pending_reply);

        let bad = PolicyInput {
            name: String::new(),
            targets: Targets {
                first_response: Some(0),
                resolution: Some(MAX_SECONDS + 1),
                ..Targets::default()
            },
            warn_before: Some(-1),
            ..PolicyInput::default()
        }
        .validated();
        let Err(DomainError::Invalid(errors)) = bad else {
            panic!("expected a validation error, got {bad:?}");
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "name",
                "targets.firstResponse",
                "targets.resolution",
                "warnBefore"
            ]
        );
        let empty = PolicyInput {
            name: "x".into(),
            ..PolicyInput::default()
        }
        .validated();
        assert!(
            matches!(empty, Err(DomainError::Invalid(ref e)) if e[0].field == "targets"),
            "{empty:?}"
        );
    }
}
