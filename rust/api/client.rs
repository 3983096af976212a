//! The Web API client: one request at a time, each bounded by a connect and a total timeout.
//!
//! [`ApiClient`] owns what every call shares (URLs, timeouts, the 401 → refresh → retry dance,
//! status codes, body size and JSON parsing). Moving bytes is a [`Transport`]'s job: reqwest in
//! the plugin, an in-process script in simulations that run on tokio's paused clock (where real
//! sockets cannot be used, since a paused clock jumps ahead whenever the runtime waits on I/O).

use std::error::Error as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_LENGTH};
use serde::de::DeserializeOwned;
use url::Url;

use super::error::{ApiError, ForbiddenReason};
use super::models::{CurrentPlayback, ErrorBody};
use super::rate_limit::retry_after;
use super::{TokenError, TokenProvider};
use crate::config::SpotifyConfig;
use crate::model::{BoxFuture, Stats};

/// The playback-state endpoint; episodes must be asked for or they come back as `item: null`.
pub const PLAYER_PATH: &str = "/v1/me/player";
/// Query of [`PLAYER_PATH`].
pub const PLAYER_QUERY: &str = "additional_types=episode";

/// The monotonic clock every request is timed with: tokio's, which is `std`'s own unless a test
/// or simulation paused it.
pub fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// How the client talks to the Web API.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientOptions {
    /// Base URL, e.g. `https://api.spotify.com` (tests: a local scripted server).
    pub api_url: String,
    /// Longest wait for a TCP (and TLS) connection.
    pub connect_timeout: Duration,
    /// Longest wait for a whole answer, connection included.
    pub timeout: Duration,
    /// Longest wait for the login session to hand over (or refresh) a token.
    pub token_timeout: Duration,
    /// Larger bodies are refused: `/me/player` is a few kilobytes.
    pub max_body: usize,
}

impl ClientOptions {
    /// The plugin's defaults for `config`.
    pub fn from_config(config: &SpotifyConfig) -> Self {
        ClientOptions {
            api_url: config.api_url.clone(),
            connect_timeout: Duration::from_secs(4),
            timeout: Duration::from_secs(8),
            token_timeout: Duration::from_secs(15),
            max_body: 1 << 20,
        }
    }
}

/// An answer as it came off the wire.
#[derive(Debug, Clone)]
pub struct RawResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// When the status line and headers arrived (the body of a small answer follows at once).
    pub received_at: Instant,
}

/// The HTTP methods the Web API client uses. Player commands (`PUT`, `POST`) carry no body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Put,
    Post,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Put => "PUT",
            Method::Post => "POST",
        }
    }
}

/// Moves one request and its answer. Implementations must not retry, and need not time out
/// (the client bounds every call).
pub trait Transport: Send + Sync {
    /// `method url` with `Authorization: Bearer <bearer>` and an empty body (`Content-Length: 0`
    /// for `PUT`/`POST`, which Spotify insists on); reads the whole answer, up to `max_body`.
    fn request<'a>(
        &'a self,
        method: Method,
        url: &'a Url,
        bearer: &'a str,
        max_body: usize,
    ) -> BoxFuture<'a, Result<RawResponse, ApiError>>;
}

/// Per-call limits, for endpoints whose answers are larger or slower than the player's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub timeout: Duration,
    pub max_body: usize,
}

/// The result of one logical call: possibly two requests (401, refresh, retry).
#[derive(Debug)]
pub struct Exchange<T> {
    pub result: Result<T, ApiError>,
    /// HTTP requests made (0 when no token could be had, 2 after a 401).
    pub requests: u32,
    /// Requests that failed, including a 401 that a refresh then fixed.
    pub failures: u32,
    /// When the last request was sent.
    pub sent_at: Instant,
    /// When its answer arrived (or it failed).
    pub received_at: Instant,
}

impl<T> Exchange<T> {
    /// Counts this logical call in `stats` (its requests, failures, a 429, the round trip).
    pub fn count_in(&self, stats: &mut Stats) {
        stats.requests += u64::from(self.requests);
        stats.errors += u64::from(self.failures);
        if matches!(self.result, Err(ApiError::RateLimited { .. })) {
            stats.rate_limited += 1;
        }
        if self.requests > 0 {
            stats.last_latency_ms = self.latency().as_secs_f64() * 1000.0;
        }
    }

