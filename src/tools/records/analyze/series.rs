//! `analyze_logs` on Loki and `analyze_traces` on Tempo: the aggregation becomes a LogQL metric query
//! or a TraceQL metrics query, sent as an instant query (one value per group over the window) or a
//! range query (one value per bucket), and the series the server answers become the same groups, on
//! the same buckets, as on ClickHouse.
//!
//! Where a server stamps its samples differs: Loki evaluates a range query at each step's *end*
//! (`count_over_time(…[step])` at `t` covers `(t − step, t]`), Tempo stamps each step's *start*. Both
//! are asked for the buckets of [`Buckets::of`] and each sample is put back in the bucket it covers.

use serde_json::{Map, Value, json};

use super::{Aggregation, Buckets, Function, GROUPS_DEFAULT, stats};
use crate::backends::Series;
use crate::backends::clickhouse::schema::Signal;
use crate::backends::loki::logql::{self, Labels, LogQuery, Target};
use crate::backends::tempo::traceql;
use crate::backends::{loki, tempo};
use crate::filter::Field;
use crate::timespec::{format_duration, format_time};
use crate::tools::args::Args;
use crate::tools::bounds::count_fields;
use crate::tools::records::search::{field_of, logql_range};
use crate::tools::records::{parsed_filter, sent, time_window};
use crate::tools::{Context, ToolFailure};

/// How a group's value is computed from several series of that group (a server may split one group
/// into several series: qryn keeps Loki streams apart under `sum by`).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Merge {
    Add,
    Min,
    Max,
    /// Not combinable (averages, quantiles): one series per group is expected.
    None,
}

/// A metric query to send, and how to read its answer.
#[derive(Debug, PartialEq)]
struct MetricQuery {
    /// The LogQL or TraceQL text.
    text: String,
    /// The aggregation as the answer echoes it.
    echo: String,
    merge: Merge,
    /// What each value is multiplied by (Tempo's durations are seconds, ours milliseconds).
    scale: f64,
}

/// The LogQL metric query for `aggregation` of `query`'s lines (its field already the Loki label
/// `field`) per `groups` (label names), each value over `range`.
fn loki_metric(
    query: &LogQuery,
    aggregation: &Aggregation,
    field: Option<&str>,
    groups: &[String],
    range: &str,
) -> MetricQuery {
    // `sum by () (…)` is valid LogQL, but qryn refuses an empty grouping: the plain forms are the same.
    let by = format!("by ({})", groups.join(", "));
    let outer = |f: &str| {
        if groups.is_empty() {
            f.to_string()
        } else {
            format!("{f} {by} ")
        }
    };
    let text = query.text();
    let field = field.unwrap_or_default();
    let unwrapped = format!("{text}{} | unwrap {field}", query.parser_stage());
    let (text, merge) = match aggregation.function {
        Function::Count => (
            format!("{}(count_over_time({text} [{range}]))", outer("sum")),
            Merge::Add,
        ),
        Function::CountDistinct => {
            let inner: Vec<&str> = groups.iter().map(String::as_str).chain([field]).collect();
            (
                format!(
                    "{}(count by ({}) (count_over_time({text} [{range}])))",
                    outer("count"),
                    inner.join(", ")
                ),
                Merge::Add,
            )
        }
        Function::Sum => (
            format!("{}(sum_over_time({unwrapped} [{range}]))", outer("sum")),
            Merge::Add,
        ),
        // Without groups the extreme over all streams is the extreme of each stream's.
        Function::Min if groups.is_empty() => (
            format!("min(min_over_time({unwrapped} [{range}]))"),
            Merge::Min,
        ),
        Function::Max if groups.is_empty() => (
            format!("max(max_over_time({unwrapped} [{range}]))"),
            Merge::Max,
        ),
        Function::Avg => (
            format!("avg_over_time({unwrapped} [{range}]) {by}"),
            Merge::None,
        ),
        Function::Min => (
            format!("min_over_time({unwrapped} [{range}]) {by}"),
            Merge::Min,
        ),
        Function::Max => (
            format!("max_over_time({unwrapped} [{range}]) {by}"),
            Merge::Max,
        ),
        Function::Quantile(q) => (
            format!("quantile_over_time({q}, {unwrapped} [{range}]) {by}"),
            Merge::None,
        ),
    };
    MetricQuery {
        text,
        echo: aggregation.echo(field),
        merge,
        scale: 1.0,
    }
}

