#!/usr/bin/env python3
"""What any proxy in front of Prometheus costs: Prometheus direct, through nginx (a reverse proxy
that does nothing but pass the request on, over kept-alive upstream connections), and through an
MCP host, in interleaved rounds under the same `wrk` load (README, Benchmark: "Sixteenth pass").

Needs `wrk` and `nginx` (Debian packages `wrk`, `nginx-light`). Usage, with a host serving the same
Prometheus:
  BODY='{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_metrics","arguments":{}}}' \\
    python3 tests/bench/proxy_floor.py http://127.0.0.1:9090 <host pid> http://127.0.0.1:8000/mcp

`PATH_QUERY` is the request sent direct and through nginx (default: the metric names of the last
hour, what `list_metrics` asks). FLOOR_CONCURRENCY (default 8), FLOOR_ROUNDS (3) and FLOOR_SECONDS
(5) shape the load. Each line gives calls a second, the ratio to direct in the same round, and
utime+stime per request of Prometheus and of the proxy (nginx's workers, or the host) from
/proc/<pid>/stat. nginx runs on a free loopback port from a temporary directory and is stopped at
the end."""
import os, re, shutil, signal, socket, subprocess, sys, tempfile, time

CONCURRENCY = int(os.environ.get("FLOOR_CONCURRENCY", "8"))
SECONDS = int(os.environ.get("FLOOR_SECONDS", "5"))
ROUNDS = int(os.environ.get("FLOOR_ROUNDS", "3"))
CALL_LUA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "call.lua")
TICKS = os.sysconf("SC_CLK_TCK")

NGINX_CONF = """worker_processes 2;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
daemon off;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {dir};
  proxy_temp_path {dir};
  upstream backend {{ server {upstream}; keepalive 32; }}
  server {{
    listen 127.0.0.1:{port};
    location / {{ proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; }}
  }}
}}
"""


def cpu_seconds(pids):
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


def listening_pid(port):
    """The process listening on 127.0.0.1:`port` (Prometheus), found through /proc/net/tcp."""
    inode = None
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            cols = line.split()
            if cols[1].endswith(f":{port:04X}") and cols[3] == "0A":
                inode = cols[9]
    if inode is None:
        sys.exit(f"nothing listens on port {port}")
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]":
                    return int(pid)
        except OSError:
            continue
    sys.exit(f"no process found for port {port}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wrk(url, body):
    threads = "2" if CONCURRENCY >= 2 else "1"
    args = ["wrk", "-t", threads, "-c", str(CONCURRENCY), "-d", f"{SECONDS}s"]
    if body:
        args += ["-s", CALL_LUA]
    out = subprocess.run(args + [url], capture_output=True, text=True).stdout
    if "Non-2xx" in out:
        sys.exit(f"{url} answered errors:\n{out}")
    return int(re.search(r"(\d+) requests in", out).group(1)), \
        float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def main():
    if len(sys.argv) != 4 or "BODY" not in os.environ:
        sys.exit(__doc__)
    for tool in ("wrk", "nginx"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed: apt-get install {'nginx-light' if tool == 'nginx' else tool}")
    prometheus, host_pid, mcp_url = sys.argv[1].rstrip("/"), int(sys.argv[2]), sys.argv[3]
    upstream = prometheus.split("://", 1)[1]
    prometheus_pid = listening_pid(int(upstream.rsplit(":", 1)[1]))
    end = int(time.time())
    path = os.environ.get("PATH_QUERY", f"/api/v1/label/__name__/values?start={end - 3600}&end={end}")
    with tempfile.TemporaryDirectory() as d:
        port = free_port()
        with open(f"{d}/nginx.conf", "w") as f:
            f.write(NGINX_CONF.format(dir=d, upstream=upstream, port=port))
        nginx = subprocess.Popen(["nginx", "-c", f"{d}/nginx.conf", "-p", d],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(0.5)
            workers = [int(p) for p in subprocess.run(["pgrep", "-P", str(nginx.pid)],
                                                      capture_output=True, text=True).stdout.split()]
            if nginx.poll() is not None or not workers:
                sys.exit(f"nginx did not start; see {d}/error.log")
            modes = [("direct", prometheus + path, [], None),
                     ("nginx", f"http://127.0.0.1:{port}{path}", workers, None),
                     ("MCP", mcp_url, [host_pid], os.environ["BODY"])]
            for r in range(ROUNDS):
                direct = None
                for name, url, proxy, body in modes:
                    p0, x0 = cpu_seconds([prometheus_pid]), cpu_seconds(proxy)
                    calls, per_second = wrk(url, body)
                    p1, x1 = cpu_seconds([prometheus_pid]), cpu_seconds(proxy)
                    direct = direct or per_second
                    print(f"round {r + 1} {name:6} {per_second:8.0f}/s {100 * per_second / direct:4.0f} % of direct"
                          f"   Prometheus {(p1 - p0) * 1000 / calls:.4f} ms/request"
                          f"   proxy {(x1 - x0) * 1000 / calls:.4f} ms/request", flush=True)
        finally:
            nginx.send_signal(signal.SIGQUIT)
            try:
                nginx.wait(timeout=10)
            except subprocess.TimeoutExpired:
                nginx.kill()


if __name__ == "__main__":
    main()
