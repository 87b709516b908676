"""Deterministic logs and spans of a small Kubernetes world, for tests and the demo.

Importable (`statements(base_ns)`, `load(run, base_ns)`, `summary()`) and runnable:

    python seed.py --base now --url http://127.0.0.1:8123      # POST into a running server
    python seed.py --base 2026-01-01T12:00:00Z --print         # print the SQL

Every timestamp is `base - offset`, so tests use a fixed base and the demo uses now. The rows
go into the OTel collector ClickHouse exporter's tables (otel_schema.sql), written the way the
exporter writes them (SpanKind 'Server'/'Client'/'Internal', StatusCode 'Unset'/'Ok'/'Error',
Duration in ns, ParentSpanId '' for roots, ServiceName = resource `service.name`).

The dataset (B = base; every time below is before B). `summary()` recomputes these numbers
from the data, and check_front.py asserts them against the engine.

World: cluster `demo`, nodes `node-1` and `node-2`. Service = deployment = container name.

    service   namespace  pod                  node    scope (spans)
    frontend  default    frontend-7d9f-abcde  node-1  @opentelemetry/instrumentation-http 0.52.1
    frontend  default    frontend-7d9f-fghij  node-2
    cart      default    cart-5c8b-klmno      node-1  OpenTelemetry.Instrumentation.AspNetCore 1.9.0
    checkout  payments   checkout-6f4a-pqrst  node-2  go.opentelemetry.io/contrib/.../otelgrpc 0.53.0
    payment   payments   payment-8e2c-uvwxy   node-2  @opentelemetry/instrumentation-grpc 0.52.1

ResourceAttributes (logs and spans): service.name, k8s.cluster.name, k8s.namespace.name,
k8s.deployment.name, k8s.pod.name, k8s.container.name, k8s.node.name.

Logs, otel.otel_logs: 55 rows.

    service   DEBUG INFO WARN ERROR  total
    frontend      0   14    3     3     20   (pod abcde 13, pod fghij 7)
    cart          2    7    1     0     10
    checkout      0    9    2     4     15
    payment       0    6    1     3     10
    total         2   36    7    10     55

* SeverityNumber DEBUG 5, INFO 9, WARN 13, ERROR 17. Namespace default 30, payments 25;
  node-1 23, node-2 32.
* LogAttributes: `log.iostream` stderr for WARN/ERROR (17), stdout otherwise (38);
  `log.file.path` /var/log/pods/<ns>_<pod>_<uid>/<container>/0.log; custom `log.format`
  json (frontend, checkout: 35) / text (cart, payment: 20); custom `customer_tier` on
  frontend and checkout logs only: gold 7, silver 14, free 14 (absent on 20); custom `note`
  on 9 frontend INFO logs, one each of NOTES: it's / back\\slash / a -- comment /
  x; DROP TABLE otel.otel_logs; -- / ') OR 1=1 -- / "double" quotes / Zürich ✓ 日本語 🚀 /
  tab<TAB>here<LF>newline / 100%_sure.
* Bodies: `Body LIKE '%timeout%'` 4 (frontend WARN 1, checkout ERROR 2, payment ERROR 1);
  `Body ILIKE '%timeout%'` 5 (adds payment "Timeout budget exhausted for merchant acme");
  the longest body is 25,000 bytes (a checkout ERROR, a Go panic stack; no 'timeout' in it);
  one frontend ERROR body is INJECTION_BODY `bad search input: ' OR 1=1; DROP TABLE otel_logs; --`.
* Times: 51 logs on a minute grid at B - (60n - 30) s, n = 1..51 (newest B - 30 s, oldest
  B - 50 min 30 s; services interleaved frontend, checkout, cart, payment), and 4 logs inside
  traces, the only ones with TraceId/SpanId and TraceFlags 1: checkout INFO "order placed:
  order-1001" (trace A, span a...3, at A start + 270 ms) and three ERRORs in trace B: payment
  "card processor timeout after 2490ms" (span b...7, B start + 2.570 s), checkout "PlaceOrder
  failed: payment timeout after 2500ms" (b...3, + 2.585 s), frontend "POST /api/checkout 500
  Internal Server Error" (b...1, + 2.599 s).
* Windows: Timestamp >= B - 5 min: 8 logs; >= B - 15 min: 18; >= B - 60 min: 55.

Spans, otel.otel_traces: 28 spans in 13 traces (13 root spans, ParentSpanId '').

* By service: frontend 16, checkout 6, cart 3, payment 3. By kind: Server 20, Client 7,
  Internal 1. By status: Unset 19, Ok 2, Error 7 (Server: Unset 14, Ok 2, Error 4; Client:
  Unset 5, Error 2; Internal: Error 1).
* SpanAttributes: HTTP server spans http.request.method, url.path, http.route,
  http.response.status_code; gRPC spans rpc.system = grpc, rpc.service, rpc.method (and
  rpc.grpc.status_code on some); custom `tenant`: acme 7, globex 7, initech 3,
  INJECTION_TENANT `acme' OR '1'='1` 1, absent 10.
* Windows: Timestamp >= B - 5 min: 9 spans; >= B - 15 min: 17; >= B - 30 min: 28.

Trace A 0af7651916cd43dd8448eb211c80319c, starts B - 19 min 45 s, 300 ms, no error:

    a...1 frontend(abcde) Server "POST /api/checkout"                  +0 ms    300 ms  Unset  200
      a...2 frontend Client "oteldemo.CheckoutService/PlaceOrder"       +10 ms   270 ms  Unset
        a...3 checkout Server "oteldemo.CheckoutService/PlaceOrder"     +15 ms   260 ms  Ok
          a...4 checkout Client "oteldemo.CartService/GetCart"          +20 ms    45 ms  Unset
            a...5 cart Server "oteldemo.CartService/GetCart"            +22 ms    40 ms  Unset
          a...6 checkout Client "oteldemo.PaymentService/Charge"        +70 ms   160 ms  Unset
            a...7 payment Server "oteldemo.PaymentService/Charge"       +72 ms   150 ms  Ok

Trace B 4bf92f3577b34da6a3ce929d0e0e4736, starts B - 2 min 45 s, 2600 ms, fails on a payment
timeout; critical path b1 > b2 > b3 > b6 > b7 > b8; Error on b1, b2, b3, b6, b7, b8:

    b...1 frontend(fghij) Server "POST /api/checkout"          +0 ms   2600 ms Error  500
      b...2 frontend Client "oteldemo.CheckoutService/PlaceOrder" +5   2590    Error "4 DEADLINE_EXCEEDED: payment failed"
        b...3 checkout Server "...CheckoutService/PlaceOrder"     +10  2580    Error "payment failed: timeout"
          b...4 checkout Client "oteldemo.CartService/GetCart"    +15    35    Unset
            b...5 cart Server "oteldemo.CartService/GetCart"      +17    30    Unset
          b...6 checkout Client "oteldemo.PaymentService/Charge"  +60  2520    Error "context deadline exceeded"
            b...7 payment Server "...PaymentService/Charge"       +65  2510    Error "card processor timeout"
              b...8 payment Internal "processor.authorize"        +70  2490    Error "deadline exceeded"

  b...7 has one event `exception` at + 2570 ms (exception.type TimeoutError,
  exception.message "card processor timeout after 2490ms"); b...1 has one link to trace A,
  span a...1 (attribute link.kind = previous_attempt). tenant = globex on b1, b3, b7, b8.

Trace C 5b8efff798038103d269b633813fc60c, starts B - 9 min 45 s, 80 ms: c...1 frontend(abcde)
Server "GET /api/cart" 80 ms > c...2 frontend Client "oteldemo.CartService/GetCart" +5 ms,
60 ms > c...3 cart Server "oteldemo.CartService/GetCart" +8 ms, 50 ms (event `cache.hit`).

`GET /api/products`: 10 single-span traces, k = 1..10: TraceId d + 31 hex digits of k
(d000...0001), SpanId d + 15 hex digits of k, frontend Server span (pod abcde for odd k,
fghij for even k), start B - ((25 - 2k) min - 30 s) (B - 22 min 30 s .. B - 4 min 30 s),
Duration k x 10 ms exactly (10, 20, ..., 100 ms), tenant acme, globex, acme, initech, acme,
globex, acme, initech, globex, INJECTION_TENANT; k = 10 is Error with status code 503, the
rest Unset with 200. quantileExact(0.5) = 60 ms, quantileExact(0.9) = 100 ms, avg 55 ms,
sum 550 ms, min 10 ms, max 100 ms.

Span ids are the trace letter and 15 hex digits: a...3 = a000000000000003.

otel.otel_traces_trace_id_ts is filled by its materialized view: one row per trace, Start and
End the min and max span start, to the second.
"""

