//! The Diesel schema of summaries and QA reviews (migration `2026-11-21-000003_insights`).

diesel::table! {
    /// One current summary per ticket.
    summaries (id) {
        id -> BigInt,
        ticket_id -> BigInt,
        content -> Text,
        key_points -> Text,
        entities -> Text,
        next_steps -> Nullable<Text>,
        analyzer -> Text,
        model -> Nullable<Text>,
        fallback_from -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// QA reviews, one per message.
    qa_reviews (id) {
        id -> BigInt,
        message_id -> BigInt,
        ticket_id -> BigInt,
        status -> Text,
        feedback -> Nullable<Text>,
        flags -> Text,
        sentiment -> Float,
        analyzer -> Text,
        fallback_from -> Nullable<Text>,
        reviewer_id -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}
