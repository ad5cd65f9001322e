//! HTTP-level tests of the real application through Rocket's local client. One test binary
//! with modules, so the app is linked once.

// Tests may panic on broken expectations; that is how they fail.
#![allow(clippy::unwrap_used)]

mod accounts;
mod admin;
mod audit;
mod browser;
mod bucketlists;
mod cli;
mod common;
mod errors;
mod fuzz;
mod identity;
mod instances;
mod pages;
mod rotation;
mod scale;
mod sessions;
mod throttling;
mod tokens;
