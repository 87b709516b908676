//! The built component's WIT: exactly the intended imports and exports.

use std::collections::BTreeSet;

use crate::fixture::component_path;

/// The imports and exports of the component at `path`, as `wasm-tools component wit` names them.
fn world_of(path: &std::path::Path) -> (BTreeSet<String>, BTreeSet<String>) {
    let bytes = std::fs::read(path)
        .unwrap_or_else(|e| panic!("{}: {e}; build it with `make test`", path.display()));
    let wit_component::DecodedWasm::Component(resolve, world) =
        wit_component::decode(&bytes).expect("decodes")
    else {
        panic!("{} is not a component", path.display());
    };
    let world = &resolve.worlds[world];
    let names = |keys: Vec<&wit_parser::WorldKey>| {
        keys.into_iter()
            .map(|k| resolve.name_world_key(k))
            .collect()
    };
    (
        names(world.imports.keys().collect()),
        names(world.exports.keys().collect()),
    )
}

#[test]
fn component_imports_and_exports_exactly_the_contract() {
    let (imports, exports) = world_of(&component_path());
    println!("imports: {imports:#?}\nexports: {exports:#?}");
    assert_eq!(
        exports,
        BTreeSet::from([
            "proms:mcp/promql@0.1.0".to_string(),
            "proms:mcp/tools@0.1.0".to_string()
        ])
    );
    assert_eq!(imports, expected_imports());
}

fn expected_imports() -> BTreeSet<String> {
    EXPECTED_IMPORTS.iter().map(|s| s.to_string()).collect()
}

/// `wasi:http/outgoing-handler` (the contract) and `wasi:http/types` with the `wasi:io` it uses, plus
/// what Rust's std links on `wasm32-wasip2`: the environment and filesystem (the datasources file), the
/// clocks (`now`), stdio and exit, and the random seed of `HashMap`. All at WASI 0.2.6, the version Rust
/// 1.95's std uses, which released Spin 4.0 and SpinKube run. No `wasi:sockets`: all network access goes
/// through the host's `send_request` hook.
const EXPECTED_IMPORTS: &[&str] = &[
    "wasi:cli/environment@0.2.6",
    "wasi:cli/exit@0.2.6",
    "wasi:cli/stderr@0.2.6",
    "wasi:cli/stdin@0.2.6",
    "wasi:cli/stdout@0.2.6",
    "wasi:cli/terminal-input@0.2.6",
    "wasi:cli/terminal-output@0.2.6",
    "wasi:cli/terminal-stderr@0.2.6",
    "wasi:cli/terminal-stdin@0.2.6",
    "wasi:cli/terminal-stdout@0.2.6",
    "wasi:clocks/monotonic-clock@0.2.6",
    "wasi:clocks/wall-clock@0.2.6",
    "wasi:filesystem/preopens@0.2.6",
    "wasi:filesystem/types@0.2.6",
    "wasi:http/outgoing-handler@0.2.6",
    "wasi:http/types@0.2.6",
    "wasi:io/error@0.2.6",
    "wasi:io/poll@0.2.6",
    "wasi:io/streams@0.2.6",
    "wasi:random/insecure-seed@0.2.6",
];

/// The imports released Spin offers a component, written down from Spin's own WIT
/// (spinframework/spin `wit/world.wit`, world `platform`, the same in `spin:up@3.6.0` and in the
/// v4.0.0 to v4.0.2 tags): `include wasi:cli/imports@0.2.6`, `import wasi:http/outgoing-handler@0.2.6`,
/// `include wasi:keyvalue/imports@0.2.0-draft2` and `import wasi:config/store@0.2.0-draft-2024-09-27`
/// are the WASI parts (the rest is Spin's own SQLite, Postgres, Redis, MQTT interfaces and the older
/// `fermyon:spin` ones, which we do not use). The set is resolved from the same packages vendored in
/// `wit/deps` (the key-value and config ones copied from Spin's `wit/deps`).
fn spin_platform_imports() -> BTreeSet<String> {
    let mut resolve = wit_parser::Resolve::default();
    resolve
        .push_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../wit"))
        .expect("our WIT resolves");
    let spin = resolve
        .push_str(
            "spin-platform.wit",
            "package test:spin-platform;\n\
             world platform {\n  include wasi:cli/imports@0.2.6;\n  import wasi:http/outgoing-handler@0.2.6;\n  \
             include wasi:keyvalue/imports@0.2.0-draft2;\n  import wasi:config/store@0.2.0-draft-2024-09-27;\n}\n",
        )
        .expect("the Spin platform world resolves");
    let world = resolve.select_world(&[spin], Some("platform")).unwrap();
    resolve.worlds[world]
        .imports
        .keys()
        .map(|k| resolve.name_world_key(k))
        .collect()
}

#[test]
fn server_component_uses_only_what_released_spin_provides() {
    let (imports, exports) = world_of(&crate::fixture::server_component_path());
    assert_eq!(
        exports,
        BTreeSet::from(["wasi:http/incoming-handler@0.2.6".to_string()])
    );
    let spin = spin_platform_imports();
    let missing: Vec<&String> = imports.difference(&spin).collect();
    assert!(
        missing.is_empty(),
        "imports released Spin does not provide: {missing:?}\nSpin: {spin:#?}"
    );
    for needed in [
        "wasi:http/outgoing-handler@0.2.6",
        "wasi:keyvalue/store@0.2.0-draft2",
        "wasi:config/store@0.2.0-draft-2024-09-27",
    ] {
        assert!(imports.contains(needed), "{needed} missing: {imports:#?}");
    }
}
