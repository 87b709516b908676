"""A ClickHouse HTTP interface for tests: our own HTTP front over the real ClickHouse engine.

What is real and what is ours:

* The engine is real ClickHouse (26.9), run in-process by chdb (the `chdb-core` package,
  `from chdb.session import Session`). Parsing, planning, query parameters and their
  escaped-text unescaping, settings (readonly, limits, timeouts), formats and error messages
  all come from the engine itself.
* The HTTP front in this file is ours: a test stand-in for clickhouse-server's HTTP interface
  (port 8123), written from ClickHouse's HTTPHandler (src/Server/HTTPHandler.cpp) and its
  exception-code-to-status table (src/Server/HTTP/exceptionCodeToHTTPStatus.cpp). chdb has no
  network listener of its own. Standard library only.

Served:

* `GET /ping`, `GET /` (no query string), `GET /replicas_status`: `Ok.`.
* Queries on `/`: `GET /?query=...` runs with readonly=2, as the server runs every non-POST
  request (so a `readonly=` URL setting on a GET fails with error 164, on the server too),
  `POST /` with the SQL in the body, `POST /?query=<prefix>` with the body appended after a
  newline (ClickHouse's rule; it applies to any method that carries a body).
* `param_<name>=<value>` URL parameters become query parameters for `{name:Type}`. Their
  values are handed to the engine untouched, and the engine parses them from ClickHouse's
  escaped text format exactly as the server does (`\\t`, `\\n`, `\\\\`, `\\'` unescaped;
  a trailing lone backslash is error 25). The front must not unescape them a second time.
* `database=` (or the `X-ClickHouse-Database` header, which wins) for that request only.
* `default_format=` (or the `X-ClickHouse-Format` request header) and a trailing
  `FORMAT X` in the SQL choose the output format; the default is TabSeparated.
* Every other URL parameter is a ClickHouse setting, applied with one `SET a = 'x', b = 'y'`
  in the request's own connection, so the engine checks them the way the server's
  checkSettingsConstraints does (all against the settings before the change). An unknown
  name is the engine's own error 115. `output_format_json_quote_64bit_integers = 1` is set
  first (the server's default; chdb's is 0) so a request can still override it.
* Each request runs in a fresh chdb connection to the one shared database directory
  (opening one costs ~0.2 ms): `USE`, `SET` and temporary tables cannot leak into the next
  request, as with the server's per-request context. Requests are served by threads but
  executed one at a time under a lock.
* Multi-statements are refused (error 62, as the server does); chdb itself would run them.
* Credentials from `X-ClickHouse-User`/`X-ClickHouse-Key`, HTTP basic auth, or `user=` /
  `password=` URL parameters (mixing two ways is refused, as the server does). Without
  `--user` any credentials are accepted; with `--user U --password P` anything else gets
  error 516 AUTHENTICATION_FAILED, which ClickHouse maps to HTTP 403.
* Errors: HTTP status from the exception code by ClickHouse's table (e.g. 62 SYNTAX_ERROR ->
  400, 60 UNKNOWN_TABLE / 47 UNKNOWN_IDENTIFIER -> 404, 159 TIMEOUT_EXCEEDED -> 408, 516 ->
  403, anything not listed -> 500), body `Code: N. DB::Exception: ... (NAME) (version ...)`,
  header `X-ClickHouse-Exception-Code: N`.
* Headers: `X-ClickHouse-Summary` (from chdb's counters, best effort), `X-ClickHouse-Format`,
  `X-ClickHouse-Query-Id`, `X-ClickHouse-Timezone`, `Content-Type` per format. Gzip/deflate
  response compression with `enable_http_compression=1`; gzip/deflate request bodies.

Not served (each refused with a ClickHouse-style error or simply absent): sessions
(`session_id`), ClickHouse's native compression (`compress=1`, `decompress=1`), external
tables (multipart/form-data), progress headers (`send_progress_in_http_headers`), roles and
quotas (accepted, ignored), real users/grants (the engine always runs as `default`),
zstd/br/lz4/xz request or response encodings, OPTIONS/CORS, `/play`, `/dashboard`,
`/metrics`, custom `http_handlers`, queries on paths other than `/`, TLS, and the
`X-ClickHouse-Progress` stream. The response is always fully buffered (as with
`wait_end_of_query=1`), so an error never arrives after a 200.

Command line:

    python front.py --port 0 [--host 127.0.0.1] [--data-dir DIR] [--init-sql FILE ...]
                    [--seed BASE] [--user U --password P] [--delay-ms N] [--timezone TZ]

prints `listening on http://127.0.0.1:PORT` on stdout when ready and exits cleanly on
SIGTERM or SIGINT. It binds loopback addresses only. `--seed BASE` loads seed.py's dataset
with timestamps relative to BASE (`now`, an ISO-8601 time, or integer Unix nanoseconds).
"""

