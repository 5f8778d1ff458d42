//! The pieces of `maou-build bench`: a sandbox (a copy of the workspace with caches of
//! its own), timed series of runs, the scenarios, and the reports.

pub mod cgroup;
pub mod chart;
mod redis;
mod release_server;
pub mod report;
pub mod run;
mod sandbox;
pub mod scenarios;

use serde::Serialize;

pub use sandbox::Sandbox;

/// A timed series: one label, one command, N wall-clock times.
#[derive(Debug, Clone, Serialize)]
pub struct Series {
    pub label: String,
    /// The command that was timed, as a shell line (environment included), so that anyone
    /// can time it again with /usr/bin/time.
    pub command: String,
    pub seconds: Vec<f64>,
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Series {
    pub fn new(label: &str, command: String) -> Series {
        Series {
            label: label.to_owned(),
            command,
            seconds: Vec::new(),
            median: f64::NAN,
            min: f64::NAN,
            max: f64::NAN,
        }
    }

    pub fn push(&mut self, seconds: f64) {
        self.seconds.push(seconds);
        let mut sorted = self.seconds.clone();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        self.median = if n % 2 == 1 {
            sorted[n / 2]
        } else {
            (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
        };
        self.min = sorted[0];
        self.max = sorted[n - 1];
    }
}

/// One finished command.
pub struct Ran {
    pub seconds: f64,
    pub stdout: String,
    pub stderr: String,
}

/// A failed command, with what it printed.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    pub step: String,
    pub command: String,
    pub output: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} failed: `{}`\n{}",
            self.step,
            self.command,
            tail(&self.output, 40)
        )
    }
}

impl std::error::Error for Failure {}

pub use crate::messages::tail;

/// A command line: program, arguments and the variables it needs beyond the sandbox's.
#[derive(Clone)]
pub struct Cmd {
    pub argv: Vec<String>,
    pub env: Vec<(String, String)>,
    pub env_remove: Vec<String>,
}

impl Cmd {
    pub fn new<S: Into<String>>(argv: impl IntoIterator<Item = S>) -> Cmd {
        Cmd {
            argv: argv.into_iter().map(Into::into).collect(),
            env: Vec::new(),
            env_remove: Vec::new(),
        }
    }

    pub fn env(mut self, k: impl Into<String>, v: impl Into<String>) -> Cmd {
        self.env.push((k.into(), v.into()));
        self
    }

    pub fn without(mut self, k: &str) -> Cmd {
        self.env_remove.push(k.to_owned());
        self
    }
}

/// Ctrl-C stopped the bench: the error that says so, told apart by its type.
#[derive(Debug)]
pub struct Interrupted;

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("interrupted")
    }
}

impl std::error::Error for Interrupted {}

/// Whether `err` is (or wraps) [Interrupted].
pub fn is_interrupt(err: &anyhow::Error) -> bool {
    err.downcast_ref::<Interrupted>().is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_keep_median_min_and_max() {
        let mut s = Series::new("x", "true".into());
        s.push(3.0);
        assert_eq!((s.median, s.min, s.max), (3.0, 3.0, 3.0));
        s.push(1.0);
        assert_eq!(s.median, 2.0);
        s.push(10.0);
        assert_eq!((s.median, s.min, s.max), (3.0, 1.0, 10.0));
    }
}
