//! cargo's configuration files, as cargo reads them for a directory: `.cargo/config.toml`
//! (or the older `.cargo/config`) in it and in every parent, then `$CARGO_HOME/config.toml`;
//! for each key the nearest file wins. A user-level file such as the one maou's
//! `scripts/dev-init.sh` writes (`[build] target-dir`, `jobs`, `[profile.py-ext]`) applies
//! to every build of that user, through every door: doctor and init judge what cargo will
//! actually use, and name the file that decides it.

use std::path::{Path, PathBuf};

/// One configuration file and its table.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    pub path: PathBuf,
    pub table: toml::Table,
}

/// The configuration files that apply in a directory, nearest first.
#[derive(Debug, Clone, Default)]
pub struct CargoConfig {
    pub files: Vec<ConfigFile>,
}

/// A value and the file that set it.
#[derive(Debug, Clone, Copy)]
pub struct Found<'a> {
    pub value: &'a toml::Value,
    pub file: &'a Path,
}

impl CargoConfig {
    /// The files cargo reads when run in `dir` (unreadable or malformed files are left out:
    /// cargo itself then stops with its own error, which names the file).
    pub fn for_dir(dir: &Path) -> CargoConfig {
        // cargo's file in a directory: `config.toml`, else the older `config`.
        let file_in = |d: &Path| {
            ["config.toml", "config"]
                .iter()
                .map(|name| d.join(name))
                .find(|p| p.is_file())
        };
        let mut paths: Vec<PathBuf> = dir
            .ancestors()
            .filter_map(|d| file_in(&d.join(".cargo")))
            .collect();
        paths.extend(crate::fsutil::cargo_home().and_then(|home| file_in(&home)));
        let mut seen: Vec<PathBuf> = Vec::new();
        let mut files = Vec::new();
        for path in paths {
            let canonical = path.canonicalize().unwrap_or_else(|_| path.clone());
            if seen.contains(&canonical) {
                continue;
            }
            seen.push(canonical);
            let Some(table) = std::fs::read_to_string(&path)
                .ok()
                .and_then(|t| t.parse::<toml::Table>().ok())
            else {
                continue;
            };
            files.push(ConfigFile { path, table });
        }
        CargoConfig { files }
    }

    /// The value at `keys` (`["build", "target-dir"]`) and the nearest file that sets it.
    pub fn get(&self, keys: &[&str]) -> Option<Found<'_>> {
        self.files.iter().find_map(|f| {
            let (first, rest) = keys.split_first()?;
            let mut value = f.table.get(*first)?;
            for k in rest {
                value = value.as_table()?.get(*k)?;
            }
            Some(Found {
                value,
                file: &f.path,
            })
        })
    }
}

/// A value as written in TOML (`"/tmp/t"`, `16`, `true`), for messages.
pub fn shown(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => format!("{s:?}"),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => f.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nearest_file_wins_and_cargo_home_comes_last() {
        let tmp = tempfile::tempdir().unwrap();
        let ws = tmp.path().join("ws/sub");
        std::fs::create_dir_all(ws.join(".cargo")).unwrap();
        std::fs::create_dir_all(tmp.path().join("ws/.cargo")).unwrap();
        std::fs::write(
            ws.join(".cargo/config.toml"),
            "[build]\njobs = 2\n[profile.py-ext]\ncodegen-units = 256\n",
        )
        .unwrap();
        std::fs::write(
            tmp.path().join("ws/.cargo/config"),
            "[build]\njobs = 1\ntarget-dir = \"/tmp/t\"\n",
        )
        .unwrap();
        let config = CargoConfig::for_dir(&ws);
        let jobs = config.get(&["build", "jobs"]).unwrap();
        assert_eq!(jobs.value.as_integer(), Some(2));
        assert_eq!(jobs.file, ws.join(".cargo/config.toml"));
        let dir = config.get(&["build", "target-dir"]).unwrap();
        assert_eq!(dir.value.as_str(), Some("/tmp/t"));
        assert_eq!(dir.file, tmp.path().join("ws/.cargo/config"));
        assert!(config.get(&["build", "rustc-wrapper"]).is_none());
        let cgu = config.get(&["profile", "py-ext", "codegen-units"]).unwrap();
        assert_eq!(cgu.value.as_integer(), Some(256));
    }
}
