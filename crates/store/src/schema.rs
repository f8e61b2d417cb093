//! The Diesel schema, written by hand to the common subset of PostgreSQL and SQLite. Ids are
//! `BigInt` on both backends (SQLite's `INTEGER PRIMARY KEY` is the 64-bit rowid).

diesel::table! {
    /// Staff accounts.
    users (id) {
        id -> BigInt,
        username -> Text,
        email -> Nullable<Text>,
        name -> Text,
        password_hash -> Text,
        role -> Text,
        is_active -> Bool,
        token_version -> Integer,
        fcm_token -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Donor queries and tasks.
    tickets (id) {
        id -> BigInt,
        channel -> Text,
        title -> Text,
        description -> Nullable<Text>,
        status -> Text,
        priority -> Text,
        donor_name -> Nullable<Text>,
        donor_id -> Nullable<Text>,
        query_mode -> Nullable<Text>,
        stage -> Nullable<Text>,
        device -> Nullable<Text>,
        sid -> Nullable<Text>,
        is_test -> Bool,
        donor_fcm_token -> Nullable<Text>,
        assignee_id -> Nullable<BigInt>,
        creator_id -> Nullable<BigInt>,
        resolved_by_id -> Nullable<BigInt>,
        resolved_at -> Nullable<Timestamp>,
        transferred_from_id -> Nullable<BigInt>,
        transfer_note -> Nullable<Text>,
        closed_at -> Nullable<Timestamp>,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        donor_session -> Nullable<Text>,
    }
}

diesel::table! {
    /// The conversation of each ticket.
    messages (id) {
        id -> BigInt,
        ticket_id -> BigInt,
        sender_type -> Text,
        sender_user_id -> Nullable<BigInt>,
        message_type -> Text,
        content -> Text,
        reply_to_id -> Nullable<BigInt>,
        client_message_id -> Nullable<Text>,
        edited_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// The event log.
    events (seq) {
        seq -> BigInt,
        kind -> Text,
        ticket_id -> Nullable<BigInt>,
        data -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(messages -> tickets (ticket_id));
diesel::joinable!(messages -> users (sender_user_id));
diesel::allow_tables_to_appear_in_same_query!(users, tickets, messages, events);

diesel::table! {
    /// Failed logins per key, in fixed windows (the server's login limits).
    login_failures (key) {
        key -> Text,
        started_at -> Timestamp,
        failures -> Integer,
    }
}

diesel::table! {
    /// The audit trail (no foreign keys: entries outlive what they name).
    audit_entries (id) {
        id -> BigInt,
        seq -> Nullable<BigInt>,
        at -> Timestamp,
        actor_kind -> Text,
        actor_id -> Nullable<Text>,
        actor_role -> Nullable<Text>,
        action -> Text,
        target_kind -> Text,
        target_id -> Nullable<Text>,
        ticket_id -> Nullable<BigInt>,
        ip -> Nullable<Text>,
        request_id -> Nullable<Text>,
        changes -> Nullable<Text>,
        prev_hash -> Nullable<Text>,
        hash -> Nullable<Text>,
    }
}
