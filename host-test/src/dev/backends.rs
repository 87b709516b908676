//! Real Prometheus and VictoriaMetrics processes on 127.0.0.1 loaded with the demo data
//! (`super::demo_data`), for `proms-mcp demo`, the bench, the soak and the integration tests.
//!
//! What lives here:
//! - [`start_prometheus`]: backfills the data with `promtool tsdb create-blocks-from openmetrics` and runs
//!   `prometheus` on that TSDB, scraping itself (so metadata and targets have real content, from about
//!   5 s after start: [`Backend::wait_for_self_scrape`]);
//! - [`start_victoria_metrics`]: runs single-node `victoria-metrics` and imports the data through
//!   `/api/v1/import/prometheus`;
//! - [`Backend`]: the running process, its `http://127.0.0.1:PORT` URL, a few blocking HTTP helpers for
//!   tests, and a `Drop` that kills the process, waits for it and removes its temporary directory;
//! - [`free_loopback_port`], [`find_binary`].
//!
//! What does not live here: the demo data itself (`super::demo_data`), the MCP host, the plugin, and any
//! HTTP client for the tools. The HTTP helper in this module is a minimal HTTP/1.1 exchange over
//! `std::net::TcpStream` that can only reach 127.0.0.1 (it takes a port, never a host name), so nothing
//! here ever touches a non-loopback address.
//!
//! The binaries come from `PATH` (Debian: `apt-get install prometheus victoria-metrics`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::demo_data::DemoData;

/// How long a backend may take to become ready (including loading the demo data).
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// Timeout of a single HTTP exchange with a backend (the import of the whole data set included).
const HTTP_TIMEOUT: Duration = Duration::from_secs(60);
/// Pause between readiness probes.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// Which server a [`Backend`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    /// Prometheus.
    Prometheus,
    /// VictoriaMetrics single-node.
    VictoriaMetrics,
}

impl BackendKind {
    /// `prometheus` / `victoria-metrics`.
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Prometheus => "prometheus",
            BackendKind::VictoriaMetrics => "victoria-metrics",
        }
    }
}

/// A running backend process with the demo data loaded. Dropping it kills the process, waits for it
/// and removes its temporary directory.
#[derive(Debug)]
pub struct Backend {
    /// Which server this is.
    pub kind: BackendKind,
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub url: String,
    port: u16,
    child: Child,
    dir: PathBuf,
    log: PathBuf,
}

/// One sample of an instant-vector result: all labels (with `__name__` when the result keeps it) and
/// the value.
pub type VectorSample = (BTreeMap<String, String>, f64);

impl Backend {
    /// The start of a datasources file whose one entry, `prometheus`, is this backend as the
    /// default datasource (15 s scrape interval); callers append further entries.
    pub fn datasources_file(&self) -> String {
        format!(
            "apiVersion: 1\ndatasources:\n  - name: prometheus\n    type: prometheus\n    url: {}\n    isDefault: true\n    jsonData:\n      timeInterval: 15s\n",
            self.url
        )
    }

    /// The process id (for its `/proc` figures).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The temporary directory holding data, configuration and log (removed on drop).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The process log (stdout and stderr).
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The last `n` lines of the process log.
    pub fn log_tail(&self, n: usize) -> String {
        log_tail(&self.log, n)
    }

