//! What a publish will write, decided from the release as it is now: the steps, in the
//! order that keeps every wheel's URL working (see the module above). A dry run prints
//! the plan; [super::apply] carries it out.

use std::collections::BTreeMap;
use std::fmt;

use anyhow::Result;

use super::{short, Publish, TEMP_SUFFIX};
use crate::github::{Asset, Client, Release};

/// The release as GitHub has it now (reads only).
pub struct State {
    pub release: Option<Release>,
    /// The release's assets (none without a release).
    pub assets: Vec<Asset>,
    /// The commit the tag points at, if the tag exists.
    pub tag_commit: Option<String>,
}

impl State {
    pub fn read(client: &Client, tag: &str) -> Result<State> {
        let release = client.release_by_tag(tag)?;
        let tag_commit = client.tag_commit(tag)?;
        let assets = match &release {
            Some(r) => client.list_assets(r)?,
            None => Vec::new(),
        };
        Ok(State {
            release,
            assets,
            tag_commit,
        })
    }
}

/// One write. Wheels are named by their index in [Publish::wheels].
#[derive(Debug, Clone)]
pub enum Step {
    /// The tag at the commit (before a new release: GitHub ignores `target_commitish`
    /// when the tag exists).
    CreateTag,
    MoveTag {
        from: String,
    },
    CreateRelease,
    /// An asset an interrupted publish left under a temporary name.
    DeleteLeftover(Asset),
    /// A wheel whose name is free: uploaded under its final name.
    Upload(usize),
    /// A wheel whose name is taken: uploaded under `temp`, swapped in later.
    UploadBeside {
        wheel: usize,
        temp: String,
    },
    /// Deletes `old` and renames the wheel's temporary asset into its place.
    Swap {
        wheel: usize,
        old: Asset,
    },
    /// An asset this build no longer has (another version, a dropped CPython).
    Delete(Asset),
    /// The title and body, set from the wheels in place when they differ from the
    /// release's (always the last step).
    Describe,
}

pub struct Plan {
    pub steps: Vec<Step>,
    /// Wheels already on the release, byte for byte.
    pub unchanged: Vec<usize>,
    /// Whether the title and body are expected to change ([Step::Describe] always runs,
    /// and checks again with the assets really in place).
    pub describe_changes: bool,
}

impl Plan {
    /// Whether anything would be written.
    pub fn writes(&self) -> bool {
        self.describe_changes || self.steps.iter().any(|s| !matches!(s, Step::Describe))
    }
}

/// The plan that brings the release `state` to `p`'s wheels at `p.commit`.
pub fn plan(p: &Publish, state: &State) -> Plan {
    let mut steps = Vec::new();
    let tag_step = match state.tag_commit.as_deref() {
        Some(sha) if sha == p.commit => None,
        Some(sha) => Some(Step::MoveTag {
            from: sha.to_owned(),
        }),
        None => Some(Step::CreateTag),
    };
    let Some(release) = &state.release else {
        steps.extend(tag_step);
        steps.push(Step::CreateRelease);
        steps.extend((0..p.wheels.len()).map(Step::Upload));
        steps.push(Step::Describe);
        return Plan {
            steps,
            unchanged: Vec::new(),
            describe_changes: false,
        };
    };
    let body = release.body.clone().unwrap_or_default();
    let (leftovers, current): (Vec<&Asset>, Vec<&Asset>) = state
        .assets
        .iter()
        .partition(|a| a.name.ends_with(TEMP_SUFFIX));
    steps.extend(leftovers.into_iter().cloned().map(Step::DeleteLeftover));

    let mut unchanged = Vec::new();
    let mut swaps = Vec::new();
    let mut placed: BTreeMap<String, Asset> = BTreeMap::new();
    for (i, w) in p.wheels.iter().enumerate() {
        match current.iter().find(|a| a.name == w.file_name()) {
            Some(a) if w.is_on(a, &body) => {
                unchanged.push(i);
                placed.insert(w.file_name().to_owned(), (*a).clone());
            }
            Some(a) => {
                let temp = format!("{}.{}{TEMP_SUFFIX}", w.file_name(), short(p.commit));
                steps.push(Step::UploadBeside { wheel: i, temp });
                swaps.push(Step::Swap {
                    wheel: i,
                    old: (*a).clone(),
                });
            }
            None => steps.push(Step::Upload(i)),
        }
    }
    steps.extend(swaps);
    // The dependency builds are published beside the wheels by another step.
    let kept = |a: &&Asset| {
        p.wheels.iter().any(|w| w.file_name() == a.name) || crate::deps_archive::is_asset(&a.name)
    };
    steps.extend(
        current
            .iter()
            .filter(|a| !kept(a))
            .map(|a| Step::Delete((*a).clone())),
    );
    steps.extend(tag_step);
    // As apply judges it: removing a leftover changes no wheel.
    let wheels_unchanged = steps.iter().all(|s| matches!(s, Step::DeleteLeftover(_)));
    let fields = p.fields(&placed);
    steps.push(Step::Describe);
    Plan {
        describe_changes: !super::body::same(release, &fields, wheels_unchanged),
        steps,
        unchanged,
    }
}

/// The plan as a dry run prints it: one line per write.
pub struct Shown<'a>(pub &'a Plan, pub &'a Publish<'a>);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Shown(plan, p) = self;
        let wheel = |i: &usize| p.wheels[*i].file_name();
        let mb = |i: &usize| p.wheels[*i].bytes.len() as f64 / 1e6;
        for step in &plan.steps {
            match step {
                Step::CreateTag => writeln!(f, "  create tag {} at {}", p.tag, p.commit)?,
                Step::MoveTag { from } => writeln!(
                    f,
                    "  move tag {} to {} (from {})",
                    p.tag,
                    p.commit,
                    short(from)
                )?,
                Step::CreateRelease => writeln!(f, "  create release {}", p.tag)?,
                Step::DeleteLeftover(a) => {
                    writeln!(f, "  delete {}, left by an interrupted publish", a.name)?
                }
                Step::Upload(i) => writeln!(f, "  upload {} ({:.1} MB)", wheel(i), mb(i))?,
                Step::UploadBeside { wheel: i, temp } => writeln!(
                    f,
                    "  upload {temp} ({:.1} MB), beside the old {}",
                    mb(i),
                    wheel(i)
                )?,
                Step::Swap { wheel: i, old } => writeln!(
                    f,
                    "  delete the old {} (asset {}), rename the new one into its place",
                    wheel(i),
                    old.id
                )?,
                Step::Delete(a) => {
                    writeln!(f, "  delete {}, which this build does not have", a.name)?
                }
                Step::Describe if plan.describe_changes => {
                    writeln!(f, "  update the release's title and body")?
                }
                Step::Describe => {}
            }
        }
        for i in &plan.unchanged {
            writeln!(f, "  keep {} (the same bytes)", wheel(i))?;
        }
        Ok(())
    }
}
