//! HTTP-level tests of the real application through Rocket's local client. One test binary
//! with modules, so the app is linked once; the folders mirror `src/` by feature.

// Tests may panic on broken expectations; that is how they fail.
#![allow(clippy::unwrap_used)]

mod accounts;
mod audit;
mod auth;
mod backup;
// End to end in headless Chromium, across every feature; heavy, so first in the run.
mod browser;
mod bucketlists;
mod cli;
mod common;
mod crash;
mod db;
mod forward_auth;
mod http;
mod logs;
mod mail;
mod maintenance;
mod metrics;
mod mfa;
mod nginx;
mod process;
mod web;
