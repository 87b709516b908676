//! The soak's "trouble" backend: a loopback server that accepts connections, reads whatever comes
//! and never answers, so that calls to it run into their deadline. It counts connections, so that
//! one the host keeps after giving up shows at the end of the run.

use std::io::{self, Read};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// A loopback backend that reads requests and never answers; it counts connections so a connection
/// the host keeps after giving up shows.
pub struct Trouble {
    /// Its loopback port.
    pub port: u16,
    /// Connections accepted so far.
    pub accepted: Arc<AtomicU64>,
    /// Connections the peer has not closed yet.
    pub open: Arc<AtomicUsize>,
}

impl Trouble {
    /// Listens on a free loopback port and serves from a thread of its own.
    pub fn start() -> io::Result<Trouble> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let accepted = Arc::new(AtomicU64::new(0));
        let open = Arc::new(AtomicUsize::new(0));
        let (a, o) = (accepted.clone(), open.clone());
        std::thread::Builder::new()
            .name("trouble-backend".into())
            .spawn(move || {
                for mut stream in listener.incoming().flatten() {
                    a.fetch_add(1, Ordering::Relaxed);
                    o.fetch_add(1, Ordering::Relaxed);
                    let open = o.clone();
                    let spawned = std::thread::Builder::new().spawn(move || {
                        // Read (and ignore) whatever comes until the peer closes; never write.
                        let mut buf = [0u8; 4096];
                        while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
                        open.fetch_sub(1, Ordering::Relaxed);
                    });
                    if spawned.is_err() {
                        o.fetch_sub(1, Ordering::Relaxed);
                    }
                }
            })?;
        Ok(Trouble {
            port,
            accepted,
            open,
        })
    }
}