from __future__ import annotations

import argparse
import sys
import urllib.request
from dataclasses import dataclass, field

NS = 1
MS = 1_000_000
S = 1_000_000_000
MIN = 60 * S

CLUSTER = "demo"


@dataclass(frozen=True)
class Pod:
    """One workload pod; its resource attributes are what the k8sattributes processor adds."""

    service: str
    namespace: str
    pod: str
    node: str
    uid: str

    def resource(self) -> dict[str, str]:
        return {
            "service.name": self.service,
            "k8s.cluster.name": CLUSTER,
            "k8s.namespace.name": self.namespace,
            "k8s.deployment.name": self.service,
            "k8s.pod.name": self.pod,
            "k8s.container.name": self.service,
            "k8s.node.name": self.node,
        }


FRONTEND_A = Pod("frontend", "default", "frontend-7d9f-abcde", "node-1", "3f1c2a10-0001")
FRONTEND_B = Pod("frontend", "default", "frontend-7d9f-fghij", "node-2", "3f1c2a10-0002")
CART = Pod("cart", "default", "cart-5c8b-klmno", "node-1", "3f1c2a10-0003")
CHECKOUT = Pod("checkout", "payments", "checkout-6f4a-pqrst", "node-2", "3f1c2a10-0004")
PAYMENT = Pod("payment", "payments", "payment-8e2c-uvwxy", "node-2", "3f1c2a10-0005")
PODS = (FRONTEND_A, FRONTEND_B, CART, CHECKOUT, PAYMENT)

