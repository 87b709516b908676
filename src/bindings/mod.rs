//! The one place that knows about WIT. One world is generated per build: `plugin` (the default:
//! exports `proms:mcp/tools` and `proms:mcp/promql`) or, with the `server-world` feature, `server`
//! (the `wasi:http/proxy` world serving MCP itself). Both use the same WASI HTTP client; everything
//! else in the crate is plain Rust that also compiles natively.

#[cfg(not(feature = "server-world"))]
mod generated {
    wit_bindgen::generate!({
        world: "plugin",
        path: "wit",
        generate_all,
    });
}

#[cfg(feature = "server-world")]
mod generated {
    wit_bindgen::generate!({
        world: "server",
        path: "wit",
        generate_all,
    });
}

mod wasi_http;

#[cfg(not(feature = "server-world"))]
mod plugin;

#[cfg(feature = "server-world")]
mod server;
