//! Fault injection: a misbehaving "Prometheus" on loopback (one datasource per fault, chosen by the
//! URL path) behind the real host. Every fault must give a bounded, clear tool error within the
//! deadline, keep the host's memory bounded, and leave the server serving the next request.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::fixture::{Host, call_err, call_ok};

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
        "drip" => (|| {
            stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n")?;
            for _ in 0..60 {
                stream.write_all(b" ")?;
                std::thread::sleep(Duration::from_millis(500));
            }
            Ok::<(), std::io::Error>(())
        })(),
        "err500" => stream.write_all(
            b"HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/html\r\ncontent-length: 24\r\n\r\n<html>bad gateway</html>",
        ),
        "err400" => {
            let body = r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:5: parse error: unexpected end of input"}"#;
            write!(stream, "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}", body.len())
        }
        "garbage" => stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\nnot json {["),
        // 200 MB of a real-looking answer, or a million series: both far past the 20 MiB read limit.
        "huge" | "million" => (|| {
            stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n")?;
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
        _ => Ok(()),
    };
}

fn peak_rss_mib(log_pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{log_pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misbehaving_backends_give_bounded_clear_errors() {
    let port = misbehaving_backend();
    let faults = [
        "hang", "drip", "err500", "err400", "garbage", "huge", "million",
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
    client.cancel().await.unwrap();
    // Memory stays bounded by the component's cap, not by what backends send (200 MB here).
    let rss = peak_rss_mib(host.pid());
    println!("host peak RSS after the faults: {rss:.0} MiB");
    assert!(rss > 0.0 && rss < 1024.0, "host peak RSS {rss:.0} MiB");
}
