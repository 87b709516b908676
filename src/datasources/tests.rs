//! Tests of the provisioning file parser, through its public entry points.

use super::*;

const FILE: &str = "/etc/test/datasources.yaml";

const CA: &str = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ\n-----END CERTIFICATE-----\n";

fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
    move |name| {
        pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }
}

fn no_env(_: &str) -> Option<String> {
    None
}

pub(super) fn parse_ok(text: &str) -> DatasourceSet {
    match parse(text, FILE, &no_env) {
        Ok(set) => set,
        Err(e) => panic!("unexpected error: {e}"),
    }
}

pub(super) fn parse_err(text: &str) -> DatasourceError {
    match parse(text, FILE, &no_env) {
        Ok(set) => panic!("expected an error, got {set:?}"),
        Err(e) => e,
    }
}

/// Asserts the error names the file and the given entry label, and mentions `needle`.
pub(super) fn assert_entry_error(err: &DatasourceError, entry: &str, needle: &str) {
    let shown = err.to_string();
    assert_eq!(err.entry.as_deref(), Some(entry), "{shown}");
    assert!(
        shown.starts_with(&format!("datasources file '{FILE}': entry {entry}: ")),
        "{shown}"
    );
    assert!(shown.contains(needle), "'{needle}' not in: {shown}");
}

/// One Prometheus entry with extra lines appended (indented for the entry mapping).
pub(super) fn one(extra: &str) -> String {
    format!("datasources:\n  - name: prom\n    type: prometheus\n{extra}")
}

fn full_example() -> String {
    let ca = CA
        .lines()
        .map(|l| format!("        {l}\n"))
        .collect::<String>();
    format!(
        r#"apiVersion: 1
deleteDatasources:
  - name: Old
    orgId: 1
datasources:
  - name: prom-main
    uid: P1809F7CD0C75ACF3
    type: prometheus
    access: proxy
    url: https://Thanos.Example.com:9091/prometheus/
    isDefault: true
    basicAuth: true
    basicAuthUser: grafana
    editable: false
    jsonData:
      httpMethod: get
      timeInterval: 30s
      httpHeaderName1: X-Api-Key
      httpHeaderName2: X-Scope-OrgID
      tlsAuthWithCACert: true
      tlsSkipVerify: false
      someUnknownSetting: 3
    secureJsonData:
      httpHeaderValue1: Bearer abc.def
      httpHeaderValue2: "12345"
      basicAuthPassword: hunter2
      tlsCACert: |
{ca}  - name: vm
    type: victoriametrics-metrics-datasource
    url: http://victoria:8428
"#
    )
}

#[test]
fn full_example_with_two_datasources() {
    let set = parse_ok(&full_example());
    assert_eq!(set.names(), ["prom-main", "vm"]);
    assert!(set.skipped.is_empty());
    assert!(set.warnings.is_empty(), "{:?}", set.warnings);

    let p = &set.all()[0];
    assert_eq!(p.uid.as_deref(), Some("P1809F7CD0C75ACF3"));
    let pm = p.metrics().unwrap();
    assert_eq!(pm.flavour, Flavour::Prometheus);
    assert!(p.serves(Family::Metrics) && !p.serves(Family::Logs));
    assert_eq!(p.url, "https://thanos.example.com:9091/prometheus");
    assert_eq!(
        p.origin,
        Origin {
            scheme: "https".into(),
            host: "thanos.example.com".into(),
            port: 9091
        }
    );
    assert!(p.is_default);
    assert_eq!(pm.http_method, HttpMethod::Get);
    assert_eq!(pm.scrape_interval.as_deref(), Some("30s"));
    assert_eq!(p.timeout, None);
    let headers: Vec<(&str, &str)> = p
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.expose()))
        .collect();
    assert_eq!(
        headers,
        [("X-Api-Key", "Bearer abc.def"), ("X-Scope-OrgID", "12345")]
    );
    let basic = p.basic_auth.as_ref().unwrap();
    assert_eq!(basic.user, "grafana");
    assert_eq!(basic.password.expose(), "hunter2");
    assert!(!p.tls_skip_verify);
    assert_eq!(p.tls_ca_cert.as_deref(), Some(CA));

    let v = &set.all()[1];
    let vm = v.metrics().unwrap();
    assert_eq!(vm.flavour, Flavour::VictoriaMetrics);
    assert_eq!(v.kind.type_name(), "victoriametrics");
    assert_eq!(v.url, "http://victoria:8428");
    assert_eq!(v.origin.port, 8428);
    assert_eq!(vm.http_method, HttpMethod::Post);
    assert_eq!(v.uid, None);
    assert!(v.headers.is_empty() && v.basic_auth.is_none() && v.tls_ca_cert.is_none());
    assert_eq!(
        set.default_for(Family::Metrics).map(|d| d.name.as_str()),
        Some("prom-main")
    );
}

