//! Call requests and sessions.

use super::names::{CallModeName, CallRequestStatusName, CallSessionStatusName};
use chrono::{DateTime, Utc};
use concierge_domain::call::{
    self as domain, CallMode, CallRequestId, CallRequestStatus, CallSessionId, CallSessionStatus,
};
use concierge_domain::{TicketId, UserId};
use serde::Serialize;
use utoipa::ToSchema;

/// A donor's request for a call.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CallRequest {
    #[schema(value_type = i64)]
    id: CallRequestId,
    #[schema(value_type = i64)]
    ticket_id: TicketId,
    #[schema(value_type = CallModeName)]
    mode: CallMode,
    message: Option<String>,
    #[schema(value_type = CallRequestStatusName)]
    status: CallRequestStatus,
    #[schema(value_type = Option<i64>)]
    decided_by_id: Option<UserId>,
    reason: Option<String>,
    decided_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<&domain::CallRequest> for CallRequest {
    fn from(r: &domain::CallRequest) -> Self {
        Self {
            id: r.id,
            ticket_id: r.ticket_id,
            mode: r.mode,
            message: r.message.clone(),
            status: r.status,
            decided_by_id: r.decided_by_id,
            reason: r.reason.clone(),
            decided_at: r.decided_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// A call session (a VideoSDK room).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CallSession {
    #[schema(value_type = i64)]
    id: CallSessionId,
    #[schema(value_type = i64)]
    ticket_id: TicketId,
    room_id: String,
    /// The same as `roomId`.
    room_name: String,
    #[schema(value_type = CallModeName)]
    mode: CallMode,
    #[schema(value_type = CallSessionStatusName)]
    status: CallSessionStatus,
    #[schema(value_type = Option<i64>)]
    request_id: Option<CallRequestId>,
    #[schema(value_type = Option<i64>)]
    created_by_id: Option<UserId>,
    started_at: Option<DateTime<Utc>>,
    ended_at: Option<DateTime<Utc>>,
    duration_seconds: Option<i64>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<&domain::CallSession> for CallSession {
    fn from(s: &domain::CallSession) -> Self {
        Self {
            id: s.id,
            ticket_id: s.ticket_id,
            room_id: s.room_id.clone(),
            room_name: s.room_id.clone(),
            mode: s.mode,
            status: s.status,
            request_id: s.request_id,
            created_by_id: s.created_by_id,
            started_at: s.started_at,
            ended_at: s.ended_at,
            duration_seconds: s.duration_seconds(),
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

from_owned!(domain::CallRequest => CallRequest, domain::CallSession => CallSession);