/// The TraceQL metrics query for `aggregation` of the spans of `span_set` (its field already the
/// TraceQL attribute `field`) per `groups` (attributes).
fn tempo_metric(
    span_set: &str,
    aggregation: &Aggregation,
    field: Option<&str>,
    groups: &[String],
) -> Result<MetricQuery, String> {
    let field = field.unwrap_or_default();
    let function = match aggregation.function {
        Function::Count => "count_over_time()".to_string(),
        Function::CountDistinct => {
            return Err(format!(
                "aggregation: TraceQL metrics have no distinct count; use {{\"function\": \"count\"}} with groupBy [\"{}\"] and read `total` (the number of groups)",
                aggregation.field.as_deref().unwrap_or_default()
            ));
        }
        Function::Sum => format!("sum_over_time({field})"),
        Function::Avg => format!("avg_over_time({field})"),
        Function::Min => format!("min_over_time({field})"),
        Function::Max => format!("max_over_time({field})"),
        Function::Quantile(q) => format!("quantile_over_time({field}, {q})"),
    };
    let by = if groups.is_empty() {
        String::new()
    } else {
        format!(" by ({})", groups.join(", "))
    };
    Ok(MetricQuery {
        text: format!("{span_set} | {function}{by}"),
        echo: aggregation.echo(aggregation.field.as_deref().unwrap_or_default()),
        merge: Merge::None,
        scale: if field == "duration" { 1000.0 } else { 1.0 },
    })
}

/// `aggregation.field` and each of `groupBy` as the target language names them (`name` turns one
/// argument's text into a name, or says why it cannot).
fn named_fields(
    args: &Args,
    aggregation: &Aggregation,
    name: impl Fn(&str, &str) -> Result<String, ToolFailure>,
) -> Result<(Option<String>, Vec<String>), ToolFailure> {
    let field = aggregation
        .field
        .as_deref()
        .map(|f| name("aggregation.field", f))
        .transpose()?;
    let groups = args
        .strings("groupBy")
        .iter()
        .map(|g| name("groupBy", g))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((field, groups))
}

/// A field of `groupBy` or `aggregation.field` as a Loki label; the line cannot be one.
fn loki_label(argument: &str, text: &str, labels: &Labels) -> Result<String, ToolFailure> {
    match logql::resolve(&field_of(text), labels) {
        Ok(Target::Label { name, .. }) => Ok(name),
        Ok(Target::Line) => Err(ToolFailure::new(format!(
            "{argument}: '{text}' is the log line, which LogQL cannot group or aggregate by; use a label or @key"
        ))),
        Err(e) => Err(ToolFailure::new(format!("{argument}: {e}"))),
    }
}

/// A field of `groupBy` or `aggregation.field` as one TraceQL attribute or intrinsic.
fn tempo_attribute(argument: &str, text: &str) -> Result<String, ToolFailure> {
    let field = field_of(text);
    traceql::attribute_of(&field).ok_or_else(|| {
        let name = text.trim();
        ToolFailure::new(match &field {
            Field::Named(n) if n == "return_code" || n == "protocol_type" => format!(
                "{argument}: '{name}' is several attributes in TraceQL; name the one your spans carry, e.g. @http.response.status_code or @rpc.system"
            ),
            _ => format!(
                "{argument}: unknown field '{name}'; known trace fields on Tempo: {}, or @key for any span or resource attribute",
                traceql::known_field_names().join(", ")
            ),
        })
    })
}

