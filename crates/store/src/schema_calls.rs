//! The Diesel schema of the call tables (migration `2026-11-21-000002_calls`), kept apart
//! from [`crate::schema`] like the migration itself.

diesel::table! {
    /// Donors' requests for a call.
    call_requests (id) {
        id -> BigInt,
        ticket_id -> BigInt,
        mode -> Text,
        message -> Nullable<Text>,
        status -> Text,
        decided_by_id -> Nullable<BigInt>,
        reason -> Nullable<Text>,
        decided_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Call sessions: one video provider room each.
    call_sessions (id) {
        id -> BigInt,
        ticket_id -> BigInt,
        room_id -> Text,
        mode -> Text,
        status -> Text,
        request_id -> Nullable<BigInt>,
        created_by_id -> Nullable<BigInt>,
        started_at -> Nullable<Timestamp>,
        ended_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}
