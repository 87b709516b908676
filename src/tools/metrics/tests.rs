//! Tool-level tests: arguments in, the exact request out, a canned Prometheus answer back, and the
//! shaped result (or the `isError` message) checked.

use std::cell::RefCell;
use std::time::Duration;

use serde_json::{Value, json};

use crate::datasources::{self, DatasourceSet};
use crate::http::{HttpClient, HttpError, HttpRequest, HttpResponse};
use crate::tools::{Context, call, list};

const NOW: f64 = 1_763_719_200.0; // 2025-11-21T10:00:00Z

/// Answers by path; remembers every request.
pub(super) struct Backend {
    answers: Vec<(&'static str, u16, String)>,
    seen: RefCell<Vec<HttpRequest>>,
}

impl HttpClient for Backend {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, HttpError> {
        self.seen.borrow_mut().push(request.clone());
        let path = request.url.split('?').next().unwrap_or_default();
        self.answers
            .iter()
            .find(|(p, _, _)| path.ends_with(p))
            .map(|(_, status, body)| HttpResponse {
                status: *status,
                body: body.clone().into_bytes(),
            })
            .ok_or(HttpError::Connect("connection refused".into()))
    }
}

pub(super) fn backend(answers: Vec<(&'static str, u16, Value)>) -> Backend {
    Backend {
        answers: answers
            .into_iter()
            .map(|(p, s, v)| (p, s, v.to_string()))
            .collect(),
        seen: RefCell::new(Vec::new()),
    }
}

pub(super) fn ok(data: Value) -> Value {
    json!({"status": "success", "data": data})
}

fn set() -> DatasourceSet {
    datasources::parse(
        "datasources:\n- name: prom\n  type: prometheus\n  url: http://127.0.0.1:9090\n  isDefault: true\n  jsonData:\n    timeInterval: 30s\n- name: vm\n  type: victoriametrics-metrics-datasource\n  url: http://127.0.0.1:8428\n",
        "test.yaml",
        &|_| None,
    )
    .unwrap()
}

pub(super) fn run(b: &Backend, tool: &str, args: Value) -> Value {
    let set = set();
    let ctx = Context {
        datasources: &set,
        http: b,
        now: NOW,
        timeout: Duration::from_secs(30),
    };
    let result = call(&ctx, tool, args).unwrap();
    if result["isError"] == false {
        // Strictly against the full schema (every member documented), and as a client would
        // against the one tools/list publishes.
        let def = crate::tools::TOOLS.iter().find(|t| t.name == tool).unwrap();
        conforms(
            &result["structuredContent"],
            &def.output_schema(),
            tool,
            true,
        );
        let (_, listed) = list().into_iter().find(|(n, _)| *n == tool).unwrap();
        conforms(
            &result["structuredContent"],
            &listed["outputSchema"],
            tool,
            false,
        );
    }
    result
}

/// Checks `value` against the JSON Schema subset our output schemas use (type, properties,
/// required, items, enum); `strict`: an object member its schema does not declare is an error, so
/// every field a tool emits is documented.
fn conforms(value: &Value, schema: &Value, path: &str, strict: bool) {
    if let Some(types) = schema.get("type") {
        let types: Vec<&str> = match types {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let actual = match value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        let ok = types.contains(&actual) || (actual == "integer" && types.contains(&"number"));
        assert!(
            ok,
            "{path}: {actual} where the schema says {types:?}: {value}"
        );
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
        assert!(
            allowed.contains(value),
            "{path}: {value} not in {allowed:?}"
        );
    }
    if let (Value::Object(members), Some(props)) =
        (value, schema.get("properties").and_then(Value::as_object))
    {
        for (k, v) in members {
            match props.get(k) {
                Some(sub) => conforms(v, sub, &format!("{path}.{k}"), strict),
                None => assert!(!strict, "{path}: '{k}' is not in the output schema"),
            }
        }
        for r in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            assert!(
                members.contains_key(r.as_str().unwrap()),
                "{path}: required '{r}' missing"
            );
        }
    }
    if let (Value::Array(items), Some(item_schema)) = (value, schema.get("items")) {
        for (i, v) in items.iter().enumerate() {
            conforms(v, item_schema, &format!("{path}[{i}]"), strict);
        }
    }
}

pub(super) fn structured(result: &Value) -> &Value {
    assert_eq!(result["isError"], false, "{result}");
    let text = result["content"][0]["text"].as_str().unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(text).unwrap(),
        result["structuredContent"],
        "text and structuredContent must carry the same JSON"
    );
    &result["structuredContent"]
}

fn error_text(result: &Value) -> String {
    assert_eq!(result["isError"], true, "{result}");
    assert!(result.get("structuredContent").is_none());
    result["content"][0]["text"].as_str().unwrap().to_string()
}

#[test]
fn every_tool_is_listed_with_strict_schemas_and_read_only_annotations() {
    let tools = list();
    let names: Vec<&str> = tools.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names,
        [
            "list_datasources",
            "list_metrics",
            "get_metric_metadata",
            "query_instant",
            "query_range",
            "analyze_metrics",
            "get_metric_labels",
            "get_label_values",
            "find_metrics_by_pattern",
            "get_trace_or_log_fields",
            "search_logs",
            "analyze_logs",
            "search_traces",
            "analyze_traces",
            "get_trace",
            "analyze_telemetry"
        ]
    );
    let valid_name = regex::Regex::new("^[A-Za-z0-9_.-]{1,128}$").unwrap();
    for (name, def) in &tools {
        assert!(valid_name.is_match(name));
        assert!(def["inputSchema"]["properties"].is_object(), "{name}");
        assert_eq!(def["outputSchema"]["type"], "object", "{name}");
        assert_eq!(def["annotations"]["readOnlyHint"], true);
        assert_eq!(def["annotations"]["idempotentHint"], true);
        // Every array in every schema says what its items are.
        fn arrays_have_items(v: &Value, path: &str) {
            match v {
                Value::Object(m) => {
                    if m.get("type") == Some(&json!("array")) {
                        assert!(m.contains_key("items"), "array without items at {path}");
                    }
                    for (k, v) in m {
                        arrays_have_items(v, &format!("{path}/{k}"));
                    }
                }
                Value::Array(a) => a.iter().for_each(|v| arrays_have_items(v, path)),
                _ => {}
            }
        }
        arrays_have_items(def, name);
    }
}

