//! The empty-answer hints: a query, label or value that matches nothing names what does not exist
//! and the closest names that do, over the canned backend of the parent tests.

use serde_json::json;

use super::{Backend, backend, ok, run, structured};

/// A datasource whose names are those of the demo data, and where every query comes back empty.
fn empty_answers_with_names() -> Backend {
    backend(vec![
        (
            "/api/v1/query_range",
            200,
            ok(json!({"resultType": "matrix", "result": []})),
        ),
        (
            "/api/v1/query",
            200,
            ok(json!({"resultType": "vector", "result": []})),
        ),
        (
            "/api/v1/label/__name__/values",
            200,
            ok(json!([
                "demo_http_requests_total",
                "demo_queue_depth",
                "up"
            ])),
        ),
        (
            "/api/v1/labels",
            200,
            ok(json!(["__name__", "code", "instance", "job"])),
        ),
        (
            "/api/v1/label/instance/values",
            200,
            ok(json!(["app-1:8080", "app-2:8080"])),
        ),
        ("/api/v1/metadata", 200, ok(json!({}))),
    ])
}

#[test]
fn an_empty_query_names_the_missing_metric_and_the_closest_ones() {
    let b = empty_answers_with_names();
    let out = run(
        &b,
        "query_range",
        json!({"promql": "rate(demo_http_request_total[5m])", "start": "now-1h", "end": "now"}),
    );
    let hint = structured(&out)["hint"].as_str().unwrap().to_string();
    assert!(
        hint.starts_with(
            "no metric 'demo_http_request_total' has samples in the window; closest: 'demo_http_requests_total'. no series in this range"
        ),
        "{hint}"
    );
    // The names were looked up over the query's range.
    let seen = b.seen.borrow();
    let lookup = seen
        .iter()
        .find(|r| r.url.contains("/label/__name__/values"))
        .unwrap();
    assert!(
        lookup.url.contains("start=1763715600") && lookup.url.contains("end=1763719200"),
        "{}",
        lookup.url
    );
}

#[test]
fn an_empty_query_names_a_missing_label_or_value_of_an_existing_metric() {
    let b = empty_answers_with_names();
    let out = run(
        &b,
        "query_instant",
        json!({"promql": "sum(rate(demo_http_requests_total{instance=\"app-3:8080\", jobs=\"api\"}[5m]))"}),
    );
    let hint = structured(&out)["hint"].as_str().unwrap().to_string();
    assert!(
        hint.starts_with(
            "no series of 'demo_http_requests_total' has instance=\"app-3:8080\" in the window; closest: 'app-1:8080', 'app-2:8080'; \
'demo_http_requests_total' has no label 'jobs' in the window; closest: 'job'. no series matched"
        ),
        "{hint}"
    );
    let out = run(
        &b,
        "analyze_metrics",
        json!({"promql": "demo_queue_depth", "queryType": "instant"}),
    );
    // The metric exists and the selector has no matchers: nothing specific to say.
    let hint = structured(&out)["hint"].as_str().unwrap().to_string();
    assert!(hint.starts_with("no series in this window"), "{hint}");
}

#[test]
fn empty_label_values_and_metadata_name_the_closest_labels_and_metrics() {
    let b = empty_answers_with_names();
    let b = Backend {
        answers: {
            let mut a = b.answers;
            a.insert(
                0,
                (
                    "/api/v1/label/instanse/values",
                    200,
                    ok(json!([])).to_string(),
                ),
            );
            a
        },
        seen: b.seen,
    };
    let out = run(
        &b,
        "get_label_values",
        json!({"label_name": "instanse", "metric_name": "demo_http_requests_total"}),
    );
    let hint = structured(&out)["hint"].as_str().unwrap().to_string();
    assert!(
        hint.starts_with(
            "label 'instanse' does not exist on 'demo_http_requests_total' in the window; closest: 'instance'. "
        ),
        "{hint}"
    );
    let out = run(
        &b,
        "get_label_values",
        json!({"label_name": "instanse", "metric_name": "demo_queue_dept"}),
    );
    let hint = structured(&out)["hint"].as_str().unwrap().to_string();
    assert!(
        hint.starts_with(
            "no metric 'demo_queue_dept' has samples in the window; closest: 'demo_queue_depth'. "
        ),
        "{hint}"
    );
    let out = run(
        &b,
        "get_metric_metadata",
        json!({"metric_name": "http_requests_total"}),
    );
    let hint = structured(&out)["hint"].as_str().unwrap().to_string();
    assert!(
        hint.starts_with(
            "no metric 'http_requests_total' has samples in the window; closest: 'demo_http_requests_total'. no metadata"
        ),
        "{hint}"
    );
    // A family name (metadata's key) whose series carry a suffix exists.
    let out = run(
        &b,
        "get_metric_metadata",
        json!({"metric_name": "demo_http_requests"}),
    );
    let hint = structured(&out)["hint"].as_str().unwrap().to_string();
    assert!(hint.starts_with("no metadata"), "{hint}");
    // get_metric_labels of a metric without series: the closest names.
    let b = backend(vec![
        ("/api/v1/labels", 200, ok(json!([]))),
        (
            "/api/v1/label/__name__/values",
            200,
            ok(json!(["demo_queue_depth", "up"])),
        ),
    ]);
    let out = run(&b, "get_metric_labels", json!({"metric_name": "upp"}));
    let hint = structured(&out)["hint"].as_str().unwrap().to_string();
    assert!(
        hint.starts_with("no metric 'upp' has samples in the window; closest: 'up'. "),
        "{hint}"
    );
}
