//! The endpoints: a release by tag, its assets, tag refs, creating and updating a
//! release, uploading, renaming and deleting assets.

use anyhow::Result;
use serde::Deserialize;
use serde_json::json;

use super::{Client, Pace, Payload};

#[derive(Debug, Clone, Deserialize)]
pub struct Release {
    pub id: u64,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub prerelease: bool,
    #[serde(default)]
    pub draft: bool,
    /// A URI template: `https://uploads.github.com/repos/o/r/releases/1/assets{?name,label}`.
    pub upload_url: String,
    #[serde(default)]
    pub html_url: String,
    #[serde(default)]
    pub assets: Vec<Asset>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Asset {
    pub id: u64,
    pub name: String,
    pub size: u64,
    /// `uploaded` once usable; `starter` while (or if) an upload is incomplete.
    #[serde(default)]
    pub state: String,
    /// `sha256:<hex>`, which GitHub computes for assets uploaded since mid-2025.
    #[serde(default)]
    pub digest: Option<String>,
    #[serde(default)]
    pub browser_download_url: String,
}

impl Asset {
    /// Whether it can be downloaded: `uploaded` (a server that gives no state counts too),
    /// not `starter`, which an interrupted upload leaves.
    pub fn is_uploaded(&self) -> bool {
        self.state.is_empty() || self.state == "uploaded"
    }
}

/// The address a release asset is downloaded from by name (what GitHub gives as
/// `browser_download_url`), for when no asset record is at hand.
pub fn download_url(server_url: &str, repo: &super::Repo, tag: &str, name: &str) -> String {
    format!("{server_url}/{repo}/releases/download/{tag}/{name}")
}

#[derive(Deserialize)]
struct GitRef {
    object: GitObject,
}

#[derive(Deserialize)]
struct GitObject {
    sha: String,
}

impl Client {
    /// The release with tag `tag`, or None if there is none.
    pub fn release_by_tag(&self, tag: &str) -> Result<Option<Release>> {
        self.get_if_found(&self.repo_url(&format!("/releases/tags/{tag}")))
    }

    /// GET `url` as JSON; None when GitHub answers 404.
    fn get_if_found<T: for<'de> Deserialize<'de>>(&self, url: &str) -> Result<Option<T>> {
        let reply = self.call("GET", url, Payload::Empty)?;
        if reply.status == 404 {
            return Ok(None);
        }
        let reply = self.check_status("GET", url, reply, &[200])?;
        Self::json("GET", url, &reply).map(Some)
    }

    /// Every asset of a release, following GitHub's pagination.
    pub fn list_assets(&self, release: &Release) -> Result<Vec<Asset>> {
        let mut url = self.repo_url(&format!("/releases/{}/assets?per_page=100", release.id));
        let mut assets = Vec::new();
        loop {
            let reply = self.call("GET", &url, Payload::Empty)?;
            let reply = self.check_status("GET", &url, reply, &[200])?;
            let page: Vec<Asset> = Self::json("GET", &url, &reply)?;
            assets.extend(page);
            match reply.link.as_deref().and_then(next_link) {
                Some(next) => url = next,
                None => return Ok(assets),
            }
        }
    }

    /// The commit a tag points at, or None if the tag does not exist.
    pub fn tag_commit(&self, tag: &str) -> Result<Option<String>> {
        let r: Option<GitRef> =
            self.get_if_found(&self.repo_url(&format!("/git/ref/tags/{tag}")))?;
        Ok(r.map(|r| r.object.sha))
    }

    pub fn create_tag(&self, tag: &str, commit: &str) -> Result<()> {
        let url = self.repo_url("/git/refs");
        let body = json!({ "ref": format!("refs/tags/{tag}"), "sha": commit });
        let reply = self.call("POST", &url, Payload::Json(body))?;
        self.check_status("POST", &url, reply, &[201]).map(drop)
    }

