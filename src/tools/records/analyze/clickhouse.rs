//! `analyze_logs` / `analyze_traces` on ClickHouse: the aggregation as SQL over the OpenTelemetry
//! exporter's tables, groups ranked in SQL, and for a range one query over the shown groups' buckets.

use serde_json::{Map, Value, json};

use super::{Aggregation, Buckets, Function, GROUPS_DEFAULT, stats};
use crate::backends::clickhouse::Client;
use crate::backends::clickhouse::schema::{FieldType, Signal, Table, quote};
use crate::backends::clickhouse::sql::Params;
use crate::timespec::{format_duration, format_time};
use crate::tools::args::Args;
use crate::tools::bounds::count_fields;
use crate::tools::records::{named_field, number, time_window};
use crate::tools::{Context, ToolFailure};

/// The aggregate as SQL, and how it is echoed (`p95(duration)`).
fn aggregate(
    aggregation: &Aggregation,
    table: &Table,
    params: &mut Params,
) -> Result<(String, String), ToolFailure> {
    let Some(field) = aggregation.field.as_deref() else {
        return Ok(("count()".into(), aggregation.echo("")));
    };
    let operand = named_field("aggregation.field", field, table, params)?;
    let echo = aggregation.echo(&operand.name);
    let numeric = match operand.field_type {
        FieldType::Number => operand.sql.clone(),
        _ => format!("toFloat64OrNull({})", operand.sql),
    };
    let sql = match aggregation.function {
        Function::Count => "count()".into(),
        Function::CountDistinct => format!("uniqExact({})", operand.sql),
        Function::Sum => format!("sum({numeric})"),
        Function::Avg => format!("avg({numeric})"),
        Function::Min => format!("min({numeric})"),
        Function::Max => format!("max({numeric})"),
        Function::Quantile(q) => format!("quantile({q})({numeric})"),
    };
    Ok((sql, echo))
}

/// A result value as a JSON number, `null` for none, NaN or infinities (JSON cannot hold them).
fn value(v: Option<&Value>) -> Value {
    match v.cloned().map(number) {
        Some(Value::Number(n)) => Value::Number(n),
        _ => Value::Null,
    }
}

