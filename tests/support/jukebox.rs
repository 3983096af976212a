//! Driving `td-spotify jukebox` from tests: start it and find its page, read its live events.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The CLI binary the jukebox tests start.
pub const BIN: &str = env!("CARGO_BIN_EXE_td-spotify");

/// A running `td-spotify jukebox` (killed on drop) and the page URL it printed.
pub struct Jukebox {
    child: Child,
    pub url: String,
}

impl Jukebox {
    /// `td-spotify jukebox` with `args`, the queue in `cache`, no cache or Redis from the
    /// environment; waits for the line that names the page.
    pub fn start(args: &[&str], cache: &std::path::Path, env: &[(&str, &str)]) -> Jukebox {
        let mut command = Command::new(BIN);
        command.arg("jukebox").args(args).arg("--cache").arg(cache);
        command.env_remove("TD_SPOTIFY_CACHE").env_remove("TD_SPOTIFY_REDIS_URL");
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start td-spotify jukebox");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let url = line
            .trim()
            .strip_prefix("Juke-V-Box: open ")
            .unwrap_or_else(|| panic!("no URL in {line:?}"))
            .to_owned();
        assert!(url.starts_with("http://127.0.0.1:") && url.ends_with('/'), "{url}");
        Jukebox { child, url }
    }

    pub fn port(&self) -> u16 {
        self.url.trim_end_matches('/').rsplit(':').next().unwrap().parse().unwrap()
    }

    /// Ends the process now, as a crash would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Jukebox {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A page's Server-Sent Events stream at `/events`.
pub struct Events {
    stream: TcpStream,
    buf: String,
}

impl Events {
    /// Opens `/events` on `port` as the browser whose cookie names `viewer` (none: `None`).
    pub fn open(port: u16, viewer: Option<&str>) -> Events {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let cookie = viewer.map(|v| format!("Cookie: jukebox_viewer={v}\r\n")).unwrap_or_default();
        write!(stream, "GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n{cookie}\r\n").unwrap();
        Events { stream, buf: String::new() }
    }

    /// The first event (from now on) that satisfies `want`, within `within`.
    pub fn until(
        &mut self,
        what: &str,
        within: Duration,
        want: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = Instant::now() + within;
        let mut last = serde_json::Value::Null;
        let mut chunk = [0u8; 8192];
        while Instant::now() < deadline {
            while let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                if let Some(data) = block.lines().find_map(|l| l.strip_prefix("data: ")) {
                    let event: serde_json::Value = serde_json::from_str(data).unwrap();
                    if want(&event) {
                        return event;
                    }
                    last = event;
                }
            }
            let n = self.stream.read(&mut chunk).expect("read events");
            assert!(n > 0, "stream closed");
            self.buf.push_str(&String::from_utf8_lossy(&chunk[..n]));
        }
        panic!("{what}: no such event within {within:?}; the last one: {last}");
    }
}
