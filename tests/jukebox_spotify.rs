//! Spotify visitors end to end: `td-spotify jukebox --source spotify` against the scripted Web
//! API (tests/support) and a small token endpoint, with this test playing each visitor's browser
//! (Join, then the loopback login's redirects, as Spotify would send them back).
//!
//! Ana's account is served; Ben's is not on the app's allowlist (403 at `/v1/me`, the first call
//! of his login); Cy's login works but his player answers 403 when his turn comes. Ana and Cy
//! are kept in the visitors' store under their Spotify user ids; Ben and Cy end up told to ask
//! the operator to add their accounts.

use crate::support;
use crate::support::isolation::serial;

use support::jukebox::{Events, Jukebox};

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

use support::fake_api::{FakeApi, Reply};

/// How long a visitor's page may take to show what the test waits for.
const WAIT: Duration = Duration::from_secs(20);
const CLIENT: &str = "jukebox-visitors-test";
const NOTE: &str = "ask the operator to add your Spotify account";

/// The player of each account, by its token.
fn player(bearer: Option<&str>) -> Reply {
    match bearer {
        Some("token-ana") => Reply::json(
            r#"{"is_playing": true, "progress_ms": 1000, "currently_playing_type": "track",
                "device": {"name": "Ana's phone", "type": "Smartphone", "volume_percent": 50},
                "item": {"type": "track", "id": "4uLU6hMCjMI75M1A2tKUQC", "uri": "spotify:track:4uLU6hMCjMI75M1A2tKUQC",
                         "name": "Ana's Song", "duration_ms": 600000, "artists": [{"name": "Ada Vector"}]}}"#,
        ),
        _ => Reply::development_mode(),
    }
}

fn profile(bearer: Option<&str>) -> Reply {
    match bearer {
        Some("token-ana") => Reply::json(r#"{"id": "ana.id", "display_name": "Ana"}"#),
        Some("token-cy") => Reply::json(r#"{"id": "cy-id", "display_name": "Cy"}"#),
        _ => Reply::error(403, "Forbidden", None),
    }
}

/// The scripted Web API on its own runtime and thread.
fn start_api() -> (FakeApi, SocketAddr) {
    let api = FakeApi::new(|r| player(r.bearer.as_deref()));
    api.route("GET", "/v1/me", |r| profile(r.bearer.as_deref()));
    api.accept_tokens(&["token-ana", "token-ben", "token-cy"]);
    let (tx, rx) = std::sync::mpsc::channel();
    let served = api.clone();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async move {
            tx.send(served.serve_http().await).unwrap();
            std::future::pending::<()>().await;
        });
    });
    (api, rx.recv().unwrap())
}

/// Spotify's token endpoint: the code names the account (`code=ana` → `token-ana`).
fn start_accounts() -> String {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let url = format!("http://{}", server.server_addr().to_ip().unwrap());
    std::thread::spawn(move || {
        for mut request in server.incoming_requests() {
            let mut body = String::new();
            let _ = request.as_reader().read_to_string(&mut body);
            let code = url::form_urlencoded::parse(body.as_bytes())
                .find(|(k, _)| k == "code")
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default();
            let json = format!(
                r#"{{"access_token":"token-{code}","token_type":"Bearer","expires_in":3600,"refresh_token":"refresh-{code}","scope":"user-read-playback-state"}}"#
            );
            let header = tiny_http::Header::from_bytes("Content-Type", "application/json").unwrap();
            let _ = request.respond(tiny_http::Response::from_string(json).with_header(header));
        }
    });
    url
}

/// A `td-spotify jukebox` of Spotify visitors against the scripted Web API and token endpoint.
fn start_jukebox(cache: &Path, api: SocketAddr, accounts: &str) -> Jukebox {
    let api = format!("http://{api}");
    let args = ["--source", "spotify", "--client-id", CLIENT, "--port", "0", "--turn-length", "4"];
    let more =
        ["--idle-timeout", "60", "--seconds", "300", "--api-url", api.as_str(), "--accounts-url", accounts];
    Jukebox::start(&[&args[..], &more[..]].concat(), cache, &[("TD_SPOTIFY_NO_BROWSER", "1")])
}

/// A raw HTTP/1.1 exchange: status, headers (lowercase names), body.
fn http(port: u16, request: &str) -> (u16, Vec<(String, String)>, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status =
        lines.next().and_then(|l| l.split_whitespace().nth(1)).and_then(|s| s.parse().ok()).unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    (status, headers, body.to_owned())
}