pub(super) fn run(
    ctx: &Context,
    args: &Args,
    client: &Client,
    signal: Signal,
) -> Result<Value, ToolFailure> {
    let table = client.table(signal);
    let (from, to, window) = time_window(ctx, args)?;
    let mut params = Params::default();
    let (clause, filters) =
        crate::tools::records::where_clause(table, from, to, args, &mut params)?;
    let aggregation = Aggregation::of(args, signal)?;
    let counts = aggregation.counts();
    let (agg, agg_echo) = aggregate(&aggregation, table, &mut params)?;
    let group_by = args.strings("groupBy");
    let mut group_sql = Vec::with_capacity(group_by.len());
    let mut group_names = Vec::with_capacity(group_by.len());
    for name in &group_by {
        let operand = named_field("groupBy", name, table, &mut params)?;
        group_sql.push(format!("toString({})", operand.sql));
        group_names.push(operand.name);
    }
    let range = args.str("queryType") == Some("range");
    let limit = args.u64_or("limit", GROUPS_DEFAULT);
    let from_table = table.qualified();

    let mut out = json!({
        "window": window,
        "queryType": if range { "range" } else { "instant" },
        "aggregation": agg_echo,
    });
    if let Some(f) = filters {
        out["filters"] = json!(f);
    }
    if !group_names.is_empty() {
        out["groupBy"] = json!(group_names);
    }

    // The groups, largest first, with how many there are.
    let groups: Vec<(Vec<String>, Value)> = if group_sql.is_empty() {
        let rows = client.query(
            &format!("SELECT {agg} AS value FROM {from_table} WHERE {clause}"),
            &params,
        )?;
        vec![(
            Vec::new(),
            value(rows.rows.first().and_then(|r| r.get("value"))),
        )]
    } else {
        let keys: Vec<String> = (0..group_sql.len()).map(|i| format!("g{i}")).collect();
        let select: Vec<String> = group_sql
            .iter()
            .zip(&keys)
            .map(|(sql, k)| format!("{sql} AS {k}"))
            .collect();
        let rows = client.query(
            &format!(
                "SELECT {}, {agg} AS value, count() OVER () AS total_groups FROM {from_table} WHERE {clause} \
                 GROUP BY {} ORDER BY value DESC, {} LIMIT {limit}",
                select.join(", "),
                keys.join(", "),
                keys.join(", ")
            ),
            &params,
        )?;
        let total = rows
            .rows
            .first()
            .and_then(|r| number(r.get("total_groups").cloned().unwrap_or(Value::Null)).as_u64())
            .unwrap_or(0);
        let groups: Vec<(Vec<String>, Value)> = rows
            .rows
            .iter()
            .map(|r| {
                let key = keys
                    .iter()
                    .map(|k| {
                        r.get(k)
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string()
                    })
                    .collect();
                (key, value(r.get("value")))
            })
            .collect();
        let shown = groups.len();
        count_fields(
            &mut out,
            shown,
            total as usize,
            "raise `limit` (groups), or narrow `filters`",
        );
        groups
    };
    let label = |key: &[String]| -> Value {
        Value::Object(
            group_names
                .iter()
                .zip(key)
                .map(|(n, v)| (n.clone(), json!(v)))
                .collect::<Map<String, Value>>(),
        )
    };

    if !range {
        if group_sql.is_empty() {
            out["value"] = groups
                .into_iter()
                .next()
                .map(|g| g.1)
                .unwrap_or(Value::Null);
        } else {
            out["groups"] = groups
                .iter()
                .map(|(key, v)| json!({"group": label(key), "value": v}))
                .collect();
        }
        if counts && out.get("total") == Some(&json!(0)) {
            out["hint"] = json!("no records matched: widen the window or loosen `filters`");
        }
        return Ok(out);
    }

    // Range: one series per shown group, on buckets of one step aligned to multiples of it.
    let Buckets {
        step,
        first,
        count: buckets,
    } = Buckets::of(args.str("step"), from, to)?;
    let step_param = params.add("UInt32", format!("{}", step as u64));
    let bucket = format!(
        "toUnixTimestamp(toStartOfInterval({}, toIntervalSecond({step_param})))",
        quote(&table.time_column)
    );
    let mut range_clause = clause;
    if !group_sql.is_empty() {
        if groups.is_empty() {
            out["groups"] = json!([]);
            out["start"] = json!(format_time(first));
            out["step"] = json!(format_duration(step));
            return Ok(out);
        }
        let tuples: Vec<String> = groups
            .iter()
            .map(|(key, _)| {
                let items: Vec<String> = key
                    .iter()
                    .map(|v| params.add("String", v.as_str()))
                    .collect();
                format!("({})", items.join(", "))
            })
            .collect();
        range_clause = format!(
            "{range_clause} AND ({}) IN ({})",
            group_sql.join(", "),
            tuples.join(", ")
        );
    }
    let group_select: String = group_sql
        .iter()
        .enumerate()
        .map(|(i, sql)| format!("{sql} AS g{i}, "))
        .collect();
    let group_keys: String = (0..group_sql.len()).map(|i| format!("g{i}, ")).collect();
    let rows = client.query(
        &format!(
            "SELECT {group_select}{bucket} AS b, {agg} AS value FROM {from_table} WHERE {range_clause} \
             GROUP BY {group_keys}b ORDER BY {group_keys}b"
        ),
        &params,
    )?;
    let empty = if counts { json!(0) } else { Value::Null };
    let mut series: Vec<Vec<Value>> = vec![vec![empty; buckets]; groups.len()];
    for row in &rows.rows {
        let key: Vec<String> = (0..group_sql.len())
            .map(|i| {
                row.get(&format!("g{i}"))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            })
            .collect();
        let Some(g) = groups.iter().position(|(k, _)| *k == key) else {
            continue;
        };
        let Some(b) = number(row.get("b").cloned().unwrap_or(Value::Null)).as_f64() else {
            continue;
        };
        let index = ((b - first) / step).round();
        if index >= 0.0 && (index as usize) < buckets {
            series[g][index as usize] = value(row.get("value"));
        }
    }
    let shaped: Vec<Value> = groups
        .iter()
        .zip(series)
        .map(|((key, _), values)| {
            let mut entry = json!({});
            stats(&mut entry, &values);
            entry["values"] = json!(values);
            if !group_names.is_empty() {
                entry["group"] = label(key);
            }
            entry
        })
        .collect();
    out["start"] = json!(format_time(first));
    out["step"] = json!(format_duration(step));
    out["groups"] = json!(shaped);
    Ok(out)
}
