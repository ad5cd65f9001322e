//! The HTTP contract every handler keeps: the error shapes of API.md §3 and the headers,
//! checked by hand and by property-based fuzzing.

mod errors;
mod fuzz;
mod openapi;
mod schemathesis;
