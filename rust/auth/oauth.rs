//! The accounts service: the authorize URL, the code exchange and the refresh, plus the one
//! Web API call a login needs (`/v1/me`, for the user's name).
//!
//! Why not the `oauth2` crate's client: it folds a non-JSON 429 or 5xx into a parse error that
//! holds the raw body and loses the status and `Retry-After`, and those decide whether a session
//! survives (only `invalid_grant` ends one). Each form here is a few lines of `reqwest`.

use std::time::Duration;

use serde::Deserialize;
use url::Url;

use super::error::Endpoint;
use super::flows::NewFlow;
use super::secret::{AccessToken, AuthCode, AuthorizeUrl, PkceVerifier, RefreshToken};
use super::AuthError;
use crate::api::lenient::{self, Scalar};

/// Connect timeout of every request.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Bodies larger than this are not read (a token response is well under 2 KiB).
const MAX_BODY: usize = 256 * 1024;
/// Lifetime assumed when a token response does not say (Spotify's is one hour).
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);

/// The URLs a login uses, derived once from the configured base URLs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// `{accounts_url}/authorize`
    pub authorize: Url,
    /// `{accounts_url}/api/token`
    pub token: Url,
    /// `{api_url}/v1/me`
    pub me: Url,
}

impl Endpoints {
    /// Checks the base URLs (http or https, no query) and derives the endpoints.
    pub fn new(accounts_url: &str, api_url: &str) -> Result<Endpoints, AuthError> {
        let accounts = base_url("accounts URL", accounts_url)?;
        let api = base_url("API URL", api_url)?;
        let join = |base: &str, path: &str, which| {
            Url::parse(&format!("{base}{path}"))
                .map_err(|_| AuthError::BadUrl { which, value: base.to_owned() })
        };
        Ok(Endpoints {
            authorize: join(&accounts, "/authorize", "accounts URL")?,
            token: join(&accounts, "/api/token", "accounts URL")?,
            me: join(&api, "/v1/me", "API URL")?,
        })
    }
}

/// A base URL without its trailing slashes, if it is a plain http(s) URL.
fn base_url(which: &'static str, value: &str) -> Result<String, AuthError> {
    let bad = || AuthError::BadUrl { which, value: value.to_owned() };
    let url = Url::parse(value.trim()).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https") || url.query().is_some() || url.host().is_none() {
        return Err(bad());
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// The page the browser opens: `response_type=code`, the client id, the scopes, the redirect
/// URI, the state and the S256 PKCE challenge.
pub fn authorize_url(
    endpoints: &Endpoints,
    client_id: &str,
    redirect_uri: &str,
    scopes: &[&str],
    flow: &NewFlow,
) -> AuthorizeUrl {
    let mut url = endpoints.authorize.clone();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("scope", &scopes.join(" "))
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("state", flow.state.secret())
        .append_pair("code_challenge", &flow.challenge)
        .append_pair("code_challenge_method", "S256");
    AuthorizeUrl::new(String::from(url))
}

/// The HTTP client of a session: timeouts on everything, no redirects (an endpoint that
/// redirects is not one we trust with a code).
pub fn http_client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("td-spotify/", env!("CARGO_PKG_VERSION")))
        .build()
        // Building only fails when TLS cannot initialise; a default client still has timeouts
        // per request below.
        .unwrap_or_default()
}

/// What the token endpoint granted.
#[derive(Debug, Clone)]
pub struct Granted {
    pub access_token: AccessToken,
    /// `None` when the response omits it: keep the one you had.
    pub refresh_token: Option<RefreshToken>,
    pub lifetime: Duration,
    pub scope: Option<String>,
}

/// A token response, read leniently (a field of the wrong type is as good as missing).
#[derive(Default, Deserialize)]
#[serde(default)]
struct TokenWire {
    #[serde(deserialize_with = "lenient::string")]
    access_token: Option<String>,
    #[serde(deserialize_with = "lenient::string")]
    token_type: Option<String>,
    expires_in: Option<Scalar>,
    #[serde(deserialize_with = "lenient::string")]
    refresh_token: Option<String>,
    #[serde(deserialize_with = "lenient::string")]
    scope: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct OAuthErrorWire {
    #[serde(deserialize_with = "lenient::string")]
    error: Option<String>,
    #[serde(deserialize_with = "lenient::string")]
    error_description: Option<String>,
}

/// Exchanges an authorization code (RFC 6749 §4.1.3 with RFC 7636's `code_verifier`).
pub async fn exchange_code(
    http: &reqwest::Client,
    endpoints: &Endpoints,
    client_id: &str,
    code: &AuthCode,
    verifier: &PkceVerifier,
    redirect_uri: &str,
) -> Result<Granted, AuthError> {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.secret()),
        ("redirect_uri", redirect_uri),
        ("client_id", client_id),
        ("code_verifier", verifier.secret()),
    ];
    token_request(http, &endpoints.token, &form).await
}

