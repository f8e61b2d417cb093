//! Tables of the push dispatcher.

diesel::table! {
    /// (event, device) pairs sent.
    push_deliveries (key) {
        key -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Notifications waiting for another attempt, one per (event, device).
    push_retries (key) {
        key -> Text,
        seq -> BigInt,
        token -> Text,
        title -> Text,
        body -> Text,
        data -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        give_up_at -> Timestamp,
    }
}
