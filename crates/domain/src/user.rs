//! Staff accounts and their roles.

use crate::error::{DomainError, FieldError, Result};
use crate::ids::UserId;
use crate::validate;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A staff role. `SuperAdmin > Admin > Agent`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    /// A team member (the team desk's "user").
    Agent,
    /// Manages donor queries and users.
    Admin,
    /// An admin who may also manage admins.
    SuperAdmin,
}

impl Role {
    /// Every role, lowest first.
    pub const ALL: [Role; 3] = [Role::Agent, Role::Admin, Role::SuperAdmin];

    /// ADMIN or SUPER_ADMIN.
    pub fn is_admin(self) -> bool {
        self >= Role::Admin
    }

    /// The wire and storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "AGENT",
            Role::Admin => "ADMIN",
            Role::SuperAdmin => "SUPER_ADMIN",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| DomainError::invalid("role", "must be AGENT, ADMIN or SUPER_ADMIN"))
    }
}

/// A staff account. The password hash is never part of it.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    /// Its id.
    pub id: UserId,
    /// The login name, stored lower-case.
    pub username: String,
    /// An email address, lower-case; it also works as a login name.
    pub email: Option<String>,
    /// The display name.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// A deactivated user cannot log in and its tokens stop working.
    pub is_active: bool,
    /// Bumped on every password change; tokens minted before carry an older version.
    pub token_version: i32,
    /// The device token for push notifications. Never shown.
    pub fcm_token: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
}

/// A user about to be stored; the password is already hashed.
#[derive(Debug, Clone, PartialEq)]
pub struct NewUser {
    /// Lower-case login name.
    pub username: String,
    /// Lower-case email.
    pub email: Option<String>,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// A bcrypt hash.
    pub password_hash: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// Changes to a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserChanges {
    /// New display name.
    pub name: Option<String>,
    /// New email (`Some(None)` clears it).
    pub email: Option<Option<String>>,
    /// New role.
    pub role: Option<Role>,
    /// Activate or deactivate.
    pub is_active: Option<bool>,
}

/// The longest password bcrypt can take without truncating it, in bytes.
pub const MAX_PASSWORD_BYTES: usize = 72;
/// The shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// Checks a login name and returns it lower-cased.
pub fn parse_username(errors: &mut Vec<FieldError>, raw: &str) -> String {
    let name = validate::text(errors, "username", raw, 3, 64).to_lowercase();
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@' | '+'))
    {
        errors.push(FieldError::new(
            "username",
            "may hold only letters, digits and . _ - @ +",
        ));
    }
    name
}

/// Checks an email address (loosely: one `@`, something on each side) and lower-cases it.
pub fn parse_email(errors: &mut Vec<FieldError>, raw: &str) -> String {
    let email = validate::text(errors, "email", raw, 3, 254).to_lowercase();
    let ok = match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !email.chars().any(char::is_whitespace)
                && email.matches('@').count() == 1
        }
        None => false,
    };
    if !ok {
        errors.push(FieldError::new("email", "is not an email address"));
    }
    email
}

/// Checks a display name.
pub fn parse_name(errors: &mut Vec<FieldError>, raw: &str) -> String {
    validate::text(errors, "name", raw, 1, 100)
}

/// Checks a new password's length (it is not trimmed).
pub fn check_password(errors: &mut Vec<FieldError>, field: &str, password: &str) {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        errors.push(FieldError::new(
            field,
            format!("must be at least {MIN_PASSWORD_CHARS} characters"),
        ));
    } else if password.len() > MAX_PASSWORD_BYTES {
        errors.push(FieldError::new(
            field,
            format!("must be at most {MAX_PASSWORD_BYTES} bytes"),
        ));
    } else if password.contains('\0') {
        errors.push(FieldError::new(field, "must not contain NUL characters"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_lowercased_and_checked() {
        let mut errors = vec![];
        assert_eq!(parse_username(&mut errors, "  Alice.B "), "alice.b");
        assert!(errors.is_empty());
        parse_username(&mut errors, "a b'; drop table users;--");
        assert_eq!(errors.len(), 1);
    }

    #[test]
    fn emails_need_a_domain() {
        for bad in ["nobody", "a@b", "@x.org", "a@@x.org", "a@.org"] {
            let mut errors = vec![];
            parse_email(&mut errors, bad);
            assert!(!errors.is_empty(), "{bad}");
        }
        let mut errors = vec![];
        assert_eq!(
            parse_email(&mut errors, "Ann@Example.ORG"),
            "ann@example.org"
        );
        assert!(errors.is_empty());
    }

    #[test]
    fn passwords_must_fit_bcrypt() {
        let mut errors = vec![];
        check_password(&mut errors, "password", &"x".repeat(73));
        check_password(&mut errors, "password", "short");
        assert_eq!(errors.len(), 2);
    }

    #[test]
    fn roles_order_and_parse() {
        assert!(Role::SuperAdmin.is_admin() && Role::Admin.is_admin() && !Role::Agent.is_admin());
        assert_eq!("ADMIN".parse::<Role>().unwrap(), Role::Admin);
        assert!("root".parse::<Role>().is_err());
    }
}