from __future__ import annotations

import argparse
import base64
import gzip
import ipaddress
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
import uuid
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

# --- ClickHouse's exception code -> HTTP status table (exceptionCodeToHTTPStatus.cpp) --------

_STATUS_BY_NAME: dict[str, int] = {}
for _name in ("UNKNOWN_USER", "WRONG_PASSWORD", "AUTHENTICATION_FAILED", "SET_NON_GRANTED_ROLE",
              "ACCESS_DENIED"):
    _STATUS_BY_NAME[_name] = 403
for _name in ("BAD_ARGUMENTS", "CANNOT_COMPILE_REGEXP", "CANNOT_PARSE_TEXT",
              "CANNOT_PARSE_ESCAPE_SEQUENCE", "CANNOT_PARSE_QUOTED_STRING", "CANNOT_PARSE_DATE",
              "CANNOT_PARSE_DATETIME", "CANNOT_PARSE_NUMBER",
              "CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING", "CANNOT_PARSE_IPV4", "CANNOT_PARSE_IPV6",
              "CANNOT_PARSE_INPUT_ASSERTION_FAILED", "CANNOT_PARSE_UUID", "DUPLICATE_COLUMN",
              "ILLEGAL_COLUMN", "UNKNOWN_ELEMENT_IN_AST", "UNKNOWN_TYPE_OF_AST_NODE",
              "THERE_IS_NO_COLUMN", "TOO_DEEP_AST", "TOO_BIG_AST", "UNEXPECTED_AST_STRUCTURE",
              "SYNTAX_ERROR", "INCORRECT_DATA", "TYPE_MISMATCH",
              "VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE"):
    _STATUS_BY_NAME[_name] = 400
for _name in ("UNKNOWN_TABLE", "UNKNOWN_FUNCTION", "UNKNOWN_IDENTIFIER", "UNKNOWN_TYPE",
              "UNKNOWN_STORAGE", "UNKNOWN_DATABASE", "UNKNOWN_SETTING",
              "UNKNOWN_DIRECTION_OF_SORTING", "UNKNOWN_AGGREGATE_FUNCTION", "UNKNOWN_FORMAT",
              "UNKNOWN_DATABASE_ENGINE", "UNKNOWN_TYPE_OF_QUERY", "UNKNOWN_ROLE"):
    _STATUS_BY_NAME[_name] = 404
_STATUS_BY_NAME.update({
    "REQUIRED_PASSWORD": 401,
    "QUERY_IS_TOO_LARGE": 413,
    "NOT_IMPLEMENTED": 501,
    "SOCKET_TIMEOUT": 503,
    "CANNOT_OPEN_FILE": 503,
    "HTTP_LENGTH_REQUIRED": 411,
    "TIMEOUT_EXCEEDED": 408,
    "CANNOT_SCHEDULE_TASK": 503,
    "UNSUPPORTED_MEDIA_TYPE": 415,
})


def http_status_for(name: str) -> int:
    """The HTTP status clickhouse-server sends for an exception of this name."""
    return _STATUS_BY_NAME.get(name, 500)


# Codes the front raises itself (the engine is not involved).
SYNTAX_ERROR = (62, "SYNTAX_ERROR")
NOT_IMPLEMENTED = (48, "NOT_IMPLEMENTED")
UNKNOWN_SETTING = (115, "UNKNOWN_SETTING")
UNKNOWN_FORMAT = (73, "UNKNOWN_FORMAT")
AUTHENTICATION_FAILED = (516, "AUTHENTICATION_FAILED")
STD_EXCEPTION = (1001, "STD_EXCEPTION")

