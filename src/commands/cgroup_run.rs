//! `maou-build cgroup-run` (hidden): one command in a memory cgroup capped like a 4 GB
//! Codespace, with the peak memory of its process tree: the bench's own cgroup
//! ([crate::bench::cgroup]) for a study by hand (`scripts/cgroup-run` calls it).

use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::bench::cgroup::Group;

#[derive(clap::Args)]
#[command(
    about = "Run a command in a memory cgroup (v1) capped at LIMIT and report its peak memory",
    long_about = "Run a command in a new memory cgroup (cgroup v1, needs root) capped at \
    LIMIT, the way `maou-build bench` runs its cold builds, and report on stderr its exit \
    status, its time, the peak resident memory of its whole process tree (page cache \
    excluded), the group's own peak and the OOM kills. Exits with the command's status."
)]
pub struct Args {
    /// The cap, in sccache's size syntax (4G, 3500M)
    #[arg(long, default_value = "4G", value_name = "SIZE")]
    limit: String,
    /// The command and its arguments
    #[arg(last = true, required = true, value_name = "COMMAND")]
    command: Vec<String>,
}

pub fn run(args: &Args) -> Result<ExitCode> {
    let limit = crate::sccache::parse_size(&args.limit)
        .with_context(|| format!("--limit {} is not a size (4G, 3500M)", args.limit))?;
    if let Some(why) = crate::bench::cgroup::unavailable() {
        bail!("no memory cgroup can be made here: {why}");
    }
    let group = Group::new("maou-build-cgroup-run", limit)?;
    let argv = group.wrap(&args.command);
    let started = Instant::now();
    let status = std::process::Command::new(&argv[0])
        .args(&argv[1..])
        .status()
        .with_context(|| format!("could not run `{}`", args.command.join(" ")))?;
    let seconds = started.elapsed().as_secs_f64();
    let usage = group.finish()?;
    let gib = |b: u64| b as f64 / f64::from(1u32 << 30);
    eprintln!(
        "cgroup-run: limit {}, {status}, {seconds:.1} s, peak RSS of the tree {:.2} GiB, \
         cgroup peak incl. cache {:.2} GiB, OOM kills {}",
        args.limit,
        gib(usage.peak_rss_bytes),
        gib(usage.peak_with_cache_bytes),
        usage.oom_kills
    );
    Ok(ExitCode::from(
        status.code().map_or(1, |c| u8::try_from(c).unwrap_or(1)),
    ))
}