    /// Prometheus only: waits until it has scraped itself once (`/api/v1/targets` shows a target with
    /// `"health":"up"`), so `/api/v1/targets` and `/api/v1/metadata` have content. Prometheus applies
    /// its first scrape targets about 5 s after start, which is why [`start_prometheus`] does not wait
    /// for this. (The backfilled `demo_*` series never have metadata in Prometheus.)
    pub fn wait_for_self_scrape(&self, timeout: Duration) -> io::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let last = match api_get(self.port, "/api/v1/targets?state=active") {
                Ok(json) => {
                    let targets = json["data"]["activeTargets"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default();
                    if targets.iter().any(|t| t["health"] == "up") {
                        return Ok(());
                    }
                    format!("active targets: {targets:?}")
                }
                Err(e) => e.to_string(),
            };
            if Instant::now() >= deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "{}: timed out waiting for the first self-scrape (last: {last})",
                        self.kind.name()
                    ),
                ));
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    /// `GET path_and_query` (e.g. `/api/v1/targets`): status and body.
    pub fn get(&self, path_and_query: &str) -> io::Result<(u16, String)> {
        let (status, body) = http_exchange(self.port, "GET", path_and_query, None, HTTP_TIMEOUT)?;
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    }

    /// `GET /api/v1/query?query=…&time=…`: the whole response JSON; an error unless HTTP 200 and
    /// `"status":"success"`.
    pub fn instant_query(&self, promql: &str, time: i64) -> io::Result<serde_json::Value> {
        let path = format!("/api/v1/query?query={}&time={time}", percent_encode(promql));
        api_get(self.port, &path)
    }

    /// `GET /api/v1/query_range?…`: the whole response JSON; an error unless HTTP 200 and success.
    pub fn range_query(
        &self,
        promql: &str,
        start: i64,
        end: i64,
        step: i64,
    ) -> io::Result<serde_json::Value> {
        let path = format!(
            "/api/v1/query_range?query={}&start={start}&end={end}&step={step}",
            percent_encode(promql)
        );
        api_get(self.port, &path)
    }

    /// An instant query whose result is a vector, as (labels, value) sorted by labels.
    pub fn instant_vector(&self, promql: &str, time: i64) -> io::Result<Vec<VectorSample>> {
        let json = self.instant_query(promql, time)?;
        parse_vector(&json).ok_or_else(|| {
            io::Error::other(format!(
                "{}: `{promql}` did not return a vector: {json}",
                self.kind.name()
            ))
        })
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !self.dir.as_os_str().is_empty() {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// A port on 127.0.0.1 that was free a moment ago (bound to port 0, then released). Another process
/// may take it before it is used; the `start_*` functions retry once on a different port.
pub fn free_loopback_port() -> io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

/// Looks `name` up in `PATH` (or checks it directly if it contains a `/`): the first existing
/// executable file.
pub fn find_binary(name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        let p = PathBuf::from(name);
        return is_executable(&p).then_some(p);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    match fs::metadata(p) {
        Ok(m) if m.is_file() => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                m.permissions().mode() & 0o111 != 0
            }
            #[cfg(not(unix))]
            {
                true
            }
        }
        _ => false,
    }
}

fn require_binary(name: &str, package: &str) -> io::Result<PathBuf> {
    find_binary(name).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("`{name}` not found on PATH; install it, e.g. `apt-get install {package}`"),
        )
    })
}

/// Starts Prometheus on a free loopback port with the demo data backfilled into its TSDB and a scrape
/// job `prometheus` scraping itself every second. Returns once `/-/ready` answers and every demo series
/// is queryable at `data.start` and `data.end`; the first self-scrape comes about 5 s later (see
/// [`Backend::wait_for_self_scrape`]).
pub fn start_prometheus(data: &DemoData) -> io::Result<Backend> {
    let prometheus = require_binary("prometheus", "prometheus")?;
    let promtool = require_binary("promtool", "prometheus")?;
    let dir = TempDir::new(BackendKind::Prometheus)?;
    let tsdb = dir.path.join("tsdb");
    let om = dir.path.join("data.om");
    fs::write(&om, data.openmetrics())?;

    let out = Command::new(&promtool)
        .args(["tsdb", "create-blocks-from", "openmetrics", "--quiet"])
        .arg(&om)
        .arg(&tsdb)
        .stdin(Stdio::null())
        .output()?;
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "promtool tsdb create-blocks-from openmetrics failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )));
    }

    let config = dir.path.join("prometheus.yml");
    let log = dir.path.join("prometheus.log");
    spawn_with_retry(dir, log, BackendKind::Prometheus, data, |port, log_file| {
        fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 15s\n  evaluation_interval: 15s\n\
                 scrape_configs:\n  - job_name: prometheus\n    scrape_interval: 1s\n    \
                 metrics_path: /metrics\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"
            ),
        )?;
        let child = Command::new(&prometheus)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", tsdb.display()))
            .arg("--storage.tsdb.retention.time=30d")
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .spawn()?;
        Ok(child)
    })
}

