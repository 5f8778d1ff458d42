//! A real Redis server for the team-cache scenario: Debian's `redis-server` on 127.0.0.1
//! with a free port, in memory only, stopped when dropped.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::process::{self, Background};
use crate::team_cache::{self, Health, RedisUrl};

pub struct LocalRedis {
    _server: Background,
    pub url: String,
}

impl LocalRedis {
    /// Starts an empty one and waits until it takes a write.
    pub fn start() -> Result<LocalRedis> {
        let program = process::on_path("redis-server")
            .context("redis-server is not on PATH (Debian: apt-get install redis-server)")?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .context("cannot find a free port for Redis")?;
        let port_arg = port.to_string();
        let server = Background::start(
            &program.to_string_lossy(),
            [
                "--bind",
                "127.0.0.1",
                "--port",
                &port_arg,
                "--save",
                "",
                "--appendonly",
                "no",
            ],
        )?;
        let url = format!("redis://127.0.0.1:{port}");
        let parsed = RedisUrl::parse(&url)?;
        let started = Instant::now();
        loop {
            server.check_running()?;
            if let Health::Usable { .. } = team_cache::probe(&parsed, Duration::from_millis(500)) {
                return Ok(LocalRedis {
                    _server: server,
                    url,
                });
            }
            if started.elapsed() > Duration::from_secs(20) {
                bail!("redis-server on port {port} took no write within 20 s");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}
