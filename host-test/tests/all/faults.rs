//! Fault injection: a misbehaving "Prometheus" on loopback (one datasource per fault, chosen by the
//! URL path) behind the real host. Every fault must give a bounded, clear tool error within the
//! deadline, keep the host's memory bounded, and leave the server serving the next request.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::fixture::{Host, call_err, call_ok};

/// Requests to the `hangup` fault whose connection the host closed.
static HUNG_UP: AtomicUsize = AtomicUsize::new(0);

/// Answers according to the first path segment of each request.
fn misbehaving_backend() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || serve(stream));
        }
    });
    port
}

/// Answers one request and closes the connection, saying so (`connection: close`): a reply without
/// it would invite the host's pooled client to reuse a connection this side is closing.
fn serve(mut stream: TcpStream) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    // Skip the headers; the tools' bodies are small and ignored here.
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
        line.clear();
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_string();
    let fault = path
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or("")
        .to_string();
    let _ = match fault.as_str() {
        "hang" => {
            std::thread::sleep(Duration::from_secs(60));
            Ok(())
        }
        // Never answers; counts the requests whose connection the host closed.
        "hangup" => {
            let mut rest = [0u8; 1024];
            while reader.read(&mut rest).is_ok_and(|n| n > 0) {}
            HUNG_UP.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
        "drip" => (|| {
            stream.write_all(b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n")?;
            for _ in 0..60 {
                stream.write_all(b" ")?;
                std::thread::sleep(Duration::from_millis(500));
            }
            Ok::<(), std::io::Error>(())
        })(),
        // A good answer, late.
        "slow" => {
            std::thread::sleep(Duration::from_millis(1500));
            let body = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"up"},"value":[1700000000,"1"]}]}}"#;
            write!(stream, "HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}", body.len())
        }
        "err500" => stream.write_all(
            b"HTTP/1.1 502 Bad Gateway\r\nconnection: close\r\ncontent-type: text/html\r\ncontent-length: 24\r\n\r\n<html>bad gateway</html>",
        ),
        "err400" => {
            let body = r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:5: parse error: unexpected end of input"}"#;
            write!(stream, "HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}", body.len())
        }
        "garbage" => stream.write_all(b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\nnot json {["),
        // 200 MB of a real-looking answer, or a million series: both far past the 20 MiB read limit.
        "huge" | "million" => (|| {
            stream.write_all(b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-type: application/json\r\n\r\n")?;
            stream.write_all(br#"{"status":"success","data":{"resultType":"vector","result":["#)?;
            let series = br#"{"metric":{"__name__":"up","job":"a-rather-long-job-name","instance":"10.0.0.1:9100"},"value":[1700000000,"1"]},"#;
            let total: usize = if fault == "huge" { 200 << 20 } else { series.len() * 1_000_000 };
            let mut sent = 0;
            while sent < total {
                stream.write_all(series)?;
                sent += series.len();
            }
            Ok(())
        })(),
        // 19 MB of one-letter label values: under the read limit, but five million strings do
        // not fit the sandbox's 256 MiB once parsed, so the guest traps.
        "bomb" => (|| {
            let count = 19 << 18;
            let mut body = String::with_capacity(count * 4 + 40);
            body.push_str(r#"{"status":"success","data":["#);
            for i in 0..count {
                body.push_str(if i == 0 { r#""a""# } else { r#","a""# });
            }
            body.push_str("]}");
            write!(stream, "HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n", body.len())?;
            stream.write_all(body.as_bytes())
        })(),
        _ => Ok(()),
    };
}

fn peak_rss_mib(pid: u32) -> f64 {
    host_test::dev::process::status_field(pid, "VmHWM:").map_or(0.0, |kib| kib as f64 / 1024.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misbehaving_backends_give_bounded_clear_errors() {
    let port = misbehaving_backend();
    let faults = [
        "hang", "drip", "err500", "err400", "garbage", "huge", "million", "bomb",
    ];
    let mut yaml = String::from("datasources:\n");
    for f in faults {
        yaml.push_str(&format!(
            "- name: {f}\n  type: prometheus\n  url: http://127.0.0.1:{port}/{f}\n"
        ));
    }
    let host = Host::start(&yaml, &[("QUERY_TIMEOUT", "2s")]);
    let client = host.client().await;
    // QUERY_TIMEOUT 2 s: a call may take two requests (POST, then GET) plus a margin.
    let deadline = Duration::from_secs(8);
    let expect = [
        ("hang", "timed out"),
        ("drip", "timed out"),
        ("err500", "http 502"),
        ("err400", "bad_data"),
        ("garbage", "not a prometheus api response"),
        ("huge", "too large"),
        ("million", "too large"),
    ];
    for (fault, needle) in expect {
        let started = Instant::now();
        let msg = call_err(
            &client,
            "query_instant",
            json!({"datasource_id": fault, "promql": "up"}),
        )
        .await;
        let took = started.elapsed();
        println!("{fault}: {took:?}: {msg}");
        assert!(msg.to_lowercase().contains(needle), "{fault}: {msg}");
        assert!(
            msg.contains("What to do") || msg.contains("narrow"),
            "{fault}: no advice: {msg}"
        );
        assert!(took < deadline, "{fault} took {took:?}");
        // The server keeps serving.
        let ok = call_ok(&client, "list_datasources", json!({})).await;
        assert_eq!(ok["total"], faults.len());
    }
    // A call whose sandbox runs out of memory (a trap) fails alone: a call running at the same time
    // is answered, and the server goes on serving.
    let (trapped, neighbour) = tokio::join!(
        call_err(&client, "list_metrics", json!({"datasource_id": "bomb"})),
        async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            call_ok(&client, "list_datasources", json!({})).await
        }
    );
    println!("bomb: {trapped}");
    assert!(trapped.contains("failed inside its sandbox"), "{trapped}");
    assert_eq!(neighbour["total"], faults.len());
    assert_eq!(
        call_ok(&client, "list_datasources", json!({})).await["total"],
        faults.len()
    );
    client.cancel().await.unwrap();
    // Memory stays bounded by the component's cap, not by what backends send (200 MB here).
    let rss = peak_rss_mib(host.pid());
    println!("host peak RSS after the faults: {rss:.0} MiB");
    assert!(rss > 0.0 && rss < 1024.0, "host peak RSS {rss:.0} MiB");
}

/// Posts raw bytes to the MCP endpoint; returns status and body.
async fn raw(url: &str, content_type: &str, body: Vec<u8>) -> (u16, String) {
    let r = reqwest::Client::new()
        .post(url)
        .header("content-type", content_type)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .body(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_client_input_gets_clear_errors_and_nothing_crashes() {
    let yaml = "datasources:\n- name: p\n  type: prometheus\n  url: http://127.0.0.1:9\n";
    let host = Host::start(yaml, &[]);
    let url = host.mcp_url.clone();
    let call = |arguments: serde_json::Value| {
        serde_json::to_vec(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "query_instant", "arguments": arguments}}))
        .unwrap()
    };
    let deep = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
    // A body sent as JSON that is not JSON is the JSON-RPC parse error (400, -32700) saying where
    // it broke; a wrong media type, or JSON that is not JSON-RPC, is rmcp's 415 with the reason.
    let parse_error = |message: &str| {
        json!({"jsonrpc": "2.0", "id": null,
               "error": {"code": -32700, "message": format!("Parse error: {message}")}})
    };
    let cases = vec![
        (
            "invalid JSON",
            "application/json",
            b"{\"jsonrpc\": \"2.0\", \"id\": 1,".to_vec(),
            400,
            Some("EOF while parsing a value at line 1 column 27"),
        ),
        (
            "invalid UTF-8",
            "application/json",
            b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\xff\xfe\"}".to_vec(),
            400,
            Some("invalid unicode code point at line 1 column 35"),
        ),
        (
            "wrong content type",
            "text/plain",
            b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}".to_vec(),
            415,
            None,
        ),
        (
            "not JSON-RPC",
            "application/json",
            b"[1, 2, 3]".to_vec(),
            415,
            None,
        ),
        (
            "deep nesting",
            "application/json",
            deep.into_bytes(),
            400,
            Some("recursion limit exceeded at line 1 column 128"),
        ),
        (
            "empty body",
            "application/json",
            Vec::new(),
            400,
            Some("EOF while parsing a value at line 1 column 0"),
        ),
    ];
    for (what, content_type, body, expected, answer) in cases {
        let (status, text) = raw(&url, content_type, body).await;
        println!(
            "{what}: HTTP {status}: {}",
            text.chars().take(120).collect::<String>()
        );
        assert_eq!(status, expected, "{what}: HTTP {status}: {text}");
        assert!(!text.is_empty(), "{what}: the client is told why");
        match answer {
            Some(message) => assert_eq!(
                serde_json::from_str::<serde_json::Value>(&text).ok(),
                Some(parse_error(message)),
                "{what}"
            ),
            None => assert!(!text.contains("-32700"), "{what}: {text}"),
        }
    }
    // Huge and mistyped arguments: tool errors the model can act on, not crashes.
    let huge = "x".repeat(900_000);
    for (what, arguments, needle) in [
        (
            "huge promql",
            json!({"datasource_id": "p", "promql": huge}),
            "10000",
        ),
        (
            "number for promql",
            json!({"datasource_id": "p", "promql": 5}),
            "must be a string",
        ),
        (
            "object for datasource",
            json!({"datasource_id": {"a": 1}, "promql": "up"}),
            "must be a string",
        ),
        (
            "limit out of range",
            json!({"datasource_id": "p", "promql": "up", "limit": 10_000_000}),
            "from 1 to",
        ),
    ] {
        let (status, text) = raw(&url, "application/json", call(arguments)).await;
        assert_eq!(status, 200, "{what}: {text}");
        let answer: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(answer["result"]["isError"], true, "{what}: {text}");
        assert!(
            answer["result"]["content"][0]["text"]
                .as_str()
                .unwrap()
                .contains(needle),
            "{what}: {text}"
        );
    }
    // An MCP method without the params it needs is -32602 (what to fix), an unknown one -32601.
    for (body, code) in [
        (
            json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call"}),
            -32602,
        ),
        (
            json!({"jsonrpc": "2.0", "id": 7, "method": "no/such/method"}),
            -32601,
        ),
    ] {
        let (status, text) = raw(&url, "application/json", body.to_string().into_bytes()).await;
        assert_eq!(status, 200, "{body}: {text}");
        let answer: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(answer["id"], 7, "{text}");
        assert_eq!(answer["error"]["code"], code, "{body}: {text}");
    }
    // Still serving.
    let client = host.client().await;
    assert_eq!(
        call_ok(&client, "list_datasources", json!({})).await["total"],
        1
    );
    client.cancel().await.unwrap();
}

/// A host whose only datasource, `slow`, answers every request well, 1.5 s late.
fn host_over_a_slow_backend() -> Host {
    let port = misbehaving_backend();
    let yaml = format!(
        "datasources:\n- name: slow\n  type: prometheus\n  url: http://127.0.0.1:{port}/slow\n"
    );
    Host::start(&yaml, &[])
}

/// Whether process `pid` has ended (gone, or a zombie waiting for its parent).
fn ended(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |stat| {
        stat.rsplit(')')
            .next()
            .is_some_and(|s| s.trim_start().starts_with('Z'))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_signal_lets_the_calls_being_answered_finish() {
    let host = host_over_a_slow_backend();
    let client = host.client().await;
    let pid = host.pid();
    // The call's backend answers after 1.5 s; the stop signal comes while it waits.
    let (answer, ()) = tokio::join!(
        call_ok(&client, "query_instant", json!({"promql": "up"})),
        async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let status = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status()
                .unwrap();
            assert!(status.success());
        }
    );
    assert_eq!(answer["result"][0]["metric"]["__name__"], "up", "{answer}");
    // Nothing new is accepted, and with nothing left to answer the host ends.
    let started = Instant::now();
    while !ended(pid) {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the host did not stop"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let log = host.log_text();
    assert!(
        log.contains("letting the requests being answered finish"),
        "{log}"
    );
    assert!(!log.contains("panicked"), "{log}");
    assert!(!log.contains("still unanswered"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_calls_than_sandboxes_wait_their_turn_and_are_all_answered() {
    let host = host_over_a_slow_backend();
    let client = host.client().await;
    // 24 calls at once, each 1.5 s at the backend: 16 run (the host's sandboxes), 8 wait at the
    // gate in front of MCP and run next; none is turned away as busy.
    let started = Instant::now();
    let calls: Vec<_> = (0..24)
        .map(|_| {
            let peer = client.peer().clone();
            tokio::spawn(
                async move { call_ok(&peer, "query_instant", json!({"promql": "up"})).await },
            )
        })
        .collect();
    for call in calls {
        let answer = call.await.unwrap();
        assert_eq!(answer["result"][0]["metric"]["__name__"], "up", "{answer}");
    }
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(2900),
        "more than 16 ran at once: {took:?}"
    );
    // Every call counted as answered, none as busy.
    let metrics = host.metrics().await;
    assert!(
        metrics.contains(r#"mcp_tool_calls_total{tool="query_instant",outcome="ok"} 24"#),
        "{metrics}"
    );
    assert!(!metrics.contains(r#"outcome="busy""#), "{metrics}");
}

/// Clients that hang up mid-call (an agent's own timeout) stop their calls: the 16 sandboxes they
/// held are free at once for the next caller, and the backend sees its requests closed, instead of
/// both waiting on a backend that never answers until the query timeout. Each call is counted as
/// `cancelled`, and nothing is logged as a warning or an error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_whose_clients_hang_up_are_stopped_and_free_their_sandboxes() {
    let port = misbehaving_backend();
    let yaml = format!(
        "datasources:\n- name: hang\n  type: prometheus\n  url: http://127.0.0.1:{port}/hangup\n- name: slow\n  type: prometheus\n  url: http://127.0.0.1:{port}/slow\n"
    );
    let host = Host::start(&yaml, &[("QUERY_TIMEOUT", "20s")]);
    let address = host
        .mcp_url
        .trim_start_matches("http://")
        .trim_end_matches("/mcp")
        .to_string();
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": "query_instant", "arguments": {"datasource_id": "hang", "promql": "up", "time": "1700000000"}}})
    .to_string();
    let request = format!(
        "POST /mcp HTTP/1.1\r\nhost: {address}\r\ncontent-type: application/json\r\naccept: application/json, text/event-stream\r\nmcp-protocol-version: 2025-11-25\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    // As many hanging calls as there are sandboxes; their clients leave after half a second.
    let mut sockets: Vec<TcpStream> = (0..16)
        .map(|_| {
            let mut s = TcpStream::connect(&address).unwrap();
            s.write_all(request.as_bytes()).unwrap();
            s
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    sockets.clear();

    let client = host.client().await;
    let started = Instant::now();
    let answer = call_ok(
        &client,
        "query_instant",
        json!({"datasource_id": "slow", "promql": "up", "time": "1700000000"}),
    )
    .await;
    assert_eq!(answer["result"][0]["value"], json!(1.0), "{answer}");
    // The slow backend alone takes 1.5 s; a held sandbox would have kept this call waiting ~20 s.
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "waited {:?} for a sandbox",
        started.elapsed()
    );

    let deadline = Instant::now() + Duration::from_secs(5);
    let needle = r#"mcp_tool_calls_total{tool="query_instant",outcome="cancelled"} 16"#;
    let mut metrics = host.metrics().await;
    while !(metrics.contains(needle) && HUNG_UP.load(Ordering::SeqCst) == 16)
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
        metrics = host.metrics().await;
    }
    assert!(metrics.contains(needle), "{metrics}");
    assert_eq!(
        HUNG_UP.load(Ordering::SeqCst),
        16,
        "backend requests closed"
    );
    let log = host.log_text();
    assert!(!log.contains(r#""level":"ERROR""#), "{log}");
    assert!(!log.contains(r#""level":"WARN""#), "{log}");
    client.cancel().await.unwrap();
}