SEVERITY_NUMBER = {"DEBUG": 5, "INFO": 9, "WARN": 13, "ERROR": 17}
LOG_FORMAT = {"frontend": "json", "checkout": "json", "cart": "text", "payment": "text"}

# Values that look like SQL injection or need escaping: the `note` log attribute of nine
# frontend INFO logs (one each, in this order).
NOTES = (
    "it's",
    "back\\slash",
    "a -- comment",
    "x; DROP TABLE otel.otel_logs; --",
    "') OR 1=1 --",
    '"double" quotes',
    "Zürich ✓ 日本語 🚀",
    "tab\there\nnewline",
    "100%_sure",
)
INJECTION_BODY = "bad search input: ' OR 1=1; DROP TABLE otel_logs; --"
INJECTION_TENANT = "acme' OR '1'='1"
BIG_BODY_BYTES = 25_000

TRACE_A = "0af7651916cd43dd8448eb211c80319c"  # checkout that succeeds, 300 ms
TRACE_B = "4bf92f3577b34da6a3ce929d0e0e4736"  # checkout that fails on a payment timeout
TRACE_C = "5b8efff798038103d269b633813fc60c"  # cart view, 80 ms
# Trace start offsets before base, off whole minutes so "last N minutes" has no ties.
TRACE_A_START = 20 * MIN - 15 * S
TRACE_B_START = 3 * MIN - 15 * S
TRACE_C_START = 10 * MIN - 15 * S


def big_body() -> str:
    """A Go panic with a long stack, exactly BIG_BODY_BYTES bytes of ASCII."""
    head = ("panic: runtime error: index out of range [5] with length 5\n\n"
            "goroutine 1 [running]:\n")
    lines = []
    n = 0
    while len(head) + sum(map(len, lines)) < BIG_BODY_BYTES:
        n += 1
        lines.append(f"main.(*checkoutService).prepareOrderItems(0xc0001{n:05d}, "
                     f"{{0x1a2b3c, 0xc000abcdef}})\n\t/app/checkout/order.go:{100 + n} +0x1f4\n")
    return (head + "".join(lines))[:BIG_BODY_BYTES]


# --- Logs ------------------------------------------------------------------------------------

