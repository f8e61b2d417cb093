//! The Diesel schema of SLA policies and calendars (migration `2026-12-03-230000_sla`).

diesel::table! {
    /// Business-hours calendars; `week` and `holidays` are JSON text.
    sla_calendars (id) {
        id -> BigInt,
        name -> Text,
        timezone -> Text,
        week -> Text,
        holidays -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// SLA policies.
    sla_policies (id) {
        id -> BigInt,
        name -> Text,
        match_channel -> Nullable<Text>,
        match_priority -> Nullable<Text>,
        first_response_seconds -> Nullable<BigInt>,
        next_response_seconds -> Nullable<BigInt>,
        resolution_seconds -> Nullable<BigInt>,
        calendar_id -> Nullable<BigInt>,
        warn_before_seconds -> BigInt,
        pause_while_pending_reply -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(sla_policies -> sla_calendars (calendar_id));
diesel::allow_tables_to_appear_in_same_query!(sla_policies, sla_calendars);