fn get(url: &str) -> (u16, Vec<(String, String)>, String) {
    let url = url::Url::parse(url).unwrap();
    let port = url.port().unwrap();
    let target = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    };
    http(port, &format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"))
}

/// Visitor `viewer` presses Join, the page sends the browser to the login, and Spotify sends it
/// back with the authorization code `code`.
fn join_and_log_in(port: u16, viewer: &str, code: &str) -> Events {
    let mut events = Events::open(port, Some(viewer));
    let (status, _, _) = http(
        port,
        &format!(
            "POST /join HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: jukebox_viewer={viewer}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        ),
    );
    assert_eq!(status, 303);
    let event = events.until("the login link", WAIT, |e| e["me"]["login"].is_string());
    let login = event["me"]["login"].as_str().unwrap().to_owned();
    assert!(login.starts_with("http://127.0.0.1:") && login.ends_with("/login"), "{login}");
    let (status, headers, body) = get(&login);
    assert!((300..400).contains(&status), "{status} {body}");
    let authorize = headers.iter().find(|(k, _)| k == "location").map(|(_, v)| v.clone()).expect("Location");
    let authorize = url::Url::parse(&authorize).unwrap();
    let param =
        |name: &str| authorize.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned()).unwrap();
    assert_eq!(param("client_id"), CLIENT);
    let callback = format!("{}?code={code}&state={}", param("redirect_uri"), param("state"));
    let (status, _, body) = get(&callback);
    assert!(status == 200 || status == 400, "{status} {body}");
    events
}

#[test]
fn spotify_visitors_log_in_take_turns_and_a_403_leaves_with_the_allowlist_note() {
    let _serial = serial();
    let (api, api_addr) = start_api();
    let accounts = start_accounts();
    let cache = std::env::temp_dir().join(format!("td-spotify-jukebox-spotify-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&cache);
    let jukebox = start_jukebox(&cache, api_addr, &accounts);

    // Ana logs in and plays at once: the card shows her track.
    let mut ana = join_and_log_in(jukebox.port(), "ana", "ana");
    let playing = ana.until("Ana plays", WAIT, |e| e["me"]["position"] == 1 && !e["now"].is_null());
    assert_eq!(playing["active"], "Ana");
    assert_eq!(playing["now"]["name"], "Ana's Song");
    assert_eq!(playing["source"], "spotify");

    // Ben's account is not on the allowlist: 403 at /v1/me, he never joins and is told why.
    let mut ben = join_and_log_in(jukebox.port(), "ben", "ben");
    let refused =
        ben.until("Ben is told", WAIT, |e| e["me"]["note"].as_str().is_some_and(|n| n.contains(NOTE)));
    assert!(refused["me"]["position"].is_null(), "{refused}");
    assert!(refused["me"]["note"].as_str().unwrap().contains("User Management"), "{refused}");

    // Cy logs in (his profile answers), waits, and when his turn comes his player says 403.
    let mut cy = join_and_log_in(jukebox.port(), "cy", "cy");
    let waiting = cy.until("Cy in line", WAIT, |e| e["me"]["position"] == 2);
    let names: Vec<&str> =
        waiting["queue"].as_array().unwrap().iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Ana", "Cy"]);
    let gone = cy.until("Cy leaves with the note", WAIT, |e| {
        e["me"]["position"].is_null() && e["me"]["note"].as_str().is_some_and(|n| n.contains(NOTE))
    });
    assert_eq!(gone["queue"].as_array().unwrap().len(), 1, "{gone}");
    ana.until("Ana plays again", WAIT, |e| e["active"] == "Ana" && !e["now"].is_null());

    // Logins are kept by Spotify user id; the refused one is not kept at all.
    let store = cache.join("jukebox-visitors");
    assert!(store.join("ana.id").is_dir() && store.join("cy-id").is_dir(), "{:?}", std::fs::read_dir(&store));
    let kept: Vec<String> =
        std::fs::read_dir(&store).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    assert_eq!(kept.len(), 2, "{kept:?}");
    // The queue file holds ids and names, never a token.
    let queue = std::fs::read_to_string(cache.join("jukebox-queue.json")).unwrap();
    assert!(!queue.contains("token-"), "{queue}");
    assert!(api.requests_to("/v1/me/player").iter().any(|r| r.bearer.as_deref() == Some("token-cy")));
    drop(jukebox);
    let _ = std::fs::remove_dir_all(&cache);
}
