//! Fan-out: `query_instant`, `query_range` and `analyze_metrics` asked of several metrics
//! datasources at once (`datasource_ids`, or `"*"` for all). The same handler runs once per
//! datasource, the requests go out together ([`super::concurrent`]), and the answer lists each
//! datasource's result beside the ones that failed. Choosing one datasource is [`super::chosen`]'s.

use serde_json::{Value, json};

use super::args::{Args, Param, ParamKind};
use super::{Context, DATASOURCE_PARAM, ToolFailure, chosen, family_list, metrics_client};
use crate::backends::prometheus;
use crate::datasources::{Datasource, Family};

/// `datasource_ids`: several metrics datasources at once, for the tools that fan out.
pub(crate) const DATASOURCE_IDS_PARAM: Param = Param {
    name: "datasource_ids",
    kind: ParamKind::Strings { max: 64 },
    required: false,
    description: "Several datasources, e.g. [\"eu\", \"us\"] or \"*\": the query on each.",
};

/// Runs a [`Handler::MetricsEach`] handler on every datasource `datasource_ids` names, concurrently,
/// and lists the answers and the failures side by side; fails only when every datasource failed.
pub(super) fn run(
    ctx: &Context,
    args: &Args,
    f: fn(&Context, &Args, &prometheus::Client) -> Result<Value, ToolFailure>,
) -> Result<Value, ToolFailure> {
    if args.str(DATASOURCE_PARAM.name).is_some() {
        return Err(ToolFailure::new(
            "give either datasource_id (one datasource) or datasource_ids (several), not both",
        ));
    }
    let ids = args.strings(DATASOURCE_IDS_PARAM.name);
    let mut targets: Vec<&Datasource> = Vec::new();
    for id in &ids {
        let found: Vec<&Datasource> = if id == "*" {
            ctx.datasources.of_family(Family::Metrics).collect()
        } else {
            vec![chosen(ctx.datasources, Family::Metrics, Some(id))?]
        };
        for ds in found {
            if !targets.iter().any(|t| t.name == ds.name) {
                targets.push(ds);
            }
        }
    }
    if targets.is_empty() {
        return Err(ToolFailure::new(format!(
            "datasource_ids names no datasource; {}",
            family_list(ctx.datasources, Family::Metrics)
        )));
    }
    let outcomes = super::concurrent::run_each(ctx.http, &targets, |ds, http| {
        let each = Context { http, ..*ctx };
        let mut out = f(&each, args, &metrics_client(&each, ds)?)?;
        if let Value::Object(map) = &mut out {
            map.insert("datasource".into(), Value::String(ds.name.clone()));
        }
        Ok::<Value, ToolFailure>(out)
    });
    let mut results = Vec::new();
    let mut failures = Vec::new();
    for (ds, outcome) in targets.iter().zip(outcomes) {
        match outcome {
            Ok(answer) => results.push(answer),
            Err(failure) => failures.push(json!({"datasource": ds.name, "error": failure.message})),
        }
    }
    if results.is_empty() {
        let all: Vec<String> = failures
            .iter()
            .map(|f| f["error"].as_str().unwrap_or_default().to_string())
            .collect();
        return Err(ToolFailure::new(format!(
            "every datasource failed: {}",
            all.join(" | ")
        )));
    }
    Ok(json!({
        "datasources": targets.iter().map(|d| d.name.as_str()).collect::<Vec<_>>(),
        "results": results,
        "failures": failures,
    }))
}

