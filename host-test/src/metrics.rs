//! `/metrics` content: `mcp_`-prefixed counters and latency histograms for HTTP requests, tool calls
//! and backend requests, in the Prometheus text format. Serving it is the server module's job.

use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

type Labels = Vec<(&'static str, String)>;

const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 30.0,
];

fn latency() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// All host metrics.
pub struct Metrics {
    registry: Mutex<Registry>,
    http_requests: Family<Labels, Counter>,
    http_duration: Family<Labels, Histogram, fn() -> Histogram>,
    tool_calls: Family<Labels, Counter>,
    tool_duration: Family<Labels, Histogram, fn() -> Histogram>,
    backend_requests: Family<Labels, Counter>,
    backend_duration: Family<Labels, Histogram, fn() -> Histogram>,
    egress_denied: Counter,
    auth_requests: Family<Labels, Counter>,
    auth_reviews: Family<Labels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("mcp");
        let m = Metrics {
            registry: Mutex::new(Registry::default()),
            http_requests: Family::default(),
            http_duration: Family::new_with_constructor(latency),
            tool_calls: Family::default(),
            tool_duration: Family::new_with_constructor(latency),
            backend_requests: Family::default(),
            backend_duration: Family::new_with_constructor(latency),
            egress_denied: Counter::default(),
            auth_requests: Family::default(),
            auth_reviews: Family::default(),
        };
        registry.register(
            "http_requests",
            "HTTP requests served, by path and status",
            m.http_requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency, by path",
            m.http_duration.clone(),
        );
        registry.register(
            "tool_calls",
            "Tool calls, by tool and outcome (ok, error, unknown_tool, trap, timeout, busy, cancelled)",
            m.tool_calls.clone(),
        );
        registry.register(
            "tool_call_duration_seconds",
            "Tool call latency, by tool",
            m.tool_duration.clone(),
        );
        registry.register(
            "backend_requests",
            "Requests to datasources, by datasource and HTTP status (or 'error')",
            m.backend_requests.clone(),
        );
        registry.register(
            "backend_request_duration_seconds",
            "Datasource request latency until response headers, by datasource",
            m.backend_duration.clone(),
        );
        registry.register(
            "egress_denied",
            "Outbound requests refused because the origin is not a configured datasource",
            m.egress_denied.clone(),
        );
        registry.register(
            "auth_requests",
            "MCP requests by authentication outcome (ok, missing, malformed, rejected, unavailable)",
            m.auth_requests.clone(),
        );
        registry.register(
            "auth_reviews",
            "Calls to the Kubernetes API to review a token (cache misses), by API and result",
            m.auth_reviews.clone(),
        );
        *m.registry.lock().expect("fresh mutex") = registry;
        m
    }
}

impl Metrics {
    /// Counts one HTTP request on `path` answered with `status`.
    pub fn http_request(&self, path: &str, status: u16, elapsed: Duration) {
        // Bound the label's values: unknown paths share one series.
        let path = match path {
            "/mcp" | "/mcp/" | "/health" | "/metrics" => path.to_string(),
            _ => "other".to_string(),
        };
        self.http_requests
            .get_or_create(&vec![
                ("path", path.clone()),
                ("status", status.to_string()),
            ])
            .inc();
        self.http_duration
            .get_or_create(&vec![("path", path)])
            .observe(elapsed.as_secs_f64());
    }

    /// Counts one tool call with its outcome.
    pub fn tool_call(&self, tool: &str, outcome: &'static str, elapsed: Duration) {
        let tool = if proms_mcp::tools::TOOLS.iter().any(|t| t.name == tool) {
            tool.to_string()
        } else {
            "unknown".to_string()
        };
        self.tool_calls
            .get_or_create(&vec![
                ("tool", tool.clone()),
                ("outcome", outcome.to_string()),
            ])
            .inc();
        self.tool_duration
            .get_or_create(&vec![("tool", tool)])
            .observe(elapsed.as_secs_f64());
    }

    /// Counts one datasource request; `status` is `None` when no response came back.
    pub fn backend_request(&self, datasource: &str, status: Option<u16>, elapsed: Duration) {
        let status = status.map_or_else(|| "error".to_string(), |s| s.to_string());
        self.backend_requests
            .get_or_create(&vec![
                ("datasource", datasource.to_string()),
                ("status", status),
            ])
            .inc();
        self.backend_duration
            .get_or_create(&vec![("datasource", datasource.to_string())])
            .observe(elapsed.as_secs_f64());
    }

    /// Counts one denied outbound request.
    pub fn egress_denied(&self) {
        self.egress_denied.inc();
    }

    /// Counts one MCP request's authentication outcome.
    pub fn auth_request(&self, outcome: &'static str) {
        self.auth_requests
            .get_or_create(&vec![("outcome", outcome.to_string())])
            .inc();
    }

    /// Counts one review call to the API server.
    pub fn auth_review(&self, api: &'static str, answer: &proms_mcp::auth::ReviewAnswer) {
        use proms_mcp::auth::ReviewAnswer;
        let result = match answer {
            ReviewAnswer::Authenticated(_) => "authenticated",
            ReviewAnswer::Rejected(_) => "rejected",
            ReviewAnswer::Forbidden => "forbidden",
            ReviewAnswer::Failed(_) => "failed",
        };
        self.auth_reviews
            .get_or_create(&vec![
                ("api", api.to_string()),
                ("result", result.to_string()),
            ])
            .inc();
    }

    /// The text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        let registry = self.registry.lock().unwrap_or_else(|p| p.into_inner());
        // Writing to a String cannot fail.
        let _ = encode(&mut out, &registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_has_prefixed_counters_and_histograms() {
        let m = Metrics::default();
        m.tool_call("query_instant", "ok", Duration::from_millis(3));
        m.tool_call("nope", "unknown_tool", Duration::from_millis(1));
        m.http_request("/mcp", 200, Duration::from_millis(4));
        m.backend_request("prom", Some(200), Duration::from_millis(2));
        m.egress_denied();
        let text = m.encode();
        assert!(
            text.contains(r#"mcp_tool_calls_total{tool="query_instant",outcome="ok"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"mcp_tool_calls_total{tool="unknown",outcome="unknown_tool"} 1"#),
            "{text}"
        );
        assert!(
            text.contains("mcp_tool_call_duration_seconds_bucket"),
            "{text}"
        );
        assert!(
            text.contains(r#"mcp_backend_requests_total{datasource="prom",status="200"} 1"#),
            "{text}"
        );
        assert!(text.contains("mcp_egress_denied_total 1"), "{text}");
    }
}
