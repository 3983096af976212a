//! The live page's HTTP server: `/` (the card), `/events` (Server-Sent Events), `POST /join`.
//!
//! Like the login server (rust/auth/loopback.rs, which says why tiny_http was rejected: worker
//! threads that are never joined, unbounded header lines, no `Connection: close`), one thread
//! serves every connection from non-blocking sockets, parses heads with `httparse` and caps
//! them, and [`PageServer::stop`] (and `Drop`) joins it. Unlike the login server it keeps
//! `/events` connections open and writes each new board to them; a browser too slow to take
//! its events is dropped (EventSource reconnects by itself).
//!
//! Bound to 127.0.0.1 by default (`Pagebind`); then a request naming another host is refused,
//! so a web page elsewhere cannot reach the jukebox through DNS rebinding.

use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;

use super::board::Board;
use super::page::PAGE;
use crate::engine::os_thread::{self, OsThread};

const MAX_HEAD: usize = 16 * 1024;
const MAX_HEADERS: usize = 48;
/// Requests being read at once; beyond this the oldest is dropped.
const MAX_INCOMING: usize = 32;
/// Open `/events` streams; beyond this the oldest is closed.
const MAX_STREAMS: usize = 128;
const HEAD_DEADLINE: Duration = Duration::from_secs(10);
/// Unsent bytes a stream may hold before it counts as stuck.
const MAX_PENDING: usize = 256 * 1024;
/// A comment line keeps idle streams alive through proxies and finds closed ones.
const KEEPALIVE: Duration = Duration::from_secs(15);
const POLL: Duration = Duration::from_millis(10);
const WRITE_TIMEOUT: Duration = Duration::from_secs(2);
/// Name of the cookie that tells browsers apart (an opaque random key).
pub const VIEWER_COOKIE: &str = "jukebox_viewer";

/// Where the page is served (`Pagebind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Bind {
    /// 127.0.0.1 only: this machine.
    #[default]
    Loopback,
    /// Every interface: phones on the same network.
    Lan,
}

impl std::str::FromStr for Bind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "loopback" => Ok(Bind::Loopback),
            // `network` is the `Pagebind` menu's word for it.
            "lan" | "network" => Ok(Bind::Lan),
            other => Err(format!("unknown bind {other:?}: use \"loopback\" or \"lan\" (network)")),
        }
    }
}

/// What a browser asked the jukebox to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Join { viewer: String },
}

/// The board the server sends, with a version that changes with it.
#[derive(Debug, Default)]
pub struct BoardCell {
    inner: Mutex<(u64, Arc<Board>)>,
}

impl BoardCell {
    pub fn publish(&self, board: Board) {
        if let Ok(mut slot) = self.inner.lock() {
            slot.0 += 1;
            slot.1 = Arc::new(board);
        }
    }

    fn current(&self) -> (u64, Arc<Board>) {
        match self.inner.lock() {
            Ok(slot) => (slot.0, Arc::clone(&slot.1)),
            Err(_) => (0, Arc::new(Board::default())),
        }
    }
}

/// Why the page server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("port {port} is already in use: pick another (Pageport, or --port), or close what uses it")]
    PortInUse { port: u16 },
    #[error("could not listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: io::Error },
    #[error("could not start the page server thread: {0}")]
    Thread(io::Error),
}

/// The running page server; dropping it stops and joins its thread.
#[derive(Debug)]
pub struct PageServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<OsThread>,
}

