//! The token store: one JSON file per account (client id) in a per-user directory.
//!
//! The default directory is the OS's per-user config directory (`~/.config/td-spotify` on
//! Linux, `~/Library/Application Support/td-spotify` on macOS, `%APPDATA%\td-spotify\config` on
//! Windows); `Tokencache` / `--cache` overrides it. The path is never relative to the current
//! directory, which inside TouchDesigner is arbitrary.
//!
//! Writes are atomic: a new file (mode 0600 on Unix) is written next to the old one, flushed to
//! disk and renamed over it, so a crash leaves the old login or the new one, never half of each.
//! On Windows the profile folder's ACL keeps other users out of the default folder; a folder
//! outside the profile (another drive's root lets every user read) gets the file an ACL of its
//! own, for its owner only, or the save fails with a message saying why (the login then stays in
//! memory).
//! A file that cannot be parsed is renamed aside (`….corrupt-<time>`), never deleted, and the
//! user is told where it went.
//!
//! Several processes may share one file (TouchDesigner and the `td-spotify` CLI, or two
//! TouchDesigner instances). Spotify rotates refresh tokens, so two processes refreshing at once
//! would each spend the same refresh token and one of them would be logged out. A refresh
//! therefore holds an advisory lock on `token-….json.lock` beside the file
//! ([`TokenStore::lock`], `flock` on Unix and `LockFileEx` on Windows through `fs4`); the lock is
//! released when the process exits, however it exits. The lock file itself is never deleted
//! (deleting it would let a second process lock a new file while a first still holds the old).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::pkce::random_string;
use super::secret::{AccessToken, RefreshToken};
use super::AuthError;

/// Version of the file format; a file with another version is kept aside, not misread.
const FORMAT_VERSION: u32 = 1;
/// Token files larger than this are not ours.
const MAX_FILE: u64 = 64 * 1024;
/// How often a process waiting for the store lock tries again.
const LOCK_POLL: Duration = Duration::from_millis(10);

/// What is saved for one account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    pub version: u32,
    pub client_id: String,
    pub access_token: AccessToken,
    #[serde(default)]
    pub refresh_token: Option<RefreshToken>,
    /// Unix time (seconds) at which the access token expires.
    pub expires_at: u64,
    /// How long the access token was granted for, in seconds (to refresh proportionally).
    #[serde(default)]
    pub lifetime_s: u64,
    #[serde(default)]
    pub scope: String,
    /// Display name from `/v1/me`, when known.
    #[serde(default)]
    pub user: Option<String>,
    /// Unix time (seconds) of the last write.
    #[serde(default)]
    pub saved_at: u64,
}

impl TokenRecord {
    /// Seconds until the access token expires (negative once it has).
    pub fn expires_in(&self, now: SystemTime) -> i64 {
        self.expires_at as i64 - unix(now) as i64
    }

    /// Whether it is time to refresh: within a quarter of the token's lifetime of expiry, and at
    /// most five minutes before it (Spotify's hour-long tokens refresh at 55 minutes).
    pub fn needs_refresh(&self, now: SystemTime) -> bool {
        let margin = (self.lifetime_s / 4).clamp(1, 300) as i64;
        self.expires_in(now) <= margin
    }

    /// Whether this record was granted after `other`: a later expiry, then a later save.
    /// Another process's refresh is adopted only when it is newer, never because it is on disk.
    pub fn is_newer_than(&self, other: &TokenRecord) -> bool {
        (self.expires_at, self.saved_at) > (other.expires_at, other.saved_at)
    }

    /// Whether both hold the same tokens.
    pub fn same_tokens(&self, other: &TokenRecord) -> bool {
        self.access_token == other.access_token && self.refresh_token == other.refresh_token
    }
}

/// The store's advisory lock, held while a refresh spends a refresh token; dropping it (or the
/// process ending) releases it.
#[derive(Debug)]
pub struct StoreLock {
    _file: File,
}

