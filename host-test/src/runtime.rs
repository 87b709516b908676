//! Running the `plugin` component: one engine, the component compiled and pre-instantiated once, a
//! fresh store per call from the pooling allocator, with a memory cap, an epoch deadline for guest CPU
//! and a wall-clock deadline for the whole call. The component sees the environment variables it needs,
//! a read-only snapshot of the datasources file, and outbound HTTP through [`crate::egress`].
//! MCP protocol handling is not here: [`PluginRuntime`] implements the front's `ToolProvider`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use proms_mcp::datasources::DatasourceSet;
use proms_mcp::front::{CallGate, Caller, ProviderError, ToolProvider, ToolResult};
use proms_mcp::settings::{QUERY_TIMEOUT_ENV, Settings};
use serde_json::Value;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, StoreLimits,
    StoreLimitsBuilder,
};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::bindings::{self, PluginPre, ToolError};
use crate::egress::{Egress, EgressHooks};
use crate::metrics::Metrics;
use crate::platform::{self, Platform, PlatformView};

mod preinit;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

/// Largest linear memory one call may grow to.
pub const MEMORY_CAP_BYTES: usize = 256 << 20;
/// Calls running at once; more wait for a free slot (the pool is sized for this many instances).
/// Each running call holds its own linear memory, so this bounds the host's memory; 16 keep two
/// cores busy while a call waits on its backend, and a queued call still counts against its deadline.
pub const MAX_CONCURRENT_CALLS: u32 = 16;
/// How often the epoch advances; guest CPU deadlines are counted in these ticks.
const EPOCH_TICK: Duration = Duration::from_millis(10);
/// Environment variable: `perfmap` makes wasmtime write `/tmp/perf-<pid>.map`, naming the guest's
/// compiled functions for `perf report`, and compiles at every start (development only; off by
/// default).
pub const PROFILER_ENV: &str = "PROMS_MCP_PROFILER";
/// Environment variable: a directory of compiled code made by `proms-mcp compile` at image build
/// (read-only; checked before the writable cache).
pub const COMPILED_DIR_ENV: &str = "PROMS_MCP_COMPILED_DIR";
/// Environment variable: `off` serves the component as built, without pre-initialisation
/// ([`preinit`]); for measuring what pre-initialisation saves.
pub const PREINIT_ENV: &str = "PROMS_MCP_PREINIT";