    /// Round trip of the last request.
    pub fn latency(&self) -> Duration {
        self.received_at.saturating_duration_since(self.sent_at)
    }
}

/// A Web API client. Cheap to keep, one per account.
pub struct ApiClient {
    transport: Arc<dyn Transport>,
    options: ClientOptions,
    player_url: Url,
}

impl std::fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiClient").field("options", &self.options).finish_non_exhaustive()
    }
}

impl ApiClient {
    /// A client that talks HTTP(S) with reqwest.
    pub fn new(options: ClientOptions) -> Result<Self, ApiError> {
        let transport = Arc::new(ReqwestTransport::new(&options)?);
        Self::with_transport(options, transport)
    }

    /// A client over any transport (simulations, tests).
    pub fn with_transport(options: ClientOptions, transport: Arc<dyn Transport>) -> Result<Self, ApiError> {
        let player_url = endpoint(&options.api_url, PLAYER_PATH, Some(PLAYER_QUERY))?;
        Ok(ApiClient { transport, options, player_url })
    }

    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    /// `GET /v1/me/player?additional_types=episode`. `Ok(None)` is a 204: no active device.
    pub async fn current_playback(&self, tokens: &dyn TokenProvider) -> Exchange<Option<CurrentPlayback>> {
        self.get_json(&self.player_url, tokens).await
    }

    /// The URL of `path` (e.g. `/v1/me/player/queue`) with an optional query, under the API's base.
    pub fn url(&self, path: &str, query: Option<&str>) -> Result<Url, ApiError> {
        endpoint(&self.options.api_url, path, query)
    }

    /// The client's own limits (the player's).
    pub fn limits(&self) -> Limits {
        Limits { timeout: self.options.timeout, max_body: self.options.max_body }
    }

    /// GETs `url` as the logged-in user and parses a JSON answer.
    ///
    /// A 401 asks `tokens` for a fresh token once and retries once; a second 401 is
    /// [`ApiError::Unauthorized`].
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        url: &Url,
        tokens: &dyn TokenProvider,
    ) -> Exchange<Option<T>> {
        self.get_json_with(url, tokens, self.limits()).await
    }

    /// [`ApiClient::get_json`] with other limits (an audio analysis can be megabytes).
    pub async fn get_json_with<T: DeserializeOwned>(
        &self,
        url: &Url,
        tokens: &dyn TokenProvider,
        limits: Limits,
    ) -> Exchange<Option<T>> {
        self.call(Method::Get, url, tokens, limits, |raw| interpret(raw)).await
    }

    /// Sends a player command (`PUT /v1/me/player/pause`, `POST /v1/me/player/next`…) with an
    /// empty body. Any 2xx is done; a 404 is [`ApiError::NoActiveDevice`] (Spotify's
    /// `NO_ACTIVE_DEVICE`: commands need a device that is playing or was recently).
    pub async fn command(&self, method: Method, url: &Url, tokens: &dyn TokenProvider) -> Exchange<()> {
        self.call(method, url, tokens, self.limits(), |raw| match raw.status {
            200..=299 => Ok(()),
            404 => Err(ApiError::NoActiveDevice),
            _ => interpret::<serde::de::IgnoredAny>(raw).map(|_| ()),
        })
        .await
    }

    /// One logical call: a token, the request, and after a 401 one refresh and one retry.
    async fn call<T>(
        &self,
        method: Method,
        url: &Url,
        tokens: &dyn TokenProvider,
        limits: Limits,
        read: impl FnOnce(&RawResponse) -> Result<T, ApiError>,
    ) -> Exchange<T> {
        let start = now();
        let mut exchange = Exchange {
            result: Err(ApiError::Unauthorized),
            requests: 0,
            failures: 0,
            sent_at: start,
            received_at: start,
        };
        let raw = self.authorized(method, url, tokens, limits, &mut exchange).await;
        exchange.result = raw.and_then(|raw| read(&raw));
        if exchange.result.is_err() && exchange.requests > 0 {
            exchange.failures += 1;
        }
        exchange
    }

    async fn authorized<U>(
        &self,
        method: Method,
        url: &Url,
        tokens: &dyn TokenProvider,
        limits: Limits,
        exchange: &mut Exchange<U>,
    ) -> Result<RawResponse, ApiError> {
        let token = self.token(tokens.access_token()).await?;
        let mut raw = self.send(method, url, &token, limits, exchange).await?;
        if raw.status == 401 {
            exchange.failures += 1;
            let fresh = self.token(tokens.refresh_after_unauthorized(&token)).await?;
            raw = self.send(method, url, &fresh, limits, exchange).await?;
            if raw.status == 401 {
                return Err(ApiError::Unauthorized);
            }
        }
        Ok(raw)
    }

    async fn token(&self, fut: BoxFuture<'_, Result<String, TokenError>>) -> Result<String, ApiError> {
        match tokio::time::timeout(self.options.token_timeout, fut).await {
            Ok(token) => Ok(token?),
            Err(_) => Err(ApiError::Token(TokenError::Unavailable {
                reason: format!("no token within {}", super::error::seconds(self.options.token_timeout)),
            })),
        }
    }

    async fn send<U>(
        &self,
        method: Method,
        url: &Url,
        token: &str,
        limits: Limits,
        exchange: &mut Exchange<U>,
    ) -> Result<RawResponse, ApiError> {
        exchange.requests += 1;
        exchange.sent_at = now();
        let timeout = limits.timeout;
        let outcome =
            tokio::time::timeout(timeout, self.transport.request(method, url, token, limits.max_body)).await;
        exchange.received_at = now();
        let raw = outcome.map_err(|_| ApiError::Timeout { after: timeout })??;
        exchange.received_at = raw.received_at;
        Ok(raw)
    }
}