/// Seconds since the Unix epoch.
pub fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO).as_secs()
}

/// Where one account's tokens live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenStore {
    dir: PathBuf,
    path: PathBuf,
}

impl TokenStore {
    /// The store for `client_id` under `dir`, or under the OS's per-user config directory.
    pub fn new(dir: Option<&Path>, client_id: &str) -> Result<TokenStore, AuthError> {
        let dir = match dir {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => default_dir().ok_or(AuthError::NoStoreDir)?,
        };
        let path = dir.join(file_name(client_id));
        Ok(TokenStore { dir, path })
    }

    /// The token file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The lock file beside it (`token-….json.lock`).
    pub fn lock_path(&self) -> PathBuf {
        self.path.with_extension("json.lock")
    }

    /// Takes the store's lock if no other process (or session) holds it: `Ok(None)` when one
    /// does.
    pub fn try_lock(&self) -> Result<Option<StoreLock>, AuthError> {
        let path = self.lock_path();
        let io_err = |source| AuthError::StoreIo { op: "lock", path: path.clone(), source };
        create_private_dir(&self.dir).map_err(io_err)?;
        let file = open_lock_file(&path).map_err(io_err)?;
        // Called through the trait: `File::try_lock` in std (Rust 1.89) shadows it otherwise.
        match fs4::FileExt::try_lock(&file) {
            Ok(()) => Ok(Some(StoreLock { _file: file })),
            Err(fs4::TryLockError::WouldBlock) => Ok(None),
            Err(fs4::TryLockError::Error(source)) => Err(io_err(source)),
        }
    }

    /// Waits up to `max_wait` for the store's lock, without blocking the async runtime's thread
    /// for more than one try at a time. Another holder spends at most one token request.
    pub async fn lock(&self, max_wait: Duration) -> Result<StoreLock, AuthError> {
        let deadline = tokio::time::Instant::now() + max_wait;
        loop {
            if let Some(lock) = self.try_lock()? {
                return Ok(lock);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(AuthError::StoreBusy { path: self.lock_path(), waited: max_wait });
            }
            tokio::time::sleep(LOCK_POLL).await;
        }
    }

    /// Reads the saved login: `Ok(None)` when there is none. A file that cannot be parsed is
    /// renamed aside and reported as [`AuthError::CorruptStore`].
    pub fn load(&self, client_id: &str) -> Result<Option<TokenRecord>, AuthError> {
        let io_err = |op, source| AuthError::StoreIo { op, path: self.path.clone(), source };
        let meta = match fs::metadata(&self.path) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err("read", e)),
        };
        if meta.len() > MAX_FILE {
            return Err(self.keep_aside("larger than a token file can be".into()));
        }
        let bytes = match fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err("read", e)),
        };
        let record: TokenRecord = match serde_json::from_slice(&bytes) {
            Ok(r) => r,
            // serde_json's message can quote the offending value (a token): keep only where.
            Err(e) => {
                return Err(self.keep_aside(format!(
                    "{} at line {}, column {}",
                    category(&e),
                    e.line(),
                    e.column()
                )))
            }
        };
        if record.version != FORMAT_VERSION {
            return Err(self.keep_aside(format!("unknown format version {}", record.version)));
        }
        if record.client_id != client_id {
            return Err(self.keep_aside("saved for another client id".into()));
        }
        tighten_permissions(&self.path);
        Ok(Some(record))
    }

    /// Saves `record` atomically (temp file, fsync, rename), readable by the user only. Its
    /// `saved_at` is kept when set (it orders records across processes), else set to now.
    pub fn save(&self, record: &TokenRecord) -> Result<(), AuthError> {
        let mut record = record.clone();
        if record.saved_at == 0 {
            record.saved_at = unix(SystemTime::now());
        }
        let json = serde_json::to_vec_pretty(&record).map_err(|e| AuthError::StoreIo {
            op: "encode",
            path: self.path.clone(),
            source: io::Error::other(e.to_string()),
        })?;
        create_private_dir(&self.dir).map_err(|source| AuthError::StoreIo {
            op: "create the folder of",
            path: self.path.clone(),
            source,
        })?;
        write_atomic(&self.path, &json).map_err(|source| AuthError::StoreIo {
            op: "write",
            path: self.path.clone(),
            source,
        })
    }

    /// Deletes the saved login (logout). No file is not an error.
    pub fn remove(&self) -> Result<(), AuthError> {
        match fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(AuthError::StoreIo { op: "delete", path: self.path.clone(), source }),
        }
    }

    /// Renames an unreadable file aside so a new login can be saved; never deletes it.
    fn keep_aside(&self, reason: String) -> AuthError {
        let stamp = unix(SystemTime::now());
        let mut kept_as = self.path.with_extension(format!("json.corrupt-{stamp}"));
        let mut n = 1;
        while kept_as.exists() {
            kept_as = self.path.with_extension(format!("json.corrupt-{stamp}-{n}"));
            n += 1;
        }
        match fs::rename(&self.path, &kept_as) {
            Ok(()) => {
                tracing::warn!(path = %self.path.display(), kept_as = %kept_as.display(), %reason, "token file kept aside");
                AuthError::CorruptStore { path: self.path.clone(), kept_as, reason }
            }
            Err(source) => {
                AuthError::StoreIo { op: "move aside the unreadable", path: self.path.clone(), source }
            }
        }
    }
}