/// Per-call store state.
struct State {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    hooks: EgressHooks,
    limits: StoreLimits,
    platform: Arc<Platform>,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for State {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

/// The loaded plugin, ready to serve calls.
pub struct PluginRuntime {
    sandbox: Sandbox,
    pre: PluginPre<State>,
}

/// What every call of a component gets: the engine, the egress policy, the environment and the
/// config snapshot, the deadline and the concurrency limit. Shared by [`PluginRuntime`] and
/// [`ProxyRuntime`].
pub struct Sandbox {
    engine: Engine,
    egress: Arc<Egress>,
    metrics: Arc<Metrics>,
    guest_env: Vec<(String, String)>,
    call_timeout: Duration,
    slots: Arc<Semaphore>,
    platform: Arc<Platform>,
}

impl PluginRuntime {
    /// Compiles the `plugin` component and prepares calls with `settings`; `datasources_text` is the
    /// file's text (already validated by the caller) and `env` the host environment lookup.
    pub fn load(
        component: &Path,
        settings: &Settings,
        datasources: &DatasourceSet,
        egress: Arc<Egress>,
        metrics: Arc<Metrics>,
        env: impl Fn(&str) -> Option<String>,
    ) -> anyhow::Result<PluginRuntime> {
        let (sandbox, component, linker) = Sandbox::load(
            component,
            settings,
            GuestDatasources::Checked(datasources),
            egress,
            metrics,
            &env,
            &[],
        )?;
        let pre = PluginPre::new(linker.instantiate_pre(&component)?)?;
        Ok(PluginRuntime { sandbox, pre })
    }

    /// The gate the MCP front holds `tools/call` requests at: as many through at once as there
    /// are sandbox slots, so that the calls waiting for one wait before rmcp builds a service for
    /// them; each waits at most a call's deadline.
    pub fn call_gate(&self) -> CallGate {
        CallGate::new(MAX_CONCURRENT_CALLS as usize, self.sandbox.call_timeout)
    }
}

/// The `server` world component (`wasi:http/proxy`): it serves the whole MCP endpoint itself, so the
/// host only hands it HTTP requests, as Spin or `wasmtime serve` would.
pub struct ProxyRuntime {
    sandbox: Sandbox,
    pre: ProxyPre<State>,
}

impl ProxyRuntime {
    /// Compiles the `server` component; like [`PluginRuntime::load`], plus the host's settings the
    /// component reads itself (authentication and the HTTP policy) passed through.
    pub fn load(
        component: &Path,
        settings: &Settings,
        datasources_text: &str,
        egress: Arc<Egress>,
        metrics: Arc<Metrics>,
        env: impl Fn(&str) -> Option<String>,
    ) -> anyhow::Result<ProxyRuntime> {
        let (mut sandbox, component, mut linker) = Sandbox::load(
            component,
            settings,
            GuestDatasources::Text(datasources_text),
            egress,
            metrics,
            &env,
            &[
                proms_mcp::auth::AUTH_ENV,
                proms_mcp::front::HTTP_POLICY_ENV,
                // The component serves tools/list itself, so it applies the toolset itself.
                &[
                    proms_mcp::settings::TOOLS_ENABLED_ENV,
                    proms_mcp::settings::TOOLS_DISABLED_ENV,
                ],
            ]
            .concat(),
        )?;
        // Spin's key-value store and variables, which the `server` world imports.
        sandbox.platform = Arc::new(Platform::new(std::env::vars()));
        platform::add_to_linker(&mut linker, |s: &mut State| PlatformView {
            table: &mut s.table,
            platform: &s.platform,
        })?;
        let pre = ProxyPre::new(linker.instantiate_pre(&component)?)?;
        Ok(ProxyRuntime { sandbox, pre })
    }

    /// Serves one HTTP request with a fresh instance, within the call deadline.
    pub async fn handle(
        &self,
        request: hyper::Request<hyper::body::Incoming>,
    ) -> anyhow::Result<hyper::Response<HyperOutgoingBody>> {
        let sandbox = &self.sandbox;
        let run = async {
            let _slot = sandbox.slots.acquire().await?;
            let mut store = sandbox.new_store()?;
            let (sender, receiver) = tokio::sync::oneshot::channel();
            let request = store
                .data_mut()
                .http()
                .new_incoming_request(Scheme::Http, request)?;
            let out = store.data_mut().http().new_response_outparam(sender)?;
            let proxy = self.pre.instantiate_async(&mut store).await?;
            // The guest answers through `out`, then may keep running (streaming the body).
            let task = tokio::spawn(async move {
                proxy
                    .wasi_http_incoming_handler()
                    .call_handle(&mut store, request, out)
                    .await
            });
            match receiver.await {
                Ok(Ok(response)) => Ok(response),
                Ok(Err(code)) => Err(anyhow::anyhow!(
                    "the component answered with an error: {code:?}"
                )),
                Err(_) => match task.await {
                    Ok(Err(e)) => Err(anyhow::anyhow!("the component failed: {e:#}")),
                    _ => Err(anyhow::anyhow!("the component sent no response")),
                },
            }
        };
        tokio::time::timeout(sandbox.call_timeout, run)
            .await
            .unwrap_or_else(|_| Err(anyhow::anyhow!("the component did not answer in time")))
    }
}

/// How a component gets its datasources.
enum GuestDatasources<'a> {
    /// The set the host checked, read back without a parse (the `plugin` world).
    Checked(&'a DatasourceSet),
    /// The provisioning file's text, which the component parses itself (the `server` world, which
    /// reads it as it would under Spin).
    Text(&'a str),
}

impl Sandbox {
    /// The engine (pooling, epochs), the compiled component and a linker with WASI and WASI HTTP;
    /// `pass_env` names host variables handed to the guest as they are.
    #[allow(clippy::too_many_arguments)]
    fn load(
        component: &Path,
        settings: &Settings,
        datasources: GuestDatasources,
        egress: Arc<Egress>,
        metrics: Arc<Metrics>,
        env: &impl Fn(&str) -> Option<String>,
        pass_env: &[&str],
    ) -> anyhow::Result<(Sandbox, Component, Linker<State>)> {
        let engine = engine(env)?;
        let bytes = std::fs::read(component).with_context(|| {
            format!(
                "reading the plugin component {} (build it with `make component`)",
                component.display()
            )
        })?;
        let component = compile_cached(
            &engine,
            || self::engine(env),
            &bytes,
            &CodeDirs::from_env(env),
        )?;
        let mut linker: Linker<State> = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;

        // Only what the component reads: its settings and its datasources.
        let mut guest_env = vec![(
            QUERY_TIMEOUT_ENV.to_string(),
            format!("{}ms", settings.query_timeout.as_millis()),
        )];
        match datasources {
            // The set the egress policy was built from, already checked: a call reads it back
            // without parsing the file again (`datasources/checked.rs`).
            GuestDatasources::Checked(set) => guest_env.push((
                proms_mcp::datasources::CHECKED_ENV.to_string(),
                proms_mcp::datasources::to_checked(set),
            )),
            // The file's text in `GRAFANA_DATASOURCES` (the same text the egress policy was built
            // from), with the variables it interpolates: reading it from the environment costs the
            // guest no file-system calls. It goes as JSON when JSON can say it: the guest parses it
            // on every call, JSON five times faster.
            GuestDatasources::Text(text) => {
                guest_env.push((
                    proms_mcp::settings::DATASOURCES_ENV.to_string(),
                    proms_mcp::datasources::as_json(text).unwrap_or_else(|| text.to_string()),
                ));
                for name in proms_mcp::datasources::referenced_env_vars(text) {
                    // The component's own settings are set above, never taken from the file's
                    // references.
                    if guest_env.iter().any(|(reserved, _)| *reserved == name)
                        || name == proms_mcp::datasources::PATH_ENV
                    {
                        continue;
                    }
                    if let Some(value) = env(&name) {
                        guest_env.push((name, value));
                    }
                }
            }
        }
        for name in pass_env {
            if let Some(value) = env(name) {
                guest_env.push((name.to_string(), value));
            }
        }

        let ticker = engine.weak();
        std::thread::Builder::new()
            .name("epoch-ticker".into())
            .spawn(move || {
                while let Some(engine) = ticker.upgrade() {
                    engine.increment_epoch();
                    drop(engine);
                    std::thread::sleep(EPOCH_TICK);
                }
            })?;

        let sandbox = Sandbox {
            engine,
            egress,
            metrics,
            guest_env,
            // A tool may send two requests (POST, then GET on 405), each bounded by the query timeout.
            call_timeout: settings.query_timeout * 2 + Duration::from_secs(2),
            slots: Arc::new(Semaphore::new(MAX_CONCURRENT_CALLS as usize)),
            platform: Arc::default(),
        };
        Ok((sandbox, component, linker))
    }

    fn new_store(&self) -> anyhow::Result<Store<State>> {
        let mut wasi = WasiCtx::builder();
        // The guest has no files; should it try one, a failing call on this thread is cheaper than
        // a hop to tokio's blocking pool and back.
        wasi.allow_blocking_current_thread(true);
        wasi.envs(&self.guest_env);
        let state = State {
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            hooks: self.egress.hooks(),
            limits: StoreLimitsBuilder::new()
                .memory_size(MEMORY_CAP_BYTES)
                .instances(64)
                .build(),
            platform: self.platform.clone(),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        // Guest code yields to tokio at every epoch tick, so a busy guest never holds a worker thread
        // and the wall-clock deadline below can stop it at the next tick.
        store.set_epoch_deadline(1);
        store.epoch_deadline_async_yield_and_update(1);
        Ok(store)
    }
}

impl PluginRuntime {
    /// Runs `f` on a fresh instance within the call deadline; errors become [`ProviderError`]s.
    async fn with_instance<T>(
        &self,
        f: impl AsyncFnOnce(&mut Store<State>, &bindings::Plugin) -> wasmtime::Result<T>,
    ) -> Result<T, CallFailure> {
        // Waiting for a free slot counts against the deadline too: a caller never waits unboundedly.
        let sandbox = &self.sandbox;
        let run = async {
            let slot = sandbox
                .slots
                .clone()
                .acquire_owned()
                .await
                .map_err(|_| CallFailure::Trap("runtime shutting down".into()))?;
            let mut store = sandbox
                .new_store()
                .map_err(|e| CallFailure::Trap(format!("{e:#}")))?;
            let plugin = self
                .pre
                .instantiate_async(&mut store)
                .await
                .map_err(|e| CallFailure::Trap(format!("instantiating: {e:#}")))?;
            let out = f(&mut store, &plugin)
                .await
                .map_err(|e| CallFailure::Trap(format!("{e:#}")))?;
            retire(store, slot);
            Ok(out)
        };
        tokio::time::timeout(sandbox.call_timeout, run)
            .await
            .unwrap_or(Err(CallFailure::Deadline))
    }
}

/// Drops a finished call's store and frees its slot. When it was the only call running, the drop
/// goes to a task of its own, so that resetting the sandbox (the memory pages the call dirtied, its
/// table, its resources) happens after the answer is written, not while the caller waits: spawned
/// from a worker, the task waits in that worker's next-task slot without waking another thread and
/// runs when the connection's task yields. Under load the drop stays in place: there the spawned task
/// cost more CPU per call than the wait it saved (README, Benchmark: "Sixteenth pass"). A call that
/// fails, traps or is cancelled drops its store where it stands.
fn retire(store: Store<State>, slot: OwnedSemaphorePermit) {
    if slot.semaphore().available_permits() + 1 == MAX_CONCURRENT_CALLS as usize {
        tokio::spawn(async move {
            drop(store);
            drop(slot);
        });
    } else {
        // The store first: its pool slot must be free before another call can take the permit.
        drop(store);
        drop(slot);
    }
}

/// Memory (and table) kept resident in a pool slot after a call, reset in place for the next one
/// instead of being returned to the kernel and faulted in again: calls touch much the same first
/// megabytes of their fresh memory (the pre-initialised heap, the arguments, the answer).
/// Measured at concurrency 8: 0.19 to 0.16 ms host CPU per `list_datasources`, 0.65 to 0.35 ms
/// per `query_instant` with pre-initialisation; larger values gave nothing more.
const KEEP_RESIDENT_BYTES: usize = 2 << 20;

/// The engine every call runs on: the pooling allocator sized for [`MAX_CONCURRENT_CALLS`], epoch
/// interruption. `env` may ask for a perf map ([`PROFILER_ENV`]). `proms-mcp compile` builds the
/// same engine, so code it compiles matches the server's.
fn engine(env: &impl Fn(&str) -> Option<String>) -> anyhow::Result<Engine> {
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(MAX_CONCURRENT_CALLS)
        .total_core_instances(MAX_CONCURRENT_CALLS * 8)
        .total_memories(MAX_CONCURRENT_CALLS * 2)
        .total_tables(MAX_CONCURRENT_CALLS * 8)
        .max_memory_size(MEMORY_CAP_BYTES)
        .linear_memory_keep_resident(KEEP_RESIDENT_BYTES)
        .table_keep_resident(KEEP_RESIDENT_BYTES)
        // With the pages kept resident, resetting only those a call dirtied (Linux 6.7 and later;
        // elsewhere the first KEEP_RESIDENT_BYTES are reset with memset).
        .pagemap_scan(wasmtime::Enabled::Auto);

    let mut config = Config::new();
    config
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool))
        .epoch_interruption(true);
    // `perf` cannot name JIT-compiled guest functions by itself: this writes /tmp/perf-<pid>.map
    // so a profile of the host shows which guest function the time went to.
    if env(PROFILER_ENV).as_deref() == Some("perfmap") {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    Ok(Engine::new(&config)?)
}

/// `proms-mcp compile <dir>`: pre-initialises and compiles `component` for this host into `dir`,
/// where [`COMPILED_DIR_ENV`] can point a server: an image built with it answers its first call
/// without compiling anything. Returns the file written.
pub fn compile_into(
    component: &Path,
    dir: &Path,
    env: &impl Fn(&str) -> Option<String>,
) -> anyhow::Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let engine = engine(env)?;
    let bytes = std::fs::read(component)
        .with_context(|| format!("reading the plugin component {}", component.display()))?;
    let preinit = env(PREINIT_ENV).as_deref() != Some("off");
    let path = dir.join(code_file_name(&engine, &bytes, preinit));
    std::fs::create_dir_all(dir)?;
    let native = prepare(&engine, &bytes, preinit)?
        .serialize()
        .map_err(|e| anyhow::anyhow!("serialising the compiled component: {e:#}"))?;
    std::fs::write(&path, native)?;
    // Readable by the server's (any) user, writable by nobody else: it is executable code.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))?;
    Ok(path)
}

/// Where compiled code is looked for: a read-only directory shipped with the server
/// ([`COMPILED_DIR_ENV`]), then the writable cache (`PROMS_MCP_CACHE_DIR`, default
/// `$XDG_CACHE_HOME/proms-mcp` or `~/.cache/proms-mcp`).
struct CodeDirs {
    shipped: Option<PathBuf>,
    cache: Option<PathBuf>,
    preinit: bool,
}

impl CodeDirs {
    fn from_env(env: &impl Fn(&str) -> Option<String>) -> CodeDirs {
        // Profiling compiles into memory and never reads or writes code files: `perf` names JIT code
        // from the perf map only where it is not backed by a file.
        if env(PROFILER_ENV).as_deref() == Some("perfmap") {
            return CodeDirs {
                shipped: None,
                cache: None,
                preinit: env(PREINIT_ENV).as_deref() != Some("off"),
            };
        }
        CodeDirs {
            shipped: env(COMPILED_DIR_ENV).map(PathBuf::from),
            cache: env("PROMS_MCP_CACHE_DIR").map(PathBuf::from).or_else(|| {
                std::env::var_os("XDG_CACHE_HOME")
                    .map(PathBuf::from)
                    .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
                    .map(|base| base.join("proms-mcp"))
            }),
            preinit: env(PREINIT_ENV).as_deref() != Some("off"),
        }
    }
}

/// The component ready to compile: pre-initialised ([`preinit`]) unless turned off, or as built if
/// pre-initialisation fails (logged: the server still works, only each call costs more).
fn prepare(engine: &Engine, bytes: &[u8], preinit: bool) -> anyhow::Result<Component> {
    let prepared = if preinit {
        preinit::preinitialize(bytes)
            .inspect_err(|e| {
                tracing::warn!(
                    error = format!("{e:#}"),
                    "serving the component without pre-initialisation"
                )
            })
            .ok()
    } else {
        None
    };
    Component::new(engine, prepared.as_deref().unwrap_or(bytes))
        .map_err(|e| anyhow::anyhow!("compiling the plugin component: {e:#}"))
}

/// The compiled code's file name: a hash of the component's bytes, the engine's settings, this
/// host's version and whether it is pre-initialised, so that no change reuses stale code.
fn code_file_name(engine: &Engine, bytes: &[u8], preinit: bool) -> String {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut hasher);
    engine.precompile_compatibility_hash().hash(&mut hasher);
    env!("CARGO_PKG_VERSION").hash(&mut hasher);
    preinit.then_some(preinit::VERSION).hash(&mut hasher);
    format!("plugin-{:016x}.cwasm", hasher.finish())
}

/// Compiles the component, or loads the native code a previous start compiled from the same bytes
/// with the same engine: start-up then takes milliseconds instead of seconds. It looks in the
/// shipped directory ([`COMPILED_DIR_ENV`], written by `proms-mcp compile`), then in the cache
/// (`PROMS_MCP_CACHE_DIR`, default `$XDG_CACHE_HOME/proms-mcp` or `~/.cache/proms-mcp`), which is
/// used only if it is a directory owned by this user that nobody else can write, since its files
/// are executable code. Any problem with either falls back to compiling (and caching), on an engine
/// `compiler` makes with `engine`'s configuration, dropped once the code is written.
fn compile_cached(
    engine: &Engine,
    compiler: impl FnOnce() -> anyhow::Result<Engine>,
    bytes: &[u8],
    dirs: &CodeDirs,
) -> anyhow::Result<Component> {
    let name = code_file_name(engine, bytes, dirs.preinit);
    let shipped = dirs
        .shipped
        .as_ref()
        .map(|d| d.join(&name))
        .filter(|p| trusted_file(p));
    let cache = dirs.cache.as_ref().filter(|d| private_dir(d));
    for path in shipped.iter().chain(cache.map(|d| d.join(&name)).iter()) {
        if !path.exists() {
            continue;
        }
        // SAFETY: the file was written by `serialize` for this engine configuration (its name
        // hashes the component and the engine settings) in a directory only this user (or, for the
        // shipped directory, root) can write.
        match unsafe { Component::deserialize_file(engine, path) } {
            Ok(component) => return Ok(component),
            Err(e) => {
                tracing::warn!(error = %e, path = %path.display(), "ignoring unusable compiled code")
            }
        }
    }
    // A throwaway engine of the same configuration compiles: the serving engine would keep the
    // compiler's per-thread scratch state (about 12 MiB) for the server's whole life.
    let native = prepare(&compiler()?, bytes, dirs.preinit)?
        .serialize()
        .map_err(|e| anyhow::anyhow!("serialising the compiled component: {e:#}"))?;
    let component = match cache.and_then(|dir| cache_and_map(engine, &native, &dir.join(&name))) {
        Some(mapped) => mapped,
        // SAFETY: `native` was just serialised by an engine of this engine's configuration.
        None => unsafe { Component::deserialize(engine, &native) }
            .map_err(|e| anyhow::anyhow!("loading the compiled component: {e:#}"))?,
    };
    drop(native);
    release_freed_memory();
    Ok(component)
}

/// Writes the compiled code `native` to the cache at `path` and loads it from there, as a cached
/// start would: its code pages are then the file's (shared, reclaimable), not 8 MiB or more of this
/// process's heap. `None` if the cache cannot be written.
fn cache_and_map(engine: &Engine, native: &[u8], path: &Path) -> Option<Component> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    if std::fs::write(&tmp, native)
        .and_then(|()| std::fs::rename(&tmp, path))
        .is_err()
    {
        let _ = std::fs::remove_file(&tmp);
        return None;
    }
    // SAFETY: written just above from `serialize` for this engine's configuration, in a directory
    // only we can write.
    unsafe { Component::deserialize_file(engine, path) }.ok()
}

