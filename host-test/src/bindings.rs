//! The one bindings module of the host: `bindgen!` for the `plugin` world, with `wasi:http` taken from
//! `wasmtime-wasi-http` so the component's outbound requests go through our egress hooks.

mod generated {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "plugin",
        imports: { default: async | trappable },
        exports: { default: async },
        require_store_data_send: true,
        with: {
            "wasi:http": wasmtime_wasi_http::p2::bindings::http,
            "wasi:io": wasmtime_wasi::p2::bindings::io,
        },
    });
}

pub use generated::exports::proms::mcp::tools::{Caller, ToolError};
pub use generated::{Plugin, PluginPre};