/// `base` + `path` + `query`, checked to be an absolute http(s) URL.
fn endpoint(base: &str, path: &str, query: Option<&str>) -> Result<Url, ApiError> {
    let bad = |reason: &str| ApiError::BadUrl { url: base.to_owned(), reason: reason.to_owned() };
    let mut url =
        Url::parse(&format!("{}{path}", base.trim_end_matches('/'))).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("it must start with https:// (or http:// for a local test server)"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("it has no host"));
    }
    url.set_query(query);
    Ok(url)
}

/// What an answer means. 401 is handled by the caller.
pub(crate) fn interpret<T: DeserializeOwned>(raw: &RawResponse) -> Result<Option<T>, ApiError> {
    match raw.status {
        204 => Ok(None),
        200..=299 if raw.body.iter().all(u8::is_ascii_whitespace) => Ok(None),
        200..=299 => parse_json(&raw.body).map(Some),
        401 => Err(ApiError::Unauthorized),
        403 => Err(ApiError::Forbidden {
            reason: match error_reason(&raw.body).as_deref() {
                Some("PREMIUM_REQUIRED") => ForbiddenReason::PremiumRequired,
                _ => ForbiddenReason::NotAllowed,
            },
        }),
        429 => Err(ApiError::RateLimited { retry_after: retry_after(&raw.headers) }),
        status @ 500..=599 => Err(ApiError::Server { status }),
        status => Err(ApiError::Http { status }),
    }
}

/// Parses a JSON object straight into the tolerant model `T`, reporting where it broke but never
/// what it said (see [`super::lenient::from_slice`]).
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    super::lenient::from_slice(body)
}

/// The `reason` of an error answer (`PREMIUM_REQUIRED`, `NO_ACTIVE_DEVICE`…), if it has one.
fn error_reason(body: &[u8]) -> Option<String> {
    parse_json::<ErrorBody>(body).ok()?.error?.reason
}

/// HTTP(S) over reqwest, on whatever tokio runtime polls it (the engine's).
#[derive(Debug)]
pub struct ReqwestTransport {
    http: reqwest::Client,
    connect_timeout: Duration,
    timeout: Duration,
}

