//! The login survives two processes (issue 9): two processes share one token file and refresh
//! against a provider that rotates the refresh token on every use, hands out one-second access
//! tokens and, like a real provider, refuses a refresh token that was already spent (and then
//! revokes the whole grant). 100 refreshes between them must end with zero "login required".
//!
//! The second process is this test binary itself, run again with `RACE_CHILD` set: it then runs
//! only `race_child`, which refreshes in a loop and reports through its exit status.

use crate::support::isolation::serial;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use td_spotify::auth::secret::{AccessToken, RefreshToken};
use td_spotify::auth::store::{TokenRecord, TokenStore};
use td_spotify::auth::{Session, SessionConfig};

const CLIENT: &str = "raceclient";
const PER_PROCESS: usize = 50;
/// Set in the child processes: `accounts URL|token directory`.
const CHILD_ENV: &str = "TD_SPOTIFY_RACE_CHILD";

/// The provider's state: the one live refresh token, and what happened.
#[derive(Default)]
struct Grants {
    live: Option<String>,
    issued: u64,
    granted: u64,
    refused: u64,
}

/// A strict rotating token endpoint on loopback.
struct Provider {
    url: String,
    grants: Arc<Mutex<Grants>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Provider {
    fn start(first_refresh_token: &str) -> Provider {
        let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let url = format!("http://{}", server.server_addr().to_ip().unwrap());
        let grants =
            Arc::new(Mutex::new(Grants { live: Some(first_refresh_token.into()), ..Grants::default() }));
        let stop = Arc::new(AtomicBool::new(false));
        let (g, s) = (Arc::clone(&grants), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Acquire) {
                let Ok(Some(mut req)) = server.recv_timeout(Duration::from_millis(20)) else { continue };
                let mut body = String::new();
                let _ = req.as_reader().read_to_string(&mut body);
                let form: Vec<(String, String)> =
                    url::form_urlencoded::parse(body.as_bytes()).into_owned().collect();
                let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
                let ok_request = req.url() == "/api/token"
                    && field("grant_type").as_deref() == Some("refresh_token")
                    && field("client_id").as_deref() == Some(CLIENT);
                let json = |status: u16, body: String| {
                    tiny_http::Response::from_string(body)
                        .with_status_code(status)
                        .with_header("Content-Type: application/json".parse::<tiny_http::Header>().unwrap())
                };
                if !ok_request {
                    let _ = req.respond(json(400, r#"{"error":"invalid_request"}"#.into()));
                    continue;
                }
                // Widen the window in which an unserialized second refresh would slip in.
                std::thread::sleep(Duration::from_millis(5));
                let mut grants = g.lock().unwrap();
                let presented = field("refresh_token");
                if grants.live.is_some() && presented == grants.live {
                    grants.issued += 1;
                    grants.granted += 1;
                    let n = grants.issued;
                    grants.live = Some(format!("rt-{n}"));
                    let body = format!(
                        r#"{{"access_token":"at-{n}","token_type":"Bearer","expires_in":1,"refresh_token":"rt-{n}","scope":"user-read-playback-state"}}"#
                    );
                    drop(grants);
                    let _ = req.respond(json(200, body));
                } else {
                    // A spent refresh token: refused, and the grant is revoked (reuse detection).
                    grants.refused += 1;
                    grants.live = None;
                    drop(grants);
                    let _ = req.respond(json(
                        400,
                        r#"{"error":"invalid_grant","error_description":"Invalid refresh token"}"#.into(),
                    ));
                }
            }
        });
        Provider { url, grants, stop, thread: Some(thread) }
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn session_config(accounts_url: &str, dir: &Path) -> SessionConfig {
    SessionConfig {
        client_id: CLIENT.into(),
        port: 0,
        cache_dir: Some(dir.to_path_buf()),
        accounts_url: accounts_url.into(),
        api_url: accounts_url.into(),
        open_browser: false,
        request_timeout: Duration::from_secs(5),
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().subsec_nanos();
    let dir = std::env::temp_dir().join(format!("td-spotify-race-{name}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// One process's share: `PER_PROCESS` access tokens, each needing a refresh (they last one
/// second and are refreshed when one second is left). Any error fails the process.
fn refresh_loop(accounts_url: &str, dir: &Path) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let session = Session::new(session_config(accounts_url, dir), tokio::runtime::Handle::current());
        let mut last = String::new();
        for i in 0..PER_PROCESS {
            let token =
                session.valid_token().await.map_err(|e| format!("refresh {i}: {}", e.user_message()))?;
            if token.secret() == last {
                return Err(format!("refresh {i} handed out the same token again"));
            }
            last = token.secret().to_owned();
            if let Some(problem) = session.view().problem {
                return Err(format!("refresh {i}: {problem}"));
            }
        }
        Ok(())
    })
}

#[test]
fn race_child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else { return };
    let (url, dir) = spec.split_once('|').unwrap();
    if let Err(e) = refresh_loop(url, Path::new(dir)) {
        eprintln!("race child {}: {e}", std::process::id());
        std::process::exit(3);
    }
}

#[test]
fn two_processes_share_a_rotating_login_without_logging_out() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return;
    }
    let _serial = serial();
    let dir = temp_dir("two");
    let store = TokenStore::new(Some(&dir), CLIENT).unwrap();
    store
        .save(&TokenRecord {
            version: 1,
            client_id: CLIENT.into(),
            access_token: AccessToken::new("at-0"),
            refresh_token: Some(RefreshToken::new("rt-0")),
            expires_at: 0,
            lifetime_s: 1,
            scope: String::new(),
            user: Some("Ada".into()),
            saved_at: 1,
        })
        .unwrap();
    let provider = Provider::start("rt-0");
    let spec = format!("{}|{}", provider.url, dir.display());
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..2)
        .map(|_| {
            Command::new(&exe)
                .args(["--exact", "token_race::race_child", "--nocapture", "--test-threads=1"])
                .env(CHILD_ENV, &spec)
                .stdout(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    let statuses: Vec<_> = children.into_iter().map(|mut c| c.wait().unwrap()).collect();
    let grants = provider.grants.lock().unwrap();
    let (granted, refused) = (grants.granted, grants.refused);
    let live = grants.live.clone();
    drop(grants);
    assert_eq!(refused, 0, "a spent refresh token was presented: the refreshes were not serialized");
    assert!(statuses.iter().all(|s| s.success()), "a process lost its login: {statuses:?}");
    assert_eq!(granted, 2 * PER_PROCESS as u64, "each handed-out token is a refresh");
    // The file holds the provider's live refresh token: the next process starts logged in.
    let saved = store.load(CLIENT).unwrap().unwrap();
    assert_eq!(saved.refresh_token.map(|t| t.secret().to_owned()), live);
    let _ = std::fs::remove_dir_all(&dir);
}
