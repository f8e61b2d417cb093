//! Tables of webhooks.

diesel::table! {
    /// Webhook endpoints, each with its cursor in the event log.
    webhooks (id) {
        id -> BigInt,
        url -> Text,
        events -> Text,
        description -> Nullable<Text>,
        active -> Bool,
        secret -> Text,
        previous_secret -> Nullable<Text>,
        previous_secret_until -> Nullable<Timestamp>,
        cursor -> BigInt,
        failing_since -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// One event for one endpoint, with its last attempt.
    webhook_deliveries (id) {
        id -> BigInt,
        webhook_id -> BigInt,
        seq -> BigInt,
        event -> Text,
        body -> Text,
        attempt -> Integer,
        status -> Text,
        response_status -> Nullable<Integer>,
        error -> Nullable<Text>,
        duration_ms -> Nullable<BigInt>,
        next_attempt_at -> Nullable<Timestamp>,
        give_up_at -> Timestamp,
        created_at -> Timestamp,
    }
}

diesel::joinable!(webhook_deliveries -> webhooks (webhook_id));
diesel::allow_tables_to_appear_in_same_query!(webhooks, webhook_deliveries);
