//! ClickHouse holding the OpenTelemetry collector exporter's tables: the schema and field map
//! ([`schema`]), the filter language compiled to SQL with every value a query parameter ([`sql`]),
//! and the HTTP interface client ([`client`]).

pub mod client;
pub mod schema;
pub mod sql;

pub use client::{ClickHouseError, Client};
