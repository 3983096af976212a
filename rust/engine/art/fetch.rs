//! Downloads covers, bounded in size and time, and keeps them in a bounded cache on disk.
//!
//! A cover is cached by its URL (Spotify's image URLs are content-addressed, so a URL never
//! changes its picture) and only once it decoded, so a broken download is never served again.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

use super::decode::{self, DecodeError};
use super::palette::{self, Colors};

/// Bounds of one fetcher.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Largest cover downloaded; Spotify's 640 px JPEGs are about 100 kB.
    pub max_bytes: usize,
    pub connect_timeout: Duration,
    /// Whole request, body included.
    pub timeout: Duration,
    /// Covers kept on disk; the least recently used go first.
    pub cache_files: usize,
    /// Bytes kept on disk.
    pub cache_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 4 << 20,
            connect_timeout: Duration::from_secs(4),
            timeout: Duration::from_secs(10),
            cache_files: 500,
            cache_bytes: 64 << 20,
        }
    }
}

/// Why a cover gave no palette.
#[derive(Debug, thiserror::Error)]
pub enum ArtError {
    #[error("the cover server answered HTTP {status}")]
    Http { status: u16 },
    #[error("the cover took longer than {0:?}")]
    Timeout(Duration),
    #[error("the cover could not be downloaded ({0})")]
    Network(String),
    #[error("the cover is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("the cover is unreadable: {0}")]
    Decode(#[from] DecodeError),
    #[error("the cover URL is not allowed: {0}")]
    Refused(String),
    #[error("could not start the cover downloader: {0}")]
    Client(String),
}

impl ArtError {
    /// The short text of the `art` row.
    pub fn user_message(&self) -> String {
        format!("cover not loaded: {self}")
    }
}

/// Fetches covers and turns them into palettes.
#[derive(Debug)]
pub struct Fetcher {
    client: reqwest::Client,
    cache: Option<PathBuf>,
    limits: Limits,
    /// False while the Web API is a loopback server (tests): covers then come from loopback
    /// servers only, so a test never reaches the internet whatever its fixtures say.
    allow_remote: bool,
}

impl Fetcher {
    /// A fetcher caching under `cache` (`None`: no disk cache).
    pub fn new(cache: Option<PathBuf>, limits: Limits, allow_remote: bool) -> Result<Fetcher, ArtError> {
        let client = reqwest::Client::builder()
            .connect_timeout(limits.connect_timeout)
            .timeout(limits.timeout)
            .build()
            .map_err(|e| ArtError::Client(e.to_string()))?;
        Ok(Fetcher { client, cache, limits, allow_remote })
    }

    /// The default cache: `art/` in the per-user cache directory.
    pub fn default_cache_dir() -> Option<PathBuf> {
        directories::ProjectDirs::from("", "", "td-spotify").map(|d| d.cache_dir().join("art"))
    }

    /// The palette of the cover at `url`, from the disk cache when it is there.
    pub async fn palette(&self, url: &str) -> Result<Colors, ArtError> {
        if let Some(colors) = self.cached(url) {
            return Ok(colors);
        }
        let bytes = self.download(url).await?;
        let colors = palette::extract(&decode::decode(&bytes)?);
        self.store(url, &bytes);
        Ok(colors)
    }

