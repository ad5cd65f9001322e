//! Sessions, tokens and their keys, and login throttling.

mod rotation;
mod sessions;
mod throttle;
mod tokens;