impl PageServer {
    /// Serves `board` on `port` (0 picks one) and sends what browsers ask to `commands`.
    pub fn start(
        bind: Bind,
        port: u16,
        board: Arc<BoardCell>,
        commands: Sender<Command>,
    ) -> Result<PageServer, ServerError> {
        let ip = match bind {
            Bind::Loopback => IpAddr::V4(Ipv4Addr::LOCALHOST),
            Bind::Lan => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        };
        let addr = SocketAddr::new(ip, port);
        let listener = TcpListener::bind(addr).map_err(|e| {
            if e.kind() == io::ErrorKind::AddrInUse {
                ServerError::PortInUse { port }
            } else {
                ServerError::Listen { addr, source: e }
            }
        })?;
        let listen_err = |source| ServerError::Listen { addr, source };
        listener.set_nonblocking(true).map_err(listen_err)?;
        let addr = listener.local_addr().map_err(listen_err)?;
        let stop = Arc::new(AtomicBool::new(false));
        let thread_stop = Arc::clone(&stop);
        // Not `std::thread`: started from TouchDesigner's thread too (see `os_thread`).
        let thread = os_thread::spawn("td-spotify-jukebox-page", move || {
            let mut server =
                Serve { listener, bind, board, commands, incoming: Vec::new(), streams: Vec::new() };
            server.run(&thread_stop);
        })
        .map_err(ServerError::Thread)?;
        Ok(PageServer { addr, stop, thread: Some(thread) })
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The address to open on this machine.
    pub fn local_url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.addr.port())
    }

    /// Stops the thread and waits for it (one poll plus at most one write timeout).
    pub fn stop(mut self) {
        self.shutdown();
    }

    /// Stops the thread, waiting at most `bound` for it (then it ends by itself).
    pub fn stop_within(mut self, bound: Duration) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            t.finish_within(bound);
        }
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            t.join();
        }
    }
}

impl Drop for PageServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

struct Incoming {
    stream: TcpStream,
    buf: Vec<u8>,
    since: Instant,
}

struct Stream {
    stream: TcpStream,
    viewer: Option<String>,
    pending: Vec<u8>,
    sent_version: u64,
    last_write: Instant,
}

struct Head {
    method: String,
    path: String,
    host: Option<String>,
    viewer: Option<String>,
}

struct Serve {
    listener: TcpListener,
    bind: Bind,
    board: Arc<BoardCell>,
    commands: Sender<Command>,
    incoming: Vec<Incoming>,
    streams: Vec<Stream>,
}

impl Serve {
    fn run(&mut self, stop: &AtomicBool) {
        while !stop.load(Ordering::Acquire) {
            self.accept();
            self.read_requests();
            self.feed_streams();
            std::thread::sleep(POLL);
        }
    }