@dataclass
class Log:
    pod: Pod
    severity: str
    body: str
    attrs: dict[str, str] = field(default_factory=dict)
    trace_id: str = ""
    span_id: str = ""
    at: int | None = None  # offset before base; None = placed on the minute grid


def _logs() -> list[Log]:
    """The 55 log records, grid ones in per-service order (see `logs()` for their times)."""
    fa, fb = FRONTEND_A, FRONTEND_B
    frontend = []
    # 14 INFO: 9 carry a `note`, alternating pods a, b (a gets 8 of the 14 INFO).
    info_pods = [fa, fb, fa, fb, fa, fb, fa, fb, fa, fa, fa, fb, fa, fa]
    for i, pod in enumerate(info_pods):
        attrs = {"note": NOTES[i]} if i < len(NOTES) else {}
        frontend.append(Log(pod, "INFO", f"GET /api/products 200 in {10 + i}ms", attrs))
    frontend.append(Log(fa, "WARN", "request to checkout timeout, retrying (attempt 2)"))
    frontend.append(Log(fb, "WARN", "slow response from cart: 850ms"))
    frontend.append(Log(fa, "WARN", "slow response from cart: 910ms"))
    frontend.append(Log(fb, "ERROR", "POST /api/checkout 500 Internal Server Error",
                        trace_id=TRACE_B, span_id="b000000000000001",
                        at=TRACE_B_START - 2599 * MS))
    frontend.append(Log(fa, "ERROR", "upstream connect error or disconnect/reset before headers"))
    frontend.append(Log(fa, "ERROR", INJECTION_BODY))

    cart = [Log(CART, "INFO", f"GetCart user=u-{1000 + i} items={i % 4}") for i in range(7)]
    cart += [Log(CART, "DEBUG", "cart loaded from cache user=u-1001"),
             Log(CART, "DEBUG", "cart loaded from cache user=u-1002"),
             Log(CART, "WARN", "cart cache miss rate high: 35%")]

    checkout = [Log(CHECKOUT, "INFO", f"order prepared: order-{2000 + i}") for i in range(8)]
    checkout.append(Log(CHECKOUT, "INFO", "order placed: order-1001",
                        trace_id=TRACE_A, span_id="a000000000000003",
                        at=TRACE_A_START - 270 * MS))
    checkout += [Log(CHECKOUT, "WARN", "inventory service slow: 1200ms"),
                 Log(CHECKOUT, "WARN", "retrying PlaceOrder for order-2009"),
                 Log(CHECKOUT, "ERROR", "PlaceOrder failed: payment timeout after 2500ms",
                     trace_id=TRACE_B, span_id="b000000000000003",
                     at=TRACE_B_START - 2585 * MS),
                 Log(CHECKOUT, "ERROR", "PlaceOrder failed: inventory lookup timeout"),
                 Log(CHECKOUT, "ERROR", big_body()),
                 Log(CHECKOUT, "ERROR", "failed to publish order event: broker unavailable")]

    payment = [Log(PAYMENT, "INFO", f"charge approved: txn-{3000 + i}") for i in range(6)]
    payment += [Log(PAYMENT, "WARN", "retrying charge (attempt 2)"),
                Log(PAYMENT, "ERROR", "card processor timeout after 2490ms",
                    trace_id=TRACE_B, span_id="b000000000000007",
                    at=TRACE_B_START - 2570 * MS),
                Log(PAYMENT, "ERROR", "Timeout budget exhausted for merchant acme"),
                Log(PAYMENT, "ERROR", "card declined: insufficient funds")]

    tiers = ("gold", "silver", "silver", "free", "free")
    for group in (frontend, checkout):
        for i, log in enumerate(group):
            log.attrs["customer_tier"] = tiers[i % len(tiers)]
    # Interleave the services into one stream: frontend, checkout, cart, payment, ...
    out: list[Log] = []
    groups = [frontend, checkout, cart, payment]
    while any(groups):
        for group in groups:
            if group:
                out.append(group.pop(0))
    return out