/// Buys a new access token with a refresh token (RFC 6749 §6).
pub async fn refresh(
    http: &reqwest::Client,
    endpoints: &Endpoints,
    client_id: &str,
    refresh_token: &RefreshToken,
) -> Result<Granted, AuthError> {
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token.secret()),
        ("client_id", client_id),
    ];
    token_request(http, &endpoints.token, &form).await
}

async fn token_request(
    http: &reqwest::Client,
    url: &Url,
    form: &[(&str, &str)],
) -> Result<Granted, AuthError> {
    let endpoint = Endpoint::Token;
    let response = http
        .post(url.clone())
        .header(reqwest::header::ACCEPT, "application/json")
        .form(form)
        .send()
        .await
        .map_err(|e| network(endpoint, e))?;
    let status = response.status().as_u16();
    let retry_after = retry_after(&response);
    let body = read_body(response, endpoint).await?;
    match status {
        200 => parse_granted(&body),
        429 => Err(AuthError::RateLimited { endpoint, retry_after }),
        500..=599 => Err(AuthError::Server { endpoint, status }),
        400..=499 => match lenient::from_slice::<OAuthErrorWire>(&body) {
            Ok(OAuthErrorWire { error: Some(code), error_description }) => {
                let code = sanitize_code(&code);
                if code == "invalid_grant" {
                    Err(AuthError::InvalidGrant { endpoint })
                } else {
                    let description = error_description.map(|d| sanitize_text(&d)).filter(|d| !d.is_empty());
                    Err(AuthError::Refused { endpoint, status, code, description })
                }
            }
            _ => Err(AuthError::Http { endpoint, status }),
        },
        _ => Err(AuthError::Http { endpoint, status }),
    }
}

fn parse_granted(body: &[u8]) -> Result<Granted, AuthError> {
    let bad = |what| AuthError::BadResponse { endpoint: Endpoint::Token, what };
    let wire: TokenWire = lenient::from_slice(body).map_err(|_| bad("not a JSON token response"))?;
    let access = wire.access_token.filter(|t| !t.is_empty()).ok_or(bad("no access_token"))?;
    if let Some(kind) = &wire.token_type {
        if !kind.eq_ignore_ascii_case("bearer") {
            return Err(bad("token_type is not Bearer"));
        }
    }
    // Some servers send `expires_in` as a string; anything unusable falls back to one hour.
    let lifetime = match &wire.expires_in {
        Some(Scalar::Number(n)) if n.fract() == 0.0 && *n >= 0.0 => Some(n.min(u64::MAX as f64) as u64),
        Some(Scalar::Text(s)) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|&s| s > 0)
    .map_or(DEFAULT_LIFETIME, |s| Duration::from_secs(s.min(366 * 24 * 3600)));
    Ok(Granted {
        access_token: AccessToken::new(access),
        refresh_token: wire.refresh_token.filter(|t| !t.is_empty()).map(RefreshToken::new),
        lifetime,
        scope: wire.scope,
    })
}

/// The parts of `/v1/me` a login shows.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default)]
pub struct Profile {
    #[serde(deserialize_with = "lenient::string")]
    pub display_name: Option<String>,
    #[serde(deserialize_with = "lenient::string")]
    pub id: Option<String>,
}

impl Profile {
    /// The name to show: the display name, or the user id when there is none.
    pub fn name(&self) -> Option<String> {
        self.display_name.clone().filter(|n| !n.trim().is_empty()).or_else(|| self.id.clone())
    }
}

