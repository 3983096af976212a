//! Runs the local identity provider (`provider.mjs`, node's oidc-provider) and the headless
//! browser driver (`drive.mjs`, playwright-core over Debian's chromium) for the login tests and
//! the login benchmark.
//!
//! Without node, chromium or `tests/oidc/node_modules`, [`tools`] skips loudly, unless the
//! environment variable `CI` is set: then a missing tool fails the run.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Where the node project lives.
pub fn oidc_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oidc")
}

/// What the login tests need installed.
pub struct Tools {
    pub node: PathBuf,
    pub chromium: PathBuf,
}

const INSTALL: &str =
    "apt-get update && apt-get install -y chromium && (cd tests/oidc && npm ci) (node >= 20.19 with npm)";

/// The tools, or `None` (after a loud message) when some are missing outside CI.
///
/// # Panics
/// Under CI (`CI` set), when a tool is missing.
pub fn tools(test: &str) -> Option<Tools> {
    let node = PathBuf::from(std::env::var_os("TD_SPOTIFY_NODE").unwrap_or_else(|| "node".into()));
    let chromium =
        PathBuf::from(std::env::var_os("TD_SPOTIFY_CHROMIUM").unwrap_or_else(|| "/usr/bin/chromium".into()));
    let mut missing = Vec::new();
    if !Command::new(&node).arg("--version").output().is_ok_and(|o| o.status.success()) {
        missing.push(format!("node (`{}`)", node.display()));
    }
    if !chromium.is_file() {
        missing.push(format!("chromium (`{}`)", chromium.display()));
    }
    for module in ["oidc-provider", "playwright-core"] {
        if !oidc_dir().join("node_modules").join(module).is_dir() {
            missing.push(format!("tests/oidc/node_modules/{module}"));
        }
    }
    if missing.is_empty() {
        return Some(Tools { node, chromium });
    }
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    let message = format!("{test}: missing {}; install with: {INSTALL}", missing.join(", "));
    if ci {
        panic!("{message} (CI is set, so this is a failure, not a skip)");
    }
    // Straight to stderr: the test harness captures `eprintln!` of passing tests.
    let _ = writeln!(
        std::io::stderr(),
        "\n########################################################################\n\
         ## SKIPPED (not a pass): {message}\n\
         ########################################################################\n"
    );
    None
}

/// A free loopback port (to register as the redirect URI before the login server binds it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Lines a child prints, read on a thread so reads can time out.
fn lines(out: impl std::io::Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Collects a child's stderr for failure messages.
fn collect(out: impl std::io::Read + Send + 'static) -> Arc<Mutex<String>> {
    let buf = Arc::new(Mutex::new(String::new()));
    let sink = Arc::clone(&buf);
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let mut s = sink.lock().unwrap();
            s.push_str(&line);
            s.push('\n');
        }
    });
    buf
}

/// The local accounts service (and `/v1/me`). Stopped on drop.
pub struct Provider {
    child: Child,
    _stdin: ChildStdin,
    pub issuer: String,
    stderr: Arc<Mutex<String>>,
}

impl Provider {
    pub fn start(tools: &Tools, client_id: &str, redirect_uris: &[String]) -> Provider {
        let mut cmd = Command::new(&tools.node);
        cmd.arg(oidc_dir().join("provider.mjs")).args(["--client-id", client_id]);
        for uri in redirect_uris {
            cmd.args(["--redirect-uri", uri]);
        }
        let mut child = cmd
            .current_dir(oidc_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start node provider.mjs");
        let stdin = child.stdin.take().unwrap();
        let stdout = lines(child.stdout.take().unwrap());
        let stderr = collect(child.stderr.take().unwrap());
        let Ok(line) = stdout.recv_timeout(Duration::from_secs(30)) else {
            let _ = child.kill();
            panic!("provider.mjs did not start: {}", stderr.lock().unwrap());
        };
        let ready: serde_json::Value = serde_json::from_str(&line).expect("provider's ready line");
        let issuer = ready["issuer"].as_str().expect("issuer").to_owned();
        Provider { child, _stdin: stdin, issuer, stderr }
    }

    /// What the provider logged (its errors explain refusals).
    pub fn log(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Headless chromium under playwright-core. Stopped on drop.
pub struct Browser {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Receiver<String>,
    stderr: Arc<Mutex<String>>,
}

/// What the browser saw at the end of a command.
#[derive(Debug, Clone)]
pub struct Seen {
    pub ok: bool,
    pub status: u64,
    pub title: String,
    pub text: String,
    /// Read through `Debug` in failure messages.
    #[allow(dead_code)]
    pub error: Option<String>,
}

impl Browser {
    pub fn start(tools: &Tools) -> Browser {
        let mut child = Command::new(&tools.node)
            .arg(oidc_dir().join("drive.mjs"))
            .current_dir(oidc_dir())
            .env("TD_SPOTIFY_CHROMIUM", &tools.chromium)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start node drive.mjs");
        let stdin = child.stdin.take();
        let stdout = lines(child.stdout.take().unwrap());
        let stderr = collect(child.stderr.take().unwrap());
        Browser { child, stdin, stdout, stderr }
    }

    /// Opens `url` and does `action` (`allow`, `deny`, `visit`); blocks until done.
    pub fn run(&mut self, url: &str, action: &str) -> Seen {
        let command = serde_json::json!({ "url": url, "action": action });
        let stdin = self.stdin.as_mut().expect("browser stdin");
        writeln!(stdin, "{command}").expect("send to drive.mjs");
        stdin.flush().unwrap();
        let line = self
            .stdout
            .recv_timeout(Duration::from_secs(90))
            .unwrap_or_else(|_| panic!("drive.mjs did not answer: {}", self.stderr.lock().unwrap()));
        let v: serde_json::Value = serde_json::from_str(&line).expect("drive.mjs answer");
        let s = |k: &str| v[k].as_str().map(str::to_owned);
        Seen {
            ok: v["ok"].as_bool().unwrap_or(false),
            status: v["status"].as_u64().unwrap_or(0),
            title: s("title").unwrap_or_default(),
            text: s("text").unwrap_or_default(),
            error: s("error"),
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        drop(self.stdin.take());
        for _ in 0..50 {
            if self.child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
