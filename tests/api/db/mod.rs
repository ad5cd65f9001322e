//! The database: several instances on one, outages, the queue for connections, and query
//! plans at scale.

mod instances;
mod queue;
mod scale;
