//! One module per maou-build subcommand: each parses its arguments, calls the library,
//! prints the report.

pub mod audit;
pub mod bench;
pub mod cgroup_run;
pub mod colab;
pub mod deps_archive;
pub mod develop;
pub mod doctor;
pub mod info;
pub mod init;
pub mod publish_latest;
pub mod wheel;
