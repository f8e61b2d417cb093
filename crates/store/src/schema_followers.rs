//! The followers' table.

diesel::table! {
    /// How far each follower of the event log has read it, and its lease.
    follower_state (name) {
        name -> Text,
        cursor -> BigInt,
        leader -> Nullable<Text>,
        lease_until -> Nullable<Timestamp>,
    }
}