/// analyze_logs on Loki: the filter compiled against the labels Loki indexes in the window, the
/// aggregation as a LogQL metric query.
pub(super) fn run_loki(
    ctx: &Context,
    args: &Args,
    client: &loki::client::Client,
) -> Result<Value, ToolFailure> {
    let (from, to, window) = time_window(ctx, args)?;
    let aggregation = Aggregation::of(args, Signal::Logs)?;
    let buckets = ranged(args, from, to)?;
    let filter = parsed_filter(args)?;
    let labels = Labels::new(client.labels(from, to)?.iter().map(String::as_str));
    let query = logql::compile(filter.as_ref(), &labels, client.settings().parser)
        .map_err(|e| ToolFailure::new(format!("filters: {e}")))?;
    let (field, groups) = named_fields(args, &aggregation, |argument, text| {
        loki_label(argument, text, &labels)
    })?;
    let range = logql_range(buckets.as_ref().map_or(to - from, |b| b.step));
    let metric = loki_metric(&query, &aggregation, field.as_deref(), &groups, &range);
    let answered = match &buckets {
        None => client.instant(&metric.text, to),
        // A sample at `t` covers `(t − step, t]`: each bucket is read at its end.
        Some(b) => client.range(
            &metric.text,
            b.first + b.step,
            b.first + b.count as f64 * b.step,
            b.step,
        ),
    }
    .map_err(sent(&metric.text))?;
    let grouped = Grouped::of(&answered, &groups, &metric, buckets.as_ref(), 1.0);
    let answer = Answer {
        window,
        aggregation: &aggregation,
        metric: &metric,
        buckets: buckets.as_ref(),
        filter: filter.as_ref(),
    };
    Ok(answer.write(args, grouped, query.notes.clone()))
}

/// analyze_traces on Tempo: the filter as one span set, the aggregation as a TraceQL metrics query
/// (`/api/metrics/query` for instant, `/api/metrics/query_range` for range).
pub(super) fn run_tempo(
    ctx: &Context,
    args: &Args,
    client: &tempo::client::Client,
) -> Result<Value, ToolFailure> {
    let (from, to, window) = time_window(ctx, args)?;
    let aggregation = Aggregation::of(args, Signal::Traces)?;
    let buckets = ranged(args, from, to)?;
    let filter = parsed_filter(args)?;
    let span_set =
        traceql::compile(filter.as_ref()).map_err(|e| ToolFailure::new(format!("filters: {e}")))?;
    let (field, groups) = named_fields(args, &aggregation, tempo_attribute)?;
    let metric = tempo_metric(&span_set, &aggregation, field.as_deref(), &groups)
        .map_err(ToolFailure::new)?;
    let answered = match &buckets {
        None => client.metrics_instant(&metric.text, from, to),
        // Tempo stamps each step's start; the window's end is asked as it is (the last bucket holds
        // only what is in the window, as on ClickHouse, and a Tempo that refuses an end in the
        // future is never asked for one).
        Some(b) => client.metrics_range(&metric.text, b.first, to, b.step),
    }
    .map_err(|e| {
        let mut failure = sent(&metric.text)(e);
        if failure.message.contains("HTTP 404") {
            failure.message.push_str(
                " (this server does not offer TraceQL metrics, Tempo 2.4+ with the local-blocks processor: use search_traces, or a ClickHouse traces datasource)",
            );
        }
        failure
    })?;
    let grouped = Grouped::of(&answered, &groups, &metric, buckets.as_ref(), 0.0);
    let mut notes = Vec::new();
    if matches!(aggregation.function, Function::Quantile(_)) {
        notes.push(
            "Tempo estimates quantiles from power-of-two buckets of the values, so they are approximate"
                .to_string(),
        );
    }
    let answer = Answer {
        window,
        aggregation: &aggregation,
        metric: &metric,
        buckets: buckets.as_ref(),
        filter: filter.as_ref(),
    };
    Ok(answer.write(args, grouped, notes))
}

/// The buckets when `queryType` is `range`.
fn ranged(args: &Args, from: f64, to: f64) -> Result<Option<Buckets>, ToolFailure> {
    if args.str("queryType") == Some("range") {
        Buckets::of(args.str("step"), from, to).map(Some)
    } else {
        Ok(None)
    }
}

