//! A memory cgroup (v1) around one command: a cap like a 4 GB Codespace's, and the peak
//! memory of the command's whole process tree.
//!
//! The peak is `total_rss` from `memory.stat`, sampled while the command runs: resident
//! memory of every process in the group, page cache excluded (the kernel drops cache before
//! it kills anything, so cache does not decide whether a build fits). The group's own peak
//! (`memory.max_usage_in_bytes`, cache included) and OOM kills are read at the end.

use std::fs;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use anyhow::{Context, Result};
use serde::Serialize;

const ROOT: &str = "/sys/fs/cgroup/memory";

/// What the group saw.
#[derive(Debug, Clone, Serialize)]
pub struct Usage {
    pub limit_bytes: u64,
    /// Peak resident memory of the process tree (page cache excluded).
    pub peak_rss_bytes: u64,
    /// The group's own peak, page cache included.
    pub peak_with_cache_bytes: u64,
    pub oom_kills: u64,
}

pub struct Group {
    dir: PathBuf,
    limit: u64,
    peak: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    sampler: Option<thread::JoinHandle<()>>,
}

/// Why no group can be made here, or None if one can.
pub fn unavailable() -> Option<String> {
    let root = PathBuf::from(ROOT);
    if !root.join("memory.limit_in_bytes").is_file() {
        return Some(format!(
            "no cgroup v1 memory controller at {ROOT} (this machine may use cgroup v2 only)"
        ));
    }
    let probe = root.join(format!("maou-build-probe-{}", std::process::id()));
    match fs::create_dir(&probe) {
        Ok(()) => {
            let _ = fs::remove_dir(&probe);
            None
        }
        Err(e) => Some(format!(
            "cannot create a memory cgroup under {ROOT} ({e}; needs root)"
        )),
    }
}

impl Group {
    /// A new group capped at `limit` bytes (swap included where the kernel accounts it).
    pub fn new(name: &str, limit: u64) -> Result<Group> {
        let dir = PathBuf::from(ROOT).join(format!("{name}-{}", std::process::id()));
        fs::create_dir(&dir)
            .with_context(|| format!("cannot create the cgroup {}", dir.display()))?;
        fs::write(dir.join("memory.limit_in_bytes"), limit.to_string())
            .with_context(|| format!("cannot set the limit of {}", dir.display()))?;
        // Without swap accounting this file does not exist; the cap then holds RAM only.
        let _ = fs::write(dir.join("memory.memsw.limit_in_bytes"), limit.to_string());
        let peak = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let sampler = {
            let (dir, peak, stop) = (dir.clone(), Arc::clone(&peak), Arc::clone(&stop));
            thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if let Some(rss) = stat(&dir, "total_rss") {
                        peak.fetch_max(rss, Ordering::Relaxed);
                    }
                    thread::sleep(Duration::from_millis(100));
                }
            })
        };
        Ok(Group {
            dir,
            limit,
            peak,
            stop,
            sampler: Some(sampler),
        })
    }

    /// `argv` wrapped so that it joins this group before it starts: every process it
    /// starts is then in the group too.
    pub fn wrap(&self, argv: &[String]) -> Vec<String> {
        let mut wrapped = vec![
            "sh".to_owned(),
            "-c".to_owned(),
            "echo $$ > \"$0/cgroup.procs\" && exec \"$@\"".to_owned(),
            self.dir.to_string_lossy().into_owned(),
        ];
        wrapped.extend(argv.iter().cloned());
        wrapped
    }

    /// Stops sampling and reads the totals. Processes still in the group (a server the
    /// command left running) must be stopped before the group can be removed.
    pub fn finish(mut self) -> Result<Usage> {
        thread::sleep(Duration::from_millis(150));
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.sampler.take() {
            let _ = t.join();
        }
        let read = |file: &str| -> u64 {
            fs::read_to_string(self.dir.join(file))
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(0)
        };
        let usage = Usage {
            limit_bytes: self.limit,
            peak_rss_bytes: self.peak.load(Ordering::Relaxed),
            peak_with_cache_bytes: read("memory.max_usage_in_bytes"),
            oom_kills: fs::read_to_string(self.dir.join("memory.oom_control"))
                .ok()
                .and_then(|s| {
                    s.lines()
                        .find_map(|l| l.strip_prefix("oom_kill ")?.trim().parse().ok())
                })
                .unwrap_or(0),
        };
        Ok(usage)
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.sampler.take() {
            let _ = t.join();
        }
        let _ = fs::remove_dir(&self.dir);
    }
}

fn stat(dir: &std::path::Path, key: &str) -> Option<u64> {
    fs::read_to_string(dir.join("memory.stat"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(' ')?.trim().parse().ok())
}
