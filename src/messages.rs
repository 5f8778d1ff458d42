//! What maou-build says while it works: progress and status lines on stderr, where they
//! never mix with a report (`--json`) on stdout. Every module may use this one; it uses none.

/// A progress or status line.
pub fn note(msg: impl AsRef<str>) {
    eprintln!("maou-build: {}", msg.as_ref());
}

/// The last `n` lines of `text`: what a failed command printed last, for an error message.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// A command's report on stdout: as JSON with `--json`, else as `text` prints it.
pub fn print_report<T: serde::Serialize>(
    json: bool,
    report: &T,
    text: impl FnOnce(&T),
) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(report)?);
    } else {
        text(report);
    }
    Ok(())
}