impl ReqwestTransport {
    pub fn new(options: &ClientOptions) -> Result<Self, ApiError> {
        let http = reqwest::Client::builder()
            .connect_timeout(options.connect_timeout)
            .timeout(options.timeout)
            .user_agent(concat!("td-spotify/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ApiError::ClientInit { detail: root_cause(&e) })?;
        Ok(ReqwestTransport { http, connect_timeout: options.connect_timeout, timeout: options.timeout })
    }

    async fn send(
        &self,
        method: Method,
        url: &Url,
        bearer: &str,
        max_body: usize,
    ) -> Result<RawResponse, ApiError> {
        let host = url.host_str().unwrap_or_default();
        let mut auth = HeaderValue::from_str(&format!("Bearer {bearer}")).map_err(|_| {
            ApiError::Token(TokenError::LoginRequired {
                reason: "the access token is not valid header text".into(),
            })
        })?;
        // Keeps the token out of any Debug output of the request.
        auth.set_sensitive(true);
        // Spotify's front end answers a PUT/POST without `Content-Length` with 411 (spotify/web-api
        // #859, #1594). An empty body alone is not enough: hyper then sends no length at all,
        // so the header is set by hand (tests/spotify_source.rs holds the fake to it).
        let request = match method {
            Method::Get => self.http.get(url.clone()),
            Method::Put => self.http.put(url.clone()).header(CONTENT_LENGTH, "0").body(Vec::new()),
            Method::Post => self.http.post(url.clone()).header(CONTENT_LENGTH, "0").body(Vec::new()),
        };
        let mut response = request
            .header(AUTHORIZATION, auth)
            .header(ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| self.classify(&e, host))?;
        let received_at = now();
        let status = response.status().as_u16();
        let headers = std::mem::take(response.headers_mut());
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.classify(&e, host))? {
            if body.len() + chunk.len() > max_body {
                return Err(ApiError::TooLarge { limit: max_body });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(RawResponse { status, headers, body, received_at })
    }

    /// Sorts reqwest's errors into the cases a user can act on.
    fn classify(&self, e: &reqwest::Error, host: &str) -> ApiError {
        let host = host.to_owned();
        if e.is_connect() {
            if e.is_timeout() {
                return ApiError::ConnectTimeout { host, after: self.connect_timeout };
            }
            let mut source = e.source();
            while let Some(s) = source {
                if s.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused)
                {
                    return ApiError::Refused { host };
                }
                // hyper-util's connector names its resolver failures so (its error type is private).
                if s.to_string() == "dns error" {
                    return ApiError::Dns { host };
                }
                source = s.source();
            }
            return ApiError::Connect { host, detail: root_cause(e) };
        }
        if e.is_timeout() {
            return ApiError::Timeout { after: self.timeout };
        }
        ApiError::Interrupted { detail: root_cause(e) }
    }
}

impl Transport for ReqwestTransport {
    fn request<'a>(
        &'a self,
        method: Method,
        url: &'a Url,
        bearer: &'a str,
        max_body: usize,
    ) -> BoxFuture<'a, Result<RawResponse, ApiError>> {
        Box::pin(self.send(method, url, bearer, max_body))
    }
}