/// Starts single-node VictoriaMetrics on a free loopback port, imports the demo data through
/// `/api/v1/import/prometheus`, flushes it, and returns once every demo series is queryable at
/// `data.start` and `data.end`. Runs with `-search.disableCache` and `-search.latencyOffset=0s` so
/// results are deterministic and recent samples are visible at once.
pub fn start_victoria_metrics(data: &DemoData) -> io::Result<Backend> {
    let vm = require_binary("victoria-metrics", "victoria-metrics")?;
    let dir = TempDir::new(BackendKind::VictoriaMetrics)?;
    let storage = dir.path.join("data");
    let log = dir.path.join("victoria-metrics.log");
    let body = data.prometheus_text_with_ms();
    spawn_with_retry(
        dir,
        log,
        BackendKind::VictoriaMetrics,
        data,
        |port, log_file| {
            let mut child = Command::new(&vm)
                .arg(format!("-httpListenAddr=127.0.0.1:{port}"))
                .arg(format!("-storageDataPath={}", storage.display()))
                .arg("-retentionPeriod=1y")
                .arg("-search.latencyOffset=0s")
                .arg("-search.disableCache")
                .arg("-loggerLevel=ERROR")
                .stdin(Stdio::null())
                .stdout(log_file.try_clone()?)
                .stderr(log_file)
                .spawn()?;
            // Import before the caller's readiness wait, which then checks the data is queryable.
            let imported = (|| {
                wait_http_ok(
                    &mut child,
                    port,
                    "/health",
                    Instant::now() + STARTUP_TIMEOUT,
                )?;
                let (status, resp) = http_exchange(
                    port,
                    "POST",
                    "/api/v1/import/prometheus",
                    Some(("text/plain", body.as_bytes())),
                    HTTP_TIMEOUT,
                )?;
                if !(200..300).contains(&status) {
                    return Err(io::Error::other(format!(
                        "import returned HTTP {status}: {}",
                        String::from_utf8_lossy(&resp)
                    )));
                }
                let (status, resp) =
                    http_exchange(port, "GET", "/internal/force_flush", None, HTTP_TIMEOUT)?;
                if status != 200 {
                    return Err(io::Error::other(format!(
                        "/internal/force_flush returned HTTP {status}: {}",
                        String::from_utf8_lossy(&resp)
                    )));
                }
                Ok(())
            })();
            match imported {
                Ok(()) => Ok(child),
                // Leave the child running if it exited by itself: spawn_with_retry inspects its log
                // (e.g. for "address already in use").
                Err(e) => {
                    if matches!(child.try_wait(), Ok(Some(_))) {
                        Ok(child)
                    } else {
                        let _ = child.kill();
                        let _ = child.wait();
                        Err(e)
                    }
                }
            }
        },
    )
}

/// Spawns the backend on a free port (`spawn(port, log_file)`), waits until it is ready and has the
/// demo data; if the process died because the port was taken meanwhile, tries once more on another port.
fn spawn_with_retry(
    mut dir: TempDir,
    log: PathBuf,
    kind: BackendKind,
    data: &DemoData,
    mut spawn: impl FnMut(u16, fs::File) -> io::Result<Child>,
) -> io::Result<Backend> {
    let ready_path = match kind {
        BackendKind::Prometheus => "/-/ready",
        BackendKind::VictoriaMetrics => "/health",
    };
    let mut attempt = 0;
    loop {
        attempt += 1;
        let port = free_loopback_port()?;
        let log_file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)?;
        let child = spawn(port, log_file).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "starting {}: {e}\nlast log lines:\n{}",
                    kind.name(),
                    log_tail(&log, 20)
                ),
            )
        })?;
        let mut backend = Backend {
            kind,
            url: format!("http://127.0.0.1:{port}"),
            port,
            child,
            dir: dir.path.clone(),
            log: log.clone(),
        };
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        let result = wait_http_ok(&mut backend.child, port, ready_path, deadline)
            .and_then(|()| wait_for_data(&mut backend, data, deadline))
            .and_then(|()| match backend.child.try_wait()? {
                // Someone else answered on our port while our process failed to bind it.
                Some(status) => Err(io::Error::other(format!("the process exited ({status})"))),
                None => Ok(()),
            });
        match result {
            Ok(()) => {
                // `backend` now owns the directory.
                dir.keep();
                return Ok(backend);
            }
            Err(e) => {
                let _ = backend.child.kill();
                let _ = backend.child.wait();
                let tail = log_tail(&log, 20);
                // Keep the directory until we give up: `backend`'s Drop must not remove it yet.
                backend.dir = PathBuf::new();
                drop(backend);
                let port_taken = tail.contains("address already in use");
                if port_taken && attempt < 2 {
                    continue;
                }
                return Err(io::Error::new(
                    e.kind(),
                    format!(
                        "{} on 127.0.0.1:{port} did not become ready: {e}\nlast log lines:\n{tail}",
                        kind.name()
                    ),
                ));
            }
        }
    }
}