/// The groups of an answer: each group's key (its label values, in `groupBy` order) and its value,
/// or its values per bucket.
struct Grouped {
    groups: Vec<(Vec<String>, Vec<Option<f64>>)>,
    /// Series of a group already seen that could not be merged into it (not counted).
    unmerged: usize,
}

impl Grouped {
    /// `series` by group: label values read under `labels`, samples put in `buckets` (or the last
    /// one as the single value), merged by `metric`'s rule and scaled. A range sample's bucket is
    /// its time minus `stamp` steps, less the first bucket's start, in steps: Loki stamps a bucket's
    /// end (`stamp` 1), Tempo its start (0).
    fn of(
        series: &[Series],
        labels: &[String],
        metric: &MetricQuery,
        buckets: Option<&Buckets>,
        stamp: f64,
    ) -> Grouped {
        let slots = buckets.map_or(1, |b| b.count);
        let mut groups: Vec<(Vec<String>, Vec<Option<f64>>)> = Vec::new();
        let mut unmerged = 0;
        for s in series {
            let key: Vec<String> = labels.iter().map(|l| label_text(&s.labels, l)).collect();
            let index = match groups.iter().position(|(k, _)| *k == key) {
                Some(i) => i,
                None => {
                    groups.push((key, vec![None; slots]));
                    groups.len() - 1
                }
            };
            let values = &mut groups[index].1;
            let mut collided = false;
            let samples: Vec<(usize, f64)> = match buckets {
                None => s.samples.last().map(|(_, v)| (0, *v)).into_iter().collect(),
                Some(b) => s
                    .samples
                    .iter()
                    .filter_map(|(t, v)| {
                        let i = ((t - b.first) / b.step).round() - stamp;
                        (i >= 0.0 && (i as usize) < slots).then_some((i as usize, *v))
                    })
                    .collect(),
            };
            // NaN (Tempo's quantile of nothing) and infinities are no value.
            for (i, v) in samples.into_iter().filter(|(_, v)| v.is_finite()) {
                let v = v * metric.scale;
                values[i] = Some(match (values[i], metric.merge) {
                    (None, _) => v,
                    (Some(acc), Merge::Add) => acc + v,
                    (Some(acc), Merge::Min) => acc.min(v),
                    (Some(acc), Merge::Max) => acc.max(v),
                    (Some(acc), Merge::None) => {
                        collided = true;
                        acc
                    }
                });
            }
            unmerged += usize::from(collided);
        }
        Grouped { groups, unmerged }
    }
}

/// A label's value as text: a string as it is, a number written out, none (the records lacked the
/// attribute) as the empty string, as on ClickHouse.
fn label_text(labels: &Map<String, Value>, name: &str) -> String {
    // Tempo names a `by(.key)` label `.key` or `key` depending on the version.
    let value = labels
        .get(name)
        .or_else(|| labels.get(name.trim_start_matches('.')));
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// What an answer echoes besides its groups.
struct Answer<'a> {
    window: Value,
    aggregation: &'a Aggregation,
    metric: &'a MetricQuery,
    buckets: Option<&'a Buckets>,
    filter: Option<&'a crate::filter::Filter>,
}

impl Answer<'_> {
    /// The whole answer: the echoes, the groups (see [`groups`]) and `notes`.
    fn write(&self, args: &Args, grouped: Grouped, mut notes: Vec<String>) -> Value {
        let mut out = json!({"window": self.window});
        groups(
            &mut out,
            args,
            self.aggregation,
            self.metric,
            grouped,
            self.buckets,
            &mut notes,
        );
        if let Some(f) = self.filter {
            out["filters"] = json!(f.to_string());
        }
        if !notes.is_empty() {
            out["notes"] = json!(notes);
        }
        out
    }
}

