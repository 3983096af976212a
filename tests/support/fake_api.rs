//! A scripted stand-in for Spotify's Web API, served locally.
//!
//! It is strict where Spotify is strict: `GET /v1/me/player?additional_types=episode` exists,
//! plus only the routes a test adds with [`FakeApi::route`] (exact method and target; anything
//! else is a 404), and only the tokens it was told about are accepted (anything else is a 401),
//! so a client that forgets the query, uses the wrong method or sends a stale token fails as it
//! would in production. Like Spotify's front end, a `PUT`/`POST` without `Content-Length` (or a
//! chunked body) is answered `411 Length Required` (spotify/web-api #859, #1594), and a known path
//! asked with a method it does not take (`PUT /v1/me/player/next`) `405 Method Not Allowed`,
//! before the token is even looked at. [`Reply::no_active_device`], [`Reply::premium_required`]
//! and [`Reply::development_mode`] are Spotify's refusals with their bodies. What a valid request gets is decided by a script: a list of replies
//! taken in order, or a function of the request (e.g. of the time, for a playback timeline).
//! Every request is logged with its arrival time so tests can assert how many came and when.
//!
//! Two front ends serve the same script: [`FakeApi::serve_http`], a real HTTP/1.1 server on a
//! loopback port, and [`FakeApi::transport`], an in-process transport for runs on tokio's paused
//! clock (which cannot wait on real sockets).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use td_spotify::api::client::{now, Method, RawResponse, Transport, PLAYER_PATH, PLAYER_QUERY};
use td_spotify::api::ApiError;
use td_spotify::model::BoxFuture;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use url::Url;

/// One request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Request {
    /// When it arrived (tokio's clock).
    pub at: Instant,
    pub method: String,
    /// Path and query.
    pub target: String,
    /// The bearer token sent, if any.
    pub bearer: Option<String>,
    /// What the fake answered, in short (`200`, `429`, `hang`…).
    pub outcome: String,
}

/// What the fake does with a request.
#[derive(Debug, Clone)]
pub enum Reply {
    Answer {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// Says nothing for this long, then closes the connection.
    Hang(Duration),
    /// Promises `declared` bytes of body, sends `body` (fewer), and closes.
    Truncated {
        declared: usize,
        body: String,
    },
    /// Closes the connection without a word.
    Close,
}

impl Reply {
    pub fn json(body: impl Into<String>) -> Reply {
        Reply::Answer {
            status: 200,
            headers: vec![("content-type".into(), "application/json; charset=utf-8".into())],
            body: body.into(),
        }
    }

    pub fn status(status: u16) -> Reply {
        Reply::Answer { status, headers: Vec::new(), body: String::new() }
    }

    pub fn no_content() -> Reply {
        Reply::status(204)
    }

    /// Spotify's 404 to a player command when no device is active, with its `reason`.
    pub fn no_active_device() -> Reply {
        Reply::error(404, "Player command failed: No active device found", Some("NO_ACTIVE_DEVICE"))
    }

    /// Spotify's 403 to a player command from an account without Premium, with its `reason`.
    pub fn premium_required() -> Reply {
        Reply::fixture(include_str!("../fixtures/player_403_premium_required.http"))
    }

    /// Spotify's 403 to an account that is not on a Development Mode app's allowlist (no `reason`).
    pub fn development_mode() -> Reply {
        Reply::fixture(include_str!("../fixtures/player_403_development_mode.http"))
    }

