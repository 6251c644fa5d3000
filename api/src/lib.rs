//! Bellwether's API: the only crate that knows HTTP, GraphQL, JWT and JSON.
//!
//! `main.rs` is a shim over [`cli`]; tests start the real server through [`app::Application`].

pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod graphiql;
pub mod graphql;
pub mod http;
pub mod import;
pub mod observability;
pub mod plugin_cli;
pub mod rate_limit;
pub mod telemetry;
