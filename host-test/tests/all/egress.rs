//! The egress policy with real sockets: a configured origin is reached (over a pooled client), any
//! other origin is refused without a connection attempt.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use host_test::egress::Egress;
use host_test::metrics::Metrics;
use http_body_util::{BodyExt, Empty};
use wasmtime_wasi_http::{Error as HttpError, WasiHttpHooks};

fn request(url: &str) -> http::Request<wasmtime_wasi_http::WasiBody> {
    http::Request::get(url)
        .body(Empty::new().map_err(|never| match never {}).boxed_unsync())
        .unwrap()
}

/// A one-shot HTTP server on loopback answering 200 "ok".
fn answer_once(listener: TcpListener) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        if let Ok((mut s, _)) = listener.accept() {
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
        }
    })
}

#[tokio::test]
async fn only_configured_origins_are_reachable() {
    let allowed = TcpListener::bind("127.0.0.1:0").unwrap();
    let other = TcpListener::bind("127.0.0.1:0").unwrap();
    other.set_nonblocking(true).unwrap();
    let allowed_port = allowed.local_addr().unwrap().port();
    let other_port = other.local_addr().unwrap().port();
    let server = answer_once(allowed);

    let yaml = format!("datasources:\n- name: p\n  type: prometheus\n  url: http://127.0.0.1:{allowed_port}/prefix\n");
    let set = proms_mcp::datasources::parse(&yaml, "t.yaml", &|_| None).unwrap();
    let metrics = Arc::new(Metrics::default());
    let egress = Arc::new(Egress::new(&set, Duration::from_secs(2), metrics.clone()).unwrap());

    let send = |url: String| {
        let mut hooks = egress.hooks();
        let fut = hooks.send_request(request(&url), None, Box::new(async { Ok(()) }));
        Box::into_pin(fut)
    };

    let (response, _io) = send(format!("http://127.0.0.1:{allowed_port}/prefix/api/v1/query")).await.unwrap();
    assert_eq!(response.status(), 200);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"ok");
    server.join().unwrap();

    for denied in [
        format!("http://127.0.0.1:{other_port}/"),
        format!("http://localhost:{allowed_port}/"),
        format!("https://127.0.0.1:{allowed_port}/"),
        "http://169.254.169.254/latest/meta-data".to_string(),
    ] {
        match send(denied.clone()).await {
            Err(HttpError::HttpRequestDenied) => {}
            Err(e) => panic!("{denied}: expected a denial, got {e}"),
            Ok((r, _)) => panic!("{denied}: expected a denial, got HTTP {}", r.status()),
        }
    }
    // The refused origin never saw a connection.
    assert_eq!(other.accept().map_err(|e| e.kind()).unwrap_err(), std::io::ErrorKind::WouldBlock);
    assert!(metrics.encode().contains("mcp_egress_denied_total 4"));
}