def logs() -> list[tuple[int, Log]]:
    """(offset before base in ns, log). Grid logs sit at 30 s past each minute, newest last."""
    records = _logs()
    grid = [log for log in records if log.at is None]
    placed = []
    for k, log in enumerate(grid):
        placed.append(((len(grid) - k) * MIN - 30 * S, log))
    placed += [(log.at, log) for log in records if log.at is not None]
    return placed


# --- Spans -----------------------------------------------------------------------------------

SCOPES = {
    "frontend": ("@opentelemetry/instrumentation-http", "0.52.1"),
    "checkout": ("go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc",
                 "0.53.0"),
    "cart": ("OpenTelemetry.Instrumentation.AspNetCore", "1.9.0"),
    "payment": ("@opentelemetry/instrumentation-grpc", "0.52.1"),
}


@dataclass
class Span:
    trace_id: str
    span_id: str
    parent: str
    pod: Pod
    name: str
    kind: str
    start: int  # offset before base of the span start
    duration: int
    status: str = "Unset"
    message: str = ""
    attrs: dict[str, str] = field(default_factory=dict)
    events: list[tuple[int, str, dict[str, str]]] = field(default_factory=list)  # (offset, name, attrs)
    links: list[tuple[str, str, str, dict[str, str]]] = field(default_factory=list)


def _grpc(service: str, method: str, **extra: str) -> dict[str, str]:
    return {"rpc.system": "grpc", "rpc.service": f"oteldemo.{service}", "rpc.method": method,
            **extra}


def _http(method: str, path: str, status: int, **extra: str) -> dict[str, str]:
    return {"http.request.method": method, "url.path": path, "http.route": path,
            "http.response.status_code": str(status), **extra}


