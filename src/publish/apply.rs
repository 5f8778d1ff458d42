//! Carries out a [Plan] step by step, and says what was done.

use std::collections::BTreeMap;
use std::fmt;

use anyhow::{Context, Result};

use super::plan::{Plan, State, Step};
use super::{short, Local, Publish};
use crate::github::{Asset, Release};
use crate::messages::note;

#[derive(Default)]
pub struct Outcome {
    pub created_release: bool,
    pub uploaded: Vec<String>,
    pub replaced: Vec<String>,
    pub unchanged: Vec<String>,
    pub deleted: Vec<String>,
    /// The tag's previous commit when it moved (`Some(None)`: created).
    pub tag_moved: Option<Option<String>>,
    pub release_updated: bool,
    pub html_url: String,
}

impl Outcome {
    pub fn changed(&self) -> bool {
        self.created_release
            || !self.uploaded.is_empty()
            || !self.replaced.is_empty()
            || !self.deleted.is_empty()
            || self.tag_moved.is_some()
            || self.release_updated
    }
}

/// Applies `plan`, made from `state`, to the release.
pub fn apply(p: &Publish, state: State, plan: &Plan) -> Result<Outcome> {
    let c = p.client;
    let mut out = Outcome::default();
    let mut placed: BTreeMap<String, Asset> = BTreeMap::new();
    for i in &plan.unchanged {
        let name = p.wheels[*i].file_name();
        out.unchanged.push(name.to_owned());
        if let Some(a) = state.assets.iter().find(|a| a.name == name) {
            placed.insert(name.to_owned(), a.clone());
        }
    }
    // Whether the release had wheels before this run: what a failed upload leaves.
    let had_wheels = state
        .assets
        .iter()
        .any(|a| !a.name.ends_with(super::TEMP_SUFFIX));
    let mut release: Option<Release> = state.release;
    let mut temps: BTreeMap<usize, Asset> = BTreeMap::new();
    for step in &plan.steps {
        match step {
            Step::CreateTag => {
                c.create_tag(p.tag, p.commit)?;
                out.tag_moved = Some(None);
            }
            Step::MoveTag { from } => {
                c.move_tag(p.tag, p.commit)?;
                out.tag_moved = Some(Some(from.clone()));
            }
            Step::CreateRelease => {
                let fields = p.fields(&BTreeMap::new());
                release = Some(c.create_release(&fields, p.commit)?);
                note(format!("created release {} of {}", p.tag, c.repo()));
                out.created_release = true;
            }
            Step::DeleteLeftover(a) => {
                note(format!(
                    "deleting {} left by an interrupted publish",
                    a.name
                ));
                c.delete_asset(a)?;
            }
            Step::Upload(i) => {
                let w = &p.wheels[*i];
                let new = upload(p, the(&release)?, w.file_name(), w, had_wheels)?;
                out.uploaded.push(w.file_name().to_owned());
                placed.insert(w.file_name().to_owned(), new);
            }
            Step::UploadBeside { wheel, temp } => {
                let new = upload(p, the(&release)?, temp, &p.wheels[*wheel], had_wheels)?;
                temps.insert(*wheel, new);
            }
            Step::Swap { wheel, old } => {
                let w = &p.wheels[*wheel];
                let new = temps
                    .get(wheel)
                    .context("a swap before its upload: the plan is out of order")?;
                c.delete_asset(old).with_context(|| {
                    format!(
                        "replacing {}: the new wheel is on the release as {}; run \
                         publish-latest again to finish",
                        old.name, new.name
                    )
                })?;
                let renamed = c.rename_asset(new, w.file_name()).with_context(|| {
                    format!(
                        "the old {} is deleted and the new one is on the release as {}; run \
                         publish-latest again to finish",
                        w.file_name(),
                        new.name
                    )
                })?;
                note(format!("replaced {}", w.file_name()));
                out.replaced.push(w.file_name().to_owned());
                placed.insert(w.file_name().to_owned(), renamed);
            }
            Step::Delete(a) => {
                c.delete_asset(a)?;
                note(format!(
                    "deleted {}, which this build does not have",
                    a.name
                ));
                out.deleted.push(a.name.clone());
            }
            Step::Describe => {
                let release = the(&release)?;
                let fields = p.fields(&placed);
                let wheels_unchanged = !out.changed();
                if !super::body::same(release, &fields, wheels_unchanged) {
                    c.update_release(release, &fields)?;
                    out.release_updated = true;
                }
            }
        }
    }
    out.html_url = release.map(|r| r.html_url).unwrap_or_default();
    Ok(out)
}

fn the(release: &Option<Release>) -> Result<&Release> {
    release
        .as_ref()
        .context("an upload before the release exists: the plan is out of order")
}

/// Uploads `w` as `name`. If the upload fails for good, a partial asset it may have left
/// is removed, and the error says what the release still has.
fn upload(
    p: &Publish,
    release: &Release,
    name: &str,
    w: &Local,
    had_wheels: bool,
) -> Result<Asset> {
    note(format!(
        "uploading {name} ({:.1} MB)",
        w.bytes.len() as f64 / 1e6
    ));
    match p.client.upload_asset(release, name, &w.bytes) {
        Ok(asset) => Ok(asset),
        Err(e) => {
            if let Ok(assets) = p.client.list_assets(release) {
                for a in assets.iter().filter(|a| a.name == name) {
                    let _ = p.client.delete_asset(a);
                }
            }
            Err(e).with_context(|| match had_wheels {
                true => format!(
                    "uploading {name} failed; nothing was deleted, so the release still \
                     has its previous wheels"
                ),
                false => format!(
                    "uploading {name} failed; the release had no wheels before this run, \
                     and this wheel is not on it"
                ),
            })
        }
    }
}

/// What was done, as `publish-latest` prints it.
pub struct Shown<'a>(pub &'a Outcome, pub &'a Publish<'a>);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Shown(o, p) = self;
        let repo = p.client.repo();
        if !o.changed() {
            return writeln!(
                f,
                "{repo} release {} is already at {} with these wheels: nothing was changed",
                p.tag,
                short(p.commit)
            );
        }
        writeln!(
            f,
            "{repo} release {} {} at {}:",
            p.tag,
            if o.created_release {
                "created"
            } else {
                "updated in place"
            },
            short(p.commit)
        )?;
        for (what, names) in [
            ("uploaded", &o.uploaded),
            ("replaced", &o.replaced),
            ("unchanged", &o.unchanged),
            ("deleted", &o.deleted),
        ] {
            for n in names {
                writeln!(f, "  {what:9} {n}")?;
            }
        }
        match &o.tag_moved {
            Some(Some(from)) => writeln!(
                f,
                "  tag {} moved from {} to {}",
                p.tag,
                short(from),
                p.commit
            )?,
            Some(None) => writeln!(f, "  tag {} created at {}", p.tag, p.commit)?,
            None => {}
        }
        if !o.html_url.is_empty() {
            writeln!(f, "  {}", o.html_url)?;
        }
        Ok(())
    }
}
