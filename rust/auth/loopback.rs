//! The loopback HTTP server that receives Spotify's redirect: `http://127.0.0.1:PORT/callback`.
//!
//! It binds 127.0.0.1 only and runs on one thread of its own, which [`LoopbackServer::stop`]
//! (and `Drop`) stops and joins: no thread outlives it, so TouchDesigner can unload the plugin.
//!
//! Why not tiny_http: it starts an accept thread and a pool of at least four workers that are
//! never joined (idle workers linger 5 s after the server is dropped, and a browser's keep-alive
//! connection holds one indefinitely), reads header lines without a size limit, and cannot send
//! `Connection: close`. Here one thread serves every connection from non-blocking sockets, parses
//! with `httparse`, caps a request's head at `MAX_HEAD` bytes, drops connections that stay
//! silent, and closes each connection after one response.
//!
//! The server knows nothing about OAuth: each complete request goes to the handler, which
//! either answers it at once or keeps the [`Connection`] to answer later (after the token
//! exchange).

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::AuthError;

/// Largest request head (request line and headers) accepted; a browser's callback needs ~2 KiB.
const MAX_HEAD: usize = 16 * 1024;
/// Most headers in a request.
const MAX_HEADERS: usize = 48;
/// Connections served at once; beyond this the oldest is dropped.
const MAX_CONNECTIONS: usize = 16;
/// New connections accepted before the open ones are read again (less than `MAX_CONNECTIONS`).
const ACCEPTS_PER_TURN: usize = MAX_CONNECTIONS / 4;
/// A connection that has not sent a whole request head by then is dropped (browsers open
/// sockets speculatively and may never use them).
const HEAD_DEADLINE: Duration = Duration::from_secs(10);
/// How often the thread looks for data on open connections...
const POLL_BUSY: Duration = Duration::from_millis(2);
/// ...and for new connections when none is open (`stop` unparks the thread, so it never waits this).
const POLL_IDLE: Duration = Duration::from_millis(20);
/// Writing a response never blocks longer than this.
const WRITE_TIMEOUT: Duration = Duration::from_secs(2);

/// One parsed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    /// The path without the query, exactly as sent (not decoded).
    pub path: String,
    /// Decoded query parameters, in order; a name may repeat.
    pub query: Vec<(String, String)>,
    /// The `Host` header, if there was exactly one.
    pub host: Option<String>,
    /// The `Sec-Fetch-Site` header (`none` when the user opened the URL, `cross-site` when
    /// another page made the browser send it), if there was exactly one.
    pub fetch_site: Option<String>,
}

impl Request {
    /// The value of query parameter `name`: `Ok(None)` when absent, `Err(())` when it repeats
    /// (RFC 6749 §3.1: parameters must not be included more than once).
    #[allow(clippy::result_unit_err)]
    pub fn single(&self, name: &str) -> Result<Option<&str>, ()> {
        let mut values = self.query.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str());
        match (values.next(), values.next()) {
            (first, None) => Ok(first),
            (Some(_), Some(_)) => Err(()),
            (None, Some(_)) => Err(()),
        }
    }
}

/// A response: status, extra headers and an HTML (or empty) body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

impl Response {
    /// An HTML page.
    pub fn html(status: u16, body: String) -> Response {
        Response { status, headers: vec![("Content-Type", "text/html; charset=utf-8".into())], body }
    }

    /// A `302 Found` to `location`.
    pub fn redirect(location: &str) -> Response {
        // A header value must not break the head; our URLs are serialized by `url` and never do.
        let location: String = location.chars().filter(|c| !c.is_control()).collect();
        Response { status: 302, headers: vec![("Location", location)], body: String::new() }
    }