    /// A Web API error object: `{"error": {"status", "message", "reason"?}}`.
    pub fn error(status: u16, message: &str, reason: Option<&str>) -> Reply {
        let reason = reason.map(|r| format!(r#","reason":"{r}""#)).unwrap_or_default();
        Reply::Answer {
            status,
            headers: vec![("content-type".into(), "application/json; charset=utf-8".into())],
            body: format!(r#"{{"error":{{"status":{status},"message":"{message}"{reason}}}}}"#),
        }
    }

    /// A fixture file: status line, headers, blank line, body.
    pub fn fixture(text: &str) -> Reply {
        let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .expect("fixture starts with a status line");
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
            .collect();
        Reply::Answer { status, headers, body: body.to_owned() }
    }

    fn outcome(&self) -> String {
        match self {
            Reply::Answer { status, .. } => status.to_string(),
            Reply::Hang(_) => "hang".into(),
            Reply::Truncated { .. } => "truncated".into(),
            Reply::Close => "close".into(),
        }
    }
}

type Responder = Box<dyn FnMut(&Request) -> Reply + Send>;
type LatencyFn = Box<dyn FnMut() -> (Duration, Duration) + Send>;

/// A route beside the player: `target` is the exact path and query, or a prefix ending in `*`.
struct Route {
    method: String,
    target: String,
    responder: Responder,
}

impl Route {
    fn matches(&self, method: &str, target: &str) -> bool {
        self.method == method && self.matches_target(target)
    }

    fn matches_target(&self, target: &str) -> bool {
        match self.target.strip_suffix('*') {
            Some(prefix) => target.starts_with(prefix),
            None => self.target == target,
        }
    }
}

/// Spotify's player endpoints and the methods each takes (the Web API reference): any other
/// method on these paths is a 405, whatever routes a test added.
const PLAYER_METHODS: &[(&str, &[&str])] = &[
    ("/v1/me/player", &["GET", "PUT"]),
    ("/v1/me/player/currently-playing", &["GET"]),
    ("/v1/me/player/play", &["PUT"]),
    ("/v1/me/player/pause", &["PUT"]),
    ("/v1/me/player/next", &["POST"]),
    ("/v1/me/player/previous", &["POST"]),
    ("/v1/me/player/seek", &["PUT"]),
    ("/v1/me/player/repeat", &["PUT"]),
    ("/v1/me/player/volume", &["PUT"]),
    ("/v1/me/player/shuffle", &["PUT"]),
    ("/v1/me/player/recently-played", &["GET"]),
    ("/v1/me/player/queue", &["GET", "POST"]),
    ("/v1/me/player/devices", &["GET"]),
];

/// Whether Spotify's front end would refuse `method target` for its method: a known player path
/// asked with another method, or a path a test routed only for other methods.
fn wrong_method(method: &str, target: &str, routes: &[Route]) -> bool {
    let path = target.split('?').next().unwrap_or(target);
    if let Some((_, methods)) = PLAYER_METHODS.iter().find(|(p, _)| *p == path) {
        return !methods.contains(&method);
    }
    let routed = routes.iter().filter(|r| r.matches_target(target)).collect::<Vec<_>>();
    !routed.is_empty() && !routed.iter().any(|r| r.method == method)
}

struct Inner {
    responder: Responder,
    routes: Vec<Route>,
    log: Vec<Request>,
    tokens: Vec<String>,
    latency: Option<LatencyFn>,
    overruns: usize,
}

/// The fake API; clones share the script and the log.
#[derive(Clone)]
pub struct FakeApi {
    inner: Arc<Mutex<Inner>>,
}

impl FakeApi {
    /// Answers valid requests with `responder`. Accepts the token `good-token` until told otherwise.
    pub fn new(responder: impl FnMut(&Request) -> Reply + Send + 'static) -> Self {
        FakeApi {
            inner: Arc::new(Mutex::new(Inner {
                responder: Box::new(responder),
                routes: Vec::new(),
                log: Vec::new(),
                tokens: vec!["good-token".into()],
                latency: None,
                overruns: 0,
            })),
        }
    }

    /// Answers valid requests with `replies`, in order. Running out is a scripting error: it is
    /// answered 500 and counted in [`FakeApi::overruns`].
    pub fn scripted(replies: impl IntoIterator<Item = Reply>) -> Self {
        let mut replies: VecDeque<Reply> = replies.into_iter().collect();
        // 599 marks the overrun; `respond` counts it.
        FakeApi::new(move |_| replies.pop_front().unwrap_or_else(|| Reply::status(599)))
    }

    /// Serves `method target` (exact path and query, or a prefix ending in `*`) with `responder`.
    pub fn route(
        &self,
        method: &str,
        target: &str,
        responder: impl FnMut(&Request) -> Reply + Send + 'static,
    ) -> &Self {
        self.lock().routes.push(Route {
            method: method.to_owned(),
            target: target.to_owned(),
            responder: Box::new(responder),
        });
        self
    }

    /// Requests to targets starting with `prefix` (any method).
    pub fn requests_to(&self, prefix: &str) -> Vec<Request> {
        self.lock().log.iter().filter(|r| r.target.starts_with(prefix)).cloned().collect()
    }

    /// Only these bearer tokens are accepted.
    pub fn accept_tokens(&self, tokens: &[&str]) {
        self.lock().tokens = tokens.iter().map(|t| (*t).to_owned()).collect();
    }

    /// Delays every exchange by (before reading, after answering), e.g. asymmetric network paths.
    pub fn set_latency(&self, latency: impl FnMut() -> (Duration, Duration) + Send + 'static) {
        self.lock().latency = Some(Box::new(latency));
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Request> {
        self.lock().log.clone()
    }

    /// Requests answered after the script ran out (a scripted test that sees any is wrong).
    pub fn overruns(&self) -> usize {
        self.lock().overruns
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn latency(&self) -> (Duration, Duration) {
        self.lock().latency.as_mut().map_or((Duration::ZERO, Duration::ZERO), |f| f())
    }

    /// Checks the request as Spotify would, then asks the script. `sized` is whether the request
    /// said how long its body is (`Content-Length`, or chunked).
    fn respond(&self, method: &str, target: &str, bearer: Option<&str>, sized: bool) -> Reply {
        let mut inner = self.lock();
        let mut request = Request {
            at: now(),
            method: method.to_owned(),
            target: target.to_owned(),
            bearer: bearer.map(str::to_owned),
            outcome: String::new(),
        };
        let player = method == "GET" && target == format!("{PLAYER_PATH}?{PLAYER_QUERY}");
        let route = inner.routes.iter().position(|r| r.matches(method, target));
        let reply = if matches!(method, "PUT" | "POST") && !sized {
            Reply::Answer {
                status: 411,
                headers: vec![("content-type".into(), "text/html".into())],
                body: "<html><body><h1>411 Length Required</h1></body></html>".into(),
            }
        } else if wrong_method(method, target, &inner.routes) {
            Reply::error(405, "Method not allowed", None)
        } else if !player && route.is_none() {
            Reply::Answer {
                status: 404,
                headers: vec![("content-type".into(), "application/json".into())],
                body: r#"{"error":{"status":404,"message":"Service not found"}}"#.into(),
            }
        } else if !bearer.is_some_and(|b| inner.tokens.iter().any(|t| t == b)) {
            Reply::Answer {
                status: 401,
                headers: vec![("content-type".into(), "application/json".into())],
                body: r#"{"error":{"status":401,"message":"The access token expired"}}"#.into(),
            }
        } else {
            let reply = match route {
                Some(i) => (inner.routes[i].responder)(&request),
                None => (inner.responder)(&request),
            };
            if matches!(reply, Reply::Answer { status: 599, .. }) {
                inner.overruns += 1;
            }
            reply
        };
        request.outcome = reply.outcome();
        inner.log.push(request);
        reply
    }

    /// Serves the script over HTTP/1.1 on a loopback port, on the current tokio runtime.
    pub async fn serve_http(&self) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
        let addr = listener.local_addr().expect("local address");
        self.serve_on(listener);
        addr
    }

    /// Serves on a listener bound by the caller (e.g. on a port that refused connections before).
    pub fn serve_on(&self, listener: TcpListener) {
        let api = self.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let api = api.clone();
                tokio::spawn(async move { api.handle(stream).await });
            }
        });
    }

    async fn handle(&self, mut stream: TcpStream) {
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
            if head.len() > 16 * 1024 {
                return;
            }
        }
        let text = String::from_utf8_lossy(&head);
        let mut lines = text.split("\r\n");
        let mut request_line = lines.next().unwrap_or_default().split(' ');
        let method = request_line.next().unwrap_or_default().to_owned();
        let target = request_line.next().unwrap_or_default().to_owned();
        let headers: Vec<(&str, &str)> =
            lines.filter_map(|l| l.split_once(':')).map(|(n, v)| (n.trim(), v.trim())).collect();
        let header = |name: &str| headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|h| h.1);
        let bearer = header("authorization").and_then(|v| v.strip_prefix("Bearer ")).map(str::to_owned);
        let sized = header("content-length").is_some_and(|v| v.parse::<u64>().is_ok())
            || header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
        let (before, after) = self.latency();
        tokio::time::sleep(before).await;
        let reply = self.respond(&method, &target, bearer.as_deref(), sized);
        tokio::time::sleep(after).await;
        match reply {
            Reply::Answer { status, headers, body } => {
                let mut out = format!(
                    "HTTP/1.1 {status} {}\r\nconnection: close\r\n",
                    td_spotify::api::reason_phrase(status)
                );
                if status != 204 {
                    out.push_str(&format!("content-length: {}\r\n", body.len()));
                }
                for (name, value) in headers {
                    out.push_str(&format!("{name}: {value}\r\n"));
                }
                out.push_str("\r\n");
                out.push_str(&body);
                let _ = stream.write_all(out.as_bytes()).await;
                let _ = stream.shutdown().await;
            }
            Reply::Hang(d) => tokio::time::sleep(d).await,
            Reply::Truncated { declared, body } => {
                let out = format!(
                    "HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-type: application/json\r\n\
                     content-length: {declared}\r\n\r\n{body}"
                );
                let _ = stream.write_all(out.as_bytes()).await;
                let _ = stream.shutdown().await;
            }
            Reply::Close => {}
        }
    }