/// `~/.config/td-spotify` and its equivalents.
pub fn default_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "td-spotify").map(|d| d.config_dir().to_path_buf())
}

/// `token-<client id>.json`; a client id that is not a plain token is hashed instead, so it can
/// never climb out of the directory.
fn file_name(client_id: &str) -> String {
    let plain = !client_id.is_empty()
        && client_id.len() <= 64
        && client_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if plain {
        format!("token-{client_id}.json")
    } else {
        let digest = Sha256::digest(client_id.as_bytes());
        let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
        format!("token-{hex}.json")
    }
}

fn category(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Io => "read error",
        serde_json::error::Category::Syntax => "not valid JSON",
        serde_json::error::Category::Data => "unexpected contents",
        serde_json::error::Category::Eof => "truncated",
    }
}

/// Writes `bytes` to `path` so that readers see the old file or the new one, never a mix, and
/// only the user can read it: a temporary file in the same folder, flushed, then renamed over
/// `path`. The jukebox's queue file is written the same way.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("token.json");
    let tmp = dir.join(format!(".{name}.{}.{}.tmp", std::process::id(), random_string(6)));
    let result = (|| {
        let mut file = private_file(&tmp)?;
        // Before a secret is written to it.
        restrict_to_owner(&tmp, dir)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)?;
        sync_dir(dir);
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(unix)]
fn private_file(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)
}

#[cfg(not(unix))]
fn private_file(path: &Path) -> io::Result<File> {
    // The per-user profile directory's ACL already keeps other users out on Windows.
    OpenOptions::new().write(true).create_new(true).open(path)
}

