//! The deployment files are checked without a cluster or a container engine (neither runs here):
//! they parse, and they agree with what the code reads and the build produces.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_yaml_ng::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn documents(path: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(root().join(path)).unwrap();
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|d| {
            <Value as serde::Deserialize>::deserialize(d).unwrap_or_else(|e| panic!("{path}: {e}"))
        })
        .collect()
}

/// Variables the native host reads: the component's settings, authentication, the HTTP policy, and
/// its own listeners, logging and component paths.
fn host_settings() -> Vec<&'static str> {
    [
        proms_mcp::settings::SETTINGS_ENV,
        proms_mcp::auth::AUTH_ENV,
        proms_mcp::front::HTTP_POLICY_ENV,
        &[
            "HOST",
            "PORT",
            "HEALTH_METRICS_PORT",
            "LOG_LEVEL",
            "PROMS_MCP_COMPONENT",
            "PROMS_MCP_CACHE_DIR",
        ],
    ]
    .concat()
}

#[test]
fn kubernetes_manifest_matches_the_host() {
    let docs = documents("deploy/kubernetes/proms-mcp.yaml");
    let kinds: BTreeSet<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        BTreeSet::from(["Deployment", "Secret", "Service", "ServiceAccount"])
    );
    let deployment = docs.iter().find(|d| d["kind"] == "Deployment").unwrap();
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    let env = container["env"].as_sequence().unwrap();
    let mut datasources_path = String::new();
    let mut interpolated = Vec::new();
    for e in env {
        let name = e["name"].as_str().unwrap();
        if e.get("valueFrom").is_some() {
            interpolated.push(name.to_string()); // a secret the datasources file interpolates
            continue;
        }
        assert!(
            host_settings().contains(&name),
            "{name} is not a host setting"
        );
        if name == "GRAFANA_DATASOURCES_PATH" {
            datasources_path = e["value"].as_str().unwrap().to_string();
        }
        if name == "AUTH_MODE" {
            assert_eq!(e["value"], "active");
        }
    }
    // The datasources secret is mounted where the host reads it, and parses with the variables given.
    let mount = container["volumeMounts"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "datasources")
        .unwrap();
    let dir = mount["mountPath"].as_str().unwrap();
    assert_eq!(datasources_path, format!("{dir}/datasources.yaml"));
    let secret = docs.iter().find(|d| d["kind"] == "Secret").unwrap();
    let file = secret["stringData"]["datasources.yaml"].as_str().unwrap();
    let set = proms_mcp::datasources::parse(file, "secret", &|k| {
        interpolated
            .iter()
            .any(|n| n == k)
            .then(|| "token".to_string())
    })
    .expect("the datasources secret parses");
    assert!(set.warnings.is_empty(), "{:?}", set.warnings);
    // Probes on the health port; the image runs as non-root with a writable /tmp for the code cache.
    let ports = container["ports"].as_sequence().unwrap();
    let port = |name: &str| {
        ports.iter().find(|p| p["name"] == name).unwrap()["containerPort"]
            .as_u64()
            .unwrap()
    };
    assert_eq!((port("mcp"), port("metrics")), (8000, 8080));
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/health");
    assert_eq!(container["readinessProbe"]["httpGet"]["port"], "metrics");
    let containerfile = std::fs::read_to_string(root().join("deploy/Containerfile")).unwrap();
    assert!(containerfile.contains("PROMS_MCP_CACHE_DIR=/tmp/"));
    assert!(containerfile.contains("HOST=0.0.0.0"));
}

#[test]
fn containerfile_copies_what_the_build_produces() {
    let text = std::fs::read_to_string(root().join("deploy/Containerfile")).unwrap();
    // `make host` builds the component, then the host with the `host` profile and its PGO profile.
    assert!(text.contains(" make host\n"));
    let makefile = std::fs::read_to_string(root().join("Makefile")).unwrap();
    assert!(
        makefile.contains("\nhost: component $(HOST_PROFILE)\n\t$(HOST_BUILD) --bin proms-mcp\n")
    );
    assert!(makefile.contains(
        "HOST_BUILD     = RUSTFLAGS=\"-Cprofile-use=$(HOST_PROFILE)\" cargo build --profile host -p host-test\n"
    ));
    assert!(
        makefile.contains("\tcargo build --release --target $(WASM_TARGET) -p proms-mcp --lib\n")
            && makefile.contains("\nWASM_TARGET := wasm32-wasip2\n")
    );
    assert!(
        text.contains("COPY --from=build /src/target/host/proms-mcp /usr/local/bin/proms-mcp\n")
    );
    assert!(text.contains(r#"ENTRYPOINT ["/usr/local/bin/proms-mcp", "serve"]"#));
    assert!(text.contains("COPY --from=build /src/target/wasm32-wasip2/release/proms_mcp.wasm "));
    let cargo: toml::Table =
        toml::from_str(&std::fs::read_to_string(root().join("Cargo.toml")).unwrap()).unwrap();
    let host = &cargo["profile"]["host"];
    assert_eq!(host["inherits"].as_str(), Some("release"));
    assert_eq!(
        host["panic"].as_str(),
        Some("unwind"),
        "a panic must not take the whole server down"
    );
}

#[test]
fn spinapp_runs_the_server_component_with_spin() {
    let docs = documents("deploy/spinkube/spinapp.yaml");
    assert_eq!(docs.len(), 1);
    let app = &docs[0];
    assert_eq!(app["apiVersion"], "core.spinkube.dev/v1alpha1");
    assert_eq!(app["kind"], "SpinApp");
    assert_eq!(app["spec"]["executor"], "containerd-shim-spin");
    assert!(app["spec"]["image"].as_str().unwrap().contains("proms-mcp"));
    // Every variable it sets is one spin.toml declares, and the datasources come from a secret.
    let manifest: toml::Table =
        toml::from_str(&std::fs::read_to_string(root().join("spin.toml")).unwrap()).unwrap();
    let declared = manifest["variables"].as_table().unwrap();
    let variables = app["spec"]["variables"].as_sequence().unwrap();
    for v in variables {
        let name = v["name"].as_str().unwrap();
        assert!(
            declared.contains_key(name),
            "{name} is not declared in spin.toml"
        );
    }
    let datasources = variables
        .iter()
        .find(|v| v["name"] == "grafana_datasources")
        .expect("datasources variable");
    assert!(datasources["valueFrom"]["secretKeyRef"]["name"].is_string());
}