#[test]
fn summary_json_describes_auth_without_secrets() {
    let set = parse_ok(&full_example());
    assert_eq!(
        set.all()[0].summary_json(),
        serde_json::json!({
            "id": "prom-main",
            "uid": "P1809F7CD0C75ACF3",
            "type": "prometheus",
            "families": ["metrics"],
            "url": "https://thanos.example.com:9091/prometheus",
            "is_default": true,
            "http_method": "GET",
            "scrape_interval": "30s",
            "auth": ["basic", "headers:X-Api-Key,X-Scope-OrgID"],
            "tls": {"ca_cert": true, "skip_verify": false},
        })
    );
    assert_eq!(
        set.all()[1].summary_json(),
        serde_json::json!({
            "id": "vm",
            "type": "victoriametrics",
            "families": ["metrics"],
            "url": "http://victoria:8428",
            "is_default": false,
            "http_method": "POST",
            "auth": [],
            "tls": {"ca_cert": false, "skip_verify": false},
        })
    );
}

#[test]
fn json_form_parses_like_yaml() {
    let text = r#"{
  "apiVersion": 1,
  "datasources": [
    {"name": "prom", "type": "prometheus", "url": "http://prom:9090", "isDefault": true,
     "jsonData": {"httpHeaderName1": "X-Scope-OrgID", "timeInterval": "1m"},
     "secureJsonData": {"httpHeaderValue1": "tenant-a"}},
    {"name": "vm", "type": "victoriametrics-datasource", "url": "http://vm:8428/"}
  ]
}"#;
    let set = parse_ok(text);
    assert_eq!(set.names(), ["prom", "vm"]);
    assert_eq!(set.all()[0].headers[0].1.expose(), "tenant-a");
    assert_eq!(
        set.all()[0].metrics().unwrap().scrape_interval.as_deref(),
        Some("1m")
    );
    assert_eq!(set.all()[1].url, "http://vm:8428");
}