    async fn download(&self, url: &str) -> Result<Vec<u8>, ArtError> {
        let parsed = url::Url::parse(url).map_err(|e| ArtError::Refused(e.to_string()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(ArtError::Refused(format!("{} is not http(s)", parsed.scheme())));
        }
        if !self.allow_remote && !is_loopback(&parsed) {
            return Err(ArtError::Refused("only loopback covers while the Web API is local".into()));
        }
        let limit = self.limits.max_bytes;
        let network = |e: reqwest::Error| {
            if e.is_timeout() {
                ArtError::Timeout(self.limits.timeout)
            } else {
                // Without the URL: it may carry query parameters; the chain stays in the logs.
                ArtError::Network(e.without_url().to_string())
            }
        };
        let mut response = self.client.get(parsed).send().await.map_err(network)?;
        let status = response.status();
        if !status.is_success() {
            return Err(ArtError::Http { status: status.as_u16() });
        }
        if response.content_length().is_some_and(|n| n > limit as u64) {
            return Err(ArtError::TooLarge { limit });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(network)? {
            if body.len() + chunk.len() > limit {
                return Err(ArtError::TooLarge { limit });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    fn path(&self, url: &str) -> Option<PathBuf> {
        let digest = Sha256::digest(url.as_bytes());
        let name: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        Some(self.cache.as_ref()?.join(name))
    }

    /// A cached cover's palette; touching the file keeps it among the recently used.
    fn cached(&self, url: &str) -> Option<Colors> {
        let path = self.path(url)?;
        let bytes = std::fs::read(&path).ok()?;
        match decode::decode(&bytes) {
            Ok(pixels) => {
                if let Ok(file) = std::fs::File::options().append(true).open(&path) {
                    let _ = file.set_modified(SystemTime::now());
                }
                Some(palette::extract(&pixels))
            }
            Err(_) => {
                // Damaged on disk: forget it and download again.
                let _ = std::fs::remove_file(&path);
                None
            }
        }
    }

    /// Writes a decoded cover (temp file, then rename) and trims the cache to its bounds. A
    /// failure only costs a download next time.
    fn store(&self, url: &str, bytes: &[u8]) {
        let (Some(dir), Some(path)) = (&self.cache, self.path(url)) else { return };
        if std::fs::create_dir_all(dir).is_err() {
            return;
        }
        let temp = path.with_extension("part");
        if std::fs::write(&temp, bytes).and_then(|()| std::fs::rename(&temp, &path)).is_err() {
            let _ = std::fs::remove_file(&temp);
            return;
        }
        trim(dir, self.limits.cache_files, self.limits.cache_bytes);
    }
}

/// Deletes the least recently used files of `dir` until it holds at most `files` files and
/// `bytes` bytes.
fn trim(dir: &Path, files: usize, bytes: u64) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut kept: Vec<(SystemTime, u64, PathBuf)> = entries
        .filter_map(|e| {
            let e = e.ok()?;
            let meta = e.metadata().ok()?;
            meta.is_file().then(|| (meta.modified().unwrap_or(SystemTime::UNIX_EPOCH), meta.len(), e.path()))
        })
        .collect();
    kept.sort_by_key(|k| std::cmp::Reverse(k.0));
    let mut total = 0u64;
    for (i, (_, len, path)) in kept.iter().enumerate() {
        total += len;
        if i >= files || total > bytes {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Whether a base URL (e.g. the Web API's) points at this computer.
pub fn is_loopback_url(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| is_loopback(&u))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// A loopback cover server: `/png/N` a distinct PNG, `/big` more than the cap, `/slow` late,
    /// `/html` not an image, anything else 404. Counts the requests it answers.
    struct CoverServer {
        base: String,
        hits: Arc<AtomicUsize>,
        server: Arc<tiny_http::Server>,
        thread: Option<std::thread::JoinHandle<()>>,
    }

    impl CoverServer {
        fn start() -> CoverServer {
            let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
            let base = format!("http://{}", server.server_addr().to_ip().unwrap());
            let hits = Arc::new(AtomicUsize::new(0));
            let (s, h) = (Arc::clone(&server), Arc::clone(&hits));
            let thread = std::thread::spawn(move || {
                for request in s.incoming_requests() {
                    h.fetch_add(1, Ordering::SeqCst);
                    let url = request.url().to_owned();
                    let body: Option<Vec<u8>> = if let Some(n) = url.strip_prefix("/png/") {
                        let n: u8 = n.parse().unwrap_or(0);
                        Some(decode::encode_png(16, 16, &[n, 255 - n, 60].repeat(256)))
                    } else if url == "/big" {
                        Some(vec![0xFF; 4096])
                    } else if url == "/slow" {
                        std::thread::sleep(Duration::from_millis(1500));
                        Some(decode::encode_png(1, 1, &[1, 2, 3]))
                    } else if url == "/html" {
                        Some(b"<html>not a cover</html>".to_vec())
                    } else {
                        None
                    };
                    let _ = match body {
                        Some(b) => request.respond(tiny_http::Response::from_data(b)),
                        None => request.respond(tiny_http::Response::empty(404)),
                    };
                }
            });
            CoverServer { base, hits, server, thread: Some(thread) }
        }
    }

    impl Drop for CoverServer {
        fn drop(&mut self) {
            self.server.unblock();
            if let Some(t) = self.thread.take() {
                let _ = t.join();
            }
        }
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("td-spotify-art-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn limits() -> Limits {
        Limits {
            max_bytes: 2048,
            connect_timeout: Duration::from_secs(2),
            timeout: Duration::from_millis(500),
            cache_files: 3,
            cache_bytes: 1 << 20,
        }
    }

    #[tokio::test]
    async fn fetches_decodes_and_serves_again_from_the_disk_cache() {
        let server = CoverServer::start();
        let dir = temp_dir("cache");
        let fetcher = Fetcher::new(Some(dir.clone()), limits(), false).unwrap();
        let url = format!("{}/png/10", server.base);
        let colors = fetcher.palette(&url).await.unwrap();
        assert_eq!(colors.swatches[0].hex(), "#0af53c");
        assert_eq!(fetcher.palette(&url).await.unwrap(), colors);
        assert_eq!(server.hits.load(Ordering::SeqCst), 1, "the second time comes from the disk");
        // The bound: at most 3 files, the least recently used go.
        for n in 11..16 {
            fetcher.palette(&format!("{}/png/{n}", server.base)).await.unwrap();
        }
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 3);
        assert!(fetcher.path(&url).is_some_and(|p| !p.exists()), "the oldest cover was evicted");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn refuses_what_it_should_and_says_why() {
        let server = CoverServer::start();
        let dir = temp_dir("errors");
        let fetcher = Fetcher::new(Some(dir.clone()), limits(), false).unwrap();
        let get = |path: &str| {
            let url = if path.contains("://") { path.to_owned() } else { format!("{}{path}", server.base) };
            let fetcher = &fetcher;
            async move { fetcher.palette(&url).await.unwrap_err() }
        };
        assert!(matches!(get("/missing").await, ArtError::Http { status: 404 }));
        assert!(matches!(get("/big").await, ArtError::TooLarge { limit: 2048 }));
        let html = get("/html").await;
        assert!(matches!(html, ArtError::Decode(DecodeError::NotAnImage)));
        assert_eq!(html.user_message(), "cover not loaded: the cover is unreadable: not a PNG or JPEG image");
        // While the Web API is local, nothing is fetched from the internet.
        assert!(matches!(get("https://i.scdn.co/image/x").await, ArtError::Refused(_)));
        assert!(matches!(get("file:///etc/passwd").await, ArtError::Refused(_)));
        // Last: the one-thread server sleeps on it past the client's timeout.
        assert!(matches!(get("/slow").await, ArtError::Timeout(_)));
        // Failures are never cached.
        assert!(!dir.exists() || std::fs::read_dir(&dir).unwrap().count() == 0);
        assert!(is_loopback_url("http://127.0.0.1:9/v1") && is_loopback_url("http://[::1]:9"));
        assert!(!is_loopback_url("https://api.spotify.com"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