    /// The script as an in-process transport (for tokio's paused clock).
    pub fn transport(&self) -> Arc<dyn Transport> {
        Arc::new(MemoryTransport { api: self.clone() })
    }
}

struct MemoryTransport {
    api: FakeApi,
}

impl Transport for MemoryTransport {
    fn request<'a>(
        &'a self,
        method: Method,
        url: &'a Url,
        bearer: &'a str,
        max_body: usize,
    ) -> BoxFuture<'a, Result<RawResponse, ApiError>> {
        Box::pin(async move {
            let target = match url.query() {
                Some(q) => format!("{}?{q}", url.path()),
                None => url.path().to_owned(),
            };
            let (before, after) = self.api.latency();
            tokio::time::sleep(before).await;
            // The transport contract: PUT/POST go out with `Content-Length: 0`.
            let reply = self.api.respond(method.as_str(), &target, Some(bearer), true);
            match reply {
                Reply::Answer { body, .. } if body.len() > max_body => {
                    tokio::time::sleep(after).await;
                    Err(ApiError::TooLarge { limit: max_body })
                }
                Reply::Answer { status, headers, body } => {
                    tokio::time::sleep(after).await;
                    let mut map = reqwest::header::HeaderMap::new();
                    for (name, value) in headers {
                        if let (Ok(n), Ok(v)) = (
                            reqwest::header::HeaderName::from_bytes(name.as_bytes()),
                            reqwest::header::HeaderValue::from_str(&value),
                        ) {
                            map.insert(n, v);
                        }
                    }
                    Ok(RawResponse { status, headers: map, body: body.into_bytes(), received_at: now() })
                }
                Reply::Hang(d) => {
                    tokio::time::sleep(d).await;
                    Err(ApiError::Interrupted { detail: "closed without an answer".into() })
                }
                Reply::Truncated { .. } => {
                    tokio::time::sleep(after).await;
                    Err(ApiError::Interrupted { detail: "end of file before message length reached".into() })
                }
                Reply::Close => Err(ApiError::Interrupted { detail: "closed without an answer".into() }),
            }
        })
    }
}