/// `GET {api_url}/v1/me`.
pub async fn fetch_profile(
    http: &reqwest::Client,
    endpoints: &Endpoints,
    token: &AccessToken,
) -> Result<Profile, AuthError> {
    let endpoint = Endpoint::Profile;
    let response = http
        .get(endpoints.me.clone())
        .bearer_auth(token.secret())
        .send()
        .await
        .map_err(|e| network(endpoint, e))?;
    let status = response.status().as_u16();
    let retry_after = retry_after(&response);
    let body = read_body(response, endpoint).await?;
    match status {
        200 => {
            lenient::from_slice(&body).map_err(|_| AuthError::BadResponse { endpoint, what: "not a user" })
        }
        401 => Err(AuthError::Unauthorized { endpoint }),
        403 => Err(AuthError::Forbidden { endpoint }),
        429 => Err(AuthError::RateLimited { endpoint, retry_after }),
        500..=599 => Err(AuthError::Server { endpoint, status }),
        _ => Err(AuthError::Http { endpoint, status }),
    }
}

fn network(endpoint: Endpoint, e: reqwest::Error) -> AuthError {
    AuthError::Network { endpoint, timed_out: e.is_timeout(), source: e.without_url() }
}

/// The wait a 429 asks for, through the one capped parser the Web API uses too.
fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    crate::api::rate_limit::retry_after(response.headers())
}

