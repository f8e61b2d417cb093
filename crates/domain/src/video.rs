//! Video and audio rooms as the domain sees them.

use std::time::Duration;

/// A room at the video provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoRoom {
    /// The provider's room id (the API's `roomName`).
    pub room_id: String,
}

/// Someone about to join a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    /// A stable id: `staff-<user id>` or `donor-<ticket id>`.
    pub id: String,
    /// The display name.
    pub name: String,
    /// Staff host the room; donors join as guests.
    pub is_host: bool,
}

/// A join token and how long it lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinToken {
    /// The token the client's SDK joins with.
    pub token: String,
    /// Its lifetime.
    pub expires_in: Duration,
}