    fn accept(&mut self) {
        loop {
            match self.listener.accept() {
                Ok((stream, _)) => {
                    if stream.set_nonblocking(true).is_err() {
                        continue;
                    }
                    if self.incoming.len() >= MAX_INCOMING {
                        self.incoming.remove(0);
                    }
                    self.incoming.push(Incoming { stream, buf: Vec::new(), since: Instant::now() });
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e)
                    if matches!(e.kind(), io::ErrorKind::ConnectionAborted | io::ErrorKind::Interrupted) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "jukebox page could not accept a connection");
                    return;
                }
            }
        }
    }

    fn read_requests(&mut self) {
        let now = Instant::now();
        let mut i = 0;
        while i < self.incoming.len() {
            match read_head(&mut self.incoming[i], now) {
                Ok(None) => i += 1,
                Ok(Some(head)) => {
                    let conn = self.incoming.swap_remove(i);
                    self.answer(conn.stream, head);
                }
                Err(Some((status, why))) => {
                    let conn = self.incoming.swap_remove(i);
                    respond(
                        conn.stream,
                        status,
                        &[("Content-Type", "text/plain; charset=utf-8".into())],
                        why,
                    );
                }
                Err(None) => {
                    self.incoming.swap_remove(i);
                }
            }
        }
    }

    fn host_allowed(&self, host: Option<&str>) -> bool {
        if self.bind == Bind::Lan {
            return true;
        }
        let Some(host) = host else { return false };
        let name = match host.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
            _ => host,
        };
        matches!(name, "127.0.0.1" | "localhost" | "[::1]")
    }

    fn answer(&mut self, stream: TcpStream, head: Head) {
        if !self.host_allowed(head.host.as_deref()) {
            return respond(stream, 421, &[], "This page is served to this machine only.");
        }
        match (head.method.as_str(), head.path.as_str()) {
            ("GET" | "HEAD", "/") => {
                let mut headers = vec![("Content-Type", "text/html; charset=utf-8".to_owned())];
                if head.viewer.is_none() {
                    let key: String = (0..2).map(|_| format!("{:016x}", rand::random::<u64>())).collect();
                    headers.push((
                        "Set-Cookie",
                        format!("{VIEWER_COOKIE}={key}; Path=/; HttpOnly; SameSite=Strict"),
                    ));
                }
                let body = if head.method == "HEAD" { "" } else { PAGE };
                respond(stream, 200, &headers, body);
            }
            ("GET", "/events") => self.open_stream(stream, head.viewer),
            ("POST", "/join") => {
                if let Some(viewer) = head.viewer {
                    let _ = self.commands.try_send(Command::Join { viewer });
                }
                respond(stream, 303, &[("Location", "/".into())], "");
            }
            ("GET", "/favicon.ico") => respond(stream, 204, &[], ""),
            (_, "/" | "/events" | "/join") => respond(stream, 405, &[], "Method not allowed."),
            _ => respond(stream, 404, &[], "Not found."),
        }
    }

    fn open_stream(&mut self, stream: TcpStream, viewer: Option<String>) {
        let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n\
                    Connection: keep-alive\r\nX-Content-Type-Options: nosniff\r\n\r\nretry: 1000\n\n";
        if self.streams.len() >= MAX_STREAMS {
            self.streams.remove(0);
        }
        self.streams.push(Stream {
            stream,
            viewer,
            pending: head.as_bytes().to_vec(),
            sent_version: 0,
            last_write: Instant::now(),
        });
    }

    fn feed_streams(&mut self) {
        if self.streams.is_empty() {
            return;
        }
        let (version, board) = self.board.current();
        let now = Instant::now();
        self.streams.retain_mut(|s| {
            if s.sent_version != version {
                s.sent_version = version;
                s.pending.extend_from_slice(b"data: ");
                s.pending.extend_from_slice(board.json_for(s.viewer.as_deref()).as_bytes());
                s.pending.extend_from_slice(b"\n\n");
            } else if now.duration_since(s.last_write) >= KEEPALIVE && s.pending.is_empty() {
                s.pending.extend_from_slice(b": keep-alive\n\n");
            }
            if s.pending.len() > MAX_PENDING {
                return false;
            }
            while !s.pending.is_empty() {
                match s.stream.write(&s.pending) {
                    Ok(0) => return false,
                    Ok(n) => {
                        s.pending.drain(..n);
                        s.last_write = now;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => return false,
                }
            }
            // A browser that closed the stream: reading gives 0 (anything it sends is ignored).
            let mut sink = [0u8; 256];
            !matches!(s.stream.read(&mut sink), Ok(0))
        });
    }
}

/// Reads what arrived; `Ok(Some)` once the head is complete, `Err(Some)` to refuse, `Err(None)`
/// to drop silently.
#[allow(clippy::type_complexity)]
fn read_head(conn: &mut Incoming, now: Instant) -> Result<Option<Head>, Option<(u16, &'static str)>> {
    let mut chunk = [0u8; 4096];
    // A client may send its request and close its side at once: the request still counts.
    let mut closed = false;
    loop {
        match conn.stream.read(&mut chunk) {
            Ok(0) if conn.buf.is_empty() => return Err(None),
            Ok(0) => {
                closed = true;
                break;
            }
            Ok(n) => {
                conn.buf.extend_from_slice(&chunk[..n]);
                if conn.buf.len() > MAX_HEAD {
                    return Err(Some((431, "The request's headers are too large.")));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Err(None),
        }
    }
    let late = now.saturating_duration_since(conn.since) > HEAD_DEADLINE;
    if conn.buf.is_empty() {
        return if late { Err(None) } else { Ok(None) };
    }
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(&conn.buf) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) if closed => return Err(None),
        Ok(httparse::Status::Partial) if late => {
            return Err(Some((408, "The request did not arrive in time.")))
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(Some((431, "The request has too many headers."))),
        Err(_) => return Err(Some((400, "The request is not valid HTTP."))),
    }
    let (Some(method), Some(target)) = (req.method, req.path) else {
        return Err(Some((400, "The request is not valid HTTP.")));
    };
    let header = |name: &str| {
        let mut values = req.headers.iter().filter(|h| h.name.eq_ignore_ascii_case(name));
        match (values.next(), values.next()) {
            (Some(h), None) => std::str::from_utf8(h.value).ok(),
            _ => None,
        }
    };
    let viewer = req
        .headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("cookie"))
        .filter_map(|h| std::str::from_utf8(h.value).ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == VIEWER_COOKIE)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_alphanumeric()))
        .map(str::to_owned);
    Ok(Some(Head {
        method: method.to_owned(),
        path: target.split_once('?').map_or(target, |(p, _)| p).to_owned(),
        host: header("host").map(str::to_owned),
        viewer,
    }))
}