def spans() -> list[Span]:
    """All 28 spans: traces A, B, C and ten single-span `GET /api/products` traces."""
    out: list[Span] = []
    a0, b0, c0 = TRACE_A_START, TRACE_B_START, TRACE_C_START
    a = lambda n: f"a{n:015x}"  # noqa: E731 - tiny id helpers
    b = lambda n: f"b{n:015x}"  # noqa: E731
    c = lambda n: f"c{n:015x}"  # noqa: E731

    out += [
        Span(TRACE_A, a(1), "", FRONTEND_A, "POST /api/checkout", "Server", a0, 300 * MS,
             attrs=_http("POST", "/api/checkout", 200, tenant="acme")),
        Span(TRACE_A, a(2), a(1), FRONTEND_A, "oteldemo.CheckoutService/PlaceOrder", "Client",
             a0 - 10 * MS, 270 * MS, attrs=_grpc("CheckoutService", "PlaceOrder")),
        Span(TRACE_A, a(3), a(2), CHECKOUT, "oteldemo.CheckoutService/PlaceOrder", "Server",
             a0 - 15 * MS, 260 * MS, status="Ok",
             attrs=_grpc("CheckoutService", "PlaceOrder", tenant="acme",
                         **{"rpc.grpc.status_code": "0"})),
        Span(TRACE_A, a(4), a(3), CHECKOUT, "oteldemo.CartService/GetCart", "Client",
             a0 - 20 * MS, 45 * MS, attrs=_grpc("CartService", "GetCart")),
        Span(TRACE_A, a(5), a(4), CART, "oteldemo.CartService/GetCart", "Server",
             a0 - 22 * MS, 40 * MS, attrs=_grpc("CartService", "GetCart")),
        Span(TRACE_A, a(6), a(3), CHECKOUT, "oteldemo.PaymentService/Charge", "Client",
             a0 - 70 * MS, 160 * MS, attrs=_grpc("PaymentService", "Charge")),
        Span(TRACE_A, a(7), a(6), PAYMENT, "oteldemo.PaymentService/Charge", "Server",
             a0 - 72 * MS, 150 * MS, status="Ok",
             attrs=_grpc("PaymentService", "Charge", tenant="acme")),
    ]
    out += [
        Span(TRACE_B, b(1), "", FRONTEND_B, "POST /api/checkout", "Server", b0, 2600 * MS,
             status="Error", attrs=_http("POST", "/api/checkout", 500, tenant="globex"),
             links=[(TRACE_A, a(1), "", {"link.kind": "previous_attempt"})]),
        Span(TRACE_B, b(2), b(1), FRONTEND_B, "oteldemo.CheckoutService/PlaceOrder", "Client",
             b0 - 5 * MS, 2590 * MS, status="Error",
             message="4 DEADLINE_EXCEEDED: payment failed",
             attrs=_grpc("CheckoutService", "PlaceOrder", **{"rpc.grpc.status_code": "4"})),
        Span(TRACE_B, b(3), b(2), CHECKOUT, "oteldemo.CheckoutService/PlaceOrder", "Server",
             b0 - 10 * MS, 2580 * MS, status="Error", message="payment failed: timeout",
             attrs=_grpc("CheckoutService", "PlaceOrder", tenant="globex",
                         **{"rpc.grpc.status_code": "4"})),
        Span(TRACE_B, b(4), b(3), CHECKOUT, "oteldemo.CartService/GetCart", "Client",
             b0 - 15 * MS, 35 * MS, attrs=_grpc("CartService", "GetCart")),
        Span(TRACE_B, b(5), b(4), CART, "oteldemo.CartService/GetCart", "Server",
             b0 - 17 * MS, 30 * MS, attrs=_grpc("CartService", "GetCart")),
        Span(TRACE_B, b(6), b(3), CHECKOUT, "oteldemo.PaymentService/Charge", "Client",
             b0 - 60 * MS, 2520 * MS, status="Error", message="context deadline exceeded",
             attrs=_grpc("PaymentService", "Charge")),
        Span(TRACE_B, b(7), b(6), PAYMENT, "oteldemo.PaymentService/Charge", "Server",
             b0 - 65 * MS, 2510 * MS, status="Error", message="card processor timeout",
             attrs=_grpc("PaymentService", "Charge", tenant="globex"),
             events=[(b0 - 2570 * MS, "exception",
                      {"exception.type": "TimeoutError",
                       "exception.message": "card processor timeout after 2490ms"})]),
        Span(TRACE_B, b(8), b(7), PAYMENT, "processor.authorize", "Internal",
             b0 - 70 * MS, 2490 * MS, status="Error", message="deadline exceeded",
             attrs={"peer.service": "card-processor", "tenant": "globex"}),
    ]
    out += [
        Span(TRACE_C, c(1), "", FRONTEND_A, "GET /api/cart", "Server", c0, 80 * MS,
             attrs=_http("GET", "/api/cart", 200, tenant="initech")),
        Span(TRACE_C, c(2), c(1), FRONTEND_A, "oteldemo.CartService/GetCart", "Client",
             c0 - 5 * MS, 60 * MS, attrs=_grpc("CartService", "GetCart")),
        Span(TRACE_C, c(3), c(2), CART, "oteldemo.CartService/GetCart", "Server",
             c0 - 8 * MS, 50 * MS, attrs=_grpc("CartService", "GetCart"),
             events=[(c0 - 10 * MS, "cache.hit", {"cache.key": "cart:u-1003"})]),
    ]
    tenants = ("acme", "globex", "acme", "initech", "acme", "globex", "acme", "initech",
               "globex", INJECTION_TENANT)
    for k in range(1, 11):
        error = k == 10
        out.append(Span(f"d{k:031x}", f"d{k:015x}", "", FRONTEND_A if k % 2 else FRONTEND_B,
                        "GET /api/products", "Server", (25 - 2 * k) * MIN - 30 * S, k * 10 * MS,
                        status="Error" if error else "Unset",
                        attrs=_http("GET", "/api/products", 503 if error else 200,
                                    tenant=tenants[k - 1])))
    return out


# --- SQL -------------------------------------------------------------------------------------

def sql_string(value: str) -> str:
    """A ClickHouse string literal; control characters escaped so a statement is one line."""
    out = value.replace("\\", "\\\\").replace("'", "\\'")
    for raw, esc in (("\n", "\\n"), ("\t", "\\t"), ("\r", "\\r"), ("\0", "\\0")):
        out = out.replace(raw, esc)
    return "'" + out + "'"


def sql_map(values: dict[str, str]) -> str:
    if not values:
        return "map()"
    return "map(" + ", ".join(f"{sql_string(k)}, {sql_string(v)}" for k, v in values.items()) + ")"


