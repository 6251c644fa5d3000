//! Integration tests: the real server over HTTP, on SQLite and PostgreSQL.

mod abuse;
mod accounts;
mod audit;
mod auth;
mod bulk;
mod contacts_interactions;
mod graphiql;
mod health;
mod isolation;
mod operations;
mod playbooks;
mod plugins;
mod risks;
mod robustness;
mod roles;
mod schema;
mod signals;
mod traces;
mod transport;
mod validation;
mod warning;