#[test]
fn unknown_tool_is_a_call_error_naming_the_tools() {
    let set = set();
    let b = backend(vec![]);
    let ctx = Context {
        datasources: &set,
        http: &b,
        now: NOW,
        timeout: Duration::from_secs(1),
    };
    let e = call(&ctx, "drop_database", json!({})).unwrap_err();
    assert!(e.to_string().contains("query_instant"), "{e}");
}

#[test]
fn list_datasources_shows_ids_and_default() {
    let out = run(&backend(vec![]), "list_datasources", json!({}));
    let s = structured(&out);
    assert_eq!(s["total"], 2);
    assert_eq!(s["default"], "prom");
    assert_eq!(s["defaults"], json!({"metrics": "prom"}));
    assert_eq!(s["datasources"][1]["id"], "vm");
    assert_eq!(s["datasources"][1]["families"], json!(["metrics"]));
}

#[test]
fn without_datasource_id_the_family_default_answers_and_is_echoed() {
    let b = backend(vec![(
        "/api/v1/query",
        200,
        ok(json!({"resultType": "scalar", "result": [1, "1"]})),
    )]);
    let out = run(&b, "query_instant", json!({"promql": "1"}));
    assert_eq!(structured(&out)["datasource"], "prom");
    assert!(b.seen.borrow()[0].url.starts_with("http://127.0.0.1:9090/"));
    let out = run(
        &b,
        "query_instant",
        json!({"datasource_id": "vm", "promql": "1"}),
    );
    assert_eq!(structured(&out)["datasource"], "vm");
    assert!(b.seen.borrow()[1].url.starts_with("http://127.0.0.1:8428/"));
}

