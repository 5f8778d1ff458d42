//! One module per maou-build subcommand.

pub mod info;
