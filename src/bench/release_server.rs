//! A local stand-in for GitHub's REST API, for the new-machine-prebuilt scenario: the
//! requests develop makes for the released extension, as GitHub documents them (the
//! release by tag as JSON; the asset through `/releases/assets/{id}` with `Accept:
//! application/octet-stream`, answered with a 302 to a storage URL), the download paced to
//! a stated rate so that the figure includes a realistic transfer. On 127.0.0.1 only.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::json;

/// What the server offers: one repository's release `latest` with one asset.
struct Offer {
    repo: String,
    body: String,
    asset: String,
    bytes: Vec<u8>,
    /// Bytes per second of the download.
    rate: u64,
    base: String,
}

const ASSET_ID: u64 = 2;

pub struct ReleaseServer {
    pub url: String,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl ReleaseServer {
    /// Serves `repo`'s release `latest` with `body` and the asset `asset` (`bytes`),
    /// downloaded at `rate` bytes per second.
    pub fn start(
        repo: &str,
        body: String,
        asset: &str,
        bytes: Vec<u8>,
        rate: u64,
    ) -> Result<ReleaseServer> {
        let listener = TcpListener::bind("127.0.0.1:0").context("cannot listen on 127.0.0.1")?;
        listener.set_nonblocking(true)?;
        let url = format!("http://{}", listener.local_addr()?);
        let offer = Arc::new(Offer {
            repo: repo.to_owned(),
            body,
            asset: asset.to_owned(),
            bytes,
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
    let asset_api = format!("/repos/{}/releases/assets/{ASSET_ID}", offer.repo);
    let storage = format!("/storage/{ASSET_ID}");
    let mut out = stream;
    match (method, path) {
        ("GET", p) if p == release => {
            let sha = crate::wheel_format::sha256_hex(&offer.bytes);
            let body = json!({
                "id": 1,
                "tag_name": "latest",
                "name": "latest",
                "body": offer.body,
                "draft": false,
                "prerelease": true,
                "upload_url": format!("{}/uploads/{}/releases/1/assets{{?name,label}}", offer.base, offer.repo),
                "html_url": "",
                "assets": [{
                    "id": ASSET_ID,
                    "name": offer.asset,
                    "size": offer.bytes.len(),
                    "state": "uploaded",
                    "digest": format!("sha256:{sha}"),
                    "browser_download_url": format!("{}/{}/releases/download/latest/{}", offer.base, offer.repo, offer.asset),
                }],
            })
            .to_string();
            write!(
                out,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
        }
        ("GET", p) if p == asset_api => write!(
            out,
            "HTTP/1.1 302 Found\r\nLocation: {}{storage}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            offer.base
        ),
        ("GET", p) if p == storage => {
            write!(
                out,
                "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                offer.bytes.len()
            )?;
            let started = Instant::now();
            let mut sent = 0u64;
            for chunk in offer.bytes.chunks(64 << 10) {
                out.write_all(chunk)?;
                sent += chunk.len() as u64;
                let due = Duration::from_secs_f64(sent as f64 / offer.rate as f64);
                if let Some(wait) = due.checked_sub(started.elapsed()) {
                    std::thread::sleep(wait);
                }
            }
            out.flush()
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
