#!/usr/bin/env python3
"""Two hosts under the same load at the same time: host CPU per call of each (README, Benchmark:
"Fifteenth pass").

Needs `wrk` (Debian package `wrk`). Usage, with two hosts serving the same Prometheus (say the
build before a change on port 8310 and the one after it on 8320):
  BODY='{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_metrics","arguments":{}}}' \\
    python3 tests/bench/ab_together.py <pid A> http://127.0.0.1:8310/mcp <pid B> http://127.0.0.1:8320/mcp

This machine's speed drifts by a third within minutes (another tenant's load, the hypervisor), more
than most levers move, so runs taken one after the other compare the hour rather than the builds.
Here `wrk` loads both hosts at once (AB_CONCURRENCY connections each, default 8; AB_ROUNDS rounds,
default 6, of AB_SECONDS, default 5), so whatever the machine does, it does to both. Each round
prints calls a second and utime+stime of each host from /proc/<pid>/stat divided by the calls it
answered; the last line, the means. CPU per call is the measure: the share of the machine each host
gets under contention also depends on how many threads it runs."""
import os, re, shutil, subprocess, sys

CONCURRENCY = int(os.environ.get("AB_CONCURRENCY", "8"))
SECONDS = int(os.environ.get("AB_SECONDS", "5"))
ROUNDS = int(os.environ.get("AB_ROUNDS", "6"))
CALL_LUA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "call.lua")
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def start_wrk(url):
    threads = "2" if CONCURRENCY >= 2 else "1"
    return subprocess.Popen(
        ["wrk", "-t", threads, "-c", str(CONCURRENCY), "-d", f"{SECONDS}s", "-s", CALL_LUA, url],
        stdout=subprocess.PIPE, text=True)


def main():
    if len(sys.argv) != 5 or "BODY" not in os.environ:
        sys.exit(__doc__)
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    hosts = [(int(sys.argv[1]), sys.argv[2]), (int(sys.argv[3]), sys.argv[4])]
    sums = [[0.0, 0.0], [0.0, 0.0]]
    for r in range(ROUNDS):
        before = [cpu_seconds(pid) for pid, _ in hosts]
        runs = [start_wrk(url) for _, url in hosts]
        outs = [p.communicate()[0] for p in runs]
        after = [cpu_seconds(pid) for pid, _ in hosts]
        line = []
        for i, out in enumerate(outs):
            if "Non-2xx" in out:
                sys.exit(f"host {hosts[i][1]} answered errors:\n{out}")
            calls = int(re.search(r"(\d+) requests in", out).group(1))
            per_second = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
            ms = (after[i] - before[i]) * 1000 / max(calls, 1)
            sums[i][0] += per_second
            sums[i][1] += ms
            line.append(f"{hosts[i][1]} {per_second:8.0f}/s {ms:.4f} ms")
        print(f"round {r + 1}: " + "   ".join(line), flush=True)
    print("mean:    " + "   ".join(
        f"{url} {s[0] / ROUNDS:8.0f}/s {s[1] / ROUNDS:.4f} ms" for (_, url), s in zip(hosts, sums)))


if __name__ == "__main__":
    main()
