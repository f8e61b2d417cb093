//! Typed identifiers, so a ticket id is never passed where a user id belongs.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// A staff user's id.
    UserId
);
id_type!(
    /// A ticket's id; a donor query's id and a task's id are ticket ids.
    TicketId
);
id_type!(
    /// A message's id.
    MessageId
);
id_type!(
    /// An SLA policy's id.
    PolicyId
);
id_type!(
    /// A business-hours calendar's id.
    CalendarId
);
