//! Tests of the checked form the host hands the `plugin` component: it reads back as the parsed
//! set, reads each entry when first used, and refuses a damaged or foreign form without quoting a
//! value.

use super::*;

/// What the host hands the `plugin` component reads back as the very set it parsed, for every kind
/// and every field, secrets included; the skipped entries and warnings come along.
#[test]
fn checked_form_reads_back_as_the_parsed_set() {
    let text = format!(
        "{}  - name: loki
    type: loki
    url: http://loki:3100
    jsonData: {{parser: json}}
  - name: tempo
    type: tempo
    url: http://tempo:3200
  - name: clickhouse
    type: grafana-clickhouse-datasource
    jsonData:
      host: clickhouse
      port: 8443
      protocol: http
      secure: true
      username: reader
      logs: {{defaultDatabase: telemetry, defaultTable: logs, timeColumn: ts}}
      traces: {{defaultTable: spans, durationColumn: dur_ms, durationUnit: milliseconds}}
    secureJsonData: {{password: $CH_PASSWORD}}
  - name: thanos
    type: prometheus
    url: http://thanos:10902
    jsonData: {{prometheusType: Thanos, timeout: 10}}
  - name: graphite
    type: graphite
    url: http://graphite:8080
",
        full_example()
    );
    let set = parse(&text, FILE, &no_env).unwrap();
    assert!(
        !set.warnings.is_empty(),
        "the unset variable is warned about"
    );
    assert_eq!(set.skipped.len(), 1);
    let back = from_checked(&to_checked(&set)).unwrap();
    assert_eq!(back.all(), set.all());
    assert_eq!(back.skipped, set.skipped);
    assert_eq!(back.warnings, set.warnings);
    assert_eq!(back.all()[0].headers[0].1.expose(), "Bearer abc.def");
    assert_eq!(
        back.all()[0].basic_auth.as_ref().unwrap().password.expose(),
        "hunter2"
    );
    assert_eq!(
        back.get("clickhouse")
            .unwrap()
            .clickhouse()
            .unwrap()
            .traces
            .duration_unit_ns,
        1_000_000
    );
}

/// A damaged checked form is an error that names the variable and quotes none of its values.
#[test]
fn unreadable_checked_form_names_the_variable_not_the_values() {
    let set = parse_ok(&full_example());
    let checked = to_checked(&set);
    let damaged = checked.replace("\"is_default\":true", "\"is_default\":\"hunter2\"");
    assert_ne!(damaged, checked);
    let e = from_checked(&damaged).unwrap_err().to_string();
    assert!(e.contains(CHECKED_ENV), "{e}");
    assert!(!e.contains("hunter2"), "{e}");
}

/// A set read back reads an entry only when a tool asks for it: finding a datasource (by name,
/// uid, family or default) and listing names read none. An entry that does not read back traps the
/// call that uses it, naming the datasource and quoting none of its values; the others still serve.
#[test]
fn checked_entries_are_read_when_first_used() {
    let set = parse_ok(&full_example());
    let checked = to_checked(&set);
    // Damage the first entry's body only (its URL becomes a number, padded to the same length),
    // not what finds it.
    let url = "\"url\":\"https://thanos.example.com:9091/prometheus\"";
    let number = format!("{:<1$}", "\"url\":17", url.len());
    let damaged = checked.replacen(url, &number, 1);
    assert_ne!(damaged, checked);
    // Unread entries hold secrets as text: a set's debug output never shows them.
    let shown = format!("{:?}", from_checked(&checked).unwrap());
    assert!(
        shown.contains("prom-main") && shown.contains("unread"),
        "{shown}"
    );
    assert!(
        !shown.contains("hunter2") && !shown.contains("abc.def"),
        "{shown}"
    );
    let back = from_checked(&damaged).unwrap();
    assert_eq!(back.names(), ["prom-main", "vm"]);
    assert_eq!(back.get("vm").unwrap().url, "http://victoria:8428");
    let trapped = std::panic::catch_unwind(|| back.get("P1809F7CD0C75ACF3").map(|d| d.url.clone()))
        .unwrap_err();
    let message = trapped
        .downcast_ref::<String>()
        .expect("a formatted panic message");
    assert!(message.contains("prom-main"), "{message}");
    assert!(message.contains("unreadable"), "{message}");
    for secret in ["hunter2", "Bearer abc.def", "12345"] {
        assert!(!message.contains(secret), "{message}");
    }
    // The default is found without reading it: the same trap, not a wrong datasource.
    let default =
        std::panic::catch_unwind(|| back.default_for(Family::Metrics).map(|d| d.name.clone()));
    assert!(default.is_err());
}

/// A form of another release, or one cut short, is refused with what to do, not misread.
#[test]
fn checked_form_of_another_release_is_refused() {
    let set = parse_ok(&full_example());
    let checked = to_checked(&set);
    let other = checked.replacen("\"format\":2", "\"format\":1", 1);
    assert_ne!(other, checked);
    let e = from_checked(&other).unwrap_err().to_string();
    assert!(e.contains(CHECKED_ENV), "{e}");
    assert!(e.contains("one release"), "{e}");
    // Cut short: an error naming the entry, not a read past the end.
    let e = from_checked(&checked[..checked.len() - 3])
        .unwrap_err()
        .to_string();
    assert!(e.contains("end inside datasource 'vm'"), "{e}");
    assert!(!e.contains("victoria"), "{e}");
}