/// Writes a whole response and closes the connection.
fn respond(mut stream: TcpStream, status: u16, headers: &[(&str, String)], body: &str) {
    let reason = crate::api::reason_phrase(status);
    let mut out = format!("HTTP/1.1 {status} {reason}\r\n");
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    // Everything the page needs is inline; art may come from Spotify's https image servers.
    out.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\nCache-Control: no-store\r\nReferrer-Policy: no-referrer\r\n\
         X-Content-Type-Options: nosniff\r\nContent-Security-Policy: default-src 'none'; \
         style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'; img-src https: data:; \
         form-action 'self'; frame-ancestors 'none'\r\n\r\n{body}",
        body.len()
    ));
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
    if stream.write_all(out.as_bytes()).is_ok() {
        let _ = stream.shutdown(std::net::Shutdown::Write);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(port: u16, bytes: &[u8], read_for: Option<Duration>) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(read_for.unwrap_or(Duration::from_secs(10)))).unwrap();
        s.write_all(bytes).unwrap();
        let mut out = Vec::new();
        let mut chunk = [0u8; 4096];
        while let Ok(n) = s.read(&mut chunk) {
            if n == 0 {
                break;
            }
            out.extend_from_slice(&chunk[..n]);
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn page_events_join_and_refusals() {
        let cell = Arc::new(BoardCell::default());
        let (tx, rx) = crossbeam_channel::bounded(8);
        let server = PageServer::start(Bind::Loopback, 0, Arc::clone(&cell), tx).unwrap();
        let port = server.port();
        let page = raw(port, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", None);
        assert!(page.starts_with("HTTP/1.1 200 OK"), "{page}");
        assert!(page.contains("Set-Cookie: jukebox_viewer="));
        assert!(page.contains("Waiting for signal"));
        // DNS rebinding: another host name is refused on loopback.
        assert!(raw(port, b"GET / HTTP/1.1\r\nHost: evil.example\r\n\r\n", None).starts_with("HTTP/1.1 421"));
        assert!(raw(port, b"DELETE / HTTP/1.1\r\nHost: localhost\r\n\r\n", None).starts_with("HTTP/1.1 405"));
        assert!(raw(port, b"\x00garbage\r\n\r\n", None).starts_with("HTTP/1.1 400"));
        let joined = raw(port, b"POST /join HTTP/1.1\r\nHost: 127.0.0.1:1\r\nCookie: a=b; jukebox_viewer=abc123\r\nContent-Length: 0\r\n\r\n", None);
        assert!(joined.starts_with("HTTP/1.1 303"), "{joined}");
        assert_eq!(rx.try_recv(), Ok(Command::Join { viewer: "abc123".into() }));

        let mut board = Board { source: "simulator", turn_index: 7, ..Board::default() };
        board
            .viewers
            .insert("abc123".into(), super::super::board::Mine { position: Some(3), ..Default::default() });
        cell.publish(board);
        let events = raw(
            port,
            b"GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: jukebox_viewer=abc123\r\n\r\n",
            Some(Duration::from_millis(500)),
        );
        assert!(events.contains("Content-Type: text/event-stream"), "{events}");
        assert!(events.contains("data: {") && events.contains("\"turn_index\":7"), "{events}");
        assert!(events.contains("\"me\":{\"position\":3"), "{events}");
        let started = Instant::now();
        server.stop();
        assert!(started.elapsed() < Duration::from_secs(1));
    }
}
