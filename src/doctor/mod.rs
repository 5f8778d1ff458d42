//! What in this environment slows or breaks builds, and the one-line fix for each. It only
//! looks: nothing is created, linked or started. The project's configuration (toolchain,
//! linker, profile) is checked in [config], the machine (cache, memory, disk, tools) in
//! [machine].

mod config;
mod machine;

use serde::Serialize;

use crate::workspace::Workspace;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Level {
    Pass,
    Warn,
    Fail,
}

#[derive(Serialize)]
pub struct Check {
    pub name: &'static str,
    pub level: Level,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

fn pass(name: &'static str, detail: impl Into<String>) -> Check {
    Check {
        name,
        level: Level::Pass,
        detail: detail.into(),
        fix: None,
    }
}

fn warn(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
    Check {
        fix: Some(fix.into()),
        level: Level::Warn,
        ..pass(name, detail)
    }
}

fn fail(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
    Check {
        level: Level::Fail,
        ..warn(name, detail, fix)
    }
}

/// A variable of the environment, when set and not empty.
fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Every check, in the order they print.
pub fn run(ws: &Workspace) -> Report {
    let mut checks = vec![config::toolchain(ws), config::linker(ws)];
    machine::sccache(&mut checks);
    checks.push(machine::team_cache(ws));
    config::profile(ws, &mut checks);
    checks.push(config::uv_door(ws));
    checks.push(config::uv_staleness(ws));
    checks.push(config::other_doors(ws));
    machine::jobs(ws, &mut checks);
    checks.push(machine::target(ws));
    checks.push(machine::pythons(ws));
    checks.push(machine::tool(
        "uv",
        "develop creates the venv with it",
        true,
    ));
    checks.push(machine::tool("maturin", "wheels are built with it", false));
    Report {
        ok: !checks.iter().any(|c| c.level == Level::Fail),
        checks,
    }
}

#[derive(Serialize)]
pub struct Report {
    /// No check failed (warnings allowed).
    pub ok: bool,
    pub checks: Vec<Check>,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for c in &self.checks {
            let level = match c.level {
                Level::Pass => "PASS",
                Level::Warn => "WARN",
                Level::Fail => "FAIL",
            };
            writeln!(f, "{level}  {:<14} {}", c.name, c.detail)?;
            if let Some(fix) = &c.fix {
                writeln!(f, "      {:<14} fix: {fix}", "")?;
            }
        }
        Ok(())
    }
}