# URL parameters that are not settings (HTTPHandler's reserved_param_names, plus `query`).
RESERVED_PARAMS = frozenset({
    "query", "compress", "decompress", "user", "password", "quota_key", "query_id",
    "stacktrace", "role", "buffer_size", "wait_end_of_query", "session_id", "session_timeout",
    "session_check", "client_protocol_version", "close_session", "database", "default_format",
})

# Output formats chdb's Python layer would turn into pandas/pyarrow objects, not bytes.
_CHDB_PYTHON_FORMATS = frozenset({"dataframe", "datastore", "arrowtable", "debug"})

_JSON_FORMATS = frozenset({"JSON", "JSONStrings", "JSONCompact", "JSONCompactStrings"})
_TSV_FORMATS = frozenset({
    "TabSeparated", "TSV", "TabSeparatedRaw", "TSVRaw", "Raw", "TabSeparatedWithNames",
    "TSVWithNames", "TabSeparatedWithNamesAndTypes", "TSVWithNamesAndTypes",
    "TabSeparatedRawWithNames", "TSVRawWithNames", "TabSeparatedRawWithNamesAndTypes",
    "TSVRawWithNamesAndTypes",
})


def content_type_for(fmt: str) -> str:
    """Content-Type as ClickHouse's output formats declare it (getContentType)."""
    if fmt in _JSON_FORMATS:
        return "application/json; charset=UTF-8"
    if fmt in _TSV_FORMATS:
        return "text/tab-separated-values; charset=UTF-8"
    if fmt in ("CSV", "CSVWithNames", "CSVWithNamesAndTypes"):
        return "text/csv; charset=UTF-8; header=" + ("absent" if fmt == "CSV" else "present")
    if fmt == "XML":
        return "application/xml; charset=UTF-8"
    return "text/plain; charset=UTF-8"


class FrontError(Exception):
    """A ClickHouse-style exception: code, name and message, as the server would report it."""

    def __init__(self, code: int, name: str, message: str):
        super().__init__(message)
        self.code = code
        self.name = name
        self.message = message

    @classmethod
    def of(cls, kind: tuple[int, str], message: str) -> "FrontError":
        return cls(kind[0], kind[1], message)

    def text(self, version: str) -> str:
        return (f"Code: {self.code}. DB::Exception: {self.message}. ({self.name}) "
                f"(version {version} (official build))\n")


_ENGINE_ERROR = re.compile(r"^Code: (\d+)\. DB::Exception: (.*?)(?:\. \(([A-Z0-9_]+)\))?\s*$",
                           re.DOTALL)


def parse_engine_error(text: str, names: dict[int, str]) -> FrontError:
    """Code, name and message out of chdb's exception text (`Code: N. DB::Exception: m. (NAME)`)."""
    text = text.strip()
    m = _ENGINE_ERROR.match(text)
    if not m:
        return FrontError.of(STD_EXCEPTION, text)
    code = int(m.group(1))
    name = m.group(3) or names.get(code, "")
    return FrontError(code, name, m.group(2))


# --- A small ClickHouse lexer: statement end, trailing FORMAT, first keyword -------------------

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_HEREDOC = re.compile(r"\$([A-Za-z0-9_]*)\$")


def _tokens(sql: str):
    """Yield (kind, text, position) for words, quoted names, strings and punctuation.

    Comments (`--`, `# `, `#!`, nested `/* */`) and whitespace are skipped; strings in single
    quotes (with backslash escapes and doubled quotes), heredocs (`$tag$...$tag$`), and
    identifiers in double quotes or backticks are single tokens. An unterminated literal runs
    to the end; the engine reports it.
    """
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        if c.isspace():
            i += 1
        elif sql.startswith("--", i) or (c == "#" and sql[i + 1:i + 2] in (" ", "!")):
            j = sql.find("\n", i)
            i = n if j < 0 else j + 1
        elif sql.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if sql.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif sql.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
        elif c in "'\"`":
            start, i = i, i + 1
            while i < n:
                if sql[i] == "\\":
                    i += 2
                elif sql[i] == c:
                    if sql[i + 1:i + 2] == c:
                        i += 2
                    else:
                        i += 1
                        break
                else:
                    i += 1
            yield ("string" if c == "'" else "name", sql[start:i], start)
        elif c == "$" and _HEREDOC.match(sql, i):
            tag = _HEREDOC.match(sql, i).group(0)
            j = sql.find(tag, i + len(tag))
            end = n if j < 0 else j + len(tag)
            yield ("string", sql[i:end], i)
            i = end
        elif _WORD.match(sql, i):
            m = _WORD.match(sql, i)
            yield ("word", m.group(0), i)
            i = m.end()
        else:
            yield ("punct", c, i)
            i += 1


