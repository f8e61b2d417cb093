//! # concierge-domain
//!
//! The rules of the Concierge support desk, free of any framework, database or HTTP client.
//!
//! * [`ticket`]: tickets from both faces (donor queries and staff tasks), their priorities and
//!   the status state machine.
//! * [`message`]: the conversation of a ticket — chat, system notes, threaded replies,
//!   idempotent sends.
//! * [`user`] and [`actor`]: staff accounts, roles, donors, and who may do what.
//! * [`event`]: the domain events every change appends to the event log.
//! * [`ports`]: the traits adapters implement (storage, password hashing, time). With the
//!   `mock` feature each port has a `mockall` mock (`MockTicketRepository`, ...).
//! * [`search`]: the search query language, its permission scope and the `SearchIndex` port.
//! * [`webhook`]: webhook endpoints, their signatures, retry schedule and SSRF rules.
//! * [`sla`]: SLA policies, business-hours calendars and the clocks of a ticket.
//! * [`report`]: duration figures (nearest-rank percentiles) and SLA tallies for reports.
//! * [`services`]: one service per area of use cases; they check permissions, apply the state
//!   machine and call the ports.
//!
//! Another service can depend on this crate alone and bring its own adapters: build a
//! [`services::Services`] from `Arc<dyn Port>` values and call its methods with an [`Actor`].
//! With the `memory` feature, `memory::MemoryStore` implements the storage ports in memory,
//! for tests and examples; `examples/ticket_lifecycle.rs` runs a ticket through its life on it.

#![warn(missing_docs)]
// Panicking shortcuts stay in tests; elsewhere a failure is an error the caller sees.
#![cfg_attr(not(test), deny(clippy::expect_used, clippy::indexing_slicing))]

pub mod actor;
pub mod analysis;
pub mod attachment;
pub mod audit;
pub mod backoff;
pub mod call;
pub mod error;
pub mod event;
pub mod ids;
#[cfg(feature = "memory")]
pub mod memory;
pub mod message;
pub mod notification;
pub mod page;
pub mod ports;
pub mod qa;
pub mod report;
pub mod search;
pub mod services;
pub mod sla;
pub mod summary;
pub mod ticket;
pub mod user;
pub mod validate;
pub mod video;
pub mod webhook;
mod wire_enum;

/// The README's example, run as a doc test so it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeExample;

pub use actor::Actor;
pub use error::{DomainError, FieldError, Result};
pub use ids::{MessageId, TicketId, UserId};