/// The answer's body from the groups: for `instant` the value (no `groupBy`) or the groups, largest
/// first; for `range` one series per group, ranked by its total (counts and sums) or its peak.
fn groups(
    out: &mut Value,
    args: &Args,
    aggregation: &Aggregation,
    metric: &MetricQuery,
    grouped: Grouped,
    buckets: Option<&Buckets>,
    notes: &mut Vec<String>,
) {
    let names = args.strings("groupBy");
    out["queryType"] = json!(if buckets.is_some() {
        "range"
    } else {
        "instant"
    });
    out["aggregation"] = json!(metric.echo);
    out["query"] = json!(metric.text);
    if grouped.unmerged > 0 {
        notes.push(format!(
            "the server returned {} extra series for groups already seen; the first of each is shown",
            grouped.unmerged
        ));
    }
    // Counts are written as integers, as on ClickHouse.
    let number = |v: Option<f64>| match v {
        Some(v) if aggregation.counts() && v.fract() == 0.0 && v.abs() < 9e15 => json!(v as i64),
        Some(v) if v.is_finite() => json!(v),
        _ => Value::Null,
    };
    // No sample is no record: a count or sum of none is 0; an average or extreme of none is absent.
    let empty = |v: Option<f64>| match v {
        None if aggregation.counts() || aggregation.function == Function::Sum => Some(0.0),
        other => other,
    };
    let Some(b) = buckets else {
        if names.is_empty() {
            out["value"] = number(empty(grouped.groups.first().and_then(|(_, v)| v[0])));
            return;
        }
        let mut groups: Vec<(Vec<String>, Option<f64>)> =
            grouped.groups.into_iter().map(|(k, v)| (k, v[0])).collect();
        groups.sort_by(|a, b| {
            let rank = |v: Option<f64>| v.unwrap_or(f64::NEG_INFINITY);
            rank(b.1).total_cmp(&rank(a.1)).then(a.0.cmp(&b.0))
        });
        let total = groups.len();
        let limit = args.u64_or("limit", GROUPS_DEFAULT) as usize;
        out["groupBy"] = json!(names);
        out["groups"] = groups
            .iter()
            .take(limit)
            .map(|(key, v)| json!({"group": group(&names, key), "value": number(*v)}))
            .collect();
        count_fields(
            out,
            total.min(limit),
            total,
            "raise `limit` (groups), or narrow `filters`",
        );
        if total == 0 && aggregation.counts() {
            out["hint"] = json!("no records matched: widen the window or loosen `filters`");
        }
        return;
    };
    out["start"] = json!(format_time(b.first));
    out["step"] = json!(format_duration(b.step));
    let mut groups = grouped.groups;
    if names.is_empty() && groups.is_empty() {
        groups.push((Vec::new(), vec![None; b.count]));
    }
    let fill = aggregation.counts();
    let series: Vec<(Vec<String>, Vec<Value>, f64)> = groups
        .into_iter()
        .map(|(key, values)| {
            let present = values.iter().flatten();
            let rank = if metric.merge == Merge::Add {
                present.sum()
            } else {
                present.copied().fold(f64::NEG_INFINITY, f64::max)
            };
            let values = values
                .into_iter()
                .map(|v| number(if fill { v.or(Some(0.0)) } else { v }))
                .collect();
            (key, values, rank)
        })
        .collect();
    let mut series = series;
    series.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)));
    let total = series.len();
    let limit = args.u64_or("limit", GROUPS_DEFAULT) as usize;
    let shaped: Vec<Value> = series
        .into_iter()
        .take(limit)
        .map(|(key, values, _)| {
            let mut entry = json!({});
            stats(&mut entry, &values);
            entry["values"] = json!(values);
            if !names.is_empty() {
                entry["group"] = group(&names, &key);
            }
            entry
        })
        .collect();
    out["groups"] = json!(shaped);
    if !names.is_empty() {
        out["groupBy"] = json!(names);
        count_fields(
            out,
            total.min(limit),
            total,
            "raise `limit` (groups), or narrow `filters`",
        );
    }
}

/// A group's labels as the answer writes them: `groupBy` names to values.
fn group(names: &[String], key: &[String]) -> Value {
    Value::Object(
        names
            .iter()
            .zip(key)
            .map(|(n, k)| (n.clone(), json!(k)))
            .collect(),
    )
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
