//! Staff accounts.

use super::names::RoleName;
use chrono::{DateTime, Utc};
use concierge_domain::user::{self as domain, Role};
use concierge_domain::UserId;
use serde::Serialize;
use utoipa::ToSchema;

/// A staff account (never its password hash, token version or push token).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct User {
    #[schema(value_type = i64)]
    id: UserId,
    username: String,
    email: Option<String>,
    name: String,
    #[schema(value_type = RoleName)]
    role: Role,
    is_active: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<&domain::User> for User {
    fn from(u: &domain::User) -> Self {
        Self {
            id: u.id,
            username: u.username.clone(),
            email: u.email.clone(),
            name: u.name.clone(),
            role: u.role,
            is_active: u.is_active,
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

from_owned!(domain::User => User);
