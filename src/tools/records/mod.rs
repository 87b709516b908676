//! The logs and traces tools (KubeSense's search and analysis tools, with its parameter names): each
//! runs with a [`Backend`] client for the chosen logs or traces datasource (ClickHouse, Loki or
//! Tempo) and the [`Signal`] it serves. What they share lives here: the time window, the filter
//! compiled to a `WHERE` clause, fields named in `fields` / `groupBy`, and how a timestamp is
//! written back.
//!
//! Not here: SQL of filters and fields (`backends::clickhouse::sql`), the field map
//! (`backends::clickhouse::schema`), LogQL and TraceQL (`backends::loki`, `backends::tempo`).

use serde_json::{Value, json};

use super::ToolFailure;
use super::args::{Args, Param, ParamKind};
pub(super) use super::{FROM_PARAM, TO_PARAM, time_window};
use crate::backends::clickhouse::schema::{Signal, Table, quote};
use crate::backends::clickhouse::sql::{self, Params};
use crate::backends::{Connection, clickhouse, loki, tempo};
use crate::datasources::Kind;
use crate::filter::Filter;

pub(super) mod analyze;
pub(super) mod fields;
pub(super) mod search;
pub(super) mod trace;

#[cfg(test)]
mod tests;

/// The client a logs or traces tool runs with: one of the backends that hold logs or traces.
pub enum Backend<'a> {
    /// ClickHouse with the OpenTelemetry exporter's tables (logs and traces).
    ClickHouse(clickhouse::Client<'a>),
    /// Loki (logs).
    Loki(loki::client::Client<'a>),
    /// Tempo (traces).
    Tempo(tempo::client::Client<'a>),
}

impl<'a> Backend<'a> {
    /// The client for `connection`'s datasource; `None` when it holds neither logs nor traces.
    pub fn new(connection: Connection<'a>) -> Option<Self> {
        match connection.datasource().kind {
            Kind::ClickHouse(_) => clickhouse::Client::new(connection).map(Backend::ClickHouse),
            Kind::Loki(_) => loki::client::Client::new(connection).map(Backend::Loki),
            Kind::Tempo => tempo::client::Client::new(connection).map(Backend::Tempo),
            _ => None,
        }
    }
}

/// A Loki or Tempo failure with the query that was sent, so the caller sees what was refused.
pub(super) fn sent(query: &str) -> impl FnOnce(crate::backends::ApiError) -> ToolFailure + '_ {
    move |e| {
        let mut failure = ToolFailure::from(e);
        failure.message.push_str(&format!(" Query sent: {query}"));
        failure
    }
}

/// The caller's filter, parsed (`None` when absent or blank).
pub(super) fn parsed_filter(args: &Args) -> Result<Option<Filter>, ToolFailure> {
    match args.str(FILTERS_PARAM.name) {
        None => Ok(None),
        Some(text) => {
            crate::filter::parse(text).map_err(|e| ToolFailure::new(format!("filters: {e}")))
        }
    }
}

/// `filters`: the SQL-like filter.
pub(super) const FILTERS_PARAM: Param = Param {
    name: "filters",
    kind: ParamKind::String,
    required: false,
    description: "e.g. level = ERROR AND namespace = shop",
};

/// The `WHERE` clause: the window on the table's time column, and the caller's filter when given.
/// Returns the clause and the filter's canonical text (echoed in results).
pub(super) fn where_clause(
    table: &Table,
    from: f64,
    to: f64,
    args: &Args,
    params: &mut Params,
) -> Result<(String, Option<String>), ToolFailure> {
    let time = quote(&table.time_column);
    let from_ns = params.add("Int64", nanos(from).to_string());
    let to_ns = params.add("Int64", nanos(to).to_string());
    let mut clause = format!(
        "{time} >= fromUnixTimestamp64Nano({from_ns}) AND {time} <= fromUnixTimestamp64Nano({to_ns})"
    );
    let Some(text) = args.str(FILTERS_PARAM.name) else {
        return Ok((clause, None));
    };
    let filter =
        crate::filter::parse(text).map_err(|e| ToolFailure::new(format!("filters: {e}")))?;
    let Some(filter) = filter else {
        return Ok((clause, None));
    };
    let sql = sql::compile(&filter, table, params)
        .map_err(|e| ToolFailure::new(format!("filters: {e}")))?;
    clause.push_str(" AND ");
    clause.push_str(&sql);
    Ok((clause, Some(filter.to_string())))
}

/// Unix seconds as nanoseconds, saturating.
pub(super) fn nanos(t: f64) -> i64 {
    (t * 1e9).round().clamp(i64::MIN as f64, i64::MAX as f64) as i64
}

/// A field of `fields` / `groupBy` as SQL, or a failure naming the argument.
pub(super) fn named_field(
    argument: &str,
    text: &str,
    table: &Table,
    params: &mut Params,
) -> Result<sql::Operand, ToolFailure> {
    sql::field(text, table, params).map_err(|e| ToolFailure::new(format!("{argument}: {e}")))
}

/// SQL that turns `table`'s time column into Unix milliseconds (an Int64 the answer reformats).
pub(super) fn time_ms(table: &Table) -> String {
    format!("toUnixTimestamp64Milli({})", quote(&table.time_column))
}

/// A row value that holds Unix milliseconds (a string or a number) as RFC 3339.
pub(super) fn format_ms(v: &Value) -> Value {
    let ms = match v {
        Value::String(s) => s.parse::<i64>().ok(),
        Value::Number(n) => n.as_i64(),
        _ => None,
    };
    ms.map_or(Value::Null, format_unix_ms)
}

/// Unix milliseconds as RFC 3339, from the integer, not seconds as a float, so 123 ms stays .123.
pub(super) fn format_unix_ms(ms: i64) -> Value {
    match chrono::DateTime::from_timestamp_millis(ms) {
        Some(t) if t.timestamp_subsec_millis() == 0 => {
            json!(t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        }
        Some(t) => json!(t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()),
        None => Value::Null,
    }
}

/// A row value as a number when it is one (ClickHouse quotes 64-bit integers), else as it is.
pub(super) fn number(v: Value) -> Value {
    let Value::String(s) = &v else {
        return v;
    };
    if let Ok(n) = s.parse::<u64>() {
        return json!(n);
    }
    if let Ok(n) = s.parse::<i64>() {
        return json!(n);
    }
    match s.parse::<f64>() {
        Ok(n) if n.is_finite() => json!(n),
        _ => v,
    }
}

/// `logs` or `traces` as the noun a message uses.
pub(super) fn records(signal: Signal) -> &'static str {
    match signal {
        Signal::Logs => "log records",
        Signal::Traces => "spans",
    }
}
