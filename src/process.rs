//! Running other programs (cargo, python, uv, sccache...) through duct, with errors that
//! show the command line and what it printed.

use std::ffi::OsString;
use std::path::Path;

use anyhow::{bail, Context, Result};

/// Shell-like rendering of a command line, for messages ("run `cargo metadata ...`").
pub fn display(program: &str, args: &[OsString]) -> String {
    std::iter::once(program.to_owned())
        .chain(args.iter().map(|a| {
            let a = a.to_string_lossy();
            if a.is_empty() || a.contains(|c: char| c.is_whitespace() || c == '"' || c == '\'') {
                format!("'{}'", a.replace('\'', r"'\''"))
            } else {
                a.into_owned()
            }
        }))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A command line with the environment it needs in front, as a user would type it to
/// reproduce a build. sccache's own settings are left out: they change no output.
pub fn display_with_env<K: AsRef<str>>(
    env: impl IntoIterator<Item = (K, String)>,
    program: &str,
    args: &[OsString],
) -> String {
    let mut parts: Vec<String> = env
        .into_iter()
        .filter(|(k, _)| !k.as_ref().starts_with("SCCACHE_"))
        .map(|(k, v)| format!("{}={v}", k.as_ref()))
        .collect();
    parts.push(display(program, args));
    parts.join(" ")
}

/// Runs a short command and returns its standard output; on failure the error names
/// the command line, its exit status and its standard error.
pub fn output<I, S>(program: &str, args: I, cwd: Option<&Path>) -> Result<String>
where
    I: IntoIterator<Item = S>,
    S: Into<OsString>,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let shown = display(program, &args);
    let mut expr = duct::cmd(program, &args)
        .stdout_capture()
        .stderr_capture()
        .unchecked();
    if let Some(dir) = cwd {
        expr = expr.dir(dir);
    }
    let out = expr.run().with_context(|| {
        format!("could not run `{shown}` (is `{program}` installed and on PATH?)")
    })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        bail!("`{shown}` failed ({}):\n{}", out.status, stderr.trim_end());
    }
    String::from_utf8(out.stdout).with_context(|| format!("`{shown}` printed invalid UTF-8"))
}

/// Runs a longer command whose progress the user should see: its output goes to stderr
/// (stdout stays free for reports such as `--json`). On failure the error names the
/// command line and its exit status; the command's own messages are already on screen.
pub fn stream<P, I, S>(program: P, args: I) -> Result<()>
where
    P: AsRef<Path>,
    I: IntoIterator<Item = S>,
    S: Into<OsString>,
{
    let program = program.as_ref();
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let shown = display(&program.to_string_lossy(), &args);
    let status = duct::cmd(program, &args)
        .stdout_to_stderr()
        .unchecked()
        .run()
        .with_context(|| format!("could not run `{shown}`"))?
        .status;
    if !status.success() {
        bail!("`{shown}` failed ({status})");
    }
    Ok(())
}

/// Runs `expr` with its standard error merged into its standard output, handing each
/// line to `on_line` as it arrives (the caller shows it, or parses it). Returns whether the
/// command succeeded; `shown` names it in errors.
pub fn each_line(
    expr: duct::Expression,
    shown: &str,
    mut on_line: impl FnMut(&str),
) -> Result<bool> {
    use std::io::{BufRead, BufReader};
    let reader = expr
        .stderr_to_stdout()
        .unchecked()
        .reader()
        .with_context(|| format!("could not run `{shown}`"))?;
    let mut lines = BufReader::new(&reader);
    let mut line = String::new();
    while lines
        .read_line(&mut line)
        .with_context(|| format!("reading the output of `{shown}`"))?
        > 0
    {
        on_line(&line);
        line.clear();
    }
    let status = reader
        .try_wait()
        .with_context(|| format!("waiting for `{shown}`"))?
        .map(|o| o.status);
    Ok(status.is_some_and(|s| s.success()))
}

/// pyenv's shims are shell scripts that re-run `pyenv exec`: as RUSTC_WRAPPER that costs
/// a bash and a pyenv start for every crate, and in a build's clean environment they find
/// no pyenv at all, so the real program behind a shim is used instead.
pub fn resolve_pyenv_shim(program: std::path::PathBuf) -> std::path::PathBuf {
    let is_shim = program
        .parent()
        .and_then(Path::file_name)
        .is_some_and(|dir| dir == "shims");
    let name = program
        .file_name()
        .map(|n| n.to_string_lossy().into_owned());
    if let (true, Some(name)) = (is_shim, name) {
        if let Ok(real) = output("pyenv", ["which", name.as_str()], None) {
            let real = std::path::PathBuf::from(real.trim());
            if real.is_file() {
                return real;
            }
        }
    }
    program
}

/// The crate name in cargo's "   Compiling polars-core v0.55.2" progress line.
pub fn compiling_crate(line: &str) -> Option<&str> {
    let rest = line.trim_start().strip_prefix("Compiling ")?;
    let mut words = rest.split_whitespace();
    let name = words.next()?;
    words.next()?.starts_with('v').then_some(name)
}

/// Whether `program` can be found on PATH.
pub fn on_path(program: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// maou-build's own executable, to run it again (the bench's sandbox, the replay's
/// separate checkout). A long run must survive a rebuild of the binary meanwhile (cargo
/// replaces the file: the path then names a deleted file), so Linux's
/// `/proc/<this process>/exe`, which still opens the running binary, is preferred. Not
/// `/proc/self/exe`: through a wrapper (`sh -c '… exec "$@"'` into a memory cgroup) that
/// would name the wrapper.
pub fn own_exe() -> anyhow::Result<std::path::PathBuf> {
    let proc_exe = std::path::PathBuf::from(format!("/proc/{}/exe", std::process::id()));
    if proc_exe.exists() {
        return Ok(proc_exe);
    }
    std::env::current_exe().context("cannot find maou-build's own executable")
}

/// A program left running in the background (a server a scenario needs), its output
/// discarded; killed and reaped when dropped.
pub struct Background {
    handle: duct::Handle,
    shown: String,
}

impl Background {
    pub fn start<I, S>(program: &str, args: I) -> Result<Background>
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
        let shown = display(program, &args);
        let handle = duct::cmd(program, &args)
            .stdout_null()
            .stderr_null()
            .unchecked()
            .start()
            .with_context(|| format!("could not start `{shown}`"))?;
        Ok(Background { handle, shown })
    }

    /// Fails, naming the command, when it has already exited.
    pub fn check_running(&self) -> Result<()> {
        match self.handle.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(out)) => bail!("`{}` exited ({})", self.shown, out.status),
            Err(e) => Err(e).with_context(|| format!("waiting for `{}`", self.shown)),
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.handle.kill();
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn own_exe_still_names_this_binary_through_a_wrapping_shell() {
        // The unit-test binary is this process: through `sh -c 'exec "$0" …'` it must
        // start again and list its tests, this one among them (the memory cgroup's
        // wrapper is such a shell).
        let exe = super::own_exe().unwrap();
        let out = duct::cmd(
            "sh",
            [
                "-c".as_ref(),
                r#"exec "$0" --list"#.as_ref(),
                exe.as_os_str(),
            ],
        )
        .stderr_null()
        .read()
        .unwrap();
        assert!(
            out.contains("own_exe_still_names_this_binary_through_a_wrapping_shell"),
            "{out}"
        );
    }
}
