//! Grafana Loki (or a server answering its HTTP query API, such as qryn): the filter language
//! compiled to LogQL ([`logql`]) and the query API client ([`client`]).

pub mod client;
pub mod logql;
