//! Datasource URLs: parsed by hand into a normalised base URL and its [`Origin`] (for the host's egress
//! allow-list). Credentials, queries and fragments are refused; errors never quote the URL, as it may
//! hold credentials.

use std::fmt;
use std::net::Ipv6Addr;

use serde::{Deserialize, Serialize};

/// The origin of a datasource URL: scheme, lowercase host (IPv6 without brackets) and port (explicit,
/// or the scheme's default 80/443). The host uses these for its egress allow-list.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Origin {
    /// `"http"` or `"https"`.
    pub scheme: String,
    /// Lowercase host name or IP address; IPv6 in canonical form without brackets.
    pub host: String,
    /// The port, explicit or defaulted from the scheme.
    pub port: u16,
}

impl fmt::Display for Origin {
    /// `scheme://host:port`, with an IPv6 host in brackets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}://{}:{}",
            self.scheme,
            bracket_host(&self.host),
            self.port
        )
    }
}

/// `[host]` for IPv6 hosts, `host` otherwise.
fn bracket_host(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

/// Parses `scheme://host[:port][/path]` into the normalised base URL (lowercase scheme and host, no
/// trailing `/`) and its origin. Errors never quote the URL: it may hold credentials.
pub(super) fn parse_url(raw: &str) -> Result<(String, Origin), String> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(
            "the url is empty; give the base URL of the datasource, e.g. http://prometheus:9090"
                .into(),
        );
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("the url contains spaces or control characters".into());
    }
    let Some((scheme, rest)) = s.split_once("://") else {
        return Err("expected an absolute http(s) URL such as http://prometheus:9090".into());
    };
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => 80,
        "https" => 443,
        _ => return Err("the scheme must be http or https".into()),
    };
    // Refuse '@' anywhere, not just in the authority: a token with '/' in it (base64) would otherwise
    // split into a bogus host and path and surface in results and logs.
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    if rest.contains('@') {
        return Err("credentials in the url (user:password@host) are not allowed; use basicAuth: true with \
                    basicAuthUser and secureJsonData.basicAuthPassword instead"
            .into());
    }
    if path.contains(['?', '#']) {
        return Err(
            "the url must not have a query string or fragment; give the base URL of the \
                    datasource, e.g. http://thanos:9090/prometheus"
                .into(),
        );
    }

    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let Some((address, after)) = bracketed.split_once(']') else {
            return Err("unterminated IPv6 address (missing ']')".into());
        };
        let Ok(address) = address.parse::<Ipv6Addr>() else {
            return Err("the url's host is not a valid IPv6 address".into());
        };
        let port = match after {
            "" => None,
            _ => Some(
                after
                    .strip_prefix(':')
                    .ok_or("unexpected characters after the IPv6 address")?,
            ),
        };
        (address.to_string(), port)
    } else {
        let (host, port) = match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        };
        if port.is_some_and(|p| p.contains(':')) {
            return Err("IPv6 addresses must be in brackets, e.g. http://[::1]:9090".into());
        }
        if host.is_empty() {
            return Err("the url has no host".into());
        }
        if !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b))
        {
            return Err(
                "the url's host is not a valid host name (letters, digits, '-', '.', '_')".into(),
            );
        }
        (host.to_ascii_lowercase(), port)
    };
    let port_number = match port {
        None => default_port,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 && p.bytes().all(|b| b.is_ascii_digit()) => n,
            _ => {
                return Err("the url's port is invalid; expected a number from 1 to 65535".into());
            }
        },
    };

    let host_text = bracket_host(&host);
    let path = path.trim_end_matches('/');
    let url = match port {
        Some(_) => format!("{scheme}://{host_text}:{port_number}{path}"),
        None => format!("{scheme}://{host_text}{path}"),
    };
    Ok((
        url,
        Origin {
            scheme,
            host,
            port: port_number,
        },
    ))
}

#[cfg(test)]
mod tests {
    //! URL checks through the public parse entry point, so the errors carry the file and entry.

    use super::super::tests::{assert_entry_error, one, parse_err, parse_ok};

    #[test]
    fn origins_use_default_ports_and_bare_ipv6() {
        let text = "datasources:
  - {name: a, type: prometheus, url: 'HTTP://Prom.Local'}
  - {name: b, type: prometheus, url: 'https://secure.example/api/prom'}
  - {name: c, type: prometheus, url: 'http://[::1]:9090/'}
  - {name: d, type: prometheus, url: 'https://[2001:DB8:0:0:0:0:0:1]'}
  - {name: e, type: prometheus, url: 'http://10.0.0.5:9090'}
";
        let set = parse_ok(text);
        let origins: Vec<String> = set.origins().iter().map(|(o, _)| o.to_string()).collect();
        assert_eq!(
            origins,
            [
                "http://prom.local:80",
                "https://secure.example:443",
                "http://[::1]:9090",
                "https://[2001:db8::1]:443",
                "http://10.0.0.5:9090",
            ]
        );
        let c = set.get("c").unwrap();
        assert_eq!(c.origin.host, "::1");
        assert_eq!(c.url, "http://[::1]:9090");
        assert_eq!(set.get("a").unwrap().url, "http://prom.local");
        assert_eq!(set.origins()[1].1.name, "b");
    }

    #[test]
    fn bad_urls_are_errors() {
        let cases = [
            ("ftp://prom:9090", "scheme must be http or https"),
            ("prom:9090", "absolute http(s) URL"),
            ("http://", "no host"),
            ("http:///api", "no host"),
            ("http://:9090", "no host"),
            ("http://prom:99999", "port is invalid"),
            ("http://prom:abc", "port is invalid"),
            ("http://prom:0", "port is invalid"),
            ("http://prom:", "port is invalid"),
            ("http://[::1", "unterminated IPv6"),
            ("http://[not-ipv6]:80", "not a valid IPv6 address"),
            ("http://::1:9090", "must be in brackets"),
            ("http://prom:9090/api?x=1", "query string"),
            ("http://prom:9090#top", "fragment"),
            ("http://pr om:9090", "spaces"),
            ("http://prom%41:9090", "not a valid host name"),
            ("http://admin:pw@prom:9090", "use basicAuth"),
        ];
        for (url, needle) in cases {
            let err = parse_err(&one(&format!("    url: '{url}'\n")));
            assert_entry_error(&err, "1 ('prom')", needle);
        }
    }

    #[test]
    fn at_signs_anywhere_in_the_url_are_refused_without_quoting_it() {
        for url in [
            "http://u:abc/def@prom:9090",
            "https://tokA1b2/rest@prom.example",
            "http://prom:9090/x@y",
        ] {
            let err = parse_err(&one(&format!("    url: {url}\n")));
            assert_entry_error(&err, "1 ('prom')", "credentials in the url");
            assert!(
                !err.to_string().contains("abc") && !err.to_string().contains("tokA1b2"),
                "{err}"
            );
        }
        let err = parse_err(&one("    url: http://prom:s3cretport\n"));
        assert!(!err.to_string().contains("s3cretport"), "{err}");
    }
}
