//! Input checks shared by the entity modules and the faces. Every text that reaches SQL passes
//! one of them, so both backends see the same values: PostgreSQL text cannot hold NUL (a 500
//! there) and SQLite reads it as the end of a LIKE pattern (a wildcard there). Times that filter
//! a list stay within [`EARLIEST`]..=[`LATEST`], which both backends store and compare alike.

use crate::error::FieldError;
use chrono::{DateTime, Datelike, Utc};

/// Whether `value` can be stored and compared alike on every backend (it holds no NUL).
pub fn storable(value: &str) -> bool {
    !value.contains('\0')
}

/// Text bound for SQL that is not otherwise checked (a donor id to list by): refused with a NUL
/// in it, 422 naming `field`.
pub fn storable_text(field: &str, value: &str) -> crate::Result<()> {
    if storable(value) {
        Ok(())
    } else {
        Err(crate::DomainError::invalid(
            field,
            "must not contain NUL characters",
        ))
    }
}

/// A name the server made or restricted that a client looks something up by (a login, a call
/// room, a file key): no NUL and no other control characters, since no such name holds one.
/// 422 naming `field`.
pub fn lookup_name(field: &str, value: &str) -> crate::Result<()> {
    let mut errors = vec![];
    name_chars(&mut errors, field, value);
    finish(errors, ())
}

/// Collects [`lookup_name`]'s error.
pub(crate) fn name_chars(errors: &mut Vec<FieldError>, field: &str, value: &str) {
    if !storable(value) {
        errors.push(FieldError::new(field, "must not contain NUL characters"));
    } else if value.chars().any(char::is_control) {
        errors.push(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
}

/// The first year a time filter may name.
pub const EARLIEST_YEAR: i32 = 1;
/// The last year a time filter may name.
pub const LATEST_YEAR: i32 = 9999;
/// Years 1 to 9999 (UTC): what RFC 3339 can write, and a range PostgreSQL's `timestamptz` and
/// SQLite's text timestamps both hold and order correctly.
pub const EARLIEST: &str = "0001-01-01T00:00:00Z";
/// See [`EARLIEST`].
pub const LATEST: &str = "9999-12-31T23:59:59.999999Z";

/// A time a client filters by, refused (422 naming `field`) outside [`EARLIEST`]..=[`LATEST`].
pub fn time(field: &str, value: DateTime<Utc>) -> crate::Result<DateTime<Utc>> {
    let mut errors = vec![];
    time_in_range(&mut errors, field, value);
    finish(errors, value)
}

/// Collects [`time`]'s error.
pub(crate) fn time_in_range(errors: &mut Vec<FieldError>, field: &str, value: DateTime<Utc>) {
    if !(EARLIEST_YEAR..=LATEST_YEAR).contains(&value.year()) {
        errors.push(FieldError::new(
            field,
            format!("must be between {EARLIEST} and {LATEST}"),
        ));
    }
}

/// Trims `value` and checks its length in characters.
pub(crate) fn text(
    errors: &mut Vec<FieldError>,
    field: &str,
    value: &str,
    min: usize,
    max: usize,
) -> String {
    let trimmed = value.trim();
    let len = trimmed.chars().count();
    if len < min {
        let message = if min == 1 {
            "must not be empty".to_string()
        } else {
            format!("must be at least {min} characters")
        };
        errors.push(FieldError::new(field, message));
    } else if len > max {
        errors.push(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    } else if !storable(trimmed) {
        errors.push(FieldError::new(field, "must not contain NUL characters"));
    }
    trimmed.to_string()
}

/// Like [`text`] for an optional field; an empty value becomes `None`.
pub(crate) fn optional_text(
    errors: &mut Vec<FieldError>,
    field: &str,
    value: Option<&str>,
    max: usize,
) -> Option<String> {
    let value = value?.trim();
    if value.is_empty() {
        return None;
    }
    Some(text(errors, field, value, 1, max))
}

/// Turns collected errors into a result.
pub(crate) fn finish<T>(errors: Vec<FieldError>, value: T) -> crate::Result<T> {
    if errors.is_empty() {
        Ok(value)
    } else {
        Err(crate::DomainError::Invalid(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DomainError;
    use chrono::TimeZone;

    #[test]
    fn names_refuse_nul_and_control_characters() {
        assert!(lookup_name("roomName", "abcd-efgh-ijkl").is_ok());
        assert!(storable_text("donorId", "d-1\n\t").is_ok());
        assert!(storable_text("donorId", "d-1\0").is_err());
        assert!(lookup_name("roomName", "é ü 名前").is_ok());
        for bad in ["a\0b", "\0", "a\nb", "\u{1b}", "\u{7f}", "\u{85}"] {
            let Err(DomainError::Invalid(errors)) = lookup_name("roomName", bad) else {
                panic!("{bad:?} passed");
            };
            assert_eq!(errors[0].field, "roomName");
        }
    }

    #[test]
    fn times_stay_within_years_1_to_9999() {
        let at = |y, m, d| Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap();
        assert!(time("from", at(1, 1, 1)).is_ok());
        assert!(time("from", at(9999, 12, 31)).is_ok());
        assert!(time("from", at(0, 12, 31)).is_err());
        assert!(time("to", at(-5000, 1, 1)).is_err());
        assert!(time("to", at(10000, 1, 1)).is_err());
        assert_eq!(EARLIEST.parse::<DateTime<Utc>>().unwrap(), at(1, 1, 1));
        assert_eq!(LATEST.parse::<DateTime<Utc>>().unwrap().year(), LATEST_YEAR);
    }

    #[test]
    fn free_text_refuses_only_nul() {
        let mut errors = vec![];
        assert_eq!(text(&mut errors, "content", " a\tb\nc ", 1, 10), "a\tb\nc");
        assert!(errors.is_empty());
        text(&mut errors, "content", "a\0b", 1, 10);
        assert_eq!(errors[0].field, "content");
    }
}
