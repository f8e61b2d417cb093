//! Small input checks shared by the entity modules.

use crate::error::FieldError;

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
    } else if trimmed.chars().any(|c| c == '\0') {
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
