//! The one integration test binary: each module drives the HTTP API (or the CLI) of a gateway
//! spawned with a fresh database — SQLite by default, PostgreSQL when `TEST_DATABASE_URL` is set.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::manual_is_multiple_of,
    clippy::indexing_slicing,
    clippy::string_slice
)]

mod helpers;
mod oidc_provider;

mod admin;
mod agencies;
mod audit;
mod auth;
mod bad_input;
mod bulk;
mod cli;
mod discovery;
mod events;
mod filter_property;
mod fuzz;
mod groups;
mod hostile;
mod hostile_admin;
mod hostile_suite;
mod import;
mod layers;
mod logs;
mod metrics;
mod operations;
mod pages;
mod plans;
mod process;
mod rate_limits;
mod roles;
mod size_limits;
mod sqlite_page_cache;
mod sso;
mod tenant_rules;
mod users;
mod users_list;
mod users_patch;
mod users_query;
mod webhook_processes;
mod webhooks;
