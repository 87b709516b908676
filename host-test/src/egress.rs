//! Egress policy: the plugin's outbound HTTP (`wasi:http/outgoing-handler`) may reach only the origins
//! of the configured datasources, each with its own TLS settings, over a pooled keep-alive client.
//! Everything else is denied with `HTTP-request-denied` and counted. Inbound MCP traffic is not here.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::BodyExt;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use proms_mcp::datasources::{Datasource, DatasourceSet, Origin};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

use crate::metrics::Metrics;

pub(crate) type Connector = hyper_rustls::HttpsConnector<HttpConnector>;

/// The allow-list: one pooled client per configured origin.
pub struct Egress {
    routes: HashMap<Origin, Route>,
    metrics: Arc<Metrics>,
}

struct Route {
    datasource: String,
    client: Client<Connector, WasiBody>,
}

impl Egress {
    /// Builds a client per datasource origin; `connect_timeout` bounds each new connection.
    /// Two datasources on one origin must agree on TLS settings.
    pub fn new(
        datasources: &DatasourceSet,
        connect_timeout: Duration,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<Egress> {
        // Group datasources by origin: one pooled client per origin, so they must agree on TLS.
        let mut by_origin: Vec<(&Origin, Vec<&Datasource>)> = Vec::new();
        for (origin, ds) in datasources.origins() {
            match by_origin.iter_mut().find(|(o, _)| *o == origin) {
                Some((_, group)) => {
                    let first = group[0];
                    anyhow::ensure!(
                        first.tls_skip_verify == ds.tls_skip_verify
                            && first.tls_ca_cert == ds.tls_ca_cert,
                        "datasources '{}' and '{}' share the origin {origin} but have different TLS settings",
                        first.name,
                        ds.name
                    );
                    group.push(ds);
                }
                None => by_origin.push((origin, vec![ds])),
            }
        }
        let system_roots = SystemRoots::default();
        let mut routes = HashMap::new();
        for (origin, group) in by_origin {
            let route = Route {
                // Metrics and logs name every datasource behind the origin.
                datasource: group
                    .iter()
                    .map(|d| d.name.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
                client: client_for(group[0], connect_timeout, &system_roots)?,
            };
            routes.insert(origin.clone(), route);
        }
        Ok(Egress { routes, metrics })
    }

    /// A policy that allows nothing: every outbound request is denied.
    pub fn deny_all(metrics: Arc<Metrics>) -> Egress {
        Egress {
            routes: HashMap::new(),
            metrics,
        }
    }

    /// Also allows the origin of `url` (e.g. the Kubernetes API server the `server` component asks
    /// about tokens), trusting `ca_pem` or the system roots.
    pub fn allow(
        &mut self,
        url: &str,
        ca_pem: Option<&str>,
        connect_timeout: Duration,
    ) -> anyhow::Result<()> {
        let uri: http::Uri = url
            .parse()
            .map_err(|e| anyhow::anyhow!("'{url}' is not a URL: {e}"))?;
        let origin =
            origin_of(&uri).ok_or_else(|| anyhow::anyhow!("'{url}' has no scheme or host"))?;
        let tls = tls_config(ca_pem, false, &SystemRoots::default(), url)?;
        self.routes.insert(
            origin,
            Route {
                datasource: "kubernetes-api".into(),
                client: https_client(tls, connect_timeout),
            },
        );
        Ok(())
    }

    /// The per-store hooks that apply this policy.
    pub fn hooks(self: &Arc<Self>) -> EgressHooks {
        EgressHooks {
            egress: self.clone(),
        }
    }
}

/// The system's trust roots, loaded once and only if some datasource needs them.
#[derive(Default)]
pub(crate) struct SystemRoots(std::sync::OnceLock<rustls::RootCertStore>);

impl SystemRoots {
    pub(crate) fn get(&self) -> rustls::RootCertStore {
        self.0
            .get_or_init(|| {
                let mut roots = rustls::RootCertStore::empty();
                roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
                if roots.is_empty() {
                    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
                }
                roots
            })
            .clone()
    }
}

fn client_for(
    ds: &Datasource,
    connect_timeout: Duration,
    system_roots: &SystemRoots,
) -> anyhow::Result<Client<Connector, WasiBody>> {
    let tls = tls_config(
        ds.tls_ca_cert.as_deref(),
        ds.tls_skip_verify,
        system_roots,
        &format!("datasource '{}': tlsCACert", ds.name),
    )?;
    Ok(https_client(tls, connect_timeout))
}

/// TLS settings: trust exactly `ca_pem` when given (as Grafana does), else the system roots; or, when
/// `skip_verify`, nothing at all. `what` names the CA's source in errors.
pub(crate) fn tls_config(
    ca_pem: Option<&str>,
    skip_verify: bool,
    system_roots: &SystemRoots,
    what: &str,
) -> anyhow::Result<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?;
    if skip_verify {
        return Ok(builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
            .with_no_client_auth());
    }
    let roots = match ca_pem {
        Some(pem) => {
            let mut roots = rustls::RootCertStore::empty();
            let mut reader = std::io::BufReader::new(pem.as_bytes());
            for cert in rustls_pemfile::certs(&mut reader) {
                roots.add(
                    cert.map_err(|e| anyhow::anyhow!("{what}: unreadable certificate: {e}"))?,
                )?;
            }
            anyhow::ensure!(!roots.is_empty(), "{what} holds no certificate");
            roots
        }
        None => system_roots.get(),
    };
    Ok(builder.with_root_certificates(roots).with_no_client_auth())
}

/// A pooled keep-alive HTTP/1.1 client (http and https) with `tls`.
pub(crate) fn https_client<B>(
    tls: rustls::ClientConfig,
    connect_timeout: Duration,
) -> Client<Connector, B>
where
    B: http_body::Body + Send + 'static,
    B::Data: Send,
{
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(connect_timeout));
    http.set_nodelay(true);
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(90))
        .pool_max_idle_per_host(64)
        .build(connector)
}

