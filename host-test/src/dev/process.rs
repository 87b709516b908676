//! Processes the benchmark, the soak and the tests start and watch: a child stopped on drop, and
//! the `/proc/<pid>/status` figures (RSS, peak RSS, threads) they report. Linux only, like the tests.

use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// A child process (the host) stopped on drop: SIGTERM, then SIGKILL if it has not exited in 10 s.
pub struct Stopped(pub Child);

impl Drop for Stopped {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.0.id().to_string())
            .status();
        let until = Instant::now() + Duration::from_secs(10);
        while Instant::now() < until {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A numeric field of `/proc/<pid>/status` (`"VmHWM:"` peak RSS and `"VmRSS:"` RSS in KiB,
/// `"Threads:"`), or `None` when the process or the field is gone.
pub fn status_field(pid: u32, name: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with(name))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}
