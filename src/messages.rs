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
