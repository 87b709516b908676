//! Pre-initialisation of the plugin component (wizer, built into wasmtime since 39): the state the
//! component builds on its first PromQL validation — `promql-parser`'s parse tables, its function
//! and keyword maps, its duration regex, our own lazily built tables — is built once here and
//! written into the component's initial memory, so that no fresh per-call instance rebuilds it.
//!
//! Nothing secret can reach the snapshot: the instance that runs the warm-up has an empty
//! environment, no files (no datasources file, so none of its header values or passwords) and an
//! egress policy that denies every request, and the warm-up only validates fixed expressions. The
//! warm-up must not read the environment or files either, since the guest's C library would then
//! keep what it saw (nothing) instead of reading the real ones at the first call; tests run every
//! tool on the pre-initialised component, which would show that.
//!
//! Each call still gets a fresh instance from this initial state: nothing of one call is visible to
//! another.

use std::sync::Arc;

use wasmtime::component::{Component, ComponentExportIndex, Instance, Linker, ResourceTable};
use wasmtime::{Config, Engine, OptLevel, Store, StoreLimitsBuilder};
use wasmtime_wasi::WasiCtx;
use wasmtime_wasi_http::WasiHttpCtx;
use wasmtime_wizer::{ComponentInstanceState, Wizer};

use super::State;
use crate::bindings::Plugin;
use crate::egress::Egress;
use crate::metrics::Metrics;
use crate::platform::Platform;

/// Expressions validated during pre-initialisation: between them they reach the parser tables,
/// the function and keyword maps, duration and number literals, regex matchers, aggregation,
/// binary operators with matching, subqueries and modifiers.
const WARM_UP: &[&str] = &[
    r#"sum by (instance) (rate(demo_http_requests_total{job=~"api.*", code!="500"}[5m] offset 1m))"#,
    r#"histogram_quantile(0.99, sum without (pod) (rate(x_bucket[1h:30s]))) / on (job) group_left max(up) > bool 0.5"#,
    r#"label_replace(topk(3, avg_over_time(y[10m] @ 1700000000)), "a", "$1", "b", "(.*)") or vector(1e3)"#,
];

/// A version tag of what [`preinitialize`] does, part of the compiled-code cache key: a change to
/// the warm-up must not reuse code compiled from an older snapshot.
pub(super) const VERSION: &str = "preinit-1";

/// `component` with the warm-up's state in its initial memory.
pub(super) fn preinitialize(component: &[u8]) -> anyhow::Result<Vec<u8>> {
    // Start-up calls this from inside the server's tokio runtime, which cannot block on another
    // one: the warm-up runs on a thread of its own.
    std::thread::scope(|scope| {
        scope
            .spawn(|| preinitialize_on_this_thread(component))
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("pre-initialising the component panicked")))
    })
}

fn preinitialize_on_this_thread(component: &[u8]) -> anyhow::Result<Vec<u8>> {
    // The instrumented component runs once: compile it quickly, unoptimised, in its own engine
    // (no pooling, no epochs), leaving the serving engine's settings alone.
    let mut config = Config::new();
    config.cranelift_opt_level(OptLevel::None);
    let engine = Engine::new(&config)?;
    let wizer = Wizer::new();
    let (cx, instrumented) = wizer
        .instrument_component(component)
        .map_err(|e| anyhow::anyhow!("pre-initialising: instrumenting the component: {e:#}"))?;
    let instrumented = Component::new(&engine, &instrumented).map_err(|e| {
        anyhow::anyhow!("pre-initialising: compiling the instrumented component: {e:#}")
    })?;
    let mut linker: Linker<State> = Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    let metrics = Arc::new(Metrics::default());
    let state = State {
        // No environment, no files: see the module doc.
        wasi: WasiCtx::builder().build(),
        http: WasiHttpCtx::new(),
        table: ResourceTable::new(),
        hooks: Arc::new(Egress::deny_all(metrics)).hooks(),
        limits: StoreLimitsBuilder::new().build(),
        platform: Arc::new(Platform::default()),
    };
    let mut store = Store::new(&engine, state);
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    runtime.block_on(async {
        let instance = linker.instantiate_async(&mut store, &instrumented).await?;
        let plugin = Plugin::new(&mut store, &instance)?;
        for expr in WARM_UP {
            plugin
                .proms_mcp_promql()
                .call_validate(&mut store, expr)
                .await?
                .map_err(|e| anyhow::anyhow!("warm-up expression refused: {}", e.message))?;
        }
        wizer
            .snapshot_component(
                &cx,
                &mut Access {
                    store: &mut store,
                    instance,
                },
            )
            .await
            .map_err(|e| anyhow::anyhow!("pre-initialising: snapshotting the component: {e:#}"))
    })
}

/// The instrumented instance, read through the accessor functions wizer added to it.
struct Access<'a> {
    store: &'a mut Store<State>,
    instance: Instance,
}

impl Access<'_> {
    fn export(&mut self, instance: &str, func: &str) -> ComponentExportIndex {
        // The names come from wizer's own instrumentation of this component: always there.
        let outer = self
            .instance
            .get_export_index(&mut *self.store, None, instance)
            .expect("wizer's accessor instance");
        self.instance
            .get_export_index(&mut *self.store, Some(&outer), func)
            .expect("wizer's accessor function")
    }

    async fn call<R>(&mut self, instance: &str, func: &str) -> R
    where
        R: wasmtime::component::Lift + Send + Sync + 'static,
    {
        let index = self.export(instance, func);
        let f = self
            .instance
            .get_typed_func::<(), (R,)>(&mut *self.store, index)
            .expect("wizer's accessor type");
        // An accessor only reads a global or a memory: it cannot fail on a healthy instance, and
        // the trait offers no way to report an error.
        f.call_async(&mut *self.store, ())
            .await
            .expect("wizer's accessor call")
            .0
    }
}

impl ComponentInstanceState for Access<'_> {
    async fn call_func_ret_list_u8(
        &mut self,
        instance: &str,
        func: &str,
        contents: impl FnOnce(&[u8]) + Send,
    ) {
        let list: wasmtime::component::WasmList<u8> = self.call(instance, func).await;
        contents(list.as_le_slice(&*self.store));
    }

    async fn call_func_ret_s32(&mut self, instance: &str, func: &str) -> i32 {
        self.call(instance, func).await
    }

    async fn call_func_ret_s64(&mut self, instance: &str, func: &str) -> i64 {
        self.call(instance, func).await
    }

    async fn call_func_ret_f32(&mut self, instance: &str, func: &str) -> u32 {
        self.call::<f32>(instance, func).await.to_bits()
    }

    async fn call_func_ret_f64(&mut self, instance: &str, func: &str) -> u64 {
        self.call::<f64>(instance, func).await.to_bits()
    }
}
