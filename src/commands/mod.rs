//! One module per maou-build subcommand.

pub mod audit;
pub mod bench;
pub mod colab;
pub mod develop;
pub mod doctor;
pub mod info;
pub mod publish_latest;
pub mod wheel;

pub use crate::messages::note;