/// Polls `GET path` until HTTP 200, the process exits, or the deadline passes.
fn wait_http_ok(child: &mut Child, port: u16, path: &str, deadline: Instant) -> io::Result<()> {
    loop {
        if let Some(status) = child.try_wait()? {
            return Err(io::Error::other(format!(
                "the process exited ({status}) while waiting for {path}"
            )));
        }
        let last = match http_exchange(port, "GET", path, None, Duration::from_secs(2)) {
            Ok((200, _)) => return Ok(()),
            Ok((status, body)) => {
                format!("HTTP {status}: {}", String::from_utf8_lossy(&body).trim())
            }
            Err(e) => e.to_string(),
        };
        if Instant::now() >= deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("timed out waiting for GET {path} (last: {last})"),
            ));
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// Polls until `count({__name__=~"demo_.+"})` equals the number of demo series at both `start` and `end`.
fn wait_for_data(backend: &mut Backend, data: &DemoData, deadline: Instant) -> io::Result<()> {
    let want = DemoData::series().len() as f64;
    let query = r#"count({__name__=~"demo_.+"})"#;
    loop {
        if let Some(status) = backend.child.try_wait()? {
            return Err(io::Error::other(format!(
                "the process exited ({status}) while waiting for the demo data"
            )));
        }
        let mut counts = Vec::new();
        let mut error = None;
        for t in [data.end, data.start] {
            match backend.instant_vector(query, t) {
                Ok(v) => counts.push(v.first().map(|(_, x)| *x).unwrap_or(0.0)),
                Err(e) => error = Some(e.to_string()),
            }
        }
        if error.is_none() && counts.iter().all(|c| *c == want) {
            return Ok(());
        }
        let last = error
            .unwrap_or_else(|| format!("series counts at end, start: {counts:?}, want {want}"));
        if Instant::now() >= deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("timed out waiting for the demo data (last: {last})"),
            ));
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// A temporary directory removed on drop unless handed over to a [`Backend`] ([`TempDir::keep`]).
struct TempDir {
    path: PathBuf,
}

