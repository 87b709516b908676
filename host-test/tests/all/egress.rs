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
            let _ =
                s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
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

    let yaml = format!(
        "datasources:\n- name: p\n  type: prometheus\n  url: http://127.0.0.1:{allowed_port}/prefix\n"
    );
    let set = proms_mcp::datasources::parse(&yaml, "t.yaml", &|_| None).unwrap();
    let metrics = Arc::new(Metrics::default());
    let egress = Arc::new(Egress::new(&set, Duration::from_secs(2), metrics.clone()).unwrap());

    let send = |url: String| {
        let mut hooks = egress.hooks();
        let fut = hooks.send_request(request(&url), None, Box::new(async { Ok(()) }));
        Box::into_pin(fut)
    };

    let (response, _io) = send(format!(
        "http://127.0.0.1:{allowed_port}/prefix/api/v1/query"
    ))
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"ok");
    server.join().unwrap();

    for denied in [
        format!("http://127.0.0.1:{other_port}/"),
        format!("http://localhost:{allowed_port}/"),
        format!("https://127.0.0.1:{allowed_port}/"),
        format!("http://user:pw@127.0.0.1:{allowed_port}/prefix/api/v1/query"),
        "http://169.254.169.254/latest/meta-data".to_string(),
    ] {
        match send(denied.clone()).await {
            Err(HttpError::HttpRequestDenied) => {}
            Err(e) => panic!("{denied}: expected a denial, got {e}"),
            Ok((r, _)) => panic!("{denied}: expected a denial, got HTTP {}", r.status()),
        }
    }
    // The refused origin never saw a connection.
    assert_eq!(
        other.accept().map_err(|e| e.kind()).unwrap_err(),
        std::io::ErrorKind::WouldBlock
    );
    assert!(metrics.encode().contains("mcp_egress_denied_total 5"));
}

/// An HTTPS server on loopback answering 200 "ok"; returns its port, its CA's PEM and a stop handle.
async fn https_server() -> (u16, String, tokio::task::JoinHandle<()>) {
    let (config, ca_pem) = crate::fixture::loopback_tls();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut buf = [0u8; 4096];
                let _ = tls.read(&mut buf).await;
                let _ = tls
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                    )
                    .await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (port, ca_pem, task)
}

#[tokio::test]
async fn tls_uses_the_datasource_ca_and_refuses_unknown_certificates() {
    let (port, ca_pem, server) = https_server().await;
    let (other_port, _other_ca, other_server) = https_server().await;
    let indented: String = ca_pem.lines().map(|l| format!("      {l}\n")).collect();
    let yaml = format!(
        "datasources:\n\
         - name: with-ca\n  type: prometheus\n  url: https://127.0.0.1:{port}\n  jsonData:\n    tlsAuthWithCACert: true\n  secureJsonData:\n    tlsCACert: |\n{indented}\
         - name: system-roots\n  type: prometheus\n  url: https://127.0.0.1:{other_port}\n"
    );
    let set = proms_mcp::datasources::parse(&yaml, "t.yaml", &|_| None).unwrap();
    let egress =
        Arc::new(Egress::new(&set, Duration::from_secs(2), Arc::new(Metrics::default())).unwrap());
    let send = |url: String| {
        let mut hooks = egress.hooks();
        Box::into_pin(hooks.send_request(request(&url), None, Box::new(async { Ok(()) })))
    };
    // The configured CA verifies the server.
    let (response, _io) = send(format!("https://127.0.0.1:{port}/api/v1/query"))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // A server whose CA is not trusted (system roots only) is refused as a certificate error.
    match send(format!("https://127.0.0.1:{other_port}/")).await {
        Err(HttpError::TlsCertificateError) => {}
        Err(e) => panic!("expected a certificate error, got {e}"),
        Ok((r, _)) => panic!("expected a certificate error, got HTTP {}", r.status()),
    }

    // tlsSkipVerify: the datasource owner opted out of verification.
    let yaml = format!(
        "datasources:\n- name: skip\n  type: prometheus\n  url: https://127.0.0.1:{other_port}\n  jsonData:\n    tlsSkipVerify: true\n"
    );
    let set = proms_mcp::datasources::parse(&yaml, "t.yaml", &|_| None).unwrap();
    let egress =
        Arc::new(Egress::new(&set, Duration::from_secs(2), Arc::new(Metrics::default())).unwrap());
    let mut hooks = egress.hooks();
    let fut = hooks.send_request(
        request(&format!("https://127.0.0.1:{other_port}/")),
        None,
        Box::new(async { Ok(()) }),
    );
    let (response, _io) = Box::into_pin(fut).await.unwrap();
    assert_eq!(response.status(), 200);
    server.abort();
    other_server.abort();
}

/// A query's form body goes out with its `content-length`, not chunked (some proxies in front of a
/// backend refuse chunked requests), and a GET goes out with no body at all: the component, through
/// the real host, against a stand-in that records the requests it receives and answers like
/// Prometheus.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_body_is_sent_with_its_length_and_a_get_with_none() {
    use crate::fixture::{Host, call_ok};
    use std::io::{BufRead, BufReader};

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (seen_tx, seen_rx) = std::sync::mpsc::channel::<(Vec<String>, Vec<u8>)>();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = Vec::new();
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                head.push(line.trim_end().to_ascii_lowercase());
                line.clear();
            }
            let length = head
                .iter()
                .find_map(|h| h.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let names = head[0].starts_with("get /api/v1/label/__name__/values");
            let _ = seen_tx.send((head, body));
            let answer = if names {
                r#"{"status":"success","data":["up"]}"#
            } else {
                r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"up"},"value":[1700000000,"1"]}]}}"#
            };
            let mut stream = stream;
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });

    let yaml =
        format!("datasources:\n- name: p\n  type: prometheus\n  url: http://127.0.0.1:{port}\n");
    let host = Host::start(&yaml, &[]);
    let client = host.client().await;
    let answer = call_ok(
        &client,
        "query_instant",
        serde_json::json!({"datasource_id": "p", "promql": "up", "time": "1700000000"}),
    )
    .await;
    assert_eq!(
        answer["result"][0]["value"],
        serde_json::json!(1.0),
        "{answer}"
    );

    let (head, body) = seen_rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(head[0].starts_with("post /api/v1/query "), "{head:?}");
    assert!(
        !head.iter().any(|h| h.starts_with("transfer-encoding:")),
        "chunked: {head:?}"
    );
    assert!(
        head.contains(&format!("content-length: {}", body.len())),
        "{head:?}"
    );
    let body = String::from_utf8(body).unwrap();
    assert!(body.starts_with("query=up&time=1700000000"), "{body}");

    let answer = call_ok(
        &client,
        "list_metrics",
        serde_json::json!({"datasource_id": "p", "end": "1700000000"}),
    )
    .await;
    assert_eq!(answer["metrics"], serde_json::json!(["up"]), "{answer}");
    let (head, body) = seen_rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(
        head[0].starts_with("get /api/v1/label/__name__/values?"),
        "{head:?}"
    );
    assert!(
        !head
            .iter()
            .any(|h| h.starts_with("transfer-encoding:") || h.starts_with("content-length:")),
        "a GET with a body: {head:?}"
    );
    assert!(body.is_empty());
    client.cancel().await.unwrap();
}