def inspect_query(sql: str) -> tuple[str, str | None, int | None]:
    """(first keyword upper-cased, trailing FORMAT name or None, position of a 2nd statement).

    For INSERT the rest is data in the input format, so only the keyword is returned.
    """
    keyword = ""
    depth = 0
    top: list[tuple[str, str, int]] = []  # tokens of the first statement outside brackets
    ended = False
    for kind, text, pos in _tokens(sql):
        if not keyword and not top and not depth:
            keyword = text.upper() if kind == "word" else "("
            if keyword == "INSERT":
                return keyword, None, None
        if ended:
            if text != ";":
                return keyword, None, pos
            continue
        if kind == "punct" and text in "([":
            depth += 1
        elif kind == "punct" and text in ")]":
            depth = max(0, depth - 1)
        elif kind == "punct" and text == ";" and depth == 0:
            ended = True
        elif depth == 0:
            top.append((kind, text, pos))
    fmt = None
    for k in range(len(top) - 1):
        kind, text, _ = top[k]
        if kind == "word" and text.upper() == "FORMAT" and top[k + 1][0] in ("word", "name"):
            after = top[k + 2] if k + 2 < len(top) else None
            if after is None or (after[0] == "word" and after[1].upper() == "SETTINGS"):
                name = top[k + 1][1]
                fmt = name[1:-1] if top[k + 1][0] == "name" else name
    return keyword if keyword != "(" else "", fmt, None


# --- The engine ------------------------------------------------------------------------------

