//! How much memory and how many cores a build may really use, and the cargo job count
//! that follows. A container's memory limit (a cgroup) counts, not only the machine's RAM:
//! a 4 GB Codespace on a 64 GB host must build as a 4 GB machine.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

const GIB: u64 = 1 << 30;

/// Peak resident memory one rustc job may need in the dev profile with 16 codegen units:
/// the largest crates of this shape (polars-core and friends) peak a little above 1 GiB.
pub const MEMORY_PER_JOB: u64 = 1_400 * (1 << 20);
/// Memory left for the rest of the tree (cargo, sccache, the linker's tail, the editor).
pub const MEMORY_RESERVE: u64 = 1_100 * (1 << 20);

#[derive(Debug, Clone, Serialize)]
pub struct Memory {
    /// Bytes a build may use now.
    pub available: u64,
    /// The limit that bounds `available`, e.g. "cgroup v1 limit 4.0 GiB (/sys/fs/cgroup/memory/x)".
    pub bound_by: String,
    /// The tightest cgroup memory limit over this process, if any.
    pub cgroup_limit: Option<u64>,
}

pub fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / GIB as f64)
}

fn read_u64(path: &Path) -> Option<u64> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// `key value` lines (memory.stat, /proc/meminfo without the unit).
fn stat_value(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let mut parts = line.split_whitespace();
        (parts.next()?.trim_end_matches(':') == key)
            .then(|| parts.next()?.parse().ok())
            .flatten()
    })
}

/// A cgroup's limit and the memory its members use, page cache that can be dropped excluded.
struct CgroupMemory {
    dir: PathBuf,
    version: u8,
    limit: u64,
    used: u64,
}

/// The cgroup directories of this process for the memory controller, innermost first,
/// up to the root: a limit set on any ancestor applies too.
fn cgroup_dirs() -> Vec<(u8, PathBuf)> {
    let Ok(own) = fs::read_to_string("/proc/self/cgroup") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for line in own.lines() {
        let mut fields = line.splitn(3, ':');
        let (_, controllers, path) = match (fields.next(), fields.next(), fields.next()) {
            (Some(a), Some(b), Some(c)) => (a, b, c),
            _ => continue,
        };
        let (version, base) = if controllers.split(',').any(|c| c == "memory") {
            (1, Path::new("/sys/fs/cgroup/memory"))
        } else if controllers.is_empty() && Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
        {
            (2, Path::new("/sys/fs/cgroup"))
        } else {
            continue;
        };
        let mut dir = base.join(path.trim_start_matches('/'));
        loop {
            out.push((version, dir.clone()));
            if dir == base || !dir.pop() || !dir.starts_with(base) {
                break;
            }
        }
    }
    out
}

fn cgroup_memory(version: u8, dir: &Path) -> Option<CgroupMemory> {
    let (limit, used, inactive_file) = if version == 1 {
        let limit = read_u64(&dir.join("memory.limit_in_bytes"))?;
        let used = read_u64(&dir.join("memory.usage_in_bytes"))?;
        let stat = fs::read_to_string(dir.join("memory.stat")).unwrap_or_default();
        (
            limit,
            used,
            stat_value(&stat, "total_inactive_file").unwrap_or(0),
        )
    } else {
        let limit = fs::read_to_string(dir.join("memory.max"))
            .ok()?
            .trim()
            .parse()
            .ok()?;
        let used = read_u64(&dir.join("memory.current"))?;
        let stat = fs::read_to_string(dir.join("memory.stat")).unwrap_or_default();
        (limit, used, stat_value(&stat, "inactive_file").unwrap_or(0))
    };
    // cgroup v1 reports "no limit" as a huge page-aligned number.
    (limit < (1 << 60)).then(|| CgroupMemory {
        dir: dir.to_path_buf(),
        version,
        limit,
        used: used.saturating_sub(inactive_file),
    })
}

pub fn memory() -> Memory {
    let meminfo = fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let host_available = stat_value(&meminfo, "MemAvailable").map_or(u64::MAX, |kib| kib * 1024);
    let mut best = Memory {
        available: host_available,
        bound_by: format!("MemAvailable {} (/proc/meminfo)", gib(host_available)),
        cgroup_limit: None,
    };
    for (version, dir) in cgroup_dirs() {
        let Some(cg) = cgroup_memory(version, &dir) else {
            continue;
        };
        best.cgroup_limit = Some(best.cgroup_limit.map_or(cg.limit, |l| l.min(cg.limit)));
        let free = cg.limit.saturating_sub(cg.used);
        if free < best.available {
            best.available = free;
            best.bound_by = format!(
                "cgroup v{} limit {} with {} in use ({})",
                cg.version,
                gib(cg.limit),
                gib(cg.used),
                cg.dir.display()
            );
        }
    }
    best
}

/// Cores this process may run on (affinity and CPU quota respected by the standard library).
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[derive(Debug, Clone, Serialize)]
pub struct Jobs {
    pub jobs: usize,
    pub why: String,
}

/// Whether `available` bytes hold even one job after the reserve: below it, a build may
/// run out of memory whatever the job count.
pub fn holds_one_job(available: u64) -> bool {
    available >= MEMORY_RESERVE + MEMORY_PER_JOB
}

/// The cargo job count: one per core, but no more than the memory can hold at
/// `MEMORY_PER_JOB` each after `MEMORY_RESERVE`, and never less than one.
pub fn choose_jobs(requested: Option<usize>) -> Jobs {
    let cores = cores();
    if let Some(jobs) = requested {
        return Jobs {
            jobs,
            why: format!("--jobs {jobs} ({cores} cores)"),
        };
    }
    let mem = memory();
    let by_memory = (mem.available.saturating_sub(MEMORY_RESERVE) / MEMORY_PER_JOB).max(1) as usize;
    let jobs = by_memory.min(cores).max(1);
    let limiting = if by_memory < cores {
        format!(
            "memory: {} available ({}) holds {by_memory} job(s) of ~{} after {} reserve",
            gib(mem.available),
            mem.bound_by,
            gib(MEMORY_PER_JOB),
            gib(MEMORY_RESERVE)
        )
    } else {
        format!(
            "cores ({} available, room for {by_memory})",
            gib(mem.available)
        )
    };
    Jobs {
        jobs,
        why: format!("{jobs} of {cores} cores, limited by {limiting}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_values_parse_with_or_without_colon() {
        let meminfo = "MemTotal:       24000000 kB\nMemAvailable:   20000000 kB\n";
        assert_eq!(stat_value(meminfo, "MemAvailable"), Some(20_000_000));
        let stat = "cache 10\ntotal_inactive_file 4096\n";
        assert_eq!(stat_value(stat, "total_inactive_file"), Some(4096));
        assert_eq!(stat_value(stat, "missing"), None);
    }

    #[test]
    fn requested_jobs_win_and_say_so() {
        let jobs = choose_jobs(Some(3));
        assert_eq!(jobs.jobs, 3);
        assert!(jobs.why.starts_with("--jobs 3"), "{}", jobs.why);
    }

    #[test]
    fn chosen_jobs_fit_cores_and_memory() {
        let jobs = choose_jobs(None);
        assert!(jobs.jobs >= 1 && jobs.jobs <= cores());
        let mem = memory();
        if jobs.jobs > 1 {
            assert!(MEMORY_RESERVE + jobs.jobs as u64 * MEMORY_PER_JOB <= mem.available);
        }
    }
}
