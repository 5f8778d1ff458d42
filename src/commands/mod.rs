//! One module per maou-build subcommand.

pub mod develop;
pub mod doctor;
pub mod info;