def sql_string(value: str) -> str:
    """A ClickHouse string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def sql_name(value: str) -> str:
    """A ClickHouse quoted identifier."""
    return "`" + value.replace("\\", "\\\\").replace("`", "\\`") + "`"


class Engine:
    """One chdb database directory; one fresh connection per request, one request at a time."""

    def __init__(self, path: str):
        from chdb.session import Session  # imported late: TZ must be set first

        self._session_cls = Session
        self.path = path
        self.lock = threading.Lock()
        self.base = Session(path)  # keeps the engine up; used for init SQL and seeding
        row = self.base.query("SELECT version(), timezone()", "TabSeparated").bytes()
        self.version, self.timezone = row.decode().rstrip("\n").split("\t")
        names = self.base.query(
            "SELECT number, errorCodeToName(number) FROM numbers(2000) "
            "WHERE errorCodeToName(number) != ''", "TabSeparated").bytes().decode()
        self.code_names = {int(c): n for c, n in
                           (line.split("\t") for line in names.splitlines() if line)}

    def execute_script(self, sql: str) -> None:
        """Run a multi-statement script (schema, seed) in the base connection."""
        with self.lock:
            try:
                self.base.query(sql, "TabSeparated")
            except Exception as e:  # noqa: BLE001 - chdb raises its own RuntimeError subclass
                raise parse_engine_error(str(e), self.code_names) from None

    def run(self, prelude: list[str], sql: str, fmt: str, params: dict[str, str]):
        """Run `sql` after `prelude` in a fresh connection. Returns (body, summary dict)."""
        with self.lock:
            conn = self._session_cls(self.path)
            try:
                for stmt in prelude:
                    conn.query(stmt, "TabSeparated")
                started = time.monotonic_ns()
                result = conn.query(sql, fmt, params=params)
                elapsed = time.monotonic_ns() - started
            except Exception as e:  # noqa: BLE001
                raise parse_engine_error(str(e), self.code_names) from None
            finally:
                conn.close()
        body = result.bytes() if hasattr(result, "bytes") else result
        if isinstance(body, str):
            body = body.encode()
        summary = {
            "read_rows": result.storage_rows_read(),
            "read_bytes": result.storage_bytes_read(),
            "written_rows": result.rows_written(),
            "written_bytes": result.bytes_written(),
            "total_rows_to_read": result.storage_rows_read(),
            "result_rows": result.rows_read(),
            "result_bytes": len(body or b""),
            "elapsed_ns": elapsed,
        }
        return body or b"", {k: str(v) for k, v in summary.items()}

    def close(self) -> None:
        with self.lock:
            self.base.close()


# --- HTTP ------------------------------------------------------------------------------------

_SETTING_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Config:
    """What the handler needs: the engine and the front's own options."""

    def __init__(self, engine: Engine, user: str | None, password: str | None,
                 delay_ms: int, verbose: bool):
        self.engine = engine
        self.user = user
        self.password = password
        self.delay_ms = delay_ms
        self.verbose = verbose


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # The status line, headers and body go out in separate writes: with Nagle's algorithm on, the
    # body waits for the client's delayed ACK (~40 ms per answer on a kept-alive connection).
    disable_nagle_algorithm = True
    server_version = "ClickHouseTestFront"
    config: Config  # set on the subclass made by serve()

    # -- plumbing --

    def log_message(self, format, *args):  # noqa: A002 - BaseHTTPRequestHandler's signature
        if self.config.verbose:
            sys.stderr.write("front: " + (format % args) + "\n")

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            body = b"".join(chunks)
        else:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length > 0 else b""
        encoding = self.headers.get("Content-Encoding", "").strip().lower()
        if encoding in ("", "identity"):
            return body
        if encoding == "gzip":
            return gzip.decompress(body)
        if encoding == "deflate":
            return zlib.decompress(body)
        raise FrontError.of(NOT_IMPLEMENTED,
                            f"The test front does not decode Content-Encoding '{encoding}'")

    def _send(self, status: int, body: bytes, headers: dict[str, str],
              compress_with: str | None = None) -> None:
        if compress_with == "gzip":
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        elif compress_with == "deflate":
            body = zlib.compress(body)
            headers["Content-Encoding"] = "deflate"
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_error(self, err: FrontError, query_id: str | None = None) -> None:
        headers = {
            "Content-Type": "text/plain; charset=UTF-8",
            "X-ClickHouse-Exception-Code": str(err.code),
            "X-ClickHouse-Server-Display-Name": "clickhouse-test-front",
        }
        if query_id:
            headers["X-ClickHouse-Query-Id"] = query_id
        self._send(http_status_for(err.name), err.text(self.config.engine.version).encode(),
                   headers)

    def _ok(self) -> None:
        self._send(200, b"Ok.\n", {"Content-Type": "text/html; charset=UTF-8"})

    # -- methods --

    def do_GET(self):  # noqa: N802 - BaseHTTPRequestHandler's naming
        self._dispatch()

    def do_POST(self):  # noqa: N802
        self._dispatch()

    def do_HEAD(self):  # noqa: N802
        url = urlsplit(self.path)
        if url.path in ("/ping", "/replicas_status") or (url.path == "/" and not url.query):
            self._ok()
        else:
            self._send(405, b"", {"Content-Type": "text/plain; charset=UTF-8"})

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        try:
            body = self._read_body()
        except FrontError as err:
            self.close_connection = True
            self._send_error(err)
            return
        except (ValueError, OSError, zlib.error) as err:
            self.close_connection = True
            self._send_error(FrontError.of(STD_EXCEPTION, f"Cannot read request body: {err}"))
            return
        if url.path in ("/ping", "/replicas_status") and self.command == "GET":
            self._ok()
            return
        if url.path != "/":
            self._send(404, f"There is no handle {url.path}\n\nUse / or /ping for health "
                            f"checks.\nSend queries with POST or GET /?query=...\n".encode(),
                       {"Content-Type": "text/plain; charset=UTF-8"})
            return
        if self.command == "GET" and not url.query and not body:
            self._ok()
            return
        params = parse_qsl(url.query, keep_blank_values=True)
        query_id = ""
        for key, value in params:
            if key == "query_id":
                query_id = value
        query_id = query_id or self.headers.get("X-ClickHouse-Query-Id", "") or str(uuid.uuid4())
        query_id = "".join(ch for ch in query_id if ch.isprintable())
        try:
            self._authenticate(params)
            self._query(params, body, query_id)
        except FrontError as err:
            self._send_error(err, query_id)

    # -- the query handler --

    def _authenticate(self, params: list[tuple[str, str]]) -> None:
        h_user = self.headers.get("X-ClickHouse-User", "")
        h_key = self.headers.get("X-ClickHouse-Key", "")
        authorization = self.headers.get("Authorization", "")
        p = dict(params)
        in_params = "user" in p or "password" in p or "quota_key" in p
        in_headers = bool(h_user or h_key or self.headers.get("X-ClickHouse-Quota"))
        if in_headers and authorization:
            raise FrontError.of(AUTHENTICATION_FAILED,
                                "Invalid authentication: it is not allowed to use "
                                "X-ClickHouse HTTP headers and other authentication methods "
                                "simultaneously")
        if (in_headers or authorization) and in_params:
            raise FrontError.of(AUTHENTICATION_FAILED,
                                "Invalid authentication: it is not allowed to use "
                                "Authorization HTTP header and authentication via parameters "
                                "simultaneously")
        if in_headers:
            user, password = h_user or "default", h_key
        elif authorization:
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() != "basic":
                raise FrontError.of(AUTHENTICATION_FAILED,
                                    f"Invalid authentication: '{scheme}' HTTP Authorization "
                                    f"scheme is not supported")
            try:
                user, _, password = base64.b64decode(token.strip()).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                raise FrontError.of(AUTHENTICATION_FAILED,
                                    "Invalid authentication: malformed basic credentials") from None
        else:
            user, password = p.get("user", "default") or "default", p.get("password", "")
        cfg = self.config
        if cfg.user is not None and (user != cfg.user or password != (cfg.password or "")):
            raise FrontError.of(AUTHENTICATION_FAILED,
                                f"{user}: Authentication failed: password is incorrect, or "
                                f"there is no user with such name.")

    def _query(self, params: list[tuple[str, str]], body: bytes, query_id: str) -> None:
        cfg = self.config
        if self.headers.get("Content-Type", "").startswith("multipart/form-data"):
            raise FrontError.of(NOT_IMPLEMENTED, "The test front does not take external "
                                                 "tables (multipart/form-data)")
        query_param = ""
        query_params: dict[str, str] = {}
        settings: list[tuple[str, str]] = []
        database = self.headers.get("X-ClickHouse-Database", "")
        default_format = self.headers.get("X-ClickHouse-Format", "")
        for key, value in params:
            if key == "query":
                query_param = value
            elif key == "database":
                database = database or value
            elif key == "default_format":
                default_format = default_format or value
            elif key == "session_id" and value:
                raise FrontError.of(NOT_IMPLEMENTED, "The test front has no HTTP sessions "
                                                     "(session_id)")
            elif key in ("compress", "decompress") and value not in ("", "0", "false"):
                raise FrontError.of(NOT_IMPLEMENTED, f"The test front does not implement "
                                                     f"ClickHouse's native compression ({key}=1)")
            elif key.startswith("param_"):
                query_params[key[len("param_"):]] = value
            elif key and key not in RESERVED_PARAMS:
                if not _SETTING_NAME.match(key):
                    raise FrontError.of(UNKNOWN_SETTING, f"Unknown setting '{key}'")
                settings.append((key, value))
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text = body.decode("utf-8", errors="surrogateescape")
        sql = (query_param + "\n" if query_param else "") + text
        if not sql.strip():
            raise FrontError.of(SYNTAX_ERROR, "Empty query")
        _keyword, query_format, second_at = inspect_query(sql)
        if second_at is not None:
            raise FrontError.of(SYNTAX_ERROR,
                                f"Syntax error (Multi-statements are not allowed): failed at "
                                f"position {second_at + 1} (end of query): "
                                f"{sql[second_at:second_at + 40]}")
        fmt = default_format or "TabSeparated"
        if fmt.lower() in _CHDB_PYTHON_FORMATS:
            raise FrontError.of(UNKNOWN_FORMAT, f"Unknown format {fmt}")
        prelude = []
        if database:
            prelude.append("USE " + sql_name(database))
        prelude.append("SET output_format_json_quote_64bit_integers = 1")
        if self.command != "POST":
            prelude.append("SET readonly = 2")
        if settings:
            prelude.append("SET " + ", ".join(f"{k} = {sql_string(v)}" for k, v in settings))
        if cfg.delay_ms:
            time.sleep(cfg.delay_ms / 1000)
        out, summary = cfg.engine.run(prelude, sql, fmt, query_params)
        effective = query_format or fmt
        headers = {
            "Content-Type": content_type_for(effective),
            "X-ClickHouse-Server-Display-Name": "clickhouse-test-front",
            "X-ClickHouse-Query-Id": query_id,
            "X-ClickHouse-Format": effective,
            "X-ClickHouse-Timezone": cfg.engine.timezone,
            "X-ClickHouse-Summary": json.dumps(summary, separators=(",", ":")),
        }
        compress_with = None
        wants = dict(settings).get("enable_http_compression", "0").lower()
        if wants in ("1", "true"):
            accepted = self.headers.get("Accept-Encoding", "").lower()
            for name in ("gzip", "deflate"):
                if name in accepted:
                    compress_with = name
                    break
        self._send(200, out, headers, compress_with)