impl TempDir {
    fn new(kind: BackendKind) -> io::Result<Self> {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        loop {
            let seq = SEQ.fetch_add(1, Ordering::Relaxed);
            let path = std::env::temp_dir().join(format!(
                "proms-mcp-{}-{}-{nanos}-{seq}",
                kind.name(),
                std::process::id()
            ));
            match fs::create_dir(&path) {
                Ok(()) => return Ok(TempDir { path }),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

impl TempDir {
    /// Disowns the directory: it is no longer removed on drop.
    fn keep(&mut self) {
        self.path = PathBuf::new();
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

fn log_tail(log: &Path, n: usize) -> String {
    let text = fs::read(log)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

// ---------------------------------------------------------------------------------------------------------
// Minimal HTTP/1.1 over loopback
// ---------------------------------------------------------------------------------------------------------

/// One HTTP/1.1 exchange with `127.0.0.1:port` (`Connection: close`): status and decoded body.
fn http_exchange(
    port: u16,
    method: &str,
    path_and_query: &str,
    body: Option<(&str, &[u8])>,
    timeout: Duration,
) -> io::Result<(u16, Vec<u8>)> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let mut head = format!(
        "{method} {path_and_query} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: proms-mcp-host-test\r\n\
         Accept-Encoding: identity\r\nConnection: close\r\n"
    );
    if let Some((content_type, bytes)) = body {
        let _ = write!(
            head,
            "Content-Type: {content_type}\r\nContent-Length: {}\r\n",
            bytes.len()
        );
    } else if method == "POST" {
        head.push_str("Content-Length: 0\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    if let Some((_, bytes)) = body {
        stream.write_all(bytes)?;
    }
    stream.flush()?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> io::Result<(u16, Vec<u8>)> {
    let bad = |msg: &str| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("bad HTTP response: {msg}"),
        )
    };
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no end of headers"))?;
    let head = std::str::from_utf8(&raw[..split]).map_err(|_| bad("headers are not UTF-8"))?;
    let body = &raw[split + 4..];
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad(&format!("status line {status_line:?}")))?;
    let mut chunked = false;
    let mut length = None;
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
            if name == "transfer-encoding" && value.to_ascii_lowercase().contains("chunked") {
                chunked = true;
            } else if name == "content-length" {
                length = value.parse::<usize>().ok();
            }
        }
    }
    if chunked {
        let mut out = Vec::new();
        let mut rest = body;
        loop {
            let eol = rest
                .windows(2)
                .position(|w| w == b"\r\n")
                .ok_or_else(|| bad("truncated chunk size"))?;
            let size_text = std::str::from_utf8(&rest[..eol]).map_err(|_| bad("chunk size"))?;
            let size_text = size_text.split(';').next().unwrap_or_default().trim();
            let size = usize::from_str_radix(size_text, 16).map_err(|_| bad("chunk size"))?;
            rest = &rest[eol + 2..];
            if size == 0 {
                break;
            }
            if rest.len() < size {
                return Err(bad("truncated chunk"));
            }
            out.extend_from_slice(&rest[..size]);
            rest = rest.get(size + 2..).unwrap_or_default();
        }
        Ok((status, out))
    } else if let Some(n) = length {
        if body.len() < n {
            return Err(bad("truncated body"));
        }
        Ok((status, body[..n].to_vec()))
    } else {
        Ok((status, body.to_vec()))
    }
}

/// GET a Prometheus API path; the JSON body if HTTP 200 and `"status":"success"`.
fn api_get(port: u16, path: &str) -> io::Result<serde_json::Value> {
    let (status, body) = http_exchange(port, "GET", path, None, HTTP_TIMEOUT)?;
    let text = String::from_utf8_lossy(&body);
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        io::Error::other(format!(
            "GET {path}: HTTP {status}, body is not JSON ({e}): {text}"
        ))
    })?;
    if status != 200 || json.get("status").and_then(|s| s.as_str()) != Some("success") {
        return Err(io::Error::other(format!(
            "GET {path}: HTTP {status}: {text}"
        )));
    }
    Ok(json)
}

/// (labels, value) of a `resultType: vector` (or `scalar`) response, sorted by labels.
fn parse_vector(json: &serde_json::Value) -> Option<Vec<VectorSample>> {
    let data = json.get("data")?;
    match data.get("resultType")?.as_str()? {
        "vector" => {
            let mut out = Vec::new();
            for item in data.get("result")?.as_array()? {
                let labels = item
                    .get("metric")?
                    .as_object()?
                    .iter()
                    .map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect::<Option<BTreeMap<_, _>>>()?;
                out.push((labels, parse_sample_value(item.get("value")?)?));
            }
            out.sort_by(|a, b| a.0.cmp(&b.0));
            Some(out)
        }
        "scalar" => Some(vec![(
            BTreeMap::new(),
            parse_sample_value(data.get("result")?)?,
        )]),
        _ => None,
    }
}

/// The value of a `[time, "value"]` pair.
fn parse_sample_value(pair: &serde_json::Value) -> Option<f64> {
    let s = pair.as_array()?.get(1)?.as_str()?;
    match s {
        "NaN" => Some(f64::NAN),
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ => s.parse().ok(),
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}
