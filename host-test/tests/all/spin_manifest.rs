//! `spin.toml` is checked without Spin (it cannot be installed here): it parses as manifest v2, its
//! paths exist, its routes cover the endpoint, its settings are Spin variables the component reads,
//! the key-value store it opens is granted, and every origin the component may need is in
//! `allowed_outbound_hosts`.

use std::collections::BTreeSet;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every variable the `server` component reads.
fn known_settings() -> Vec<&'static str> {
    [
        proms_mcp::settings::SETTINGS_ENV,
        proms_mcp::auth::AUTH_ENV,
        proms_mcp::front::HTTP_POLICY_ENV,
    ]
    .concat()
}

#[test]
fn spin_manifest_is_consistent() {
    let text = std::fs::read_to_string(root().join("spin.toml")).unwrap();
    let manifest: toml::Table = toml::from_str(&text).expect("spin.toml parses");
    assert_eq!(manifest["spin_manifest_version"].as_integer(), Some(2));
    let components = manifest["component"].as_table().unwrap();
    let triggers = manifest["trigger"]["http"].as_array().unwrap();
    let routes: BTreeSet<&str> = triggers
        .iter()
        .map(|t| t["route"].as_str().unwrap())
        .collect();
    for route in [
        "/mcp",
        "/mcp/...",
        "/health",
        "/.well-known/oauth-protected-resource/...",
    ] {
        assert!(routes.contains(route), "missing route {route}");
    }
    for t in triggers {
        let name = t["component"].as_str().unwrap();
        assert!(
            components.contains_key(name),
            "trigger names unknown component {name}"
        );
    }
    let c = components["proms-mcp"].as_table().unwrap();
    // The source is what `make server-component` (the build command) produces.
    assert_eq!(
        c["source"].as_str(),
        Some("target/server/wasm32-wasip2/release/proms_mcp.wasm")
    );
    assert_eq!(
        c["build"]["command"].as_str(),
        Some("make server-component")
    );
    let makefile = std::fs::read_to_string(root().join("Makefile")).unwrap();
    assert!(makefile.contains("server-component:"));

    // Files exist; the datasources path points at a mounted file.
    let files = c["files"].as_array().unwrap();
    let mut mounted = BTreeSet::new();
    for f in files {
        let source = f["source"].as_str().unwrap();
        assert!(root().join(source).exists(), "{source} does not exist");
        mounted.insert((f["destination"].as_str().unwrap(), source));
    }
    // Settings are Spin variables: each component variable is a setting the component reads (in
    // lower case), maps the application variable of the same name, and that one is declared.
    assert!(
        c.get("environment").is_none(),
        "settings belong in variables, not in the environment"
    );
    let declared = manifest["variables"].as_table().unwrap();
    let variables = c["variables"].as_table().unwrap();
    let known: Vec<String> = known_settings()
        .iter()
        .map(|k| k.to_ascii_lowercase())
        .collect();
    for (key, value) in variables {
        assert!(known.contains(key), "{key} is not read by the component");
        assert_eq!(value.as_str(), Some(format!("{{{{ {key} }}}}").as_str()));
        assert!(
            declared.contains_key(key),
            "{key} is not declared in [variables]"
        );
    }
    for setting in [
        "auth_mode",
        "openshift_api_url",
        "query_timeout",
        "grafana_datasources",
    ] {
        assert!(
            variables.contains_key(setting),
            "{setting} is not a variable"
        );
    }
    let default = |name: &str| declared[name]["default"].as_str().unwrap().to_string();
    assert!(declared["grafana_datasources"]["secret"].as_bool() == Some(true));
    // The store the component opens is one the component is granted.
    let stores = c["key_value_stores"].as_array().unwrap();
    assert!(
        stores
            .iter()
            .any(|s| s.as_str() == Some(&default("auth_cache_store")))
    );
    let path = default("grafana_datasources_path");
    let (_, source) = mounted
        .iter()
        .find(|(d, _)| *d == path)
        .expect("datasources file mounted");

    // Every datasource origin, and the API server's, is allowed out (Spin's own format: scheme://host:port).
    let allowed: BTreeSet<&str> = c["allowed_outbound_hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap())
        .collect();
    let datasources_text = std::fs::read_to_string(root().join(source)).unwrap();
    let set = proms_mcp::datasources::parse(&datasources_text, source, &|_| None)
        .expect("datasources parse");
    for (origin, ds) in set.origins() {
        assert!(
            allowed.contains(origin.to_string().as_str()),
            "{} ({origin}) not allowed out",
            ds.name
        );
    }
    let api = default("openshift_api_url");
    assert!(
        allowed
            .iter()
            .any(|h| h.trim_end_matches(":443") == api.trim_end_matches('/')),
        "the API server {api} is not allowed out"
    );
}
