//! The API's wire shapes: what the routes send (one module per resource, each type deriving
//! `Serialize` and `ToSchema` and built from its domain type with `From`), and what they share
//! (list envelopes, paging parameters, optional-or-null fields). The same shapes are the JSON
//! payloads of the event log ([`events::EventWire`]), so HTTP and WebSocket never disagree.

/// `From<domain value>` for wire types that are built from a reference: one line per type
/// instead of an impl that only borrows and delegates.
macro_rules! from_owned {
    ($($domain:ty => $wire:ty),+ $(,)?) => {
        $(impl From<$domain> for $wire {
            fn from(value: $domain) -> Self {
                Self::from(&value)
            }
        })+
    };
}

mod audit;
mod calls;
pub mod events;
mod insights;
mod messages;
pub(crate) mod names;
mod search;
mod sla;
mod tickets;
mod users;
mod webhooks;

pub use audit::{AuditEntry, AuditVerification};
pub use calls::{CallRequest, CallSession};
pub use events::EventWire;
pub use insights::{Entity, Flag, QaReview, Summary, Verdict};
pub use messages::{attachment_url, avatar_url, Attachment, Message, SenderProfile};
pub use search::{SearchHit, SearchHitKind};
pub use sla::{SlaCalendar, SlaMatch, SlaPolicy, SlaTargets, SlaWeek};
pub use tickets::{Donor, StaffSummary, TaskDetail, Ticket, TicketDetail};
pub use users::User;
pub use webhooks::{delivery_body, Webhook, WebhookDelivery, WebhookWithSecret};

use crate::problem::ApiError;
use concierge_domain::page::{Page, PageRequest};
use serde::{Deserialize, Deserializer, Serialize};

/// A page as the API returns it: `{data, nextCursor, hasMore}`.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct List<T> {
    /// The items.
    data: Vec<T>,
    /// Where the next page starts; `null` on the last.
    next_cursor: Option<String>,
    /// Whether another page follows.
    has_more: bool,
}

impl<T> List<T> {
    /// A domain page in its wire shape.
    pub fn of<D>(page: Page<D>) -> Self
    where
        T: From<D>,
    {
        Self {
            has_more: page.has_more(),
            next_cursor: page.next_cursor,
            data: page.items.into_iter().map(T::from).collect(),
        }
    }
}

/// `?limit=&cursor=`. `limit` is read as text because query structs flatten this one, and
/// serde hands flattened query values over as strings.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// Items per page (default 20, max 100).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// Where to continue (from `nextCursor`).
    pub cursor: Option<String>,
}

impl Paging {
    /// The domain's page request.
    pub fn request(&self) -> Result<PageRequest, ApiError> {
        Ok(PageRequest::parse(self.limit()?, self.cursor.as_deref())?)
    }

    /// The `limit` as a number, when given (the domain checks its range).
    pub fn limit(&self) -> Result<Option<i64>, ApiError> {
        match self.limit.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(raw) => raw.parse::<i64>().map(Some).map_err(|_| {
                ApiError::BadRequest(format!("limit must be a whole number, not {raw:?}"))
            }),
        }
    }
}

/// For `Option<Option<T>>` fields: absent -> `None`, `null` -> `Some(None)`, a value ->
/// `Some(Some(v))`. Use with `#[serde(default, deserialize_with = "nullable")]`.
pub fn nullable<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// A time filter: RFC 3339, or a date (`YYYY-MM-DD`, midnight UTC); empty is none.
pub fn parse_time(
    field: &str,
    raw: Option<&str>,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, concierge_domain::DomainError> {
    let Some(raw) = raw.filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(raw) {
        return Ok(Some(t.with_timezone(&chrono::Utc)));
    }
    chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| Some(t.and_utc()))
        .ok_or_else(|| {
            concierge_domain::DomainError::invalid(field, "must be an RFC 3339 time or YYYY-MM-DD")
        })
}

/// A required field that the client left out: 422 naming the field.
pub fn required<T>(value: Option<T>, field: &str) -> Result<T, ApiError> {
    value.ok_or_else(|| concierge_domain::DomainError::invalid(field, "is required").into())
}

/// Parses an enum given as a string, naming the field on failure (422).
pub fn parse_enum<T>(value: Option<&str>) -> Result<Option<T>, ApiError>
where
    T: std::str::FromStr<Err = concierge_domain::DomainError>,
{
    Ok(value.map(str::parse).transpose()?)
}