/// `icacls FILE /inheritance:r /grant:r *S-1-3-4:(F)`: drops the ACEs inherited from the folder
/// and grants full control to OWNER RIGHTS alone, i.e. to the user who created the file. icacls
/// ships with Windows (Vista on); running it keeps Win32 security calls (and `unsafe`) out of
/// this layer. The full path is used, never a lookup through PATH.
#[cfg(any(windows, test))]
fn icacls_owner_only(file: &Path, system_root: Option<std::ffi::OsString>) -> std::process::Command {
    let root = system_root.map(PathBuf::from).unwrap_or_else(|| PathBuf::from(r"C:\Windows"));
    let mut cmd = std::process::Command::new(root.join("System32").join("icacls.exe"));
    cmd.arg(file)
        .args(["/inheritance:r", "/grant:r", "*S-1-3-4:(F)", "/q"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    cmd
}

/// Whether `dir` lies inside `home`, compared as Windows does (case-insensitively, by
/// component, after resolving what can be resolved).
#[cfg(any(windows, test))]
fn inside(dir: &Path, home: &Path) -> bool {
    let normal = |p: &Path| {
        let p = fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        PathBuf::from(p.to_string_lossy().to_lowercase())
    };
    normal(dir).starts_with(normal(home))
}

#[cfg(windows)]
fn restrict_to_owner(file: &Path, dir: &Path) -> io::Result<()> {
    use std::os::windows::process::CommandExt;
    /// No console window flashes up over TouchDesigner.
    const CREATE_NO_WINDOW: u32 = 0x0800_0000;
    let home = directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf());
    if home.is_some_and(|home| inside(dir, &home)) {
        return Ok(());
    }
    let status = icacls_owner_only(file, std::env::var_os("SystemRoot"))
        .creation_flags(CREATE_NO_WINDOW)
        .status()
        .map_err(|e| {
            io::Error::new(e.kind(), format!("could not run icacls to make the file private: {e}"))
        })?;
    if status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "the folder is outside your user profile and icacls could not make the file private to your \
             user ({status}); choose a Tokencache folder on an NTFS drive, or leave Tokencache empty"
        )))
    }
}

#[cfg(not(windows))]
fn restrict_to_owner(_file: &Path, _dir: &Path) -> io::Result<()> {
    // Unix: the file is created with mode 0600 (`private_file`).
    Ok(())
}

#[cfg(unix)]
fn open_lock_file(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new().read(true).write(true).create(true).truncate(false).mode(0o600).open(path)
}

#[cfg(not(unix))]
fn open_lock_file(path: &Path) -> io::Result<File> {
    OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path)
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}

/// Makes the rename itself durable (the directory entry), where the OS allows it.
#[cfg(unix)]
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) {}

/// A token file someone made readable to others is made private again.
#[cfg(unix)]
fn tighten_permissions(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = fs::metadata(path) {
        if meta.permissions().mode() & 0o077 != 0 {
            let _ = fs::set_permissions(path, fs::Permissions::from_mode(0o600));
        }
    }
}

#[cfg(not(unix))]
fn tighten_permissions(_path: &Path) {}

#[cfg(test)]
mod tests {
    use super::*;

