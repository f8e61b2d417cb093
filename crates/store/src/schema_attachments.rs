//! The Diesel schema of files: message attachments and staff avatars (migration
//! `2026-11-21-000004_attachments`).

use crate::schema::{messages, users};

diesel::table! {
    /// Files attached to messages.
    attachments (id) {
        id -> BigInt,
        message_id -> BigInt,
        file_name -> Text,
        content_type -> Text,
        size -> BigInt,
        sha256 -> Text,
        storage_key -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// One avatar per staff user.
    user_avatars (user_id) {
        user_id -> BigInt,
        content_type -> Text,
        size -> BigInt,
        sha256 -> Text,
        storage_key -> Text,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(attachments -> messages (message_id));
diesel::joinable!(user_avatars -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(attachments, messages);
diesel::allow_tables_to_appear_in_same_query!(user_avatars, users);
