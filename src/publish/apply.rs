//! Carries out a [Plan] step by step, and says what was done.

use std::collections::BTreeMap;
use std::fmt;

use anyhow::{Context, Result};

use super::plan::{Plan, State, Step};
use super::{short, Local, Publish};
use crate::github::{api_error, Asset, Pace, Release};
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
///
/// Over 80 lines: one match arm per kind of step, each a call or two, sharing the
/// release, the temporary uploads and the assets placed so far.
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
                create_tag(p)?;
                out.tag_moved = Some(None);
            }
            Step::MoveTag { from } => {
                c.move_tag(p.tag, p.commit)?;
                out.tag_moved = Some(Some(from.clone()));
            }
            Step::CreateRelease => {
                release = Some(create_release(p)?);
                out.created_release = true;
            }
            Step::DeleteLeftover(a) => {
                note(format!(
                    "deleting {} left by an interrupted publish",
                    a.name
                ));
                c.delete_asset(a, Pace::Patient)?;
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
                let renamed = swap(p, the(&release)?, old, new, w)?;
                note(format!("replaced {}", w.file_name()));
                out.replaced.push(w.file_name().to_owned());
                placed.insert(w.file_name().to_owned(), renamed);
            }
            Step::Delete(a) => {
                c.delete_asset(a, Pace::Patient)?;
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

/// Creates the tag at the commit. A 422 means it exists: made by an attempt whose answer
/// was lost (then it is at the commit), or by someone else (then it is moved).
fn create_tag(p: &Publish) -> Result<()> {
    let c = p.client;
    let Err(e) = c.create_tag(p.tag, p.commit) else {
        return Ok(());
    };
    if api_error(&e).is_none_or(|a| a.status != 422) {
        return Err(e);
    }
    match c.tag_commit(p.tag)? {
        Some(sha) if sha == p.commit => Ok(()),
        Some(_) => c.move_tag(p.tag, p.commit),
        None => Err(e),
    }
}

/// Creates the release. A 422 means a release with the tag exists: made by an attempt
/// whose answer was lost; it is read and used (its title and body are set last).
fn create_release(p: &Publish) -> Result<Release> {
    let c = p.client;
    let fields = p.fields(&BTreeMap::new());
    match c.create_release(&fields, p.commit) {
        Ok(r) => {
            note(format!("created release {} of {}", p.tag, c.repo()));
            Ok(r)
        }
        Err(e) if api_error(&e).is_some_and(|a| a.status == 422) => {
            let r = c.release_by_tag(p.tag)?.ok_or(e)?;
            note(format!(
                "release {} of {} exists already (an earlier attempt made it): using it",
                p.tag,
                c.repo()
            ));
            Ok(r)
        }
        Err(e) => Err(e),
    }
}

/// Deletes the old asset and renames the new one into its place. Between the two the
/// wheel's URL is empty, so nothing else happens there: the rate limit is made to allow
/// both first, and their retries do not wait. If the rename still fails, the new bytes
/// are uploaded under the final name instead.
fn swap(p: &Publish, release: &Release, old: &Asset, new: &Asset, w: &Local) -> Result<Asset> {
    let c = p.client;
    c.keep_budget_for(3)?;
    c.delete_asset(old, Pace::Urgent).with_context(|| {
        format!(
            "replacing {}: the new wheel is on the release as {}; run publish-latest again \
             to finish",
            old.name, new.name
        )
    })?;
    let err = match c.rename_asset(new, w.file_name(), Pace::Urgent) {
        Ok(renamed) => return Ok(renamed),
        Err(e) => e,
    };
    note(format!(
        "renaming {} to {} failed ({err:#}); uploading the new wheel under {} instead, so \
         that its URL does not stay empty",
        new.name,
        w.file_name(),
        w.file_name()
    ));
    let placed = upload(p, release, w.file_name(), w, false).with_context(|| {
        format!(
            "the old {} is deleted and the new one is on the release as {}; run \
             publish-latest again to finish",
            w.file_name(),
            new.name
        )
    })?;
    if let Err(e) = c.delete_asset(new, Pace::Patient) {
        note(format!(
            "{} stays on the release ({e:#}); the next publish removes it",
            new.name
        ));
    }
    Ok(placed)
}

/// Uploads `w` as `name`, safe to repeat: when an attempt failed, what it left under the
/// name is looked at. A complete asset with the wheel's size and digest (an upload whose
/// answer was lost) is adopted; anything else (`starter`, `open`, other bytes) is removed
/// and, when GitHub said the name was taken, the upload tried once more. If the upload
/// fails for good, the error says what the release still has.
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
    let c = p.client;
    let mut again = true;
    let err = loop {
        let e = match c.upload_asset(release, name, &w.bytes) {
            Ok(asset) => return Ok(asset),
            Err(e) => e,
        };
        let taken = api_error(&e).is_some_and(|a| a.already_exists);
        let left = c
            .list_assets(release)
            .map(|assets| assets.into_iter().find(|a| a.name == name));
        match left {
            Ok(Some(a)) if a.digest.is_some() && w.is_on(&a, "") => {
                note(format!(
                    "{name} is on the release with the wheel's size and digest (an attempt \
                     whose answer was lost): keeping it"
                ));
                return Ok(a);
            }
            Ok(Some(a)) => {
                note(format!(
                    "removing the {} asset {name} a failed upload left ({} bytes)",
                    if a.state.is_empty() {
                        "partial"
                    } else {
                        &a.state
                    },
                    a.size
                ));
                c.delete_asset(&a, Pace::Patient)?;
            }
            Ok(None) | Err(_) => {}
        }
        if !(taken && again) {
            break e;
        }
        again = false;
    };
    Err(err).with_context(|| match had_wheels {
        true => format!(
            "uploading {name} failed; nothing was deleted, so the release still has its \
             previous wheels"
        ),
        false => format!(
            "uploading {name} failed; the release had no wheels before this run, and this \
             wheel is not on it"
        ),
    })
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
