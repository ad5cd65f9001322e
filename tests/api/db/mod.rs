//! The database: several instances on one, outages, and query plans at scale.

mod instances;
mod scale;
