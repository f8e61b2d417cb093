//! # concierge-server
//!
//! The HTTP face of Concierge: configuration, wiring of adapters into the domain's ports,
//! token auth, problem+json errors and the routes of `/api/v1`. The binary `concierge` is a
//! thin CLI over [`Application`].

// Panicking shortcuts stay in tests; elsewhere a failure is an error the caller sees.
#![cfg_attr(not(test), deny(clippy::expect_used, clippy::indexing_slicing))]

pub mod auth;
mod auto_summary;
pub mod config;
mod edge;
pub mod followers;
pub mod insights;
pub mod limits;
pub mod metrics;
mod middleware;
pub mod openapi;
mod pages;
pub mod password;
pub mod problem;
pub mod realtime;
mod routes;
pub mod startup;
pub mod state;
pub mod wire;

pub use config::Config;
pub use startup::openapi_json;
pub use startup::{Application, StartError};
