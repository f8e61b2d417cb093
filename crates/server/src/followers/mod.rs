//! Followers of the event log, one module each.

pub mod webhooks;
