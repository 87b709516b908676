#!/usr/bin/env python3
"""Per-stage shares of the host's CPU (README, Benchmark: "Where a call's CPU goes").

Usage, with the host started with PROMS_MCP_PROFILER=perfmap and under load:
  perf record -e cpu-clock -F 4000 -g -p <host pid> -o calls.data -- sleep 7
  perf script -i calls.data -F ip,sym,dso | c++filt | python3 tests/bench/perf_stages.py

A sample whose call chain runs through the guest goes to the first guest stage (in the order of
GUEST) any of its guest frames matches, so host functions the guest calls (WASI, HTTP) count for the
guest's stage; other samples go to the first host stage their frames match from the leaf up."""
import re, sys, collections

GUEST = [  # leaf-to-root, first match wins
  ('guest: lazy start-up state (parser tables, maps, regexes)', r'_reconstitute|lazy_static|LazyLock|OnceLock<T>::initialize|Once::call|Lazy<'),
  ('guest: settings + datasources read and parse', r'proms_mcp::settings|proms_mcp::datasources'),
  ('guest: PromQL validation', r'proms_mcp::promql'),
  ('guest: outbound request (WASI HTTP, both sides)', r'proms_mcp::bindings::wasi_http|WasiHttp'),
  ('guest: Prometheus answer parse', r'proms_mcp::backends'),
  ('guest: result encoding (text + structuredContent)', r'proms_mcp::tools::(success|error_result)'),
  ('guest: result shaping', r'proms_mcp::tools::metrics|proms_mcp::tools::list_datasources'),
  ('guest: tool dispatch + argument checks', r'proms_mcp::tools'),
  ('guest: argument JSON parse', r'serde_json::de'),
  ('guest: result JSON encode (result-json string)', r'serde_json::ser|ToString|to_string'),
  ('guest: start-up (ctors, env, libc)', r'_initialize|__wasm_call_ctors|run_ctors|__wasilibc'),
  ('guest: boundary (canonical ABI, realloc)', r'cabi_realloc|wit_bindgen|#call-tool|#list-tools|#validate|post_return'),
]
HOST = [
  ('host: memory reset / decommit', r'decommit|MemoryImageSlot::(clear_and_remain_ready|reset)|madvise|deallocate_memor|deallocate_table|reset_'),
  ('host: instantiate', r'instantiate|InstancePre|Instance::new|MemoryImageSlot|allocate_memor|allocate_table|get_table_with_lazy_init|initialize_vmctx'),
  ('host: store set-up / drop', r'new_store|Store<T>::new|StoreInner|drop_in_place<wasmtime::runtime::store|StoreOpaque|WasiCtxBuilder|ResourceTable|drop_in_place<host_test::runtime::State'),
  ('host: outbound HTTP (hyper client, egress)', r'egress|hyper_util::client|hyper::client|wasmtime_wasi_http|hyper_rustls|HttpConnector'),
  ('host: guest call (fiber, lift/lower)', r'wasmtime.*(fiber|typed|lift|lower|call_async|on_fiber|Func::call)|wasmtime_internal_fiber|catch_traps|call_call_tool'),
  ('host: tool result parse / MCP result', r'host_test::runtime|proms_mcp::front::McpFront|call_tool'),
  ('host: rmcp (JSON-RPC, per-request service)', r'rmcp'),
  ('host: HTTP server (hyper)', r'hyper::proto|hyper::server|hyper_util::server|proms_mcp::front|host_test::server'),
  ('host: tokio scheduling', r'tokio'),
  ('host: wasmtime other', r'wasmtime'),
]
KERNEL_ONLY = [('kernel: network syscalls', r'writev|sendto|recv|read|write|epoll')]

def is_guest(sym, dso):
    # Named through the perf map; or, in a host that loaded compiled code from a file (started
    # without PROMS_MCP_PROFILER=perfmap), that file's unnamed code ("guest: other").
    return 'perf-' in dso or dso.endswith('.cwasm')

def main():
    samples, cur = [], []
    for line in sys.stdin:
        line = line.rstrip('\n')
        if not line.strip():
            if cur: samples.append(cur); cur = []
            continue
        parts = line.strip().split(None, 1)
        if len(parts) < 2: continue
        m = re.match(r'(.*) \((.*)\)$', parts[1])
        cur.append((m.group(1), m.group(2)) if m else (parts[1], ''))
    if cur: samples.append(cur)
    stage = collections.Counter(); kern = collections.Counter()
    for frames in samples:
        inkernel = 'kernel' in frames[0][1]
        name = None
        if any(is_guest(*f) for f in frames):
            guest = [s for s, d in frames if is_guest(s, d)]
            for n, rx in GUEST:  # by priority, wherever in the chain
                if any(re.search(rx, s) for s in guest): name = n; break
            name = name or 'guest: other'
        else:
            for s, d in frames:
                if 'kernel' in d: continue
                for n, rx in HOST:
                    if re.search(rx, s): name = n; break
                if name: break
            if not name:
                user = next((s for s, d in frames if 'kernel' not in d), '?')
                name = 'host: other (' + ('libc I/O: ' + user if inkernel else user)[:50] + ')'
        stage[name] += 1
        if inkernel: kern[name] += 1
    total = len(samples)
    print(f'samples: {total}  (share of host CPU; of which in the kernel)')
    for n, c in sorted(stage.items(), key=lambda x: -x[1])[:int(sys.argv[1]) if len(sys.argv) > 1 else 40]:
        print(f'{100*c/total:6.1f}%  (kernel {100*kern[n]/total:4.1f}%)  {n}')
main()
