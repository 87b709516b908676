//! Grafana Tempo (or a server answering its HTTP query API, such as qryn): the filter language
//! compiled to TraceQL ([`traceql`]) and the query API client ([`client`]).

pub mod client;
pub mod traceql;