/// The output schema of a [`Handler::MetricsEach`] tool: either one datasource's answer (`single`)
/// or, for `datasource_ids`, a list of them beside the datasources that failed.
pub(super) fn output_schema(single: Value) -> Value {
    let mut schema = single.clone();
    let required = schema
        .as_object_mut()
        .and_then(|o| o.remove("required"))
        .unwrap_or_else(|| json!([]));
    let mut item = single;
    if let Some(properties) = item["properties"].as_object_mut() {
        properties.retain(|k, _| k != "warnings" && k != "infos");
    }
    schema["properties"]["datasources"] = json!({"type": "array", "items": {"type": "string"}});
    schema["properties"]["results"] = json!({"type": "array", "items": item});
    schema["properties"]["failures"] = json!({"type": "array", "items": {
        "type": "object",
        "properties": {"datasource": {"type": "string"}, "error": {"type": "string"}},
        "required": ["datasource", "error"]
    }});
    schema["anyOf"] = json!([
        {"required": required},
        {"required": ["datasources", "results", "failures"]}
    ]);
    schema
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::time::Duration;

    use serde_json::{Value, json};

    use crate::datasources;
    use crate::http::{HttpClient, HttpError, HttpRequest, HttpResponse};
    use crate::tools::{Context, call, list};

    /// `prom` answers a vector with the port in its value; `vm` is down; `rate` counts batches.
    #[derive(Default)]
    struct TwoBackends {
        batches: Cell<usize>,
    }

    impl HttpClient for TwoBackends {
        fn send(&self, request: &HttpRequest) -> Result<HttpResponse, HttpError> {
            if request.url.contains(":8428") {
                return Err(HttpError::Connect("connection refused".into()));
            }
            let body = json!({"status": "success", "data": {"resultType": "vector", "result": [
                {"metric": {"job": "api"}, "value": [1_763_719_200, "9090"]}
            ]}});
            Ok(HttpResponse {
                status: 200,
                body: body.to_string().into_bytes(),
            })
        }

        fn send_all(&self, requests: &[HttpRequest]) -> Vec<Result<HttpResponse, HttpError>> {
            self.batches.set(self.batches.get() + 1);
            requests.iter().map(|r| self.send(r)).collect()
        }
    }

    fn call_with(args: Value) -> (Value, usize) {
        let set = datasources::parse(
            "datasources:\n- name: prom\n  type: prometheus\n  url: http://127.0.0.1:9090\n- name: vm\n  type: victoriametrics-metrics-datasource\n  url: http://127.0.0.1:8428\n- name: logs\n  type: grafana-clickhouse-datasource\n  jsonData: {host: 127.0.0.1, port: 8123, protocol: http}\n",
            "test.yaml",
            &|_| None,
        )
        .unwrap();
        let http = TwoBackends::default();
        let ctx = Context {
            datasources: &set,
            http: &http,
            now: 1_763_719_200.0,
            timeout: Duration::from_secs(5),
        };
        let out = call(&ctx, "query_instant", args).unwrap();
        (out, http.batches.get())
    }

    #[test]
    fn every_metrics_datasource_is_asked_together_and_failures_are_listed() {
        let (out, batches) = call_with(json!({"promql": "up", "datasource_ids": "*"}));
        assert_eq!(out["isError"], false, "{out}");
        let s = &out["structuredContent"];
        assert_eq!(s["datasources"], json!(["prom", "vm"]));
        assert_eq!(s["results"].as_array().unwrap().len(), 1);
        assert_eq!(s["results"][0]["datasource"], "prom");
        assert_eq!(s["results"][0]["result"][0]["value"], json!(9090.0));
        assert_eq!(s["failures"][0]["datasource"], "vm");
        let error = s["failures"][0]["error"].as_str().unwrap();
        assert!(error.contains("connection refused"), "{error}");
        // Both datasources' requests went out in one batch.
        assert_eq!(batches, 1);
    }

    #[test]
    fn ids_are_checked_before_anything_is_sent() {
        let (out, batches) = call_with(json!({"promql": "up", "datasource_ids": ["prom", "logs"]}));
        assert_eq!(out["isError"], true);
        let text = out["content"][0]["text"].as_str().unwrap();
        assert!(
            text.contains("'logs' is a logs/traces datasource"),
            "{text}"
        );
        assert_eq!(batches, 0);
        let (out, _) = call_with(json!({"promql": "up", "datasource_ids": ["vm"]}));
        let text = out["content"][0]["text"].as_str().unwrap();
        assert!(text.starts_with("every datasource failed"), "{text}");
        let (out, _) =
            call_with(json!({"promql": "up", "datasource_id": "prom", "datasource_ids": ["vm"]}));
        let text = out["content"][0]["text"].as_str().unwrap();
        assert!(text.contains("not both"), "{text}");
    }

    #[test]
    fn one_id_in_the_list_still_answers_as_a_list() {
        let (out, _) = call_with(json!({"promql": "up", "datasource_ids": ["prom", "prom"]}));
        let s = &out["structuredContent"];
        assert_eq!(s["datasources"], json!(["prom"]));
        assert_eq!(s["failures"], json!([]));
    }

    #[test]
    fn the_output_schema_admits_both_shapes() {
        let tools = list();
        let (_, def) = tools.iter().find(|(n, _)| *n == "query_range").unwrap();
        let schema = &def["outputSchema"];
        assert_eq!(schema["type"], "object");
        assert!(schema.get("required").is_none());
        assert_eq!(
            schema["anyOf"][1]["required"],
            json!(["datasources", "results", "failures"])
        );
        assert!(
            schema["anyOf"][0]["required"]
                .as_array()
                .unwrap()
                .contains(&json!("datasource"))
        );
        assert!(
            def["inputSchema"]["properties"]
                .get("datasource_ids")
                .is_some()
        );
        let (_, plain) = tools.iter().find(|(n, _)| *n == "list_metrics").unwrap();
        assert!(
            plain["inputSchema"]["properties"]
                .get("datasource_ids")
                .is_none()
        );
    }
}