def sql_time(base_ns: int, offset_ns: int) -> str:
    return f"fromUnixTimestamp64Nano(toInt64({base_ns - offset_ns}))"


LOG_COLUMNS = ("Timestamp, TraceId, SpanId, TraceFlags, SeverityText, SeverityNumber, ServiceName, "
               "Body, ResourceSchemaUrl, ResourceAttributes, ScopeSchemaUrl, ScopeName, "
               "ScopeVersion, ScopeAttributes, LogAttributes, EventName")
SPAN_COLUMNS = ("Timestamp, TraceId, SpanId, ParentSpanId, TraceState, SpanName, SpanKind, "
                "ServiceName, ResourceAttributes, ScopeName, ScopeVersion, SpanAttributes, "
                "Duration, StatusCode, StatusMessage, Events.Timestamp, Events.Name, "
                "Events.Attributes, Links.TraceId, Links.SpanId, Links.TraceState, "
                "Links.Attributes")
SCHEMA_URL = "https://opentelemetry.io/schemas/1.26.0"


def _log_row(base_ns: int, offset: int, log: Log) -> str:
    pod = log.pod
    attrs = {
        "log.iostream": "stderr" if log.severity in ("WARN", "ERROR") else "stdout",
        "log.file.path": f"/var/log/pods/{pod.namespace}_{pod.pod}_{pod.uid}/{pod.service}/0.log",
        "log.format": LOG_FORMAT[pod.service],
        **log.attrs,
    }
    return "(" + ", ".join([
        sql_time(base_ns, offset), sql_string(log.trace_id), sql_string(log.span_id),
        "1" if log.trace_id else "0", sql_string(log.severity),
        str(SEVERITY_NUMBER[log.severity]), sql_string(pod.service), sql_string(log.body),
        sql_string(SCHEMA_URL), sql_map(pod.resource()), "''", "''", "''", "map()",
        sql_map(attrs), "''",
    ]) + ")"


def _span_row(base_ns: int, span: Span) -> str:
    scope_name, scope_version = SCOPES[span.pod.service]
    events = span.events
    links = span.links
    return "(" + ", ".join([
        sql_time(base_ns, span.start), sql_string(span.trace_id), sql_string(span.span_id),
        sql_string(span.parent), "''", sql_string(span.name), sql_string(span.kind),
        sql_string(span.pod.service), sql_map(span.pod.resource()), sql_string(scope_name),
        sql_string(scope_version), sql_map(span.attrs), str(span.duration),
        sql_string(span.status), sql_string(span.message),
        "[" + ", ".join(sql_time(base_ns, e[0]) for e in events) + "]",
        "[" + ", ".join(sql_string(e[1]) for e in events) + "]",
        "[" + ", ".join(sql_map(e[2]) for e in events) + "]",
        "[" + ", ".join(sql_string(x[0]) for x in links) + "]",
        "[" + ", ".join(sql_string(x[1]) for x in links) + "]",
        "[" + ", ".join(sql_string(x[2]) for x in links) + "]",
        "[" + ", ".join(sql_map(x[3]) for x in links) + "]",
    ]) + ")"


def statements(base_ns: int, database: str = "otel", truncate: bool = False) -> list[str]:
    """INSERT statements (one per table), each a single statement for the HTTP interface."""
    out = []
    if truncate:
        for table in ("otel_logs", "otel_traces", "otel_traces_trace_id_ts"):
            out.append(f"TRUNCATE TABLE IF EXISTS {database}.{table}")
    rows = sorted(logs(), key=lambda item: -item[0])
    out.append(f"INSERT INTO {database}.otel_logs ({LOG_COLUMNS}) VALUES "
               + ", ".join(_log_row(base_ns, off, log) for off, log in rows))
    ordered = sorted(spans(), key=lambda s: -s.start)
    out.append(f"INSERT INTO {database}.otel_traces ({SPAN_COLUMNS}) VALUES "
               + ", ".join(_span_row(base_ns, s) for s in ordered))
    return out


def load(run, base_ns: int, database: str = "otel", truncate: bool = True) -> None:
    """Run every statement with `run(sql)` (a chdb session's query, an HTTP POST, ...)."""
    for stmt in statements(base_ns, database, truncate):
        run(stmt)


