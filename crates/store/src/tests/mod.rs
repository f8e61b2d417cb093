//! The store test suite: every test runs against SQLite, and against PostgreSQL when
//! `TEST_POSTGRES_URL` is set (see [`harness`]).

pub(crate) mod harness;

mod audit;
mod events;
mod insights;
mod login_failures;
mod messages;
mod push;
mod search;
mod sla;
mod throughput;
mod tickets;
mod users;