/// `tlsSkipVerify: true`: accept any certificate (the datasource owner asked for it).
#[derive(Debug)]
struct NoVerify(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// [`WasiHttpHooks`] for one store: the policy lives in `send_request`.
pub struct EgressHooks {
    egress: Arc<Egress>,
}

/// The origin a request is addressed to, with the scheme's default port filled in.
fn origin_of(uri: &http::Uri) -> Option<Origin> {
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let host = uri
        .host()?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    let port = uri
        .port_u16()
        .unwrap_or(if scheme == "https" { 443 } else { 80 });
    Some(Origin { scheme, host, port })
}

type SendResult = Result<
    (
        http::Response<WasiBody>,
        Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ),
    HttpError,
>;

impl WasiHttpHooks for EgressHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> Box<dyn Future<Output = SendResult> + Send> {
        drop(fut);
        let egress = self.egress.clone();
        Box::new(async move {
            // Credentials in the authority would ride along in the Host header: never allowed.
            let uri = request.uri();
            let has_userinfo = uri.authority().is_some_and(|a| a.as_str().contains('@'));
            let origin = origin_of(uri).filter(|_| !has_userinfo);
            let Some((origin, route)) = origin.and_then(|o| egress.routes.get(&o).map(|r| (o, r)))
            else {
                // Log host and port only: no path, query or userinfo.
                let port = uri.port_u16().map_or_else(String::new, |p| format!(":{p}"));
                let target = format!("{}{port}", uri.host().unwrap_or_default());
                tracing::warn!(target_authority = %target, "egress denied: not a configured datasource origin");
                egress.metrics.egress_denied();
                return Err(HttpError::HttpRequestDenied);
            };
            let first_byte = options
                .as_ref()
                .and_then(|o| o.first_byte_timeout)
                .unwrap_or(Duration::from_secs(600));
            let started = std::time::Instant::now();
            let sent = tokio::time::timeout(first_byte, route.client.request(request)).await;
            let outcome = match sent {
                Err(_) => Err(HttpError::ConnectionReadTimeout),
                Ok(Err(e)) => Err(classify(&e)),
                Ok(Ok(response)) => Ok(response),
            };
            egress.metrics.backend_request(
                &route.datasource,
                outcome.as_ref().map(|r| r.status().as_u16()).ok(),
                started.elapsed(),
            );
            if let Err(e) = &outcome {
                tracing::info!(datasource = %route.datasource, origin = %origin, error = %e, "backend request failed");
            }
            let response = outcome?;
            let between_bytes = options
                .as_ref()
                .and_then(|o| o.between_bytes_timeout)
                .unwrap_or(Duration::from_secs(600));
            let response = response.map(|body| {
                BetweenBytes::new(body.map_err(HttpError::from), between_bytes).boxed_unsync()
            });
            Ok((
                response,
                Box::new(async { Ok(()) }) as Box<dyn Future<Output = _> + Send>,
            ))
        })
    }
}