    /// The bytes on the wire: HTTP/1.1, `Connection: close`, no caching, nothing loaded from
    /// elsewhere. `head_only` leaves the body out (a HEAD request).
    pub fn to_bytes(&self, head_only: bool) -> Vec<u8> {
        let mut out = format!("HTTP/1.1 {} {}\r\n", self.status, crate::api::reason_phrase(self.status));
        for (name, value) in &self.headers {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
        out.push_str(&format!(
            "Content-Length: {}\r\nConnection: close\r\nCache-Control: no-store\r\n\
             Referrer-Policy: no-referrer\r\nX-Content-Type-Options: nosniff\r\n\
             Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'\r\n\r\n",
            self.body.len()
        ));
        let mut bytes = out.into_bytes();
        if !head_only {
            bytes.extend_from_slice(self.body.as_bytes());
        }
        bytes
    }
}

/// A client connection whose request was read; answer it with [`Connection::respond`], now or
/// later, or drop it to close it.
#[derive(Debug)]
pub struct Connection {
    stream: TcpStream,
    head_only: bool,
}

impl Connection {
    /// Writes `response` (bounded by `WRITE_TIMEOUT`) and closes the connection. A client
    /// that went away is not an error worth reporting.
    pub fn respond(mut self, response: &Response) {
        let bytes = response.to_bytes(self.head_only);
        let _ = self.stream.set_nonblocking(false);
        let _ = self.stream.set_write_timeout(Some(WRITE_TIMEOUT));
        if self.stream.write_all(&bytes).and_then(|()| self.stream.flush()).is_ok() {
            let _ = self.stream.shutdown(Shutdown::Write);
        }
    }
}

/// What the server does with each complete request.
pub type Handler = Box<dyn FnMut(Request, Connection) + Send>;

/// A running loopback server; dropping it stops and joins its thread.
#[derive(Debug)]
pub struct LoopbackServer {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl LoopbackServer {
    /// Binds `127.0.0.1:port` (0 picks a free port) and serves `handler` on a new thread.
    pub fn start(port: u16, handler: Handler) -> Result<LoopbackServer, AuthError> {
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).map_err(|e| {
            if e.kind() == io::ErrorKind::AddrInUse {
                AuthError::PortInUse { port }
            } else {
                AuthError::Listen { port, source: e }
            }
        })?;
        let listen_err = |e| AuthError::Listen { port, source: e };
        listener.set_nonblocking(true).map_err(listen_err)?;
        let port = listener.local_addr().map_err(listen_err)?.port();
        let stop = Arc::new(AtomicBool::new(false));
        let thread_stop = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("td-spotify-login".into())
            .spawn(move || serve(listener, &thread_stop, handler))
            .map_err(AuthError::Thread)?;
        tracing::debug!(port, "login server listening");
        Ok(LoopbackServer { port, stop, thread: Some(thread) })
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Asks the thread to stop without waiting (safe from the server's own handler).
    pub fn request_stop(&self) {
        self.stop.store(true, Ordering::Release);
    }

    /// Whether the thread has ended.
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Stops the thread and waits for it (at most one response write).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.request_stop();
        if let Some(thread) = self.thread.take() {
            if thread.thread().id() == std::thread::current().id() {
                // Dropped by its own handler: the loop ends by itself once the handler returns.
                return;
            }
            thread.thread().unpark();
            let _ = thread.join();
            tracing::debug!(port = self.port, "login server stopped");
        }
    }
}

impl Drop for LoopbackServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// A connection still reading its request head.
struct Incoming {
    stream: TcpStream,
    buf: Vec<u8>,
    since: Instant,
}

enum Progress {
    Waiting,
    Closed,
    Ready(Request, bool),
    Refuse(u16, &'static str),
}

/// The server thread: accept, read, dispatch, until asked to stop.
fn serve(listener: TcpListener, stop: &AtomicBool, mut handler: Handler) {
    let mut incoming: Vec<Incoming> = Vec::new();
    while !stop.load(Ordering::Acquire) {
        let mut busy = false;
        // A few accepts per turn, then every connection is read: a flood of connections cannot
        // push out a browser's request before it was read.
        for _ in 0..ACCEPTS_PER_TURN {
            match listener.accept() {
                Ok((stream, _)) => {
                    busy = true;
                    if stream.set_nonblocking(true).is_err() {
                        continue;
                    }
                    if incoming.len() >= MAX_CONNECTIONS {
                        // The oldest goes (by time: reading reorders the list). It has been
                        // read at least once, unlike the ones accepted this turn.
                        let victim = (0..incoming.len()).min_by_key(|&i| incoming[i].since).unwrap_or(0);
                        incoming.swap_remove(victim);
                    }
                    incoming.push(Incoming { stream, buf: Vec::new(), since: Instant::now() });
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                // A client that gave up between SYN and accept, or a signal: keep serving.
                Err(e)
                    if matches!(e.kind(), io::ErrorKind::ConnectionAborted | io::ErrorKind::Interrupted) => {}
                Err(e) => {
                    // Out of file descriptors and the like: back off rather than spin.
                    tracing::warn!(error = %e, "login server could not accept a connection");
                    break;
                }
            }
        }
        let now = Instant::now();
        let mut i = 0;
        while i < incoming.len() {
            match advance(&mut incoming[i], now) {
                Progress::Waiting => i += 1,
                Progress::Closed => {
                    incoming.swap_remove(i);
                }
                Progress::Refuse(status, why) => {
                    busy = true;
                    let conn = incoming.swap_remove(i);
                    tracing::debug!(status, why, "login server refused a request");
                    Connection { stream: conn.stream, head_only: false }.respond(&refusal(status, why));
                }
                Progress::Ready(request, head_only) => {
                    busy = true;
                    let conn = incoming.swap_remove(i);
                    let conn = Connection { stream: conn.stream, head_only };
                    // A bug in a handler must not end the login server (or the host).
                    if catch_unwind(AssertUnwindSafe(|| handler(request, conn))).is_err() {
                        tracing::error!("login server handler panicked");
                    }
                }
            }
        }
        if !busy {
            // Parked, not asleep: `stop` unparks it, so stopping never waits out a poll.
            std::thread::park_timeout(if incoming.is_empty() { POLL_IDLE } else { POLL_BUSY });
        }
    }
}

fn refusal(status: u16, why: &str) -> Response {
    Response::html(
        status,
        super::pages::page(super::pages::Tone::Problem, crate::api::reason_phrase(status), why),
    )
}

/// Reads what has arrived on `conn` and parses the head once it is complete.
fn advance(conn: &mut Incoming, now: Instant) -> Progress {
    let mut chunk = [0u8; 4096];
    loop {
        match conn.stream.read(&mut chunk) {
            Ok(0) => return Progress::Closed,
            Ok(n) => {
                conn.buf.extend_from_slice(&chunk[..n]);
                if conn.buf.len() > MAX_HEAD {
                    return Progress::Refuse(431, "The request's headers are too large.");
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Progress::Closed,
        }
    }
    if conn.buf.is_empty() {
        return if now.saturating_duration_since(conn.since) > HEAD_DEADLINE {
            Progress::Closed
        } else {
            Progress::Waiting
        };
    }
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(&conn.buf) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) if now.saturating_duration_since(conn.since) > HEAD_DEADLINE => {
            return Progress::Refuse(408, "The request did not arrive in time.");
        }
        Ok(httparse::Status::Partial) => return Progress::Waiting,
        Err(httparse::Error::TooManyHeaders) => {
            return Progress::Refuse(431, "The request has too many headers.")
        }
        Err(_) => return Progress::Refuse(400, "The request is not valid HTTP."),
    }
    let (Some(method), Some(target)) = (req.method, req.path) else {
        return Progress::Refuse(400, "The request is not valid HTTP.");
    };
    let head_only = method == "HEAD";
    if method != "GET" && !head_only {
        return Progress::Refuse(405, "Only GET requests are served here.");
    }
    let single = |name: &str| {
        let mut found = req.headers.iter().filter(|h| h.name.eq_ignore_ascii_case(name));
        match (found.next(), found.next()) {
            (Some(h), None) => std::str::from_utf8(h.value).ok().map(str::to_owned),
            _ => None,
        }
    };
    let (host, fetch_site) = (single("host"), single("sec-fetch-site"));
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let query = url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    Progress::Ready(
        Request { method: method.to_owned(), path: path.to_owned(), query, host, fetch_site },
        head_only,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    /// A server whose handler answers 200 with the path, and reports each request.
    fn echo_server() -> (LoopbackServer, mpsc::Receiver<Request>) {
        let (tx, rx) = mpsc::channel();
        let server = LoopbackServer::start(
            0,
            Box::new(move |req: Request, conn: Connection| {
                let body = format!("path={}", req.path);
                let _ = tx.send(req);
                conn.respond(&Response::html(200, body));
            }),
        )
        .unwrap();
        (server, rx)
    }

    fn raw(port: u16, bytes: &[u8]) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        let _ = s.write_all(bytes);
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn serves_get_with_decoded_query_and_closes() {
        let (server, rx) = echo_server();
        let port = server.port();
        let out = raw(port, b"GET /callback?code=a%2Bb&state=x+y HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
        assert!(out.contains("Connection: close\r\n"));
        assert!(out.ends_with("path=/callback"));
        let req = rx.recv().unwrap();
        assert_eq!(req.single("code"), Ok(Some("a+b")));
        assert_eq!(req.single("state"), Ok(Some("x y")));
        assert_eq!(req.single("error"), Ok(None));
        assert_eq!(req.host.as_deref(), Some("127.0.0.1"));
        server.stop();
    }

    #[test]
    fn hostile_requests_get_errors_and_the_server_survives() {
        let (server, rx) = echo_server();
        let port = server.port();
        assert!(raw(port, b"\x00\x01garbage\r\n\r\n").starts_with("HTTP/1.1 400"));
        assert!(raw(port, b"POST /callback HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 405"));
        assert!(raw(port, b"GET /x HTTP/9.9\r\n\r\n").starts_with("HTTP/1.1 400"));
        // Huge headers: refused before the whole thing is read.
        let mut huge = b"GET /callback HTTP/1.1\r\nX-Big: ".to_vec();
        huge.extend(std::iter::repeat_n(b'a', 1024 * 1024));
        huge.extend_from_slice(b"\r\n\r\n");
        let out = raw(port, &huge);
        assert!(out.is_empty() || out.starts_with("HTTP/1.1 431"), "{out}");
        let many: String = (0..200).map(|i| format!("X-{i}: y\r\n")).collect();
        assert!(raw(port, format!("GET / HTTP/1.1\r\n{many}\r\n").as_bytes()).starts_with("HTTP/1.1 431"));
        // A client that connects and hangs up, or sends half a request.
        drop(TcpStream::connect(("127.0.0.1", port)).unwrap());
        {
            let mut half = TcpStream::connect(("127.0.0.1", port)).unwrap();
            half.write_all(b"GET /callback?co").unwrap();
        }
        // A silent connection does not block others.
        let _silent = TcpStream::connect(("127.0.0.1", port)).unwrap();
        assert!(raw(port, b"GET /still-alive HTTP/1.1\r\n\r\n").ends_with("path=/still-alive"));
        assert!(raw(port, b"HEAD /head HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 200"));
        let paths: Vec<String> = rx.try_iter().map(|r| r.path).collect();
        assert_eq!(paths, ["/still-alive", "/head"]);
        server.stop();
    }

    #[test]
    fn repeated_parameters_are_detected() {
        let req = Request {
            method: "GET".into(),
            path: "/callback".into(),
            query: vec![("state".into(), "a".into()), ("state".into(), "b".into())],
            host: None,
            fetch_site: None,
        };
        assert_eq!(req.single("state"), Err(()));
    }

    #[test]
    fn a_taken_port_is_named() {
        let holder = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = holder.local_addr().unwrap().port();
        let err = LoopbackServer::start(port, Box::new(|_, _| {})).unwrap_err();
        assert!(matches!(err, AuthError::PortInUse { port: p } if p == port), "{err:?}");
        assert!(err.user_message().contains(&port.to_string()));
    }

    #[test]
    fn stop_joins_the_thread_and_frees_the_port() {
        let (server, _rx) = echo_server();
        let port = server.port();
        let _idle = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let started = Instant::now();
        server.stop();
        // Well under HEAD_DEADLINE: stop does not wait for the idle connection to time out.
        assert!(started.elapsed() < HEAD_DEADLINE / 2);
        // The port is free again at once.
        let again = LoopbackServer::start(port, Box::new(|_, _| {})).unwrap();
        assert_eq!(again.port(), port);
    }

    #[test]
    fn a_panicking_handler_does_not_end_the_server() {
        let server = LoopbackServer::start(
            0,
            Box::new(|req: Request, conn: Connection| {
                if req.path == "/boom" {
                    panic!("handler bug");
                }
                conn.respond(&Response::html(200, "ok".into()));
            }),
        )
        .unwrap();
        let port = server.port();
        let _ = raw(port, b"GET /boom HTTP/1.1\r\n\r\n");
        assert!(raw(port, b"GET / HTTP/1.1\r\n\r\n").ends_with("ok"));
    }
}
