//! The HTML pages through Rocket's local client, each browser with its own cookies.

mod account;
mod admin;
mod auth;
mod csrf;
mod mfa;
mod pages;
mod tokens;
mod users;
