//! CPython interpreters: which versions `requires-python` allows, and where to find them.
//!
//! Interpreters are found through PATH (`python3.12`) and then pyenv (whose shims on
//! PATH only work for the selected versions, so its installed versions are asked for
//! directly). A candidate counts only after it has run and said what it is. (Over 400
//! lines with its tests of the version rules; the rules and the search belong together.)

use std::cmp::Ordering;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::process;

/// The CPython minor versions maou-build knows how to look for.
const KNOWN_MINORS: std::ops::RangeInclusive<u32> = 7..=15;

/// A `major.minor` CPython version such as 3.12.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct Minor {
    pub major: u32,
    pub minor: u32,
}

impl Minor {
    /// The CPython wheel tag, e.g. `cp312`.
    pub fn tag(self) -> String {
        format!("cp{}{}", self.major, self.minor)
    }
}

/// Serialized as `"3.12"`, the spelling scripts and users pass back to `--python`.
impl Serialize for Minor {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl TryFrom<String> for Minor {
    type Error = anyhow::Error;

    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl fmt::Display for Minor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl FromStr for Minor {
    type Err = anyhow::Error;

    /// Accepts `3.12`, `312`, `cp312`, `python3.12`.
    fn from_str(s: &str) -> Result<Self> {
        let t = s
            .trim()
            .trim_start_matches("python")
            .trim_start_matches("cp");
        let parsed = match t.split_once('.') {
            Some((a, b)) => a.parse().ok().zip(b.parse().ok()),
            None if t.len() >= 2 && t.chars().all(|c| c.is_ascii_digit()) => {
                t[..1].parse().ok().zip(t[1..].parse().ok())
            }
            None => None,
        };
        let (major, minor) =
            parsed.ok_or_else(|| anyhow!("`{s}` is not a Python version (expected e.g. 3.12)"))?;
        Ok(Minor { major, minor })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Ge,
    Gt,
    Le,
    Lt,
    Eq,
    Ne,
    Compatible,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Clause {
    op: Op,
    version: Vec<u64>,
    /// `==3.11.*` / `!=3.11.*`: compare only the given components.
    wildcard: bool,
}

/// A PEP 440 version specifier such as `>=3.11,<3.13`, as far as `requires-python`
/// uses it (release segments only; pre-releases are not looked at).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Specifier {
    text: String,
    clauses: Vec<Clause>,
}

fn cmp_release(a: &[u64], b: &[u64]) -> Ordering {
    let n = a.len().max(b.len());
    (0..n)
        .map(|i| a.get(i).unwrap_or(&0).cmp(b.get(i).unwrap_or(&0)))
        .find(|o| o.is_ne())
        .unwrap_or(Ordering::Equal)
}

impl Clause {
    fn matches(&self, v: &[u64]) -> bool {
        if self.wildcard {
            let prefix =
                v.len() >= self.version.len() && v[..self.version.len()] == self.version[..];
            return match self.op {
                Op::Eq => prefix,
                Op::Ne => !prefix,
                _ => unreachable!("wildcards are parsed only with == and !="),
            };
        }
        let o = cmp_release(v, &self.version);
        match self.op {
            Op::Ge => o.is_ge(),
            Op::Gt => o.is_gt(),
            Op::Le => o.is_le(),
            Op::Lt => o.is_lt(),
            Op::Eq => o.is_eq(),
            Op::Ne => o.is_ne(),
            Op::Compatible => {
                let keep = self.version.len().saturating_sub(1).max(1);
                o.is_ge() && v.len() >= keep && v[..keep] == self.version[..keep]
            }
        }
    }
}

impl FromStr for Specifier {
    type Err = anyhow::Error;

    fn from_str(text: &str) -> Result<Self> {
        let mut clauses = Vec::new();
        for raw in text.split(',').map(str::trim).filter(|c| !c.is_empty()) {
            let (op, rest) = [
                ("~=", Op::Compatible),
                (">=", Op::Ge),
                ("<=", Op::Le),
                ("==", Op::Eq),
                ("!=", Op::Ne),
                (">", Op::Gt),
                ("<", Op::Lt),
            ]
            .iter()
            .find_map(|(p, op)| raw.strip_prefix(p).map(|rest| (*op, rest.trim())))
            .ok_or_else(|| {
                anyhow!("`{raw}` in requires-python `{text}` has no comparison operator")
            })?;
            let (digits, wildcard) = match rest.strip_suffix(".*") {
                Some(d) if matches!(op, Op::Eq | Op::Ne) => (d, true),
                Some(_) => {
                    bail!("`{raw}` in requires-python `{text}`: `.*` only goes with == or !=")
                }
                None => (rest, false),
            };
            let version = digits
                .split('.')
                .map(|p| p.parse::<u64>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| {
                    anyhow!("`{raw}` in requires-python `{text}` is not a plain release version")
                })?;
            clauses.push(Clause {
                op,
                version,
                wildcard,
            });
        }
        Ok(Specifier {
            text: text.to_owned(),
            clauses,
        })
    }
}

impl Specifier {
    /// Whether an exact interpreter version satisfies every clause.
    pub fn allows(&self, version: &[u64]) -> bool {
        self.clauses.iter().all(|c| c.matches(version))
    }

    /// Whether some release of a minor version is allowed (3.11 for `>=3.11.4`).
    pub fn allows_minor(&self, m: Minor) -> bool {
        let (major, minor) = (u64::from(m.major), u64::from(m.minor));
        [0, 1, 99]
            .iter()
            .any(|patch| self.allows(&[major, minor, *patch]))
    }

    /// The CPython 3 minor versions this specifier allows, oldest first.
    pub fn allowed_minors(&self) -> Vec<Minor> {
        KNOWN_MINORS
            .map(|minor| Minor { major: 3, minor })
            .filter(|m| self.allows_minor(*m))
            .collect()
    }
}

impl fmt::Display for Specifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A CPython interpreter that has been run and has described itself.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Interpreter {
    pub minor: Minor,
    /// The full version, e.g. `3.12.1`.
    pub version: String,
    /// `sys.executable`: the real binary, not a pyenv shim.
    pub executable: PathBuf,
    /// The real path of the interpreter a venv's is made from (`sys._base_executable`): the
    /// one maturin builds with under `use-base-python`. None in a record made before it was
    /// asked.
    #[serde(default)]
    pub base_executable: Option<PathBuf>,
    /// `sysconfig.get_config_var("EXT_SUFFIX")`, e.g. `.cpython-312-x86_64-linux-gnu.so`.
    pub ext_suffix: String,
    /// How it was found: `PATH` or `pyenv`.
    #[serde(default)]
    pub found_via: String,
}

#[derive(Deserialize)]
struct Probe {
    implementation: String,
    version: Vec<u64>,
    executable: PathBuf,
    base_executable: Option<PathBuf>,
    ext_suffix: Option<String>,
}

const PROBE: &str = "import json, os, platform, sys, sysconfig; print(json.dumps({\
    'implementation': platform.python_implementation(), \
    'version': list(sys.version_info[:3]), \
    'executable': sys.executable, \
    'base_executable': os.path.realpath(getattr(sys, '_base_executable', None) or sys.executable), \
    'ext_suffix': sysconfig.get_config_var('EXT_SUFFIX')}))";

impl Interpreter {
    /// Runs `program` and returns it if it is the CPython `want` (any minor if `None`).
    pub fn probe(program: &Path, want: Option<Minor>, found_via: &str) -> Option<Interpreter> {
        let out = process::output(program.to_str()?, ["-c", PROBE], None).ok()?;
        let probe: Probe = serde_json::from_str(out.trim()).ok()?;
        let ext_suffix = probe.ext_suffix?;
        if probe.implementation != "CPython" || probe.version.len() < 2 {
            return None;
        }
        let minor = Minor {
            major: u32::try_from(probe.version[0]).ok()?,
            minor: u32::try_from(probe.version[1]).ok()?,
        };
        if want.is_some_and(|w| w != minor) {
            return None;
        }
        Some(Interpreter {
            minor,
            version: probe
                .version
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join("."),
            executable: probe.executable,
            base_executable: probe.base_executable,
            ext_suffix,
            found_via: found_via.to_owned(),
        })
    }
}

/// Finds a CPython of the given minor version: `pythonX.Y` on PATH, else the newest
/// matching pyenv installation.
pub fn find(minor: Minor) -> Option<Interpreter> {
    let name = format!("python{minor}");
    if let Some(path) = process::on_path(&name) {
        if let Some(found) = Interpreter::probe(&path, Some(minor), "PATH") {
            return Some(found);
        }
    }
    pyenv_candidates(minor)
        .into_iter()
        .find_map(|path| Interpreter::probe(&path, Some(minor), "pyenv"))
}

/// pyenv installations of `minor`, newest first.
fn pyenv_candidates(minor: Minor) -> Vec<PathBuf> {
    let Ok(root) = process::output("pyenv", ["root"], None) else {
        return Vec::new();
    };
    let Ok(versions) = process::output("pyenv", ["versions", "--bare", "--skip-aliases"], None)
    else {
        return Vec::new();
    };
    let prefix = format!("{minor}.");
    let mut found: Vec<(Vec<u64>, String)> = versions
        .lines()
        .map(str::trim)
        .filter(|v| v.starts_with(&prefix) && v.chars().all(|c| c.is_ascii_digit() || c == '.'))
        .map(|v| {
            (
                v.split('.').filter_map(|p| p.parse().ok()).collect(),
                v.to_owned(),
            )
        })
        .collect();
    found.sort();
    found
        .into_iter()
        .rev()
        .map(|(_, v)| {
            Path::new(root.trim())
                .join("versions")
                .join(v)
                .join("bin")
                .join(format!("python{minor}"))
        })
        .collect()
}

/// The interpreters to build for: every allowed minor that is installed, or exactly the
/// ones asked for (each must be allowed and installed).
pub fn select(spec: &Specifier, asked: &[Minor]) -> Result<Vec<Interpreter>> {
    if asked.is_empty() {
        let found: Vec<_> = spec.allowed_minors().into_iter().filter_map(find).collect();
        if found.is_empty() {
            bail!(
                "no CPython allowed by requires-python `{spec}` ({}) was found on PATH or in pyenv; \
                 install one (e.g. `uv python install {}`) or put it on PATH",
                spec.allowed_minors().iter().map(Minor::to_string).collect::<Vec<_>>().join(", "),
                spec.allowed_minors().last().map(Minor::to_string).unwrap_or_else(|| "3.12".into())
            );
        }
        return Ok(found);
    }
    asked
        .iter()
        .map(|&m| {
            if !spec.allows_minor(m) {
                bail!("CPython {m} is not allowed by requires-python `{spec}`");
            }
            find(m).with_context(|| {
                format!(
                    "CPython {m} is not installed (not on PATH as python{m}, not in pyenv); \
                     install it, e.g. `uv python install {m}` or `pyenv install {m}`"
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(s: &str) -> Specifier {
        s.parse().unwrap()
    }

    #[test]
    fn maou_range_allows_exactly_311_and_312() {
        let minors: Vec<String> = spec(">=3.11,<3.13")
            .allowed_minors()
            .iter()
            .map(Minor::to_string)
            .collect();
        assert_eq!(minors, ["3.11", "3.12"]);
    }

    #[test]
    fn clauses_follow_pep_440() {
        assert!(spec(">=3.11.4").allows(&[3, 11, 4]));
        assert!(!spec(">=3.11.4").allows(&[3, 11, 3]));
        assert!(spec(">=3.11.4").allows_minor(Minor {
            major: 3,
            minor: 11
        }));
        assert!(spec("~=3.10").allows(&[3, 12, 0]));
        assert!(!spec("~=3.10.2").allows(&[3, 11, 0]));
        assert!(spec("==3.12.*").allows(&[3, 12, 7]));
        assert!(!spec("!=3.12.*,>=3.11").allows(&[3, 12, 1]));
        assert!(!spec("<3.13").allows(&[3, 13, 0]));
        assert!(
            spec("").allows(&[3, 9, 0]),
            "an empty specifier allows everything"
        );
    }

    #[test]
    fn bad_specifiers_are_rejected_with_the_clause() {
        let err = "3.11".parse::<Specifier>().unwrap_err().to_string();
        assert!(err.contains("`3.11`"), "{err}");
        assert!(">=3.x".parse::<Specifier>().is_err());
        assert!(">=3.*".parse::<Specifier>().is_err());
    }

    #[test]
    fn minor_versions_parse_in_every_spelling() {
        for s in ["3.12", "312", "cp312", "python3.12"] {
            assert_eq!(
                s.parse::<Minor>().unwrap(),
                Minor {
                    major: 3,
                    minor: 12
                },
                "{s}"
            );
        }
        assert!("twelve".parse::<Minor>().is_err());
        assert_eq!(
            Minor {
                major: 3,
                minor: 11
            }
            .tag(),
            "cp311"
        );
    }
}
