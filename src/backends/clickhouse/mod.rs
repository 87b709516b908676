//! ClickHouse holding the OpenTelemetry collector exporter's tables: the schema and field map
//! ([`schema`]) and the filter language compiled to SQL with every value a query parameter ([`sql`]).
//!
//! Not here yet: the HTTP client and the logs/traces tools that use it (they arrive with the
//! ClickHouse datasource kind).

pub mod schema;
pub mod sql;
