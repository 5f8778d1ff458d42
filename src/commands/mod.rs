//! One module per maou-build subcommand.

pub mod audit;
pub mod bench;
pub mod colab;
pub mod develop;
pub mod doctor;
pub mod info;
pub mod publish_latest;
pub mod wheel;

/// A progress or status line on stderr, where it does not mix with `--json` on stdout.
pub fn note(msg: impl AsRef<str>) {
    eprintln!("maou-build: {}", msg.as_ref());
}
