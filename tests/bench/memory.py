#!/usr/bin/env python3
"""Where the host's resident memory is (README, Benchmark: "What limits it now").

Usage, with the host serving a local Prometheus (as `make bench` does) and under load:
  BODY='{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"query_instant","arguments":{"promql":"up"}}}' \\
    wrk -t2 -c64 -d15s -s tests/bench/call.lua http://127.0.0.1:8000/mcp &
  python3 tests/bench/memory.py <host pid> 14

Samples /proc/<pid>/smaps every 0.2 s for the given seconds and prints, for the sample with the most
resident memory, the resident MiB of each kind of mapping, then VmHWM (the peak the bench reports).
Classes: the host executable (file-backed code and read-only data), the compiled component (`.cwasm`
code; its writable mappings are the component's initial memory mapped into each pool slot), pooled
fiber stacks (many anonymous mappings of one size), shared libraries, and the rest of the anonymous
memory (the host's heap: glibc arenas and `[heap]`)."""
import collections, os, sys, time


def mappings(pid):
    maps, cur = [], None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            parts = line.split()
            if parts[0].endswith(":"):
                if parts[0] == "Rss:" and cur is not None:
                    cur["rss"] = int(parts[1])
                continue
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            cur = {"name": parts[5] if len(parts) > 5 else "", "size": hi - lo, "perm": parts[1], "rss": 0}
            maps.append(cur)
    return maps


def classify(maps, exe):
    # Pooled fiber stacks: hundreds of anonymous mappings of the same size.
    sizes = collections.Counter(m["size"] for m in maps if not m["name"])
    stack_sizes = {s for s, n in sizes.items() if n >= 100}
    out = collections.Counter()
    for m in maps:
        name = m["name"]
        if name == exe:
            key = "host executable (code and read-only data, file-backed)"
        elif name.endswith(".cwasm"):
            key = ("component initial memory in pool slots" if m["perm"].startswith("rw")
                   else "compiled component (code and read-only data)")
        elif not name or name == "[heap]":
            key = "pooled fiber stacks" if m["size"] in stack_sizes else "host heap and other anonymous memory"
        elif name.startswith("/"):
            key = "shared libraries and other files"
        else:
            key = name  # [stack], [vdso], …
        out[key] += m["rss"]
    return out


def main():
    pid, seconds = sys.argv[1], float(sys.argv[2])
    exe = os.readlink(f"/proc/{pid}/exe")
    best, best_total = None, -1
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            maps = mappings(pid)
        except FileNotFoundError:
            break
        total = sum(m["rss"] for m in maps)
        if total > best_total:
            best, best_total = maps, total
        time.sleep(0.2)
    if best is None:
        sys.exit(f"process {pid} is gone")
    slots = sum(1 for m in best if m["name"].endswith(".cwasm") and m["perm"].startswith("rw") and m["rss"])
    print(f"resident at the largest sample: {best_total / 1024:.1f} MiB")
    for key, kib in classify(best, exe).most_common():
        if kib:
            extra = f" ({slots} slots touched)" if key.startswith("component initial") else ""
            print(f"  {kib / 1024:6.1f} MiB  {key}{extra}")
    with open(f"/proc/{pid}/status") as f:
        print(next(line.strip() for line in f if line.startswith("VmHWM")))


if __name__ == "__main__":
    main()
