//! Sessions, tokens and their keys, and login throttling.

mod personal_tokens;
mod rotation;
mod sessions;
mod throttle;
mod tokens;