/// A response body that fails with `connection-read-timeout` when no data arrives for `timeout`: a
/// backend that sends its headers and then drips never holds a call until its deadline.
struct BetweenBytes<B> {
    inner: B,
    timeout: Duration,
    sleep: std::pin::Pin<Box<tokio::time::Sleep>>,
}

impl<B> BetweenBytes<B> {
    fn new(inner: B, timeout: Duration) -> Self {
        BetweenBytes {
            inner,
            timeout,
            sleep: Box::pin(tokio::time::sleep(timeout)),
        }
    }
}

impl<B> http_body::Body for BetweenBytes<B>
where
    B: http_body::Body<Error = HttpError> + Unpin,
{
    type Data = B::Data;
    type Error = HttpError;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        use std::task::Poll;
        let this = &mut *self;
        match std::pin::Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                let deadline = tokio::time::Instant::now() + this.timeout;
                this.sleep.as_mut().reset(deadline);
                Poll::Ready(frame)
            }
            Poll::Pending => match this.sleep.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(HttpError::ConnectionReadTimeout))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }
}

fn tls_error(e: &rustls::Error) -> HttpError {
    match e {
        rustls::Error::InvalidCertificate(_) => HttpError::TlsCertificateError,
        _ => HttpError::TlsProtocolError,
    }
}

/// Maps a client error to the closest `wasi:http` error code.
fn classify(e: &hyper_util::client::legacy::Error) -> HttpError {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = next {
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            return tls_error(tls);
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => return HttpError::ConnectionRefused,
                std::io::ErrorKind::TimedOut => return HttpError::ConnectionTimeout,
                _ => {}
            }
            // A wrapped error (rustls' arrives this way) is not reachable through source().
            if let Some(inner) = io.get_ref() {
                next = Some(inner as &(dyn std::error::Error + 'static));
                continue;
            }
        }
        next = err.source();
    }
    if e.is_connect() {
        let text = e.to_string();
        if text.contains("dns error") || text.contains("failed to lookup") {
            return HttpError::DnsError {
                rcode: Some("lookup failed".into()),
                info_code: None,
            };
        }
        return HttpError::DestinationUnavailable;
    }
    HttpError::HttpProtocolError
}

#[cfg(test)]
mod tests {
    use super::origin_of;

    #[test]
    fn origins_fill_default_ports_and_normalise_case() {
        let o = origin_of(&"HTTP://Prom.Example:9090/api".parse().unwrap()).unwrap();
        assert_eq!(
            (o.scheme.as_str(), o.host.as_str(), o.port),
            ("http", "prom.example", 9090)
        );
        let o = origin_of(&"https://[::1]/x".parse().unwrap()).unwrap();
        assert_eq!((o.host.as_str(), o.port), ("::1", 443));
        assert!(origin_of(&"/relative".parse().unwrap()).is_none());
    }
}
