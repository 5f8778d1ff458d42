//! Cargo's feature switches for one build, as the command line and `[tool.maturin]` give
//! them.

use serde::Serialize;

/// Cargo's feature switches for one build: `--features`, `--no-default-features`,
/// `--all-features`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, clap::Args)]
pub struct Features {
    /// Cargo features to activate, comma- or space-separated, on top of [tool.maturin] features
    #[arg(long, short = 'F', value_name = "FEATURES", value_delimiter = ',')]
    pub features: Vec<String>,
    /// Do not activate the `default` feature
    #[arg(long)]
    pub no_default_features: bool,
    /// Activate all available features
    #[arg(long)]
    pub all_features: bool,
}

impl Features {
    /// These switches and `more` together (the features of both, either's flags).
    pub fn and(&self, more: &Features) -> Features {
        let mut features = self.features.clone();
        for f in more.features.iter().flat_map(|f| f.split_whitespace()) {
            if !f.is_empty() && !features.iter().any(|g| g == f) {
                features.push(f.to_owned());
            }
        }
        Features {
            features,
            no_default_features: self.no_default_features || more.no_default_features,
            all_features: self.all_features || more.all_features,
        }
    }

    /// The features named, each once, sorted: the switches as a set.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .features
            .iter()
            .flat_map(|f| f.split([',', ' ']))
            .filter(|f| !f.is_empty())
            .map(str::to_owned)
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// These switches without the feature `name`.
    pub fn without(&self, name: &str) -> Features {
        Features {
            features: self
                .features
                .iter()
                .flat_map(|f| f.split([',', ' ']))
                .filter(|f| !f.is_empty() && *f != name)
                .map(str::to_owned)
                .collect(),
            ..self.clone()
        }
    }

    /// These switches without any feature `other` names.
    pub fn without_all(&self, other: &Features) -> Features {
        other
            .features
            .iter()
            .flat_map(|f| f.split([',', ' ']))
            .fold(self.clone(), |f, name| f.without(name))
    }

    /// As maturin's command-line arguments for a build that must have exactly these
    /// features when `[tool.maturin]` names `maturin`'s: maturin's `--features` replace
    /// those, so an empty list is passed too (`--features ""`, which cargo reads as none).
    pub fn args_over(&self, maturin: &Features) -> Vec<String> {
        let mut args = self.args();
        if self.features.is_empty() && !maturin.features.is_empty() {
            args.splice(0..0, ["--features".to_owned(), String::new()]);
        }
        args
    }

    /// As cargo's (and maturin's) command-line arguments.
    pub fn args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if !self.features.is_empty() {
            args.push("--features".to_owned());
            args.push(self.features.join(","));
        }
        if self.no_default_features {
            args.push("--no-default-features".to_owned());
        }
        if self.all_features {
            args.push("--all-features".to_owned());
        }
        args
    }
}