    pub fn move_tag(&self, tag: &str, commit: &str) -> Result<()> {
        let url = self.repo_url(&format!("/git/refs/tags/{tag}"));
        let body = json!({ "sha": commit, "force": true });
        let reply = self.call("PATCH", &url, Payload::Json(body))?;
        self.check_status("PATCH", &url, reply, &[200]).map(drop)
    }

    pub fn create_release(&self, fields: &ReleaseFields, commit: &str) -> Result<Release> {
        let url = self.repo_url("/releases");
        let body = json!({
            "tag_name": fields.tag,
            "target_commitish": commit,
            "name": fields.name,
            "body": fields.body,
            "draft": false,
            "prerelease": fields.prerelease,
        });
        let reply = self.call("POST", &url, Payload::Json(body))?;
        let reply = self.check_status("POST", &url, reply, &[201])?;
        Self::json("POST", &url, &reply)
    }

    pub fn update_release(&self, release: &Release, fields: &ReleaseFields) -> Result<()> {
        let url = self.repo_url(&format!("/releases/{}", release.id));
        let body = json!({
            "name": fields.name,
            "body": fields.body,
            "draft": false,
            "prerelease": fields.prerelease,
        });
        let reply = self.call("PATCH", &url, Payload::Json(body))?;
        self.check_status("PATCH", &url, reply, &[200]).map(drop)
    }

    /// Uploads `bytes` as asset `name`, to the release's `upload_url` template.
    pub fn upload_asset(&self, release: &Release, name: &str, bytes: &[u8]) -> Result<Asset> {
        let base = release
            .upload_url
            .split('{')
            .next()
            .unwrap_or(&release.upload_url);
        let url = format!("{base}?name={}", query_escape(name));
        let reply = self.call("POST", &url, Payload::Bytes(bytes, "application/zip"))?;
        let reply = self.check_status("POST", &url, reply, &[201])?;
        Self::json("POST", &url, &reply)
    }

    /// Renames `asset`; a repeat after a lost answer finds it renamed already (200).
    pub fn rename_asset(&self, asset: &Asset, name: &str, pace: Pace) -> Result<Asset> {
        let url = self.repo_url(&format!("/releases/assets/{}", asset.id));
        let payload = Payload::Json(json!({ "name": name }));
        let reply = self.call_paced("PATCH", &url, payload, pace)?;
        let reply = self.check_status("PATCH", &url, reply, &[200])?;
        Self::json("PATCH", &url, &reply)
    }

    /// Deletes `asset`. An asset already gone (404: a repeat after a lost answer, or
    /// someone else) is what was asked for.
    pub fn delete_asset(&self, asset: &Asset, pace: Pace) -> Result<()> {
        let url = self.repo_url(&format!("/releases/assets/{}", asset.id));
        let reply = self.call_paced("DELETE", &url, Payload::Empty, pace)?;
        self.check_status("DELETE", &url, reply, &[204, 404])
            .map(drop)
    }
}

#[derive(Debug, Clone)]
pub struct ReleaseFields {
    pub tag: String,
    pub name: String,
    pub body: String,
    pub prerelease: bool,
}

/// The `rel="next"` URL of a Link header.
fn next_link(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        params
            .split(';')
            .any(|p| p.trim() == "rel=\"next\"")
            .then(|| {
                url.trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_owned()
            })
    })
}

/// Percent-encodes a query value (wheel names only need a few characters escaped).
fn query_escape(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pagination_and_names() {
        let link = "<https://api.github.com/x?page=2>; rel=\"next\", \
                    <https://api.github.com/x?page=5>; rel=\"last\"";
        assert_eq!(
            next_link(link).as_deref(),
            Some("https://api.github.com/x?page=2")
        );
        assert_eq!(next_link("<https://a/x?page=1>; rel=\"prev\""), None);
        assert_eq!(query_escape("a b+c.whl"), "a%20b%2Bc.whl");
    }
}