/// The innermost cause's text: what went wrong without reqwest's wrapping (which names the URL).
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::error::MalformedKind;
    use crate::api::rate_limit::MAX_RETRY_AFTER;
    use reqwest::header::RETRY_AFTER;

    fn raw(status: u16, body: &str) -> RawResponse {
        RawResponse {
            status,
            headers: HeaderMap::new(),
            body: body.as_bytes().to_vec(),
            received_at: Instant::now(),
        }
    }

    #[test]
    fn endpoints_are_checked() {
        let u = endpoint("http://127.0.0.1:9/", PLAYER_PATH, Some(PLAYER_QUERY)).unwrap();
        assert_eq!(u.as_str(), "http://127.0.0.1:9/v1/me/player?additional_types=episode");
        let u = endpoint("http://127.0.0.1:9", "/v1/me/player/next", None).unwrap();
        assert_eq!(u.as_str(), "http://127.0.0.1:9/v1/me/player/next");
        assert!(matches!(endpoint("ftp://x", PLAYER_PATH, None), Err(ApiError::BadUrl { .. })));
        assert!(matches!(endpoint("not a url", PLAYER_PATH, None), Err(ApiError::BadUrl { .. })));
    }

    #[test]
    fn statuses_mean_what_spotify_means() {
        assert!(matches!(interpret::<CurrentPlayback>(&raw(204, "")), Ok(None)));
        assert!(matches!(interpret::<CurrentPlayback>(&raw(200, " \n")), Ok(None)));
        assert!(matches!(interpret::<CurrentPlayback>(&raw(200, "{}")), Ok(Some(_))));
        assert!(matches!(interpret::<CurrentPlayback>(&raw(503, "")), Err(ApiError::Server { status: 503 })));
        assert!(matches!(interpret::<CurrentPlayback>(&raw(404, "")), Err(ApiError::Http { status: 404 })));
        let premium = raw(403, r#"{"error":{"status":403,"message":"x","reason":"PREMIUM_REQUIRED"}}"#);
        assert!(matches!(
            interpret::<CurrentPlayback>(&premium),
            Err(ApiError::Forbidden { reason: ForbiddenReason::PremiumRequired })
        ));
        let mut limited = raw(429, "");
        limited.headers.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert!(matches!(
            interpret::<CurrentPlayback>(&limited),
            Err(ApiError::RateLimited { retry_after: Some(d) }) if d == Duration::from_secs(3)
        ));
    }

    #[test]
    fn any_retry_after_is_capped_or_ignored() {
        let limited = |value: &'static str| {
            let mut r = raw(429, "{}");
            r.headers.insert(RETRY_AFTER, HeaderValue::from_static(value));
            match interpret::<CurrentPlayback>(&r) {
                Err(ApiError::RateLimited { retry_after }) => retry_after,
                other => panic!("{value}: {other:?}"),
            }
        };
        assert_eq!(limited("1e20"), Some(MAX_RETRY_AFTER));
        assert_eq!(limited("-5"), None);
        assert_eq!(limited("Wed, 21 Oct 2015 07:28:00 GMT"), Some(Duration::ZERO));
        assert_eq!(limited("later, maybe"), None);
    }

    #[test]
    fn forbidden_reasons_come_from_the_fixtures() {
        let fixture = |text: &str| raw(403, text.split_once("\n\n").unwrap().1);
        let premium = fixture(include_str!("../../tests/fixtures/player_403_premium_required.http"));
        let dev = fixture(include_str!("../../tests/fixtures/player_403_development_mode.http"));
        let reason = |r: &RawResponse| match interpret::<CurrentPlayback>(r) {
            Err(ApiError::Forbidden { reason }) => reason,
            other => panic!("{other:?}"),
        };
        assert_eq!(reason(&premium), ForbiddenReason::PremiumRequired);
        assert_eq!(reason(&dev), ForbiddenReason::NotAllowed);
        // A body that is not JSON (a proxy's HTML page) is still a 403, not a parse error.
        assert_eq!(reason(&raw(403, "<html>")), ForbiddenReason::NotAllowed);
    }

    #[test]
    fn broken_json_says_where_not_what() {
        let secret = r#"{"item": {"name": "SECRET-NAME", "duration_ms": "#;
        let e = parse_json::<CurrentPlayback>(secret.as_bytes()).unwrap_err();
        assert!(matches!(e, ApiError::Malformed { kind: MalformedKind::Truncated, .. }), "{e:?}");
        let e = parse_json::<CurrentPlayback>(b"<html>oops</html>").unwrap_err();
        assert!(matches!(e, ApiError::Malformed { kind: MalformedKind::Syntax, .. }), "{e:?}");
        let e = parse_json::<CurrentPlayback>(b"[1, 2, 3]").unwrap_err();
        assert!(matches!(e, ApiError::Malformed { kind: MalformedKind::Shape, .. }), "{e:?}");
        let e = parse_json::<CurrentPlayback>(br#""SECRET-NAME""#).unwrap_err();
        assert!(matches!(e, ApiError::Malformed { kind: MalformedKind::Shape, .. }), "{e:?}");
        for text in [format!("{e}"), format!("{e:?}"), e.user_message()] {
            assert!(!text.contains("SECRET"), "{text}");
        }
    }
}
