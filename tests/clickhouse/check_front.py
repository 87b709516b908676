"""Self-check of the ClickHouse test front (front.py) over real HTTP.

Starts front.py on port 0 with otel_schema.sql and seed.py's dataset at a fixed base time,
then checks the HTTP behaviour tests rely on and the seeded numbers seed.py documents. A
second front with a password and a delay checks authentication and slow answers.

    target/pyenv/bin/python tests/clickhouse/check_front.py [-v]

Prints one line per failure (every check with -v), the start-up times, and finally
`N passed, N failed`; exits 0 when nothing failed.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import seed  # noqa: E402 - after the path tweak

BASE = "2026-01-01T12:00:00Z"
BASE_NS = 1767268800 * 1_000_000_000
VERBOSE = "-v" in sys.argv[1:]

passed = 0
failed = 0


def check(name: str, ok: bool, detail: str = "") -> None:
    global passed, failed
    if ok:
        passed += 1
        if VERBOSE:
            print(f"ok   {name}")
    else:
        failed += 1
        print(f"FAIL {name}" + (f": {detail}" if detail else ""))


class Front:
    """A front.py process and a tiny HTTP client for it."""

    def __init__(self, *args: str):
        cmd = [sys.executable, os.path.join(HERE, "front.py"), "--port", "0", *args]
        started = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(self.proc.stdout.readline()))
        reader.start()
        reader.join(60)
        self.startup = time.monotonic() - started
        if not line or not line[0].startswith("listening on "):
            self.proc.kill()
            raise RuntimeError(f"front did not start: {line} {self.proc.stderr.read()}")
        self.url = line[0].split("listening on ", 1)[1].strip()

    def request(self, method: str = "GET", params: dict | list | None = None,
                body: bytes | str | None = None, headers: dict | None = None):
        """(status, headers, body bytes); HTTP errors are answers too."""
        query = urllib.parse.urlencode(params or {})
        url = self.url + "/" + (("?" + query) if query else "")
        data = body.encode() if isinstance(body, str) else body
        req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return resp.status, resp.headers, resp.read()
        except urllib.error.HTTPError as err:
            return err.code, err.headers, err.read()

    def path(self, path: str):
        with urllib.request.urlopen(self.url + path, timeout=30) as resp:
            return resp.status, resp.read()

    def sql(self, sql: str, **params) -> str:
        """POST a query, return the TSV text; raises on an error answer."""
        status, _, body = self.request("POST", params, sql)
        if status != 200:
            raise RuntimeError(f"{status}: {body.decode()}")
        return body.decode()

    def stop(self) -> tuple[int, float]:
        started = time.monotonic()
        self.proc.terminate()
        try:
            code = self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = -9
        self.proc.stdout.close()
        self.proc.stderr.close()
        return code, time.monotonic() - started


ERROR_BODY = re.compile(r"^Code: (\d+)\. DB::Exception: .+ \(([A-Z0-9_]+)\) "
                        r"\(version 26\.9[^)]*\)\)?\n$", re.DOTALL)


def check_error(name: str, answer, status: int, code: int) -> None:
    got_status, headers, body = answer
    text = body.decode(errors="replace")
    m = ERROR_BODY.match(text)
    check(name, got_status == status and headers.get("X-ClickHouse-Exception-Code") == str(code)
          and bool(m) and m.group(1) == str(code),
          f"status {got_status}, code header {headers.get('X-ClickHouse-Exception-Code')}, "
          f"body {text[:200]!r}")


def main() -> int:
    t0 = time.monotonic()
    import chdb  # noqa: F401 - timing only
    import_chdb = time.monotonic() - t0

    schema = os.path.join(HERE, "otel_schema.sql")
    bare = Front("--init-sql", schema)
    front = Front("--init-sql", schema, "--seed", BASE)
    locked = Front("--user", "alice", "--password", "s3cret", "--delay-ms", "300")
    try:
        run_checks(front, bare, locked)
    finally:
        codes = [f.stop() for f in (front, bare, locked)]
    check("SIGTERM stops every front with exit code 0", all(c == 0 for c, _ in codes), str(codes))

    print(f"start-up: import chdb {import_chdb:.2f} s (in this process); front with schema "
          f"{bare.startup:.2f} s, with schema + seed {front.startup:.2f} s, bare with auth "
          f"{locked.startup:.2f} s; SIGTERM to exit {max(t for _, t in codes):.2f} s")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


def run_checks(front: Front, bare: Front, locked: Front) -> None:
    # -- health --
    check("/ping answers Ok.", front.path("/ping") == (200, b"Ok.\n"))
    check("GET / answers Ok.", front.path("/") == (200, b"Ok.\n"))
    status, _, _ = front.request("GET", {"query": "SELECT 1"})
    check("GET /?query= answers 200", status == 200)

    # -- GET, JSON, a {p:String} parameter --
    status, headers, body = front.request("GET", {
        "query": "SELECT {svc:String} AS svc, count() AS n FROM otel.otel_logs "
                 "WHERE ServiceName = {svc:String} FORMAT JSON",
        "param_svc": "frontend"})
    doc = json.loads(body) if status == 200 else {}
    check("GET JSON with a {p:String} parameter",
          status == 200 and doc.get("data") == [{"svc": "frontend", "n": "20"}], body[:300])
    check("JSON answer has Content-Type application/json",
          headers.get("Content-Type") == "application/json; charset=UTF-8",
          str(headers.get("Content-Type")))
    check("X-ClickHouse-Format names the FORMAT clause", headers.get("X-ClickHouse-Format") == "JSON")
    summary = json.loads(headers.get("X-ClickHouse-Summary") or "{}")
    check("X-ClickHouse-Summary is JSON with string counters",
          summary.get("result_rows") == "1" and "read_rows" in summary and "elapsed_ns" in summary,
          str(summary))
    check("X-ClickHouse-Timezone is UTC", headers.get("X-ClickHouse-Timezone") == "UTC")
    check("X-ClickHouse-Query-Id is set", bool(headers.get("X-ClickHouse-Query-Id")))

    status, headers, body = front.request("GET", {"query": "SELECT 1 AS one",
                                                  "default_format": "JSONEachRow",
                                                  "query_id": "check-42"})
    check("default_format=JSONEachRow", status == 200 and body == b'{"one":1}\n', body)
    check("query_id is echoed", headers.get("X-ClickHouse-Query-Id") == "check-42")
    status, headers, body = front.request("GET", {"query": "SELECT 1"})
    check("the default format is TabSeparated",
          body == b"1\n" and headers.get("X-ClickHouse-Format") == "TabSeparated"
          and headers.get("Content-Type") == "text/tab-separated-values; charset=UTF-8")

    # -- parameters are unescaped by the engine as text-format values, once --
    status, _, body = front.request("GET", {"query": "SELECT hex({p:String})",
                                            "param_p": "a\\tb\\nc\\\\d\\'e"})
    check("param value escapes \\t \\n \\\\ \\' are unescaped once",
          body == b"6109620A635C642765\n", body)
    status, _, body = front.request("GET", {"query": "SELECT {p:String}", "param_p": "x\\"})
    check_error("a param ending in a lone backslash is error 25", (status, _, body), 400, 25)
    for label, value in (("escaped", "acme\\' OR \\'1\\'=\\'1"), ("raw", "acme' OR '1'='1")):
        status, _, body = front.request("GET", {
            "query": "SELECT count() FROM otel.otel_traces WHERE SpanAttributes['tenant'] = {t:String}",
            "param_t": value})
        check(f"injection-looking tenant as a parameter ({label}) matches 1 span", body == b"1\n", body)
    status, _, body = front.request("GET", {
        "query": "SELECT count() FROM otel.otel_logs WHERE ServiceName IN {s:Array(String)}",
        "param_s": "['cart','payment']"})
    check("Array(String) parameter", body == b"20\n", body)

    # -- POST --
    check("POST with the SQL in the body",
          front.sql("SELECT count() FROM otel.otel_traces").strip() == "28")
    check("POST ?query= prefix + body after a newline",
          front.sql("WHERE SeverityText = 'ERROR'",
                    query="SELECT count() FROM otel.otel_logs").strip() == "10")
    status, _, body = front.request("POST", {"query": "SELECT 1"}, "")
    check("POST with only ?query=", status == 200 and body == b"1\n", body)
    check_error("an empty query is error 62", front.request("POST", {}, "  \n"), 400, 62)
    check_error("multi-statements are refused (62)",
                front.request("POST", {}, "SELECT 1; SELECT 2"), 400, 62)
    check("a trailing semicolon is fine", front.sql("SELECT 1;") == "1\n")
    check("semicolons inside strings are fine",
          front.sql("SELECT 'a;b' -- ; x\n").strip() == "a;b")

    # -- per-request database and settings --
    check("database= sets the database", front.sql("SELECT currentDatabase()", database="otel") == "otel\n")
    check("X-ClickHouse-Database header sets the database",
          front.request("POST", {}, "SELECT currentDatabase()",
                        {"X-ClickHouse-Database": "otel"})[2] == b"otel\n")
    check("... and does not leak into the next request",
          front.sql("SELECT currentDatabase()") == "default\n")
    front.sql("USE otel")
    check("a USE in one request does not affect the next",
          front.sql("SELECT currentDatabase()") == "default\n")
    front.sql("SET max_result_rows = 1, result_overflow_mode = 'throw'")
    check("a SET in one request does not affect the next",
          front.sql("SELECT number FROM numbers(3)") == "0\n1\n2\n")
    front.sql("CREATE TEMPORARY TABLE tmp_check (a UInt8)")
    status, _, _ = front.request("POST", {}, "SELECT * FROM tmp_check")
    check("a temporary table does not outlive its request", status == 404, str(status))
    check_error("an unknown database is error 81 (404)",
                front.request("POST", {"database": "nope"}, "SELECT 1"), 404, 81)
    check("URL settings apply", front.sql("SELECT getSetting('max_threads'), "
                                          "getSetting('result_overflow_mode')",
                                          max_threads="3", result_overflow_mode="break")
          == "3\tbreak\n")
    check_error("an unknown URL setting is error 115 (404)",
                front.request("POST", {"no_such_setting": "1"}, "SELECT 1"), 404, 115)

    # -- 64-bit integers in JSON --
    q = "SELECT toUInt64(18446744073709551615) AS big, toInt64(-1) AS neg, toUInt32(7) AS small FORMAT JSON"
    row = json.loads(front.sql(q))["data"][0]
    check("FORMAT JSON quotes 64-bit integers by default",
          row == {"big": "18446744073709551615", "neg": "-1", "small": 7}, str(row))
    row = json.loads(front.sql(q, output_format_json_quote_64bit_integers="0"))["data"][0]
    check("output_format_json_quote_64bit_integers=0 overrides it",
          row == {"big": 18446744073709551615, "neg": -1, "small": 7}, str(row))

    # -- errors --
    check_error("a syntax error is 400 with code 62", front.request("GET", {"query": "SELEC 1"}), 400, 62)
    check_error("an unknown table is 404 with code 60",
                front.request("GET", {"query": "SELECT * FROM otel.nope"}), 404, 60)
    check_error("an unknown column is 404 with code 47",
                front.request("GET", {"query": "SELECT nope FROM otel.otel_logs"}), 404, 47)
    check_error("a bad parameter value is 500 with code 457",
                front.request("GET", {"query": "SELECT {n:UInt8}", "param_n": "x"}), 500, 457)
    check_error("a missing parameter is 500 with code 456",
                front.request("GET", {"query": "SELECT {n:UInt8}"}), 500, 456)
    started = time.monotonic()
    answer = front.request("GET", {"query": "SELECT count() FROM numbers(100000000000)",
                                   "max_execution_time": "0.2"})
    took = time.monotonic() - started
    check_error("max_execution_time exceeded is 408 with code 159", answer, 408, 159)
    check("... and comes back promptly", took < 10, f"{took:.1f} s")
    check_error("max_result_rows with result_overflow_mode=throw is 500 with code 396",
                front.request("GET", {"query": "SELECT number FROM numbers(10)",
                                      "max_result_rows": "5", "result_overflow_mode": "throw"}),
                500, 396)

    # -- readonly --
    insert = "INSERT INTO otel.otel_logs (Body) VALUES ('readonly check')"
    check_error("readonly=1 refuses an INSERT (164)",
                front.request("POST", {"readonly": "1"}, insert), 500, 164)
    check_error("GET is read-only: an INSERT is refused (164)",
                front.request("GET", {"query": insert}), 500, 164)
    check_error("GET with readonly=1 is refused as on the server (164)",
                front.request("GET", {"query": "SELECT 1", "readonly": "1"}), 500, 164)
    check("POST with readonly=1 still reads",
          front.sql("SELECT count() FROM otel.otel_logs", readonly="1") == "55\n")
    check("POST with readonly=1 may still change other URL settings (checked together)",
          front.sql("SELECT getSetting('max_result_rows')", readonly="1", max_result_rows="7")
          == "7\n")
    check("nothing was inserted", front.sql("SELECT count() FROM otel.otel_logs") == "55\n")

    # -- compression --
    status, headers, body = front.request("GET", {"query": "SELECT 'zipped'",
                                                  "enable_http_compression": "1"},
                                          headers={"Accept-Encoding": "gzip"})
    check("enable_http_compression=1 gzips the answer",
          headers.get("Content-Encoding") == "gzip" and gzip.decompress(body) == b"zipped\n")
    status, _, body = front.request("POST", {}, gzip.compress(b"SELECT 'unzipped'"),
                                    {"Content-Encoding": "gzip"})
    check("a gzip request body is decoded", body == b"unzipped\n", body)

    # -- unsupported features say so --
    check_error("session_id is refused with 501 (48)",
                front.request("GET", {"query": "SELECT 1", "session_id": "s1"}), 501, 48)

    # -- concurrency: served by threads, run one at a time --
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda i: front.sql(f"SELECT {i} + count() FROM otel.otel_logs"),
                                range(16)))
    check("16 concurrent requests all answer correctly",
          answers == [f"{55 + i}\n" for i in range(16)], str(answers[:3]))

    # -- the bare front has the schema and no rows --
    check("schema-only front: empty tables",
          bare.sql("SELECT (SELECT count() FROM otel.otel_logs), (SELECT count() FROM otel.otel_traces)")
          == "0\t0\n")

    # -- authentication and delay --
    check("/ping needs no credentials", locked.path("/ping") == (200, b"Ok.\n"))
    check_error("no credentials with --user set: 403 with code 516",
                locked.request("GET", {"query": "SELECT 1"}), 403, 516)
    check_error("a wrong password: 403 with code 516",
                locked.request("GET", {"query": "SELECT 1"},
                               headers={"X-ClickHouse-User": "alice", "X-ClickHouse-Key": "nope"}),
                403, 516)
    started = time.monotonic()
    status, _, body = locked.request("GET", {"query": "SELECT 1"},
                                     headers={"X-ClickHouse-User": "alice",
                                              "X-ClickHouse-Key": "s3cret"})
    took = time.monotonic() - started
    check("X-ClickHouse-User/Key accepted", status == 200 and body == b"1\n")
    check("--delay-ms 300 delays the answer", took >= 0.3, f"{took:.2f} s")
    basic = "Basic " + base64.b64encode(b"alice:s3cret").decode()
    check("HTTP basic auth accepted",
          locked.request("GET", {"query": "SELECT 1"}, headers={"Authorization": basic})[0] == 200)
    check("user/password URL parameters accepted",
          locked.request("GET", {"query": "SELECT 1", "user": "alice", "password": "s3cret"})[0] == 200)
    check_error("mixing header and basic credentials: 403 with code 516",
                locked.request("GET", {"query": "SELECT 1"},
                               headers={"Authorization": basic, "X-ClickHouse-User": "alice",
                                        "X-ClickHouse-Key": "s3cret"}), 403, 516)

    check_seed(front)


def check_seed(front: Front) -> None:
    """The numbers seed.py's doc states, asserted against the engine."""
    expect = seed.summary()

    def rows(sql: str) -> dict[str, int]:
        out = {}
        text = front.sql(sql + " FORMAT JSONCompactEachRow", database="otel")
        for line in text.splitlines():
            key, value = json.loads(line)
            out[key] = int(value)
        return out

    def one(sql: str, **params) -> str:
        return front.sql(sql, database="otel", **params).strip()

    check("seed: 55 logs", one("SELECT count() FROM otel_logs") == "55")
    check("seed: logs by service", rows("SELECT ServiceName, count() FROM otel_logs GROUP BY 1")
          == expect["logs_by_service"] == {"frontend": 20, "checkout": 15, "cart": 10, "payment": 10})
    check("seed: logs by severity", rows("SELECT SeverityText, count() FROM otel_logs GROUP BY 1")
          == expect["logs_by_severity"] == {"INFO": 36, "WARN": 7, "DEBUG": 2, "ERROR": 10})
    check("seed: logs by service/severity",
          rows("SELECT concat(ServiceName, '/', SeverityText), count() FROM otel_logs GROUP BY 1")
          == expect["logs_by_service_severity"])
    check("seed: logs by namespace", rows(
        "SELECT ResourceAttributes['k8s.namespace.name'], count() FROM otel_logs GROUP BY 1")
          == expect["logs_by_namespace"] == {"default": 30, "payments": 25})
    check("seed: logs by node", rows(
        "SELECT ResourceAttributes['k8s.node.name'], count() FROM otel_logs GROUP BY 1")
          == expect["logs_by_node"] == {"node-1": 23, "node-2": 32})
    check("seed: logs by pod", rows(
        "SELECT ResourceAttributes['k8s.pod.name'], count() FROM otel_logs GROUP BY 1")
          == expect["logs_by_pod"])
    check("seed: customer_tier", rows(
        "SELECT LogAttributes['customer_tier'], count() FROM otel_logs GROUP BY 1")
          == expect["logs_by_tier"] == {"gold": 7, "silver": 14, "free": 14, "": 20})
    check("seed: stderr logs", one("SELECT countIf(LogAttributes['log.iostream'] = 'stderr') "
                                   "FROM otel_logs") == "17")
    check("seed: LIKE/ILIKE '%timeout%'", one(
        "SELECT countIf(Body LIKE '%timeout%'), countIf(Body ILIKE '%timeout%') FROM otel_logs")
          == "4\t5")
    check("seed: longest body 25000 bytes", one("SELECT max(length(Body)) FROM otel_logs") == "25000")
    check("seed: body with injection text", one(
        "SELECT count() FROM otel_logs WHERE Body = {b:String}",
        param_b=seed.INJECTION_BODY.replace("\\", "\\\\")) == "1")
    notes = front.sql("SELECT LogAttributes['note'] FROM otel_logs WHERE mapContains(LogAttributes, "
                      "'note') ORDER BY Timestamp FORMAT JSONEachRow", database="otel")
    got = [json.loads(line)["arrayElement(LogAttributes, 'note')"] for line in notes.splitlines()]
    check("seed: the nine notes survive byte for byte", got == list(seed.NOTES), str(got))
    base = {"param_b": str(BASE_NS)}
    for minutes, key in ((5, "logs_last_5m"), (15, "logs_last_15m"), (60, "logs_last_60m")):
        got = one("SELECT count() FROM otel_logs WHERE Timestamp >= "
                  f"fromUnixTimestamp64Nano({{b:Int64}}) - INTERVAL {minutes} MINUTE", **base)
        check(f"seed: logs in the last {minutes} min", got == str(expect[key]), got)
    check("seed: logs with a trace", one("SELECT count() FROM otel_logs WHERE TraceId != ''") == "4")

    check("seed: 28 spans, 13 traces, 13 roots", one(
        "SELECT count(), uniqExact(TraceId), countIf(ParentSpanId = '') FROM otel_traces")
          == "28\t13\t13")
    check("seed: spans by service", rows("SELECT ServiceName, count() FROM otel_traces GROUP BY 1")
          == expect["spans_by_service"] == {"frontend": 16, "checkout": 6, "cart": 3, "payment": 3})
    check("seed: spans by kind/status", rows(
        "SELECT concat(SpanKind, '/', StatusCode), count() FROM otel_traces GROUP BY 1")
          == expect["spans_by_kind_status"])
    check("seed: spans by tenant", rows(
        "SELECT SpanAttributes['tenant'], count() FROM otel_traces GROUP BY 1")
          == expect["spans_by_tenant"])
    for minutes, key in ((5, "spans_last_5m"), (15, "spans_last_15m"), (30, "spans_last_30m")):
        got = one("SELECT count() FROM otel_traces WHERE Timestamp >= "
                  f"fromUnixTimestamp64Nano({{b:Int64}}) - INTERVAL {minutes} MINUTE", **base)
        check(f"seed: spans in the last {minutes} min", got == str(expect[key]), got)
    check("seed: GET /api/products percentiles", one(
        "SELECT quantileExact(0.5)(Duration), quantileExact(0.9)(Duration), avg(Duration), "
        "sum(Duration) FROM otel_traces WHERE SpanName = 'GET /api/products'")
          == "60000000\t100000000\t55000000\t550000000")
    tree = front.sql("SELECT SpanId, ParentSpanId, ServiceName, Duration, StatusCode FROM otel_traces "
                     "WHERE TraceId = {t:String} ORDER BY Timestamp", database="otel",
                     param_t=seed.TRACE_B)
    check("seed: trace B, 8 spans, errors down the critical path", tree.splitlines() == [
        "b000000000000001\t\tfrontend\t2600000000\tError",
        "b000000000000002\tb000000000000001\tfrontend\t2590000000\tError",
        "b000000000000003\tb000000000000002\tcheckout\t2580000000\tError",
        "b000000000000004\tb000000000000003\tcheckout\t35000000\tUnset",
        "b000000000000005\tb000000000000004\tcart\t30000000\tUnset",
        "b000000000000006\tb000000000000003\tcheckout\t2520000000\tError",
        "b000000000000007\tb000000000000006\tpayment\t2510000000\tError",
        "b000000000000008\tb000000000000007\tpayment\t2490000000\tError"], tree)
    check("seed: trace B event and link", one(
        "SELECT Events.Name, Links.TraceId FROM otel_traces WHERE TraceId = {t:String} "
        "AND (notEmpty(Events.Name) OR notEmpty(Links.TraceId)) ORDER BY SpanId",
        param_t=seed.TRACE_B) == f"[]\t['{seed.TRACE_A}']\n['exception']\t[]")
    check("seed: trace-id lookup table filled by its view",
          one("SELECT count() FROM otel_traces_trace_id_ts") == "13")


if __name__ == "__main__":
    sys.exit(main())
