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
