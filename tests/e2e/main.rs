//! End-to-end tests over real HTTP, each on SQLite and (when configured) PostgreSQL.

use concierge_e2e::{e2e, TestApp, ADMIN, ADMIN_PASSWORD};
use serde_json::json;

mod aliases;
mod attachments;
mod audit;
mod bad_input;
mod calls;
mod cluster;
mod donor_privacy;
mod edge;
mod fuzz_params;
mod insights;
mod limits;
mod permissions;
mod production;
mod push;
mod push_outage;
mod realtime;
mod realtime_rights;
mod search;
mod security;
mod sla;
mod walkthrough;
mod webhooks;