/// The body, read chunk by chunk and given up as soon as it passes [`MAX_BODY`]: a declared
/// length is not trusted, and a chunked answer has none.
async fn read_body(mut response: reqwest::Response, endpoint: Endpoint) -> Result<Vec<u8>, AuthError> {
    const TOO_LARGE: &str = "response larger than 256 KiB";
    if response.content_length().is_some_and(|n| n > MAX_BODY as u64) {
        return Err(AuthError::BadResponse { endpoint, what: TOO_LARGE });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| network(endpoint, e))? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(AuthError::BadResponse { endpoint, what: TOO_LARGE });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// An OAuth error code is a short token; anything else is cut away.
pub(crate) fn sanitize_code(code: &str) -> String {
    code.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')).take(64).collect()
}

/// Server text shown to the user: printable ASCII, one line, at most 160 characters.
pub(crate) fn sanitize_text(text: &str) -> String {
    text.chars().filter(|c| c.is_ascii_graphic() || *c == ' ').take(160).collect::<String>().trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::flows::PendingFlows;
    use crate::auth::testutil::{FakeServer, Reply};
    use std::time::Instant;

    fn endpoints(base: &str) -> Endpoints {
        Endpoints::new(base, base).unwrap()
    }

    #[test]
    fn endpoints_follow_the_base_urls() {
        let e = Endpoints::new("https://accounts.spotify.com/", "https://api.spotify.com").unwrap();
        assert_eq!(e.authorize.as_str(), "https://accounts.spotify.com/authorize");
        assert_eq!(e.token.as_str(), "https://accounts.spotify.com/api/token");
        assert_eq!(e.me.as_str(), "https://api.spotify.com/v1/me");
        let e = Endpoints::new("http://127.0.0.1:9/base", "http://127.0.0.1:9").unwrap();
        assert_eq!(e.token.as_str(), "http://127.0.0.1:9/base/api/token");
        for bad in ["", "ftp://x", "not a url", "http://x/?q=1"] {
            assert!(matches!(Endpoints::new(bad, "http://x"), Err(AuthError::BadUrl { .. })), "{bad}");
        }
    }

    #[test]
    fn authorize_url_has_every_parameter() {
        let mut flows = PendingFlows::default();
        let flow = flows.start(Instant::now());
        let url = authorize_url(
            &endpoints("https://accounts.spotify.com"),
            "abc123",
            "http://127.0.0.1:8888/callback",
            crate::auth::SCOPES,
            &flow,
        );
        let url = Url::parse(url.secret()).unwrap();
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(url.path(), "/authorize");
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["client_id"], "abc123");
        assert_eq!(q["redirect_uri"], "http://127.0.0.1:8888/callback");
        assert_eq!(q["state"], flow.state.secret());
        assert_eq!(q["code_challenge"], flow.challenge);
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(
            q["scope"],
            "user-read-playback-state user-read-currently-playing user-modify-playback-state \
             user-read-recently-played"
        );
    }

    #[tokio::test]
    async fn exchange_posts_the_form_and_reads_the_grant() {
        let server = FakeServer::start(vec![Reply::json(
            200,
            r#"{"access_token":"A1","token_type":"Bearer","expires_in":"3600","refresh_token":"R1","scope":"s","extra":1}"#,
        )]);
        let http = http_client(Duration::from_secs(5));
        let granted = exchange_code(
            &http,
            &endpoints(&server.url()),
            "cid",
            &AuthCode::new("C0DE"),
            &PkceVerifier::new("V3R1F13R"),
            "http://127.0.0.1:8888/callback",
        )
        .await
        .unwrap();
        assert_eq!(granted.access_token.secret(), "A1");
        assert_eq!(granted.refresh_token.unwrap().secret(), "R1");
        assert_eq!(granted.lifetime, Duration::from_secs(3600));
        let seen = server.requests();
        assert_eq!(seen[0].path, "/api/token");
        assert_eq!(seen[0].form("grant_type"), Some("authorization_code"));
        assert_eq!(seen[0].form("code"), Some("C0DE"));
        assert_eq!(seen[0].form("code_verifier"), Some("V3R1F13R"));
        assert_eq!(seen[0].form("client_id"), Some("cid"));
        assert_eq!(seen[0].form_decoded("redirect_uri").as_deref(), Some("http://127.0.0.1:8888/callback"));
        assert_eq!(seen[0].method, "POST");
        assert_eq!(seen[0].header("content-type").as_deref(), Some("application/x-www-form-urlencoded"));
    }

    #[tokio::test]
    async fn token_errors_are_classified_without_bodies() {
        let sentinel = "SENTINEL-body-9d2e";
        let server = FakeServer::start(vec![
            Reply::json(400, r#"{"error":"invalid_grant","error_description":"Invalid refresh token"}"#),
            Reply::json(400, &format!(r#"{{"error":"invalid_client","error_description":"{sentinel}"}}"#)),
            Reply::json(429, sentinel).header("Retry-After", "7"),
            Reply::json(503, sentinel),
            Reply::json(200, &format!(r#"{{"nope":"{sentinel}"}}"#)),
            Reply::json(200, r#"{"access_token":"x","token_type":"mac"}"#),
            Reply::json(418, sentinel),
        ]);
        let http = http_client(Duration::from_secs(5));
        let e = endpoints(&server.url());
        let r = RefreshToken::new("R");
        let mut errors = Vec::new();
        for _ in 0..7 {
            errors.push(refresh(&http, &e, "cid", &r).await.unwrap_err());
        }
        assert!(matches!(errors[0], AuthError::InvalidGrant { .. }));
        assert!(matches!(&errors[1], AuthError::Refused { code, .. } if code == "invalid_client"));
        assert!(
            matches!(errors[2], AuthError::RateLimited { retry_after: Some(d), .. } if d == Duration::from_secs(7))
        );
        assert!(matches!(errors[3], AuthError::Server { status: 503, .. }));
        assert!(matches!(errors[4], AuthError::BadResponse { .. }));
        assert!(matches!(errors[5], AuthError::BadResponse { .. }));
        assert!(matches!(errors[6], AuthError::Http { status: 418, .. }));
        for e in &errors[2..] {
            let all = format!("{e} {e:?} {}", e.user_message());
            assert!(!all.contains(sentinel), "{all}");
        }
        assert_eq!(server.requests()[0].form("grant_type"), Some("refresh_token"));
        assert_eq!(server.requests()[0].form("refresh_token"), Some("R"));
    }

    #[tokio::test]
    async fn any_retry_after_is_read_by_the_capped_parser() {
        use crate::api::rate_limit::MAX_RETRY_AFTER;
        let server = FakeServer::start(vec![
            Reply::json(429, "{}").header("Retry-After", "1e20"),
            Reply::json(429, "{}").header("Retry-After", "-5"),
            Reply::json(429, "{}").header("Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT"),
            Reply::json(429, "{}").header("Retry-After", "in a while"),
            Reply::json(429, "{}").header("Retry-After", "99999999999999999999999"),
        ]);
        let http = http_client(Duration::from_secs(5));
        let e = endpoints(&server.url());
        let mut waits = Vec::new();
        for _ in 0..5 {
            match refresh(&http, &e, "cid", &RefreshToken::new("R")).await {
                Err(AuthError::RateLimited { retry_after, .. }) => waits.push(retry_after),
                other => panic!("{other:?}"),
            }
        }
        let past = Some(Duration::ZERO);
        assert_eq!(waits, [Some(MAX_RETRY_AFTER), None, past, None, Some(MAX_RETRY_AFTER)]);
    }

    /// Serves one answer whose body never ends: chunked (no declared length), 16 KiB at a time,
    /// until the client hangs up. Returns the URL and how many bytes went out.
    fn endless_chunked_server() -> (String, std::thread::JoinHandle<usize>) {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let thread = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            stream.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let mut sent = 0;
            let head =
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
            if stream.write_all(head.as_bytes()).is_err() {
                return sent;
            }
            let chunk = format!("4000\r\n{}\r\n", " ".repeat(0x4000));
            // 64 MiB at most, so a client that never stops still ends the test.
            while sent < 64 << 20 && stream.write_all(chunk.as_bytes()).is_ok() {
                sent += 0x4000;
            }
            sent
        });
        (url, thread)
    }

    #[tokio::test]
    async fn a_chunked_body_is_cut_off_at_the_cap() {
        let (url, server) = endless_chunked_server();
        let http = http_client(Duration::from_secs(20));
        let err = refresh(&http, &endpoints(&url), "cid", &RefreshToken::new("R")).await.unwrap_err();
        assert!(matches!(err, AuthError::BadResponse { what, .. } if what.contains("larger")), "{err:?}");
        assert!(err.user_message().contains("256 KiB"), "{}", err.user_message());
        drop(http);
        // Joined off the runtime: the client's connection task must run to hang up.
        let sent = tokio::task::spawn_blocking(move || server.join().unwrap()).await.unwrap();
        assert!(sent < 16 << 20, "the client read {sent} bytes before giving up");
    }

    #[tokio::test]
    async fn a_declared_huge_body_is_not_read() {
        let big = " ".repeat(MAX_BODY + 1);
        let server = FakeServer::start(vec![Reply::json(200, &big)]);
        let http = http_client(Duration::from_secs(5));
        let err =
            refresh(&http, &endpoints(&server.url()), "cid", &RefreshToken::new("R")).await.unwrap_err();
        assert!(matches!(err, AuthError::BadResponse { .. }), "{err:?}");
    }

    #[test]
    fn token_responses_are_read_leniently() {
        let g =
            parse_granted(br#"{"access_token":"A","expires_in":1e30,"refresh_token":7,"scope":[]}"#).unwrap();
        assert_eq!(
            (g.lifetime, g.refresh_token.is_none(), g.scope),
            (Duration::from_secs(366 * 24 * 3600), true, None)
        );
        let g = parse_granted(br#"{"access_token":"A","expires_in":-3,"token_type":"bearer"}"#).unwrap();
        assert_eq!(g.lifetime, DEFAULT_LIFETIME);
        let g = parse_granted(br#"{"access_token":"A","expires_in":{"s":1}}"#).unwrap();
        assert_eq!(g.lifetime, DEFAULT_LIFETIME);
        for bad in [&b"[]"[..], b"", b"{\"access_token\": 5}", b"{\"access_token\":\"A\"} trailing"] {
            assert!(matches!(parse_granted(bad), Err(AuthError::BadResponse { .. })), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn unreachable_and_hanging_servers_are_network_errors() {
        let http = http_client(Duration::from_millis(300));
        let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = dead.local_addr().unwrap().port();
        drop(dead);
        let e = endpoints(&format!("http://127.0.0.1:{port}"));
        let err = refresh(&http, &e, "cid", &RefreshToken::new("R")).await.unwrap_err();
        assert!(matches!(err, AuthError::Network { timed_out: false, .. }), "{err:?}");
        let hang = FakeServer::start(vec![Reply::hang()]);
        let err = refresh(&http, &endpoints(&hang.url()), "cid", &RefreshToken::new("R")).await.unwrap_err();
        assert!(matches!(err, AuthError::Network { timed_out: true, .. }), "{err:?}");
    }

    #[tokio::test]
    async fn profile_names_the_user_and_explains_403() {
        let server = FakeServer::start(vec![
            Reply::json(200, r#"{"display_name":"Ada","id":"ada1","product":null}"#),
            Reply::json(200, r#"{"display_name":null,"id":"ada1"}"#),
            Reply::json(403, "User not registered in the Developer Dashboard"),
        ]);
        let http = http_client(Duration::from_secs(5));
        let e = endpoints(&server.url());
        let t = AccessToken::new("A");
        assert_eq!(fetch_profile(&http, &e, &t).await.unwrap().name().as_deref(), Some("Ada"));
        assert_eq!(fetch_profile(&http, &e, &t).await.unwrap().name().as_deref(), Some("ada1"));
        let err = fetch_profile(&http, &e, &t).await.unwrap_err();
        assert!(err.user_message().contains("Development Mode"));
        assert_eq!(server.requests()[0].header("authorization").as_deref(), Some("Bearer A"));
    }
}
