//! Processes the benchmark, the soak and the tests start and watch: a child stopped on drop, and
//! the `/proc/<pid>/status` figures (RSS, peak RSS, threads) and the CPU time they report. Linux only,
//! like the tests.

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

/// CPU time the process has used so far, user plus system, over all its threads, in seconds
/// (`/proc/<pid>/stat` fields 14 and 15); `None` when the process is gone. Differences of two
/// readings over a run, divided by the calls made, give CPU per call, which unlike latency or
/// throughput hardly depends on what else the machine is doing.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    // `rest` starts at field 3 (state): utime is field 14, stime field 15.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) as f64 / clock_ticks_per_second())
}

/// `sysconf(_SC_CLK_TCK)`, the unit of `/proc/<pid>/stat` and `/proc/stat` times: asked of `getconf`
/// once, 100 (what Linux uses everywhere) if that fails.
pub fn clock_ticks_per_second() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .filter(|t: &f64| *t > 0.0)
            .unwrap_or(100.0)
    })
}
