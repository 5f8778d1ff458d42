//! A local stand-in for GitHub's REST API, for the new-machine scenarios: the requests
//! develop makes for the released extension and the dependency build, as GitHub documents
//! them (the release by tag as JSON; an asset through `/releases/assets/{id}` with
//! `Accept: application/octet-stream`, answered with a 302 to a storage URL), the download
//! paced to a stated rate so that the figure includes a realistic transfer. On 127.0.0.1
//! only.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::json;

/// What the server offers: one repository's release `latest` with its assets, whose ids
/// are their places in the list plus [FIRST_ID].
struct Offer {
    repo: String,
    body: String,
    assets: Vec<(String, Vec<u8>)>,
    /// Each asset's SHA-256 (hex), computed once: the release's JSON gives it on every
    /// lookup, while a timed develop waits.
    digests: Vec<String>,
    /// Bytes per second of the download.
    rate: u64,
    base: String,
}

const FIRST_ID: u64 = 2;

pub struct ReleaseServer {
    pub url: String,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl ReleaseServer {
    /// Serves `repo`'s release `latest` with `body` and `assets` (name, bytes), downloaded
    /// at `rate` bytes per second.
    pub fn start(
        repo: &str,
        body: String,
        assets: Vec<(String, Vec<u8>)>,
        rate: u64,
    ) -> Result<ReleaseServer> {
        let listener = TcpListener::bind("127.0.0.1:0").context("cannot listen on 127.0.0.1")?;
        listener.set_nonblocking(true)?;
        let url = format!("http://{}", listener.local_addr()?);
        let digests = assets
            .iter()
            .map(|(_, bytes)| crate::wheel_format::sha256_hex(bytes))
            .collect();
        let offer = Arc::new(Offer {
            repo: repo.to_owned(),
            body,
            assets,
            digests,
            rate: rate.max(1),
            base: url.clone(),
        });
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            while !stopping.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let offer = Arc::clone(&offer);
                        std::thread::spawn(move || {
                            let _ = serve(stream, &offer);
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Ok(ReleaseServer {
            url,
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for ReleaseServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(stream: TcpStream, offer: &Offer) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
    }
    let mut words = request.split_whitespace();
    let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let release = format!("/repos/{}/releases/tags/latest", offer.repo);
    let asset_api = format!("/repos/{}/releases/assets/", offer.repo);
    let by_id = |id: &str| {
        let i = id.parse::<u64>().ok()?.checked_sub(FIRST_ID)?;
        offer.assets.get(usize::try_from(i).ok()?)
    };
    let mut out = stream;
    match (method, path) {
        ("GET", p) if p == release => {
            let body = release_json(offer);
            write!(
                out,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
        }
        ("GET", p) if p.strip_prefix(&asset_api).and_then(by_id).is_some() => write!(
            out,
            "HTTP/1.1 302 Found\r\nLocation: {}/storage/{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            offer.base,
            &p[asset_api.len()..]
        ),
        ("GET", p) if p.strip_prefix("/storage/").and_then(by_id).is_some() => {
            let (_, bytes) = p.strip_prefix("/storage/").and_then(by_id).expect("matched");
            write!(
                out,
                "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                bytes.len()
            )?;
            send_paced(&mut out, bytes, offer.rate)
        }
        _ => {
            let body = r#"{"message":"Not Found"}"#;
            write!(
                out,
                "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
        }
    }
}

/// The release `latest` as GitHub's API gives it: its assets with their sizes and digests.
fn release_json(offer: &Offer) -> String {
    let assets: Vec<serde_json::Value> = (FIRST_ID..)
        .zip(offer.assets.iter().zip(&offer.digests))
        .map(|(id, ((name, bytes), digest))| {
            json!({
                "id": id,
                "name": name,
                "size": bytes.len(),
                "state": "uploaded",
                "digest": format!("sha256:{digest}"),
                "browser_download_url": format!("{}/{}/releases/download/latest/{name}", offer.base, offer.repo),
            })
        })
        .collect();
    json!({
        "id": 1,
        "tag_name": "latest",
        "name": "latest",
        "body": offer.body,
        "draft": false,
        "prerelease": true,
        "upload_url": format!("{}/uploads/{}/releases/1/assets{{?name,label}}", offer.base, offer.repo),
        "html_url": "",
        "assets": assets,
    })
    .to_string()
}

/// `bytes` written to `out` no faster than `rate` bytes per second.
fn send_paced(out: &mut TcpStream, bytes: &[u8], rate: u64) -> std::io::Result<()> {
    let started = Instant::now();
    let mut sent = 0u64;
    for chunk in bytes.chunks(64 << 10) {
        out.write_all(chunk)?;
        sent += chunk.len() as u64;
        let due = Duration::from_secs_f64(sent as f64 / rate as f64);
        if let Some(wait) = due.checked_sub(started.elapsed()) {
            std::thread::sleep(wait);
        }
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// The body of a GET of `url` (redirects followed).
    fn get(url: &str) -> Vec<u8> {
        let mut body = Vec::new();
        ureq::get(url)
            .call()
            .unwrap()
            .body_mut()
            .as_reader()
            .read_to_end(&mut body)
            .unwrap();
        body
    }

    #[test]
    fn the_release_lists_each_assets_digest_and_the_asset_endpoint_serves_its_bytes() {
        let server = ReleaseServer::start(
            "team/foo",
            "notes".into(),
            vec![
                ("a.json".into(), b"abc".to_vec()),
                ("b".into(), vec![7; 70_000]),
            ],
            1_000_000_000,
        )
        .unwrap();
        for _ in 0..2 {
            let release: serde_json::Value = serde_json::from_slice(&get(&format!(
                "{}/repos/team/foo/releases/tags/latest",
                server.url
            )))
            .unwrap();
            let assets = release["assets"].as_array().unwrap();
            assert_eq!(assets.len(), 2);
            // SHA-256 of "abc" (FIPS 180-2's example).
            assert_eq!(
                assets[0]["digest"],
                "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
            );
            assert_eq!(assets[1]["size"], 70_000);
        }
        let bytes = get(&format!("{}/repos/team/foo/releases/assets/3", server.url));
        assert_eq!(bytes, vec![7; 70_000]);
    }
}
