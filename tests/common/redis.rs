//! A real Redis server (Debian's `redis-server`, installed by scripts/setup) on 127.0.0.1
//! with a free port, in memory only, stopped when dropped.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Redis {
    pub port: u16,
    child: Option<Child>,
}

impl Redis {
    /// Starts one with `extra` arguments (`--replicaof ...`, say) and waits until it
    /// answers PING.
    pub fn start(extra: &[&str]) -> Redis {
        let port = super::free_port();
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no", "--protected-mode", "no"])
            .args(extra)
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("redis-server is needed (scripts/setup installs it from Debian): {e}")
            });
        let redis = Redis {
            port,
            child: Some(child),
        };
        let started = Instant::now();
        while redis.cli(&["PING"]).as_deref() != Some("PONG") {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "redis-server on port {port} does not answer"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// `redis-cli` against this server: its output, or None when it failed.
    pub fn cli(&self, args: &[&str]) -> Option<String> {
        let out = Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(args)
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
            .filter(|o| !o.starts_with("Could not connect"))
    }

    /// The number of keys stored.
    pub fn keys(&self) -> u64 {
        self.cli(&["DBSIZE"]).unwrap().parse().unwrap()
    }

    /// Stops the server now (what a team cache that went down looks like).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}