/// Returns the heap pages freed after a compile to the kernel. Compiling allocates on wasmtime's
/// compiler threads, each with its own glibc arena, and glibc keeps what an arena frees: without
/// this a server that compiled at start carries about 75 MiB more for its whole life (README, Soak).
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` only hands free pages of the allocator's heaps back to the kernel.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Whether shipped compiled code at `path` may be loaded: a file that, like its directory, is owned
/// by root or this user and writable by no one else.
fn trusted_file(path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(me) = std::fs::metadata("/proc/self").map(|m| m.uid()) else {
        return false;
    };
    let safe = |m: std::fs::Metadata| (m.uid() == 0 || m.uid() == me) && m.mode() & 0o022 == 0;
    let dir_ok = path
        .parent()
        .and_then(|d| std::fs::metadata(d).ok())
        .is_some_and(|m| m.is_dir() && safe(m));
    dir_ok && std::fs::metadata(path).is_ok_and(|m| m.is_file() && safe(m))
}

/// Creates `dir` (mode 0700) if needed; true if it is ours and not writable by group or others.
fn private_dir(dir: &Path) -> bool {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    let _ = std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir);
    // /proc/self belongs to this process's user: no libc call needed to learn who we are.
    let Ok(me) = std::fs::metadata("/proc/self").map(|m| m.uid()) else {
        return false;
    };
    std::fs::metadata(dir).is_ok_and(|m| m.is_dir() && m.uid() == me && m.mode() & 0o022 == 0)
}

/// Why a call produced no result from the component.
enum CallFailure {
    /// The component trapped (a bug, or memory exhausted).
    Trap(String),
    /// The call ran past its deadline.
    Deadline,
}

impl PluginRuntime {
    fn failure_message(&self, f: &CallFailure) -> String {
        match f {
            CallFailure::Deadline => format!(
                "the tool did not finish within {}s and was stopped; narrow the query (label matchers, \
aggregation, shorter range) or try again",
                self.sandbox.call_timeout.as_secs()
            ),
            CallFailure::Trap(detail) => {
                tracing::error!(detail = %detail, "plugin trapped");
                "the tool failed inside its sandbox (it may have run out of memory); narrow the query and try again".to_string()
            }
        }
    }
}

impl ToolProvider for PluginRuntime {
    async fn list_tools(&self) -> Result<Vec<Value>, ProviderError> {
        let tools = self
            .with_instance(async |store, plugin| {
                plugin.proms_mcp_tools().call_list_tools(store).await
            })
            .await
            .map_err(|f| ProviderError::Unavailable(self.failure_message(&f)))?;
        tools
            .into_iter()
            .map(|t| {
                serde_json::from_str(&t.definition_json).map_err(|e| {
                    ProviderError::Unavailable(format!("tool {} has a bad definition: {e}", t.name))
                })
            })
            .collect()
    }

    async fn call_tool(
        &self,
        name: String,
        arguments_json: String,
        caller: Option<Caller>,
    ) -> Result<ToolResult, ProviderError> {
        let started = Instant::now();
        let user = caller
            .as_ref()
            .map_or_else(String::new, |c| c.username.clone());
        let caller = caller.map(|c| bindings::Caller {
            username: c.username,
            uid: c.uid,
            groups: c.groups,
        });
        let abandoned = Abandoned {
            metrics: &self.sandbox.metrics,
            tool: &name,
            user: &user,
            started,
        };
        let outcome = self
            .with_instance(async |store, plugin| {
                plugin
                    .proms_mcp_tools()
                    .call_call_tool(store, &name, &arguments_json, caller.as_ref())
                    .await
            })
            .await;
        let (label, result) = match outcome {
            // Checked once here, then written to the client as the guest wrote it.
            Ok(Ok(r)) => match ToolResult::from_json(r.result_json) {
                Ok(result) => (if result.is_error() { "error" } else { "ok" }, Ok(result)),
                Err(e) => (
                    "trap",
                    Err(ProviderError::Unavailable(format!(
                        "the tool returned a result that is {e}"
                    ))),
                ),
            },
            Ok(Err(ToolError::UnknownTool(m))) => {
                ("unknown_tool", Err(ProviderError::UnknownTool(m)))
            }
            Ok(Err(ToolError::InvalidArguments(m))) => {
                ("error", Err(ProviderError::InvalidArguments(m)))
            }
            Ok(Err(ToolError::Unavailable(m))) => ("error", Err(ProviderError::Unavailable(m))),
            Err(f @ CallFailure::Deadline) => (
                "timeout",
                Err(ProviderError::Unavailable(self.failure_message(&f))),
            ),
            Err(f) => (
                "trap",
                Err(ProviderError::Unavailable(self.failure_message(&f))),
            ),
        };
        abandoned.disarm();
        record_call(&self.sandbox.metrics, &name, &user, label, started);
        result
    }
}

/// Counts and logs one finished (or abandoned) tool call.
fn record_call(metrics: &Metrics, tool: &str, user: &str, outcome: &'static str, started: Instant) {
    let elapsed = started.elapsed();
    metrics.tool_call(tool, outcome, elapsed);
    tracing::info!(tool = %tool, user = %user, outcome, duration_ms = elapsed.as_secs_f64() * 1000.0, "tool call");
}

/// Armed while a call runs: if the front drops the call (its client hung up, see
/// `proms_mcp::front`), the call is counted and logged as `cancelled` on the way out.
struct Abandoned<'a> {
    metrics: &'a Metrics,
    tool: &'a str,
    user: &'a str,
    started: Instant,
}

impl Abandoned<'_> {
    /// The call finished: it is recorded with its own outcome instead.
    fn disarm(self) {
        std::mem::forget(self);
    }
}

impl Drop for Abandoned<'_> {
    fn drop(&mut self) {
        record_call(
            self.metrics,
            self.tool,
            self.user,
            "cancelled",
            self.started,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::private_dir;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn cache_dir_must_be_private() {
        let base = tempfile::tempdir().unwrap();
        let dir = base.path().join("cache");
        assert!(private_dir(&dir), "created with mode 0700");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(
            !private_dir(&dir),
            "a world-writable cache could inject code"
        );
    }
}
