//! Tickets: donor queries and tasks.

use super::names::{ChannelName, PriorityName, QueryModeName, TicketStatusName};
use chrono::{DateTime, Utc};
use concierge_domain::services as domain_view;
use concierge_domain::ticket::{self as domain, Channel, Priority, QueryMode, TicketStatus};
use concierge_domain::{TicketId, UserId};
use serde::Serialize;
use utoipa::ToSchema;

/// A ticket. Donor queries also carry the donor's fields (`donor`, `donorId`, `queryMode`,
/// `stage`, `device`, `sid`, `test`); tasks have none of them.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Ticket {
    #[schema(value_type = i64)]
    id: TicketId,
    #[schema(value_type = ChannelName)]
    channel: Channel,
    title: String,
    description: Option<String>,
    #[schema(value_type = TicketStatusName)]
    status: TicketStatus,
    #[schema(value_type = PriorityName)]
    priority: Priority,
    #[serde(flatten)]
    #[schema(value_type = Donor)]
    donor: Option<Donor>,
    #[schema(value_type = Option<i64>)]
    assignee_id: Option<UserId>,
    #[schema(value_type = Option<i64>)]
    creator_id: Option<UserId>,
    #[schema(value_type = Option<i64>)]
    resolved_by_id: Option<UserId>,
    resolved_at: Option<DateTime<Utc>>,
    #[schema(value_type = Option<i64>)]
    transferred_from_id: Option<UserId>,
    transfer_note: Option<String>,
    closed_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// The donor's fields of a donor query (never its push token or session). A ticket carries
/// them on donor queries only, so none is required.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Donor {
    /// The donor's display name (donor queries).
    #[schema(required = false)]
    donor: String,
    /// The donor's id (donor queries).
    #[schema(required = false)]
    donor_id: String,
    #[schema(value_type = QueryModeName, required = false)]
    query_mode: QueryMode,
    #[schema(required = false)]
    stage: Option<String>,
    #[schema(required = false)]
    device: Option<String>,
    #[schema(required = false)]
    sid: Option<String>,
    #[schema(required = false)]
    test: bool,
}

impl From<&domain::DonorInfo> for Donor {
    fn from(d: &domain::DonorInfo) -> Self {
        Self {
            donor: d.name.clone(),
            donor_id: d.donor_id.clone(),
            query_mode: d.query_mode,
            stage: d.stage.clone(),
            device: d.device.clone(),
            sid: d.sid.clone(),
            test: d.test,
        }
    }
}

impl From<&domain::Ticket> for Ticket {
    fn from(t: &domain::Ticket) -> Self {
        Self {
            id: t.id,
            channel: t.channel,
            title: t.title.clone(),
            description: t.description.clone(),
            status: t.status(),
            priority: t.priority,
            donor: t.donor.as_ref().map(Donor::from),
            assignee_id: t.assignee_id,
            creator_id: t.creator_id,
            resolved_by_id: t.resolved_by_id,
            resolved_at: t.resolved_at,
            transferred_from_id: t.transferred_from_id,
            transfer_note: t.transfer_note.clone(),
            closed_at: t.closed_at,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

/// A staff member as shown next to a ticket.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StaffSummary {
    #[schema(value_type = i64)]
    id: UserId,
    name: String,
    username: String,
}

impl From<domain_view::StaffSummary> for StaffSummary {
    fn from(s: domain_view::StaffSummary) -> Self {
        Self {
            id: s.id,
            name: s.name,
            username: s.username,
        }
    }
}

/// A ticket with the staff around it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TicketDetail {
    #[serde(flatten)]
    ticket: Ticket,
    assignee: Option<StaffSummary>,
    creator: Option<StaffSummary>,
    resolved_by: Option<StaffSummary>,
    transferred_from: Option<StaffSummary>,
}

impl From<domain_view::TicketDetail> for TicketDetail {
    fn from(d: domain_view::TicketDetail) -> Self {
        Self {
            ticket: Ticket::from(&d.ticket),
            assignee: d.assignee.map(StaffSummary::from),
            creator: d.creator.map(StaffSummary::from),
            resolved_by: d.resolved_by.map(StaffSummary::from),
            transferred_from: d.transferred_from.map(StaffSummary::from),
        }
    }
}

/// A task with the staff around it and its current summary.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TaskDetail {
    /// The task.
    #[serde(flatten)]
    pub detail: TicketDetail,
    /// Its current summary, if one was written.
    pub summary: Option<super::Summary>,
}

from_owned!(domain::Ticket => Ticket);
