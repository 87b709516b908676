//! Loki's HTTP query API: labels, log queries and metric queries, one method per endpoint. Times go
//! out as Unix nanoseconds (what Loki documents, and the only form qryn reads); `limit` is always
//! sent, from ours, so the server never reads more lines than a tool shows.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::backends::api_error::{Api, ApiError, bad_response, checked};
use crate::backends::{Connection, Series};
use crate::datasources::LokiSettings;

/// `GET` label names.
pub const LABELS: &str = "/loki/api/v1/labels";
/// `GET` a log or metric query over a range.
pub const QUERY_RANGE: &str = "/loki/api/v1/query_range";
/// `GET` a metric query at one time.
pub const QUERY: &str = "/loki/api/v1/query";

const BACKEND: Api = Api::Loki;

/// One log line with its labels.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// Unix nanoseconds.
    pub time_ns: i64,
    /// The line.
    pub line: String,
    /// The stream's labels (and structured metadata or parsed fields the server adds).
    pub labels: Map<String, Value>,
}

#[derive(Deserialize)]
struct Envelope {
    data: Data,
}

#[derive(Deserialize)]
struct Data {
    #[serde(rename = "resultType")]
    result_type: String,
    result: Vec<Map<String, Value>>,
}

/// A client for one Loki datasource.
pub struct Client<'a> {
    connection: Connection<'a>,
    settings: &'a LokiSettings,
}

/// Unix seconds as the nanosecond string Loki reads.
fn ns(t: f64) -> String {
    format!("{:.0}", (t * 1e9).round())
}

impl<'a> Client<'a> {
    /// A client over `connection`; `None` when its datasource is not a Loki datasource.
    pub fn new(connection: Connection<'a>) -> Option<Self> {
        let settings = connection.datasource().loki()?;
        Some(Client {
            connection,
            settings,
        })
    }

    /// The datasource's Loki settings.
    pub fn settings(&self) -> &'a LokiSettings {
        self.settings
    }

    /// The label names of streams in `[start, end]` (Unix seconds).
    pub fn labels(&self, start: f64, end: f64) -> Result<Vec<String>, ApiError> {
        let body = checked(
            BACKEND,
            self.connection
                .get(LABELS, &[("start", ns(start)), ("end", ns(end))]),
            &self.connection,
        )?;
        #[derive(Deserialize)]
        struct Names {
            #[serde(default)]
            data: Vec<String>,
        }
        serde_json::from_slice::<Names>(&body)
            .map(|n| n.data)
            .map_err(|_| bad_response(BACKEND, &body, &self.connection))
    }

    /// The newest `limit` lines of log query `query` in `[start, end]`, newest first.
    pub fn lines(
        &self,
        query: &str,
        start: f64,
        end: f64,
        limit: u64,
    ) -> Result<Vec<Entry>, ApiError> {
        let params = [
            ("query", query.to_string()),
            ("start", ns(start)),
            ("end", ns(end)),
            ("limit", limit.to_string()),
            ("direction", "backward".into()),
        ];
        let data = self.data(QUERY_RANGE, &params)?;
        if data.result_type != "streams" {
            return Err(self.unexpected(&data.result_type, "streams"));
        }
        let mut entries = Vec::new();
        for stream in data.result {
            let labels = match stream.get("stream") {
                Some(Value::Object(m)) => m.clone(),
                _ => Map::new(),
            };
            for value in stream
                .get("values")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let Some(pair) = value.as_array() else {
                    continue;
                };
                let time_ns = pair
                    .first()
                    .and_then(Value::as_str)
                    .and_then(|t| t.parse::<i64>().ok());
                let line = pair.get(1).and_then(Value::as_str);
                if let (Some(time_ns), Some(line)) = (time_ns, line) {
                    entries.push(Entry {
                        time_ns,
                        line: line.to_string(),
                        labels: labels.clone(),
                    });
                }
            }
        }
        // Each stream comes newest first; across streams the server does not interleave them.
        entries.sort_by_key(|e| std::cmp::Reverse(e.time_ns));
        entries.truncate(limit as usize);
        Ok(entries)
    }

    /// Metric query `query` at `time` (Unix seconds): one sample per series.
    pub fn instant(&self, query: &str, time: f64) -> Result<Vec<Series>, ApiError> {
        let params = [("query", query.to_string()), ("time", ns(time))];
        let data = self.data(QUERY, &params)?;
        if data.result_type != "vector" {
            return Err(self.unexpected(&data.result_type, "vector"));
        }
        Ok(data
            .result
            .iter()
            .map(|r| Series {
                labels: labels_of(r),
                samples: r.get("value").and_then(sample).into_iter().collect(),
            })
            .collect())
    }

    /// Metric query `query` from `start` to `end` every `step` seconds.
    pub fn range(
        &self,
        query: &str,
        start: f64,
        end: f64,
        step: f64,
    ) -> Result<Vec<Series>, ApiError> {
        let params = [
            ("query", query.to_string()),
            ("start", ns(start)),
            ("end", ns(end)),
            ("step", format!("{step}")),
        ];
        let data = self.data(QUERY_RANGE, &params)?;
        if data.result_type != "matrix" {
            return Err(self.unexpected(&data.result_type, "matrix"));
        }
        Ok(data
            .result
            .iter()
            .map(|r| Series {
                labels: labels_of(r),
                samples: r
                    .get("values")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(sample)
                    .collect(),
            })
            .collect())
    }

    fn data(&self, path: &str, params: &[(&str, String)]) -> Result<Data, ApiError> {
        let body = checked(BACKEND, self.connection.get(path, params), &self.connection)?;
        serde_json::from_slice::<Envelope>(&body)
            .map(|e| e.data)
            .map_err(|_| bad_response(BACKEND, &body, &self.connection))
    }

    fn unexpected(&self, got: &str, want: &str) -> ApiError {
        bad_response(
            BACKEND,
            format!("resultType {got}, expected {want}").as_bytes(),
            &self.connection,
        )
    }
}

