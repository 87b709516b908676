"""Push seed.py's logs and spans into qryn: logs as Loki push JSON, spans as Zipkin JSON.

The same 55 log records and 28 spans as the ClickHouse tests (tests/clickhouse/seed.py), written
the way a Loki or Tempo user's pipeline would carry them, within what qryn 3.2 stores:

* Logs go to `POST /loki/api/v1/push`. A stream's labels are the resource attributes with `.`
  turned into `_` (what Loki's own OTLP ingestion does: `service_name`, `k8s_namespace_name`,
  `k8s_pod_name`, ...), `level` (the severity text) and the record's attributes
  (`customer_tier`, `note`, `log_iostream`, `log_format`, `trace_id`, `span_id`). Real Loki keeps
  record attributes as structured metadata, which qryn 3.2 does not store, so here they are stream
  labels; a LogQL label filter stage (`| customer_tier="gold"`) reads both alike. The line is the
  record's body, unchanged.
* Spans go to `POST /tempo/api/push` as Zipkin v2 JSON (qryn's Tempo ingestion): `localEndpoint`
  carries service.name, tags carry the span attributes, the other resource attributes and the OTel
  status as the OTel Zipkin exporter writes it (`otel.status_code`, `error`). Zipkin has no
  INTERNAL kind (such spans carry none); timestamps are microseconds.

Command line: `python push.py --url http://127.0.0.1:PORT --base BASE` (BASE as for seed.py:
now, ISO-8601 or Unix ns). Prints `pushed N logs, M spans` and exits 0, or fails loudly.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "clickhouse"))

import seed  # noqa: E402 - the shared dataset
from front import parse_base  # noqa: E402 - the same BASE syntax as the front's --seed


def label_name(key: str) -> str:
    """A Loki label name for an attribute key (Loki's OTLP rule: every other character is `_`)."""
    return "".join(c if c.isalnum() or c == "_" else "_" for c in key)


def log_streams(base_ns: int) -> list[dict]:
    """One Loki stream per distinct label set, values oldest first."""
    streams: dict[tuple, list] = {}
    for offset, log in seed.logs():
        pod = log.pod
        labels = {label_name(k): v for k, v in pod.resource().items()}
        labels["level"] = log.severity
        attrs = {
            "log.iostream": "stderr" if log.severity in ("WARN", "ERROR") else "stdout",
            "log.format": seed.LOG_FORMAT[pod.service],
            **log.attrs,
        }
        if log.trace_id:
            attrs["trace_id"] = log.trace_id
            attrs["span_id"] = log.span_id
        labels.update({label_name(k): v for k, v in attrs.items()})
        key = tuple(sorted(labels.items()))
        streams.setdefault(key, []).append([str(base_ns - offset), log.body])
    return [{"stream": dict(key), "values": sorted(values, key=lambda v: int(v[0]))}
            for key, values in streams.items()]


def zipkin_spans(base_ns: int) -> list[dict]:
    """The spans as Zipkin v2 JSON."""
    out = []
    for span in seed.spans():
        tags = dict(span.attrs)
        for key, value in span.pod.resource().items():
            if key != "service.name":
                tags[key] = value
        if span.status != "Unset":
            tags["otel.status_code"] = span.status.upper()
        if span.status == "Error":
            tags["error"] = span.message or "true"
        item = {
            "traceId": span.trace_id,
            "id": span.span_id,
            "name": span.name,
            "timestamp": (base_ns - span.start) // 1000,
            "duration": span.duration // 1000,
            "localEndpoint": {"serviceName": span.pod.service},
            "tags": tags,
        }
        if span.parent:
            item["parentId"] = span.parent
        if span.kind in ("Server", "Client", "Producer", "Consumer"):
            item["kind"] = span.kind.upper()
        out.append(item)
    return out


def post(url: str, body: object) -> None:
    req = urllib.request.Request(url, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        resp.read()


def wait_until_stored(url: str, base_ns: int, logs: int, spans: list[dict], copies: int) -> None:
    """qryn inserts in batches (every 100 ms); wait until every log and span reads back (each trace
    `copies` times when the seed was pushed that often)."""
    start, end = base_ns - 2 * 3600 * seed.S, base_ns + seed.S
    query = urllib.parse.urlencode({"query": '{k8s_cluster_name="demo"}', "limit": 1000,
                                    "start": start, "end": end})
    traces: dict[str, int] = {}
    for span in spans:
        traces[span["traceId"]] = traces.get(span["traceId"], 0) + copies
    deadline = time.monotonic() + 30
    while True:
        with urllib.request.urlopen(f"{url}/loki/api/v1/query_range?{query}", timeout=30) as r:
            got = sum(len(s["values"]) for s in json.load(r)["data"]["result"])
        stored = 0
        for trace_id, count in traces.items():
            try:
                with urllib.request.urlopen(f"{url}/api/traces/{trace_id}/json", timeout=30) as r:
                    batches = json.load(r).get("resourceSpans", [])
            except urllib.error.HTTPError as err:
                if err.code != 404:  # 404: not stored yet
                    raise
                batches = []
            n = sum(len(lib["spans"]) for b in batches for lib in b["instrumentationLibrarySpans"])
            stored += n == count
        # Search reads qryn's attribute index, written apart from the spans: wait for it too.
        search = urllib.parse.urlencode({"q": '{ name =~ ".*" }', "limit": 1000,
                                         "start": start // seed.S, "end": end // seed.S + 1})
        with urllib.request.urlopen(f"{url}/api/search?{search}", timeout=30) as r:
            found = sum(s.get("matched", 0) for t in json.load(r).get("traces", [])
                        for s in t.get("spanSets", []))
        if got == logs and stored == len(traces) and found >= sum(traces.values()):
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"qryn holds {got} of {logs} logs, {stored} of {len(traces)} whole "
                             f"traces and finds {found} spans after 30 s")
        time.sleep(0.2)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", required=True, help="qryn's base URL")
    ap.add_argument("--base", default="now", help="now, ISO-8601 (UTC if no offset) or Unix ns")
    ap.add_argument("--copies", type=int, default=1,
                    help="how many times the seed has been pushed, this time included")
    ap.add_argument("--print", action="store_true", help="print both bodies instead")
    args = ap.parse_args(argv)
    base = parse_base(args.base)
    streams, spans = log_streams(base), zipkin_spans(base)
    if args.print:
        print(json.dumps({"streams": streams, "spans": spans}, indent=1, ensure_ascii=False))
        return 0
    post(args.url.rstrip("/") + "/loki/api/v1/push", {"streams": streams})
    post(args.url.rstrip("/") + "/tempo/api/push", spans)
    wait_until_stored(args.url.rstrip("/"), base, sum(len(s["values"]) for s in streams), spans,
                      args.copies)
    print(f"pushed {sum(len(s['values']) for s in streams)} logs, {len(spans)} spans", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