# --- Process ---------------------------------------------------------------------------------

def parse_base(text: str) -> int:
    """`now`, an ISO-8601 time (UTC if no offset) or integer Unix nanoseconds -> Unix ns."""
    from datetime import datetime, timezone

    if text == "now":
        return time.time_ns()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class QuietServer(ThreadingHTTPServer):
    """A client that hangs up before its answer (a test's deadline ran out) is normal here, not an
    error worth a traceback."""

    def handle_error(self, request, client_address):
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, required=True, help="0 picks a free port")
    ap.add_argument("--host", default="127.0.0.1", help="a loopback address")
    ap.add_argument("--data-dir", help="database directory to keep (default: a temporary one)")
    ap.add_argument("--init-sql", action="append", default=[], metavar="FILE",
                    help="SQL script(s) run once at start, in order")
    ap.add_argument("--seed", metavar="BASE",
                    help="load seed.py's dataset relative to BASE (now, ISO-8601, Unix ns)")
    ap.add_argument("--user", help="require this user (and --password)")
    ap.add_argument("--password", default="")
    ap.add_argument("--delay-ms", type=int, default=0, help="sleep before each query")
    ap.add_argument("--timezone", default="UTC", help="the engine's server time zone")
    ap.add_argument("--verbose", action="store_true", help="log requests to stderr")
    args = ap.parse_args(argv)

    if not _is_loopback(args.host):
        ap.error(f"--host {args.host!r}: the test front binds loopback addresses only")
    os.environ["TZ"] = args.timezone

    temp_dir = None
    if args.data_dir:
        os.makedirs(args.data_dir, exist_ok=True)
        path = args.data_dir
    else:
        temp_dir = tempfile.mkdtemp(prefix="clickhouse-front-")
        path = temp_dir
    try:
        engine = Engine(path)
        for file in args.init_sql:
            with open(file, encoding="utf-8") as f:
                engine.execute_script(f.read())
        if args.seed:
            sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
            import seed  # noqa: PLC0415 - only when asked for

            seed.load(engine.execute_script, parse_base(args.seed))
    except FrontError as err:
        print(f"front: start-up failed: {err.text('')}", file=sys.stderr, end="")
        if temp_dir:
            shutil.rmtree(temp_dir, ignore_errors=True)
        return 2

    handler = type("BoundHandler", (Handler,),
                   {"config": Config(engine, args.user, args.password, args.delay_ms,
                                     args.verbose)})
    httpd = QuietServer((args.host, args.port), handler)
    httpd.daemon_threads = True

    def stop(_signum, _frame):
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    host, port = httpd.server_address[:2]
    shown = f"[{host}]" if ":" in host else host
    print(f"listening on http://{shown}:{port}", flush=True)
    try:
        httpd.serve_forever(poll_interval=0.2)
    finally:
        httpd.server_close()
        engine.close()
        if temp_dir:
            shutil.rmtree(temp_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