#[test]
fn invalid_json_reports_a_json_error_naming_the_file() {
    let err = parse_err(r#"{"datasources": [ {"name": "prom",, } ]}"#);
    assert_eq!(err.entry, None);
    let shown = err.to_string();
    assert!(
        shown.starts_with(&format!("datasources file '{FILE}': invalid JSON: ")),
        "{shown}"
    );
    assert!(shown.contains("line 1"), "{shown}");
}

#[test]
fn invalid_yaml_reports_a_yaml_error_with_position() {
    let err = parse_err("datasources:\n  - name: prom\n   type: [unclosed\n");
    let shown = err.to_string();
    assert!(
        shown.starts_with(&format!("datasources file '{FILE}': invalid YAML: ")),
        "{shown}"
    );
    assert!(shown.contains("line"), "{shown}");
}

#[test]
fn interpolates_dollar_var_braced_var_and_escapes() {
    let text = one(concat!(
        "    url: ${PROM_URL}\n",
        "    isDefault: \"${IS_DEFAULT}\"\n",
        "    jsonData:\n",
        "      httpHeaderName1: Authorization\n",
        "      httpHeaderName2: X-Price\n",
        "    secureJsonData:\n",
        "      httpHeaderValue1: Bearer $TOKEN\n",
        "      httpHeaderValue2: \"$$5 for ${TOKEN}x, $ alone, ${bad-name}, $1\"\n",
    ));
    let env = env_of(&[
        ("PROM_URL", "http://prom:9090"),
        ("IS_DEFAULT", "true"),
        ("TOKEN", "t0k:#{}&*!"),
    ]);
    let set = parse(&text, FILE, &env).unwrap();
    let ds = &set.all()[0];
    assert_eq!(ds.url, "http://prom:9090");
    assert!(ds.is_default);
    assert_eq!(ds.headers[0].1.expose(), "Bearer t0k:#{}&*!");
    assert_eq!(
        ds.headers[1].1.expose(),
        "$5 for t0k:#{}&*!x, $ alone, ${bad-name}, $1"
    );
    assert!(set.warnings.is_empty(), "{:?}", set.warnings);
}

#[test]
fn tagged_values_are_interpolated_and_untagged() {
    let text = one(concat!(
        "    url: !env ${PROM_URL}\n",
        "    jsonData: !settings\n",
        "      timeInterval: !dur \"$STEP\"\n",
    ));
    let env = env_of(&[("PROM_URL", "http://prom:9090"), ("STEP", "30s")]);
    let set = parse(&text, FILE, &env).unwrap();
    let ds = &set.all()[0];
    assert_eq!(ds.url, "http://prom:9090");
    let Kind::Metrics(metrics) = &ds.kind else {
        panic!("{:?}", ds.kind)
    };
    assert_eq!(metrics.scrape_interval.as_deref(), Some("30s"));
}

#[test]
fn unset_variable_becomes_empty_with_a_warning() {
    let text = one(concat!(
        "    url: http://prom:9090\n",
        "    isDefault: ${MISSING_DEFAULT}\n",
        "    jsonData:\n",
        "      httpHeaderName1: X-Scope-OrgID\n",
        "    secureJsonData:\n",
        "      httpHeaderValue1: tenant-${TENANT_SUFFIX}\n",
    ));
    let set = parse_ok(&text);
    let ds = &set.all()[0];
    assert!(!ds.is_default);
    assert_eq!(ds.headers[0].1.expose(), "tenant-");
    assert_eq!(set.warnings.len(), 2, "{:?}", set.warnings);
    assert!(
        set.warnings[0].contains("'MISSING_DEFAULT' is not set"),
        "{:?}",
        set.warnings
    );
    assert!(
        set.warnings[1].contains("'TENANT_SUFFIX' is not set"),
        "{:?}",
        set.warnings
    );
}

#[test]
fn error_caused_by_unset_variable_mentions_it() {
    let err = parse_err(&one("    url: ${PROM_URL}\n"));
    assert_entry_error(&err, "1 ('prom')", "invalid 'url': the url is empty");
    assert!(
        err.problem
            .contains("unset environment variables: PROM_URL"),
        "{err}"
    );
}

#[test]
fn referenced_env_vars_lists_sorted_unique_names() {
    let text = "a: $B_VAR\nb: ${A_VAR} ${B_VAR}$$NOT_A_VAR $ $1 ${bad-x}\n# $COMMENTED\n";
    assert_eq!(referenced_env_vars(text), ["A_VAR", "B_VAR", "COMMENTED"]);
    assert!(referenced_env_vars("no variables, $$ only").is_empty());
}

#[test]
fn other_types_are_skipped() {
    let text = "datasources:
  - name: vlogs
    type: victoriametrics-logs-datasource
    url: http://vlogs:9428
  - name: prom
    type: prometheus
    url: http://prom:9090
  - name: traces
    type: jaeger
";
    let set = parse_ok(text);
    assert_eq!(set.names(), ["prom"]);
    assert_eq!(
        set.skipped,
        [
            Skipped {
                name: "vlogs".into(),
                kind: "victoriametrics-logs-datasource".into(),
                reason: "logs datasources are not served yet".into(),
            },
            Skipped {
                name: "traces".into(),
                kind: "jaeger".into(),
                reason: "traces datasources are not served yet".into(),
            },
        ]
    );
}

#[test]
fn only_other_types_is_an_error() {
    let err =
        parse_err("datasources:\n  - name: logs\n    type: jaeger\n    url: http://jaeger:16686\n");
    assert_eq!(err.entry, None);
    let shown = err.to_string();
    assert!(
        shown.starts_with(&format!(
            "datasources file '{FILE}': no datasources to serve"
        )),
        "{shown}"
    );
    assert!(shown.contains("jaeger ('logs')"), "{shown}");
}

#[test]
fn empty_list_or_file_is_an_error() {
    for text in [
        "datasources: []\n",
        "apiVersion: 1\n",
        "",
        "apiVersion: 1\ndatasources:\n",
    ] {
        let err = parse_err(text);
        assert_eq!(err.entry, None);
        assert!(
            err.to_string().starts_with(&format!(
                "datasources file '{FILE}': no datasources to serve"
            )),
            "{err}"
        );
    }
    let err = parse_err("- just\n- a list\n");
    assert!(
        err.problem.contains("'datasources' list at the top level"),
        "{err}"
    );
}

#[test]
fn lookup_by_name_or_uid() {
    let set = parse_ok(&full_example());
    assert_eq!(set.get("prom-main").unwrap().name, "prom-main");
    assert_eq!(set.get("P1809F7CD0C75ACF3").unwrap().name, "prom-main");
    assert_eq!(set.get("vm").unwrap().name, "vm");
    assert!(set.get("PROM-MAIN").is_none());
    assert!(set.get("nope").is_none());
}

#[test]
fn name_wins_over_another_entrys_uid_with_a_warning() {
    let text = "datasources:
  - name: a
    uid: b
    type: prometheus
    url: http://a:9090
  - name: b
    type: prometheus
    url: http://b:9090
";
    let set = parse_ok(text);
    assert_eq!(set.get("b").unwrap().name, "b");
    assert_eq!(set.warnings.len(), 1);
    assert!(set.warnings[0].contains("uid 'b'"), "{:?}", set.warnings);
}

#[test]
fn default_selection() {
    let default = |set: &DatasourceSet, family| set.default_for(family).map(|d| d.name.clone());
    // Exactly one datasource: it is the default even without isDefault.
    let set = parse_ok(&one("    url: http://prom:9090\n"));
    assert_eq!(default(&set, Family::Metrics).as_deref(), Some("prom"));
    // A family nothing serves has no default.
    assert_eq!(default(&set, Family::Logs), None);

    // Several, none marked: the family's first.
    let two = "datasources:
  - {name: a, type: prometheus, url: 'http://a:9090'}
  - {name: b, type: prometheus, url: 'http://b:9090'}
";
    assert_eq!(
        default(&parse_ok(two), Family::Metrics).as_deref(),
        Some("a")
    );

    // Several, one marked (as a string, as interpolation produces).
    let marked = two.replace(
        "url: 'http://b:9090'",
        "url: 'http://b:9090', isDefault: 'True'",
    );
    assert_eq!(
        default(&parse_ok(&marked), Family::Metrics).as_deref(),
        Some("b")
    );

    // The isDefault entry of another family does not make a metrics default: the first metrics
    // entry is.
    let other_default = "datasources:
  - {name: logs, type: loki, url: 'http://loki:3100', isDefault: true}
  - {name: a, type: prometheus, url: 'http://a:9090'}
  - {name: b, type: prometheus, url: 'http://b:9090'}
";
    assert_eq!(
        default(&parse_ok(other_default), Family::Metrics).as_deref(),
        Some("a")
    );
}

#[test]
fn missing_or_empty_name_is_an_error() {
    let err = parse_err("datasources:\n  - type: prometheus\n    url: http://p:9090\n");
    assert_entry_error(&err, "1", "missing 'name'");
    let err =
        parse_err("datasources:\n  - name: ''\n    type: prometheus\n    url: http://p:9090\n");
    assert_entry_error(&err, "1", "'name' is empty");
}

#[test]
fn missing_type_is_an_error() {
    let err = parse_err("datasources:\n  - name: prom\n    url: http://p:9090\n");
    assert_entry_error(&err, "1 ('prom')", "missing 'type'");
}

#[test]
fn missing_url_is_an_error() {
    let err = parse_err(&one(""));
    assert_entry_error(&err, "1 ('prom')", "missing 'url'");
}

#[test]
fn duplicate_names_and_uids_are_errors() {
    let text = "datasources:
  - {name: a, uid: u1, type: prometheus, url: 'http://a:9090'}
  - {name: logs, type: loki, url: 'http://l:3100'}
  - {name: a, type: prometheus, url: 'http://b:9090'}
";
    let err = parse_err(text);
    assert_entry_error(
        &err,
        "3 ('a')",
        "duplicate name 'a': entry 1 ('a') already uses it",
    );

    let text = "datasources:
  - {name: a, uid: u1, type: prometheus, url: 'http://a:9090'}
  - {name: b, uid: u1, type: prometheus, url: 'http://b:9090'}
";
    let err = parse_err(text);
    assert_entry_error(
        &err,
        "2 ('b')",
        "duplicate uid 'u1': entry 1 ('a') already uses it",
    );
}

#[test]
fn more_than_one_default_is_an_error() {
    let text = "datasources:
  - {name: a, type: prometheus, url: 'http://a:9090', isDefault: true}
  - {name: b, type: prometheus, url: 'http://b:9090', isDefault: true}
";
    let err = parse_err(text);
    assert_entry_error(&err, "2 ('b')", "entry 1 ('a') is already the default");
}

#[test]
fn basic_auth_without_user_is_an_error() {
    let err = parse_err(&one("    url: http://p:9090\n    basicAuth: true\n"));
    assert_entry_error(
        &err,
        "1 ('prom')",
        "basicAuth is true but 'basicAuthUser' is missing",
    );
    // Without basicAuth, the user is ignored.
    let set = parse_ok(&one("    url: http://p:9090\n    basicAuthUser: u\n"));
    assert!(set.all()[0].basic_auth.is_none());
}

#[test]
fn basic_auth_without_password_warns() {
    let set = parse_ok(&one(
        "    url: http://p:9090\n    basicAuth: true\n    basicAuthUser: u\n",
    ));
    assert_eq!(
        set.all()[0].basic_auth.as_ref().unwrap().password.expose(),
        ""
    );
    assert!(
        set.warnings[0].starts_with("entry 1 ('prom'): "),
        "{:?}",
        set.warnings
    );
    assert!(
        set.warnings[0].contains("empty password"),
        "{:?}",
        set.warnings
    );
}

#[test]
fn legacy_top_level_basic_auth_password_is_used_with_a_warning() {
    let set = parse_ok(&one(
        "    url: http://p:9090\n    basicAuth: true\n    basicAuthUser: u\n    basicAuthPassword: \"123456\"\n",
    ));
    assert_eq!(
        set.all()[0].basic_auth.as_ref().unwrap().password.expose(),
        "123456"
    );
    assert!(set.warnings[0].contains("deprecated"), "{:?}", set.warnings);
}

#[test]
fn ca_cert_problems_are_errors() {
    let err = parse_err(&one(
        "    url: https://p:9090\n    jsonData:\n      tlsAuthWithCACert: true\n",
    ));
    assert_entry_error(&err, "1 ('prom')", "secureJsonData.tlsCACert is missing");
    let err = parse_err(&one(concat!(
        "    url: https://p:9090\n",
        "    jsonData: {tlsAuthWithCACert: true}\n",
        "    secureJsonData: {tlsCACert: not a certificate}\n",
    )));
    assert_entry_error(&err, "1 ('prom')", "-----BEGIN CERTIFICATE-----");
}

#[test]
fn ca_without_flag_is_ignored_with_a_warning() {
    let text = one(&format!(
        "    url: https://p:9090\n    jsonData: {{tlsSkipVerify: 'true'}}\n    secureJsonData: {{tlsCACert: {CA:?}}}\n"
    ));
    let set = parse_ok(&text);
    assert!(set.all()[0].tls_ca_cert.is_none());
    assert!(set.all()[0].tls_skip_verify);
    assert!(
        set.warnings
            .iter()
            .any(|w| w.contains("tlsCACert is ignored")),
        "{:?}",
        set.warnings
    );
}

#[test]
fn wrong_field_types_are_errors() {
    let err = parse_err(&one("    url: http://p:9090\n    isDefault: maybe\n"));
    assert_entry_error(&err, "1 ('prom')", "'isDefault' must be true or false");
    let err = parse_err(&one("    url: [http://p:9090]\n"));
    assert_entry_error(&err, "1 ('prom')", "'url' must be a string, not a list");
    let err = parse_err(&one("    url: http://p:9090\n    jsonData: 3\n"));
    assert_entry_error(&err, "1 ('prom')", "'jsonData' must be a mapping");
    let err = parse_err("datasources:\n  - just a string\n");
    assert_entry_error(&err, "1", "must be a mapping");
}

#[test]
fn load_reports_unreadable_file() {
    let err = load("/nonexistent/proms-mcp/datasources.yaml", &|_| None).unwrap_err();
    assert_eq!(err.file, "/nonexistent/proms-mcp/datasources.yaml");
    assert_eq!(err.entry, None);
    assert!(err.problem.contains("cannot read the file"), "{err}");
    assert!(err.problem.contains(PATH_ENV), "{err}");
}

#[test]
fn secrets_never_appear_in_debug_errors_summaries_or_warnings() {
    const SECRETS: [&str; 4] = [
        "HDR-SECRET-xyzzy",
        "PASS-SECRET-plugh",
        "ENV-SECRET-frobozz",
        "URL-SECRET-zork",
    ];
    let assert_clean = |what: &str, text: &str| {
        for s in SECRETS {
            assert!(!text.contains(s), "{what} leaks {s}: {text}");
        }
    };
    let env = env_of(&[("TOKEN", "ENV-SECRET-frobozz")]);

    let good = one(concat!(
        "    url: https://p:9090\n",
        "    basicAuth: true\n",
        "    basicAuthUser: u\n",
        "    jsonData: {httpHeaderName1: X-Api-Key, httpHeaderName2: X-Env}\n",
        "    secureJsonData:\n",
        "      httpHeaderValue1: Bearer HDR-SECRET-xyzzy\n",
        "      httpHeaderValue2: $TOKEN $UNSET_ONE\n",
        "      basicAuthPassword: PASS-SECRET-plugh\n",
    ));
    let set = parse(&good, FILE, &env).unwrap();
    let ds = &set.all()[0];
    assert_eq!(ds.headers[0].1.expose(), "Bearer HDR-SECRET-xyzzy");
    assert_eq!(ds.headers[1].1.expose(), "ENV-SECRET-frobozz ");
    assert_eq!(
        ds.basic_auth.as_ref().unwrap().password.expose(),
        "PASS-SECRET-plugh"
    );
    assert_clean("Debug", &format!("{set:?}"));
    assert_clean("Debug (pretty)", &format!("{set:#?}"));
    assert_clean("Display", &ds.headers[0].1.to_string());
    assert_clean("summary", &ds.summary_json().to_string());
    assert!(!set.warnings.is_empty());
    assert_clean("warnings", &set.warnings.join("\n"));

    let failing = [
        // Credentials in the URL.
        one("    url: http://admin:URL-SECRET-zork@p:9090\n"),
        one("    url: http://${TOKEN}@p:9090\n"),
        // Header value with a line break, and a value without a name.
        one(
            "    url: http://p:9090\n    jsonData: {httpHeaderName1: A}\n    secureJsonData: {httpHeaderValue1: \"HDR-SECRET-xyzzy\\nX: y\"}\n",
        ),
        one("    url: http://p:9090\n    secureJsonData: {httpHeaderValue1: HDR-SECRET-xyzzy}\n"),
        // Basic auth problems next to a password.
        one(
            "    url: http://p:9090\n    basicAuth: true\n    secureJsonData: {basicAuthPassword: PASS-SECRET-plugh}\n",
        ),
        one(
            "    url: http://p:9090\n    basicAuth: true\n    basicAuthUser: u\n    secureJsonData: {basicAuthPassword: [PASS-SECRET-plugh]}\n",
        ),
        // A CA that is not a certificate (say, a pasted secret).
        one(
            "    url: https://p:9090\n    jsonData: {tlsAuthWithCACert: true}\n    secureJsonData: {tlsCACert: PASS-SECRET-plugh}\n",
        ),
        // Syntax errors on lines holding secrets.
        "datasources:\n  - name: p\n    secureJsonData: {basicAuthPassword: PASS-SECRET-plugh\n"
            .to_string(),
        "datasources:\n  - password: 'PASS-SECRET-plugh\n".to_string(),
        "{\"datasources\": [{\"password\": \"PASS-SECRET-plugh\" \"x\": 1}]}".to_string(),
    ];
    for text in &failing {
        let err = parse(text, FILE, &env).unwrap_err();
        assert_clean("error Display", &err.to_string());
        assert_clean("error Debug", &format!("{err:?}"));
    }
}

#[test]
fn unquoted_secrets_are_refused_because_yaml_would_change_them() {
    let err = parse_err(&one(
        "    url: http://p:9090\n    jsonData:\n      httpHeaderName1: X-Scope-OrgID\n    secureJsonData:\n      httpHeaderValue1: 0x1F\n",
    ));
    assert_entry_error(&err, "1 ('prom')", "must be a quoted string");
    let err = parse_err(&one(
        "    url: http://p:9090\n    basicAuth: true\n    basicAuthUser: u\n    secureJsonData:\n      basicAuthPassword: 1.50\n",
    ));
    assert_entry_error(&err, "1 ('prom')", "must be a quoted string");
    let ok = parse_ok(&one(
        "    url: http://p:9090\n    jsonData:\n      httpHeaderName1: X-Scope-OrgID\n    secureJsonData:\n      httpHeaderValue1: \"0x1F\"\n",
    ));
    assert_eq!(ok.all()[0].headers[0].1.expose(), "0x1F");
}

#[test]
fn a_file_mixing_families_serves_each_kind_and_skips_the_rest_with_reasons() {
    let text = "apiVersion: 1
datasources:
  - name: loki
    type: loki
    url: http://loki:3100
    isDefault: true
  - name: prom
    type: prometheus
    url: http://prom:9090
  - name: tempo
    type: tempo
    url: http://tempo:3200
  - name: clickhouse
    type: grafana-clickhouse-datasource
    jsonData: {host: clickhouse, port: 8123, protocol: http}
  - name: thanos
    type: prometheus
    url: http://thanos:10902
    jsonData: {prometheusType: Thanos, timeout: 10}
  - name: graphite
    type: graphite
    url: http://graphite:8080
";
    let set = parse_ok(text);
    assert_eq!(
        set.names(),
        ["loki", "prom", "tempo", "clickhouse", "thanos"]
    );
    let skipped: Vec<(&str, &str)> = set
        .skipped
        .iter()
        .map(|s| (s.name.as_str(), s.reason.as_str()))
        .collect();
    assert_eq!(
        skipped,
        [(
            "graphite",
            "type not supported; supported types are prometheus, victoriametrics-metrics-datasource, victoriametrics-datasource, grafana-clickhouse-datasource, loki, tempo"
        ),]
    );
    // The isDefault entry is the Loki one: the logs default; the others' is their first entry.
    assert_eq!(set.default_for(Family::Metrics).unwrap().name, "prom");
    assert_eq!(set.default_for(Family::Logs).unwrap().name, "loki");
    assert_eq!(set.default_for(Family::Traces).unwrap().name, "tempo");
    let ch = set.get("clickhouse").unwrap();
    assert_eq!(ch.url, "http://clickhouse:8123");
    assert_eq!(
        ch.clickhouse().unwrap().logs.qualified(),
        "`otel`.`otel_logs`"
    );
    let thanos = set.get("thanos").unwrap();
    assert_eq!(thanos.metrics().unwrap().flavour, Flavour::Thanos);
    assert_eq!(thanos.timeout, Some(std::time::Duration::from_secs(10)));
    assert_eq!(thanos.summary_json()["flavour"], "thanos");
    assert_eq!(thanos.summary_json()["timeout_seconds"], 10.0);
}

/// The JSON form the host hands the component reads exactly as the YAML it came from: merge keys
/// applied, `$VAR` still interpolated by the reader, secrets intact; what JSON cannot say stays YAML.
#[test]
fn json_form_of_a_document_reads_the_same() {
    let merged = "apiVersion: 1\ndefaults: &d\n  type: prometheus\n  jsonData: {timeInterval: 1m}\ndatasources:\n  - <<: *d\n    name: a\n    url: http://a:9090\n    secureJsonData: {basicAuthPassword: $PW}\n    basicAuth: true\n    basicAuthUser: u\n  - name: l\n    type: loki\n    url: http://l:3100\n    jsonData: {parser: json}\n";
    let env = env_of(&[("PW", "s3cret")]);
    for text in [full_example(), merged.to_string()] {
        let json = as_json(&text).expect("JSON can say it");
        assert!(json.starts_with('{'), "{json}");
        let (a, b) = (
            parse(&text, "f", &env).unwrap(),
            parse(&json, "f", &env).unwrap(),
        );
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
        let secrets = |s: &DatasourceSet| -> Vec<String> {
            s.all()
                .iter()
                .flat_map(|d| {
                    d.headers
                        .iter()
                        .map(|(_, v)| v.expose().to_string())
                        .chain(d.basic_auth.iter().map(|a| a.password.expose().to_string()))
                })
                .collect()
        };
        assert_eq!(secrets(&a), secrets(&b));
    }
    assert_eq!(
        parse(&as_json(merged).unwrap(), "f", &env).unwrap().all()[0]
            .basic_auth
            .as_ref()
            .unwrap()
            .password
            .expose(),
        "s3cret"
    );
    // A tag or a non-string key: left as YAML.
    assert_eq!(as_json("datasources: !custom []\n"), None);
    assert_eq!(as_json("datasources:\n  - 1: x\n"), None);
    assert_eq!(as_json("datasources: [\n"), None);
}

mod checked;
