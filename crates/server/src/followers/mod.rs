//! Followers of the database that act in the background.

pub mod auditor;