# --- What tests can assert -------------------------------------------------------------------

def summary() -> dict:
    """The counts stated in this module's doc, computed from the dataset itself."""
    from collections import Counter

    placed = logs()
    all_logs = [log for _, log in placed]
    all_spans = spans()

    def window(minutes: int) -> int:
        return sum(1 for off, _ in placed if off <= minutes * MIN)

    products = sorted(s.duration for s in all_spans if s.name == "GET /api/products")
    return {
        "logs": len(all_logs),
        "logs_by_service": dict(Counter(l.pod.service for l in all_logs)),
        "logs_by_severity": dict(Counter(l.severity for l in all_logs)),
        "logs_by_service_severity": dict(Counter(f"{l.pod.service}/{l.severity}" for l in all_logs)),
        "logs_by_namespace": dict(Counter(l.pod.namespace for l in all_logs)),
        "logs_by_node": dict(Counter(l.pod.node for l in all_logs)),
        "logs_by_pod": dict(Counter(l.pod.pod for l in all_logs)),
        "logs_by_tier": dict(Counter(l.attrs.get("customer_tier", "") for l in all_logs)),
        "logs_by_format": dict(Counter(LOG_FORMAT[l.pod.service] for l in all_logs)),
        "logs_body_like_timeout": sum("timeout" in l.body for l in all_logs),
        "logs_body_ilike_timeout": sum("timeout" in l.body.lower() for l in all_logs),
        "logs_with_trace": sum(bool(l.trace_id) for l in all_logs),
        "logs_last_5m": window(5), "logs_last_15m": window(15), "logs_last_60m": window(60),
        "log_max_body_bytes": max(len(l.body.encode()) for l in all_logs),
        "logs_stderr": sum(l.severity in ("WARN", "ERROR") for l in all_logs),
        "spans": len(all_spans),
        "spans_by_service": dict(Counter(s.pod.service for s in all_spans)),
        "spans_by_kind": dict(Counter(s.kind for s in all_spans)),
        "spans_by_status": dict(Counter(s.status for s in all_spans)),
        "spans_by_tenant": dict(Counter(s.attrs.get("tenant", "") for s in all_spans)),
        "spans_by_kind_status": dict(Counter(f"{s.kind}/{s.status}" for s in all_spans)),
        "spans_last_5m": sum(s.start <= 5 * MIN for s in all_spans),
        "spans_last_15m": sum(s.start <= 15 * MIN for s in all_spans),
        "spans_last_30m": sum(s.start <= 30 * MIN for s in all_spans),
        "traces": len({s.trace_id for s in all_spans}),
        "root_spans": sum(s.parent == "" for s in all_spans),
        "products_durations_ms": [d // MS for d in products],
    }


# --- Command line ----------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, __file__.rsplit("/", 1)[0])
    from front import parse_base  # the same BASE syntax as the front's --seed

    ap = argparse.ArgumentParser(description="Load or print the test dataset.")
    ap.add_argument("--base", default="now", help="now, ISO-8601 (UTC if no offset) or Unix ns")
    ap.add_argument("--database", default="otel")
    ap.add_argument("--url", help="a ClickHouse HTTP interface to POST the statements to")
    ap.add_argument("--user", default="default")
    ap.add_argument("--password", default="")
    ap.add_argument("--truncate", action="store_true", help="empty the tables first")
    ap.add_argument("--print", action="store_true", help="print the SQL instead")
    ap.add_argument("--summary", action="store_true", help="print the dataset's counts")
    args = ap.parse_args(argv)
    if args.summary:
        import json

        print(json.dumps(summary(), indent=1, ensure_ascii=False))
        return 0
    base = parse_base(args.base)
    stmts = statements(base, args.database, args.truncate)
    if args.print or not args.url:
        print(";\n".join(stmts) + ";")
        return 0
    for stmt in stmts:
        req = urllib.request.Request(args.url.rstrip("/") + "/", data=stmt.encode(),
                                     headers={"X-ClickHouse-User": args.user,
                                              "X-ClickHouse-Key": args.password})
        with urllib.request.urlopen(req) as resp:
            resp.read()
    return 0


if __name__ == "__main__":
    sys.exit(main())