    const SENTINEL: &str = "SENTINEL-store-41b7";

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("td-spotify-store-{name}-{}", random_string(6)));
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn record(client_id: &str) -> TokenRecord {
        TokenRecord {
            version: FORMAT_VERSION,
            client_id: client_id.into(),
            access_token: AccessToken::new("A"),
            refresh_token: Some(RefreshToken::new("R")),
            expires_at: 2_000_000_000,
            lifetime_s: 3600,
            scope: "s".into(),
            user: Some("Ada".into()),
            saved_at: 0,
        }
    }

    #[test]
    fn save_then_load_round_trips_with_mode_0600() {
        let dir = temp_dir("roundtrip").join("nested");
        let store = TokenStore::new(Some(&dir), "cid").unwrap();
        assert_eq!(store.load("cid").unwrap(), None);
        store.save(&record("cid")).unwrap();
        let loaded = store.load("cid").unwrap().unwrap();
        assert_eq!(loaded.refresh_token.unwrap().secret(), "R");
        assert_eq!(loaded.user.as_deref(), Some("Ada"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(fs::metadata(store.path()).unwrap().permissions().mode() & 0o777, 0o600);
            assert_eq!(fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
        }
        // Overwriting leaves no temp files behind.
        store.save(&record("cid")).unwrap();
        let names: Vec<_> = fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, [std::ffi::OsString::from("token-cid.json")]);
        store.remove().unwrap();
        store.remove().unwrap();
        assert_eq!(store.load("cid").unwrap(), None);
    }

    #[test]
    fn corrupt_file_is_kept_aside_and_named() {
        let dir = temp_dir("corrupt");
        let store = TokenStore::new(Some(&dir), "cid").unwrap();
        let garbage = format!("{{\"version\":1,\"client_id\":\"cid\",\"access_token\":{SENTINEL}");
        fs::write(store.path(), &garbage).unwrap();
        let err = store.load("cid").unwrap_err();
        let AuthError::CorruptStore { kept_as, .. } = &err else { panic!("{err:?}") };
        assert_eq!(fs::read_to_string(kept_as).unwrap(), garbage);
        assert!(!store.path().exists());
        let shown = format!("{err} {err:?} {}", err.user_message());
        assert!(!shown.contains(SENTINEL), "{shown}");
        assert!(err.user_message().contains("Pulse Login"));
        // The user can log in again.
        assert_eq!(store.load("cid").unwrap(), None);
        store.save(&record("cid")).unwrap();
        assert!(store.load("cid").unwrap().is_some());
    }

    #[test]
    fn wrong_types_and_foreign_files_are_kept_aside_without_quoting_values() {
        let dir = temp_dir("types");
        let store = TokenStore::new(Some(&dir), "cid").unwrap();
        fs::write(store.path(), format!("{{\"version\":1,\"client_id\":\"cid\",\"access_token\":\"a\",\"expires_at\":\"{SENTINEL}\"}}")).unwrap();
        let err = store.load("cid").unwrap_err();
        assert!(!format!("{err} {err:?}").contains(SENTINEL));
        store.save(&record("other")).unwrap();
        assert!(matches!(store.load("cid"), Err(AuthError::CorruptStore { .. })));
        let kept = fs::read_dir(&dir)
            .unwrap()
            .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().contains("corrupt"))
            .count();
        assert_eq!(kept, 2);
    }

    #[test]
    fn client_ids_cannot_escape_the_directory() {
        let dir = temp_dir("escape");
        let store = TokenStore::new(Some(&dir), "../../etc/passwd").unwrap();
        assert_eq!(store.path().parent().unwrap(), dir);
        assert!(store.path().file_name().unwrap().to_string_lossy().starts_with("token-"));
        assert!(
            TokenStore::new(None, "cid").is_ok_and(|s| s.path().ends_with("token-cid.json"))
                || default_dir().is_none()
        );
    }

    #[test]
    fn windows_owner_only_acl_command_and_profile_check() {
        let cmd = icacls_owner_only(Path::new(r"D:\shows\token-x.json"), Some(r"C:\WINDOWS".into()));
        assert!(cmd.get_program().to_string_lossy().ends_with("icacls.exe"));
        assert!(cmd.get_program().to_string_lossy().starts_with(r"C:\WINDOWS"));
        let args: Vec<_> = cmd.get_args().map(|a| a.to_string_lossy().into_owned()).collect();
        assert_eq!(args, [r"D:\shows\token-x.json", "/inheritance:r", "/grant:r", "*S-1-3-4:(F)", "/q"]);
        assert!(inside(Path::new("/home/Ada/.config/td-spotify"), Path::new("/home/ada")));
        assert!(!inside(Path::new("/home/ada2/tokens"), Path::new("/home/ada")));
        assert!(!inside(Path::new("/mnt/show/tokens"), Path::new("/home/ada")));
    }

    #[test]
    fn refresh_is_due_near_expiry() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let mut r = record("cid");
        r.expires_at = 1_000_000 + 3600;
        assert!(!r.needs_refresh(now));
        r.expires_at = 1_000_000 + 299;
        assert!(r.needs_refresh(now));
        r.lifetime_s = 60;
        r.expires_at = 1_000_000 + 20;
        assert!(!r.needs_refresh(now));
        r.expires_at = 1_000_000 + 15;
        assert!(r.needs_refresh(now));
    }
}