#[test]
fn every_family_tool_takes_an_optional_datasource_id_and_echoes_it() {
    for tool in crate::tools::TOOLS {
        let (input, output) = (crate::tools::definition(tool), tool.output_schema());
        let takes = input["inputSchema"]["properties"]
            .get("datasource_id")
            .is_some();
        assert_eq!(takes, tool.family().is_some(), "{}", tool.name);
        if takes {
            let required = input["inputSchema"]["required"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            assert!(!required.contains(&json!("datasource_id")), "{}", tool.name);
            // A fan-out tool's single-datasource shape is its schema's first alternative.
            let required = output
                .get("required")
                .or(output["anyOf"][0].get("required"));
            assert_eq!(required.unwrap()[0], "datasource", "{}", tool.name);
        }
    }
}

#[test]
fn a_datasource_of_another_family_is_refused_with_the_right_ones() {
    use crate::datasources::Family;
    use crate::tools::chosen;
    let set = set();
    // No logs datasource is configured: asking for one by default, or with a metrics id, says so.
    let e = chosen(&set, Family::Logs, None).unwrap_err().message;
    assert!(e.contains("no logs datasource is configured"), "{e}");
    let e = chosen(&set, Family::Logs, Some("prom"))
        .unwrap_err()
        .message;
    assert!(
        e.contains("'prom' is a metrics datasource") && e.contains("needs a logs datasource"),
        "{e}"
    );
    let e = chosen(&set, Family::Metrics, Some("nope"))
        .unwrap_err()
        .message;
    assert!(
        e.contains("metrics datasources: prom, vm (default: prom)"),
        "{e}"
    );
    assert_eq!(
        chosen(&set, Family::Metrics, Some("vm")).unwrap().name,
        "vm"
    );
}

#[test]
fn unknown_datasource_lists_the_ids() {
    let out = run(
        &backend(vec![]),
        "query_instant",
        json!({"datasource_id": "nope", "promql": "up"}),
    );
    let msg = error_text(&out);
    assert!(
        msg.contains("'nope'") && msg.contains("metrics datasources: prom, vm"),
        "{msg}"
    );
}

#[test]
fn bad_promql_is_refused_before_sending() {
    let b = backend(vec![]);
    let out = run(
        &b,
        "query_instant",
        json!({"datasource_id": "prom", "promql": "sum(rate(x[5m])"}),
    );
    assert!(error_text(&out).contains("invalid PromQL"));
    assert!(b.seen.borrow().is_empty());
}

#[test]
fn query_instant_shapes_vector_compactly_and_echoes_time() {
    let b = backend(vec![(
        "/api/v1/query",
        200,
        ok(json!({"resultType": "vector", "result": [
            {"metric": {"__name__": "up", "job": "b"}, "value": [NOW - 3600.0, "0"]},
            {"metric": {"__name__": "up", "job": "a"}, "value": [NOW - 3600.0, "1"]},
        ]})),
    )]);
    let out = run(
        &b,
        "query_instant",
        json!({"datasource_id": "prom", "promql": "up", "time": "now-1h", "limit": 1}),
    );
    let s = structured(&out);
    assert_eq!(s["time"], "2025-11-21T09:00:00Z");
    assert_eq!(
        s["result"],
        json!([{"metric": {"__name__": "up", "job": "a"}, "value": 1.0}])
    );
    assert_eq!(
        (s["total"].clone(), s["shown"].clone()),
        (json!(2), json!(1))
    );
    assert!(s["truncated"].as_str().unwrap().contains("1 of 2"));
    let body = String::from_utf8(b.seen.borrow()[0].body.clone().unwrap()).unwrap();
    assert!(body.contains("time=1763715600"), "{body}");
}

#[test]
fn query_instant_scalar_and_empty_results() {
    let b = backend(vec![(
        "/api/v1/query",
        200,
        ok(json!({"resultType": "scalar", "result": [NOW, "42"]})),
    )]);
    let s = run(
        &b,
        "query_instant",
        json!({"datasource_id": "prom", "promql": "42"}),
    );
    assert_eq!(structured(&s)["value"], 42.0);
    let b = backend(vec![(
        "/api/v1/query",
        200,
        ok(json!({"resultType": "vector", "result": []})),
    )]);
    let s = run(
        &b,
        "query_instant",
        json!({"datasource_id": "prom", "promql": "nothing"}),
    );
    assert!(
        structured(&s)["hint"]
            .as_str()
            .unwrap()
            .contains("find_metrics_by_pattern")
    );
}

#[test]
fn query_range_refuses_too_many_points_and_names_a_step_that_fits() {
    let b = backend(vec![]);
    let out = run(
        &b,
        "query_range",
        json!({"datasource_id": "prom", "promql": "up", "start": "now-24h", "end": "now", "step": "1s"}),
    );
    let msg = error_text(&out);
    assert!(
        msg.contains("86401 points") && msg.contains("'15s'"),
        "{msg}"
    );
    assert!(b.seen.borrow().is_empty());
}

#[test]
fn query_range_auto_step_respects_scrape_interval_and_echoes_window() {
    let b = backend(vec![(
        "/api/v1/query_range",
        200,
        ok(json!({"resultType": "matrix", "result": [
            {"metric": {"job": "a"}, "values": [[NOW - 60.0, "1"], [NOW - 30.0, "3"], [NOW, "2"]]}
        ]})),
    )]);
    let out = run(
        &b,
        "query_range",
        json!({"datasource_id": "prom", "promql": "up", "start": "now-1h", "end": "now"}),
    );
    let s = structured(&out);
    // 1h / 120 points = 30s, and the datasource's timeInterval is 30s.
    assert_eq!(s["step"], "30s");
    assert_eq!(s["start"], "2025-11-21T09:00:00Z");
    assert_eq!(s["points"], 3);
    assert_eq!(
        s["result"][0]["stats"],
        json!({"min": 1.0, "max": 3.0, "avg": 2.0, "last": 2.0})
    );
    // Step-aligned: start, step and the values on that grid, whole numbers as integers.
    assert_eq!(
        (
            s["result"][0]["start"].clone(),
            s["result"][0]["step"].clone(),
            s["result"][0]["values"].clone()
        ),
        (json!(1763719140), json!(30), json!([1, 3, 2]))
    );
}

#[test]
fn label_values_filter_by_metric_with_match() {
    let b = backend(vec![(
        "/api/v1/label/job/values",
        200,
        ok(json!(["b", "a"])),
    )]);
    let out = run(
        &b,
        "get_label_values",
        json!({"datasource_id": "vm", "label_name": "job", "metric_name": "up"}),
    );
    let s = structured(&out);
    assert_eq!(s["values"], json!(["a", "b"]));
    assert_eq!(s["metric"], "up");
    let url = b.seen.borrow()[0].url.clone();
    assert!(
        url.starts_with("http://127.0.0.1:8428/api/v1/label/job/values?"),
        "{url}"
    );
    assert!(
        url.contains("match%5B%5D=%7B__name__%3D%22up%22%7D"),
        "{url}"
    );
    assert!(url.contains("start=1763715600&end=1763719200"), "{url}");
}

#[test]
fn metric_labels_use_labels_endpoint_with_window_and_drop_name() {
    let b = backend(vec![(
        "/api/v1/labels",
        200,
        ok(json!(["__name__", "job", "instance"])),
    )]);
    let out = run(
        &b,
        "get_metric_labels",
        json!({"datasource_id": "prom", "metric_name": "up", "start": "now-2h"}),
    );
    let s = structured(&out);
    assert_eq!(s["labels"], json!(["instance", "job"]));
    assert_eq!(s["window"]["start"], "2025-11-21T08:00:00Z");
    let body = String::from_utf8(b.seen.borrow()[0].body.clone().unwrap()).unwrap();
    assert!(
        body.contains("match%5B%5D=%7B__name__%3D%22up%22%7D"),
        "{body}"
    );
}

#[test]
fn find_metrics_checks_the_regex_then_lets_prometheus_match() {
    let b = backend(vec![]);
    let out = run(
        &b,
        "find_metrics_by_pattern",
        json!({"datasource_id": "prom", "pattern": "http_(.*"}),
    );
    assert!(error_text(&out).contains("pattern"));
    assert!(b.seen.borrow().is_empty());
    let b = backend(vec![(
        "/api/v1/label/__name__/values",
        200,
        ok(json!(["http_a_total"])),
    )]);
    let out = run(
        &b,
        "find_metrics_by_pattern",
        json!({"datasource_id": "prom", "pattern": "http"}),
    );
    assert_eq!(structured(&out)["metrics"], json!(["http_a_total"]));
    // Matched anywhere in the name, as proms-mcp's re.search: {__name__=~".*(?:http).*"}.
    let url = b.seen.borrow()[0].url.clone();
    assert!(
        url.contains("match%5B%5D=%7B__name__%3D~%22.%2A%28%3F%3Ahttp%29.%2A%22%7D"),
        "{url}"
    );
}

#[test]
fn find_metrics_anchors_stay_anchors_inside_the_wrapper() {
    // What the backend does with the matcher we send, checked with an RE2-compatible engine: the
    // pattern matches anywhere, and ^/$ still anchor at the ends of the name.
    let names = ["http_requests_total", "node_http_total", "up"];
    let found = |pattern: &str| -> Vec<&str> {
        let re = regex::Regex::new(&format!("^(?:.*(?:{pattern}).*)$")).unwrap();
        names.iter().copied().filter(|n| re.is_match(n)).collect()
    };
    assert_eq!(found("http"), ["http_requests_total", "node_http_total"]);
    assert_eq!(found("^http"), ["http_requests_total"]);
    assert_eq!(found("http_total$"), ["node_http_total"]);
    assert_eq!(found("^up$|requests"), ["http_requests_total", "up"]);
}

#[test]
fn list_metrics_is_bounded_and_counts_the_rest() {
    let names: Vec<String> = (0..250).map(|i| format!("m_{i:03}")).collect();
    let b = backend(vec![(
        "/api/v1/label/__name__/values",
        200,
        ok(json!(names)),
    )]);
    let s = run(&b, "list_metrics", json!({"datasource_id": "prom"}));
    let s = structured(&s);
    assert_eq!(
        (s["total"].clone(), s["shown"].clone()),
        (json!(250), json!(200))
    );
    assert_eq!(s["metrics"][0], "m_000");
}

#[test]
fn metadata_is_compact_and_hints_when_missing() {
    let b = backend(vec![(
        "/api/v1/metadata",
        200,
        ok(json!({"up": [{"type": "gauge", "help": "Up.", "unit": ""}]})),
    )]);
    let s = run(
        &b,
        "get_metric_metadata",
        json!({"datasource_id": "prom", "metric_name": "up"}),
    );
    assert_eq!(structured(&s)["metadata"][0]["type"], "gauge");
    let b = backend(vec![("/api/v1/metadata", 200, ok(json!({})))]);
    let s = run(
        &b,
        "get_metric_metadata",
        json!({"datasource_id": "prom", "metric_name": "x"}),
    );
    assert!(structured(&s)["hint"].is_string());
}

#[test]
fn backend_errors_say_what_to_do() {
    let b = backend(vec![(
        "/api/v1/query",
        422,
        json!({"status": "error", "errorType": "execution", "error": "query processing would load too many samples"}),
    )]);
    let msg = error_text(&run(
        &b,
        "query_instant",
        json!({"datasource_id": "prom", "promql": "up"}),
    ));
    assert!(
        msg.contains("too many samples") && msg.contains("What to do"),
        "{msg}"
    );
    // No answer at all: connection refused.
    let msg = error_text(&run(
        &backend(vec![]),
        "list_metrics",
        json!({"datasource_id": "prom"}),
    ));
    assert!(msg.contains("unreachable"), "{msg}");
}

#[test]
fn bad_arguments_are_tool_errors_the_model_can_fix() {
    let b = backend(vec![]);
    let msg = error_text(&run(&b, "query_instant", json!({"datasource_id": "prom"})));
    assert!(msg.contains("missing required argument 'promql'"), "{msg}");
    let msg = error_text(&run(
        &b,
        "query_instant",
        json!({"datasource_id": "prom", "promql": "up", "time": "yesterday"}),
    ));
    assert!(msg.contains("'yesterday'"), "{msg}");
}

#[test]
fn analyze_metrics_summarises_every_series_and_lists_the_largest_first() {
    let b = backend(vec![(
        "/api/v1/query_range",
        200,
        ok(json!({"resultType": "matrix", "result": [
            {"metric": {"job": "a"}, "values": [[1, "1"], [2, "3"], [3, "NaN"]]},
            {"metric": {"job": "b"}, "values": [[1, "10"], [2, "20"]]},
            {"metric": {"job": "c"}, "values": [[1, "+Inf"]]}
        ]})),
    )]);
    let out = run(
        &b,
        "analyze_metrics",
        json!({"promql": "x", "from_time": "now-1h", "step": "1m", "limit": 1}),
    );
    let s = structured(&out);
    assert_eq!(s["datasource"], "prom");
    assert_eq!(s["series"][0]["metric"], json!({"job": "b"}));
    assert_eq!(
        (
            s["series"][0]["avg"].clone(),
            s["series"][0]["total"].clone(),
            s["series"][0]["latest"].clone()
        ),
        (json!(15.0), json!(30.0), json!(20.0))
    );
    // Over all three series, NaN and +Inf left out and said so.
    let o = &s["overall"];
    assert_eq!(
        (o["series"].clone(), o["samples"].clone()),
        (json!(3), json!(4))
    );
    assert_eq!(
        (o["min"].clone(), o["max"].clone(), o["total"].clone()),
        (json!(1.0), json!(20.0), json!(34.0))
    );
    assert_eq!(
        o["latest"],
        json!(23.0),
        "the sum of the series' latest samples"
    );
    assert!(s["skipped"].as_str().unwrap().starts_with("2 NaN"), "{s}");
    assert!(s["truncated"].as_str().unwrap().starts_with("1 of 3 shown"));
    assert!(b.seen.borrow()[0].url.contains("/api/v1/query_range"));
}

#[test]
fn an_answer_over_the_byte_budget_is_cut_to_whole_series_and_says_what_gets_the_rest() {
    // 40 series of 241 values each with 7 significant digits asked for in full: ~370 KB.
    let series: Vec<Value> = (0..40)
        .map(|i| {
            let values: Vec<Value> = (0..241)
                .map(|k| {
                    json!([
                        NOW - 3600.0 + 15.0 * k as f64,
                        format!("{}.123456", 1000 + k)
                    ])
                })
                .collect();
            json!({"metric": {"pod": format!("p{i:02}")}, "values": values})
        })
        .collect();
    let b = backend(vec![(
        "/api/v1/query_range",
        200,
        ok(json!({"resultType": "matrix", "result": series})),
    )]);
    let out = run(
        &b,
        "query_range",
        json!({"promql": "x", "start": "now-1h", "end": "now", "step": "15s", "limit": 40, "precision": "full"}),
    );
    let s = structured(&out);
    let text = out["content"][0]["text"].as_str().unwrap();
    assert!(
        text.len() <= crate::tools::bounds::ANSWER_BUDGET,
        "{}",
        text.len()
    );
    let kept = s["result"].as_array().unwrap().len();
    assert!(kept > 0 && kept < 40, "{kept}");
    assert_eq!(s["shown"], kept);
    assert_eq!(s["total"], 40);
    assert_eq!(s["points"], kept * 241);
    // Whole series, exact: the last one kept is complete.
    assert_eq!(
        s["result"][kept - 1]["values"].as_array().unwrap().len(),
        241
    );
    assert_eq!(s["result"][kept - 1]["values"][240], json!(1240.123456));
    let note = s["truncated"].as_str().unwrap();
    assert!(
        note.starts_with(&format!("{kept} of 40 shown; answer cut")),
        "{note}"
    );
    assert!(
        note.contains(&format!("metric {{\"pod\":\"p{kept:02}\"}}")),
        "{note}"
    );
    assert!(note.contains("raise `step`"), "{note}");
    // The default precision halves the answer, so more series fit.
    let rounded = run(
        &b,
        "query_range",
        json!({"promql": "x", "start": "now-1h", "end": "now", "step": "15s", "limit": 40}),
    );
    assert!(structured(&rounded)["shown"].as_u64().unwrap() > kept as u64);
}

/// The empty-answer hints (closest names), in a file of their own.
mod hints;
