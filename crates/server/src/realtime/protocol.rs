//! The frames of the WebSocket protocol (text frames, one JSON object each).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Not authenticated in time, or the token was refused.
pub const CLOSE_UNAUTHENTICATED: u16 = 4401;
/// Too slow: the client fell behind; reconnect and join with `since`.
pub const CLOSE_TOO_SLOW: u16 = 4408;
/// The server is going away (shutdown).
pub const CLOSE_GOING_AWAY: u16 = 1001;
/// A frame the server will not take (too large, binary, repeatedly invalid).
pub const CLOSE_POLICY: u16 = 1008;

/// A frame from the client.
#[derive(Debug, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
pub enum ClientFrame {
    /// Authenticate with a staff or donor token.
    Auth {
        /// The bearer token.
        token: String,
    },
    /// Subscribe to a ticket's room, replaying events after `since` first.
    Join {
        /// The ticket.
        ticket_id: i64,
        /// The last `seq` the client saw.
        since: Option<i64>,
    },
    /// Leave a ticket's room.
    Leave {
        /// The ticket.
        ticket_id: i64,
    },
    /// Post a message; answered with a `reply` once committed.
    SendMessage {
        /// Echoed in the reply.
        request_id: Option<String>,
        /// The ticket.
        ticket_id: i64,
        /// The text.
        content: String,
        /// The parent message.
        reply_to_id: Option<i64>,
        /// Idempotency key.
        client_message_id: Option<String>,
    },
    /// Typing started or stopped (relayed, not stored).
    Typing {
        /// The ticket.
        ticket_id: i64,
        /// Whether typing.
        is_typing: bool,
    },
    /// Upload progress (relayed, not stored).
    UploadProgress {
        /// The ticket.
        ticket_id: i64,
        /// The client's upload id.
        upload_id: String,
        /// The file's name.
        file_name: String,
        /// 0 to 100.
        percent: f64,
    },
}

/// Who is typing or uploading, as shown to the others.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Presence {
    /// The staff user's id; `None` for a donor.
    pub id: Option<i64>,
    /// Display name.
    pub name: String,
    /// `SUPER_ADMIN`, `ADMIN`, `AGENT` or `DONOR`.
    pub role: String,
}

/// A frame to the client.
#[derive(Debug, Serialize)]
#[serde(
    tag = "type",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
pub enum ServerFrame<'a> {
    /// Authenticated.
    Ready {
        /// The staff user, if staff.
        user_id: Option<i64>,
        /// The role, or `DONOR`.
        role: &'a str,
        /// The donor's ticket, if a donor.
        #[serde(skip_serializing_if = "Option::is_none")]
        ticket_id: Option<i64>,
    },
    /// The replay of a join is complete.
    Joined {
        /// The ticket.
        ticket_id: i64,
        /// The last event sent for it (or the log's position when none was).
        seq: i64,
    },
    /// Left a room.
    Left {
        /// The ticket.
        ticket_id: i64,
    },
    /// The answer to `send_message`.
    Reply {
        /// The client's request id.
        request_id: Option<&'a str>,
        /// Whether it worked.
        ok: bool,
        /// The message, when it worked.
        #[serde(skip_serializing_if = "Option::is_none")]
        data: Option<Value>,
        /// The problem, when it did not.
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<Value>,
    },
    /// A logged event.
    Event {
        /// Its position in the log.
        seq: i64,
        /// The ticket.
        ticket_id: Option<i64>,
        /// `new_message`, `ticket_updated`, ...
        event: &'a str,
        /// The changed object.
        data: &'a Value,
    },
    /// Someone is typing.
    UserTyping {
        /// The ticket.
        ticket_id: i64,
        /// Who.
        user: &'a Presence,
        /// Whether typing.
        is_typing: bool,
    },
    /// Someone's upload moved on.
    FileUploadProgress {
        /// The ticket.
        ticket_id: i64,
        /// Who.
        user: &'a Presence,
        /// The client's upload id.
        upload_id: &'a str,
        /// The file's name.
        file_name: &'a str,
        /// 0 to 100.
        percent: f64,
    },
    /// Something the client sent was refused.
    Error {
        /// A problem object (`type`, `title`, `status`, `detail`).
        error: Value,
    },
}

impl ServerFrame<'_> {
    /// The frame as JSON text.
    pub fn to_text(&self) -> String {
        // Serialising these types cannot fail: plain structs, string keys.
        serde_json::to_string(self).unwrap_or_default()
    }
}