fn labels_of(r: &Map<String, Value>) -> Map<String, Value> {
    match r.get("metric") {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    }
}

/// `[unix seconds, "value"]`.
fn sample(v: &Value) -> Option<(f64, f64)> {
    let pair = v.as_array()?;
    let t = pair.first()?.as_f64()?;
    let value = match pair.get(1)? {
        Value::String(s) => s.parse().ok()?,
        Value::Number(n) => n.as_f64()?,
        _ => return None,
    };
    Some((t, value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datasources::parse;
    use crate::http::{HttpClient, HttpError, HttpRequest, HttpResponse};
    use std::cell::RefCell;
    use std::time::Duration;

    /// Answers every request with `body` and remembers the URLs asked.
    struct Canned {
        status: u16,
        body: &'static str,
        urls: RefCell<Vec<String>>,
    }

    impl HttpClient for Canned {
        fn send(&self, request: &HttpRequest) -> Result<HttpResponse, HttpError> {
            self.urls.borrow_mut().push(request.url.clone());
            Ok(HttpResponse {
                status: self.status,
                body: self.body.as_bytes().to_vec(),
            })
        }
    }

    fn with<T>(status: u16, body: &'static str, f: impl FnOnce(&Client) -> T) -> (T, Vec<String>) {
        let set = parse(
            "datasources:\n  - name: l\n    type: loki\n    url: http://loki:3100\n    jsonData: {httpHeaderName1: X-Scope-OrgID}\n    secureJsonData: {httpHeaderValue1: tenant-a}\n",
            "f",
            &|_| None,
        )
        .unwrap();
        let http = Canned {
            status,
            body,
            urls: RefCell::new(Vec::new()),
        };
        let out = {
            let client =
                Client::new(Connection::new(set.all()[0], &http, Duration::from_secs(5))).unwrap();
            f(&client)
        };
        (out, http.urls.into_inner())
    }

    /// Loki's documented stream answer: streams merged newest first, times in nanoseconds.
    #[test]
    fn log_answers_are_merged_newest_first_and_times_sent_in_nanoseconds() {
        let body = r#"{"status":"success","data":{"resultType":"streams","result":[
            {"stream":{"app":"a"},"values":[["1700000000000000003","a3"],["1700000000000000001","a1"]]},
            {"stream":{"app":"b"},"values":[["1700000000000000002","b2"]]}],"stats":{}}}"#;
        let (entries, urls) = with(200, body, |c| {
            c.lines("{app=~\".+\"}", 1.5, 2.0, 2).unwrap()
        });
        assert_eq!(
            entries.iter().map(|e| e.line.as_str()).collect::<Vec<_>>(),
            ["a3", "b2"]
        );
        assert_eq!(entries[1].labels["app"], "b");
        assert_eq!(
            urls,
            [
                "http://loki:3100/loki/api/v1/query_range?query=%7Bapp%3D~%22.%2B%22%7D&start=1500000000&end=2000000000&limit=2&direction=backward"
            ]
        );
    }

    #[test]
    fn metric_answers_give_samples_and_errors_keep_the_servers_message() {
        let body = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"level":"error"},"value":[1700000000,"4"]}]}}"#;
        let (series, _) = with(200, body, |c| c.instant("x", 1.0).unwrap());
        assert_eq!(series[0].samples, [(1_700_000_000.0, 4.0)]);
        assert_eq!(series[0].labels["level"], "error");
        let (e, _) = with(
            400,
            r#"{"status":"error","errorType":"bad_data","error":"parse error at line 1, col 5: syntax error"}"#,
            |c| c.instant("x", 1.0).unwrap_err(),
        );
        assert_eq!(e.kind, ApiErrorKind::BadQuery);
        assert_eq!(
            e.to_string(),
            "Loki bad_query (HTTP 400): parse error at line 1, col 5: syntax error"
        );
        let (e, _) = with(500, "tenant-a is over its limit", |c| {
            c.labels(0.0, 1.0).unwrap_err()
        });
        assert!(
            e.message.contains("<redacted>") && !e.message.contains("tenant-a"),
            "{e}"
        );
        let (e, _) = with(
            200,
            r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#,
            |c| c.lines("x", 0.0, 1.0, 1).unwrap_err(),
        );
        assert_eq!(e.kind, ApiErrorKind::BadResponse);
    }

    use crate::backends::ApiErrorKind;
}
