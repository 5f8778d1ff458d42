//! One module per maou-build subcommand.

pub mod audit;
pub mod develop;
pub mod doctor;
pub mod info;
pub mod wheel;
