//! The session against a scripted token endpoint and its own loopback server.

use std::fs;
use std::path::PathBuf;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, Instant, SystemTime};

use super::*;
use crate::auth::pkce::{challenge_s256, random_string};
use crate::auth::secret::{PkceVerifier, RefreshToken};
use crate::auth::store::TokenStore;
use crate::auth::testutil::{FakeServer, Reply};

const CLIENT: &str = "testclient";

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("td-spotify-session-{name}-{}", random_string(6)));
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn config(fake: &FakeServer, dir: &std::path::Path) -> SessionConfig {
    SessionConfig {
        client_id: CLIENT.into(),
        port: 0,
        cache_dir: Some(dir.to_path_buf()),
        accounts_url: fake.url(),
        api_url: fake.url(),
        open_browser: false,
        request_timeout: Duration::from_secs(5),
    }
}

fn record(access: &str, refresh: &str, expires_in: i64) -> TokenRecord {
    let now = unix(SystemTime::now()) as i64;
    TokenRecord {
        version: 1,
        client_id: CLIENT.into(),
        access_token: AccessToken::new(access),
        refresh_token: Some(RefreshToken::new(refresh)),
        expires_at: (now + expires_in) as u64,
        lifetime_s: 3600,
        scope: String::new(),
        user: Some("Ada".into()),
        saved_at: 0,
    }
}

fn token_json(access: &str, refresh: Option<&str>) -> String {
    match refresh {
        Some(r) => format!(
            r#"{{"access_token":"{access}","token_type":"Bearer","expires_in":3600,"refresh_token":"{r}"}}"#
        ),
        None => format!(r#"{{"access_token":"{access}","token_type":"Bearer","expires_in":3600}}"#),
    }
}

fn query(url: &str) -> std::collections::HashMap<String, String> {
    url::Url::parse(url).unwrap().query_pairs().into_owned().collect()
}

/// GET on the loopback server, as the browser would.
async fn browse(url: &str) -> (u16, String) {
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r = http.get(url).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.text().await.unwrap())
}

async fn wait_for(session: &Session, what: impl Fn(&AuthView) -> bool) -> AuthView {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        session.tick();
        let view = session.view();
        if what(&view) {
            return view;
        }
        assert!(Instant::now() < deadline, "timed out; view: {view:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn port_of(start: &LoginStart) -> u16 {
    url::Url::parse(&start.login_url).unwrap().port().unwrap()
}

#[tokio::test]
async fn login_through_the_loopback_server_saves_tokens_and_names_the_user() {
    let fake = FakeServer::start(vec![
        Reply::json(200, &token_json("A1", Some("R1"))),
        Reply::json(200, r#"{"display_name":"Ada Lovelace","id":"ada"}"#),
    ]);
    let dir = temp_dir("login");
    let session = Session::new(config(&fake, &dir), Handle::current());
    assert_eq!(session.state(), AuthState::LoggedOut);
    let start = session.start_login().unwrap();
    let port = port_of(&start);
    assert_eq!(start.redirect_uri, format!("http://127.0.0.1:{port}/callback"));
    assert!(matches!(session.state(), AuthState::WaitingForBrowser { url } if url == start.login_url));
    let q = query(start.authorize_url.secret());
    assert_eq!(q["redirect_uri"], start.redirect_uri);

    let (status, body) = browse(&format!("{}?code=THE-CODE&state={}", start.redirect_uri, q["state"])).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Logged in to Spotify as Ada Lovelace"), "{body}");
    let view = wait_for(&session, |v| matches!(v.state, AuthState::LoggedIn { .. })).await;
    assert_eq!(view.state, AuthState::LoggedIn { user: Some("Ada Lovelace".into()) });
    assert_eq!(view.problem, None);

    // The exchange sent the code, the redirect URI and a verifier that matches the challenge.
    let seen = fake.requests();
    assert_eq!(seen[0].form_decoded("code").as_deref(), Some("THE-CODE"));
    assert_eq!(seen[0].form_decoded("redirect_uri"), Some(start.redirect_uri.clone()));
    let verifier = PkceVerifier::new(seen[0].form_decoded("code_verifier").unwrap());
    assert_eq!(challenge_s256(&verifier), q["code_challenge"]);
    assert_eq!(seen[1].path, "/v1/me");

    let stored = TokenStore::new(Some(&dir), CLIENT).unwrap().load(CLIENT).unwrap().unwrap();
    assert_eq!(stored.access_token.secret(), "A1");
    assert_eq!(stored.refresh_token.unwrap().secret(), "R1");
    assert_eq!(stored.user.as_deref(), Some("Ada Lovelace"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(session.store_path().unwrap()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(session.last_login_latency().is_some());
    assert_eq!(session.valid_token().await.unwrap().secret(), "A1");

    // The server stops once the login is done: a replay finds nobody listening.
    session.tick();
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());

    // A new session (a restart) is logged in from the store.
    drop(session);
    let again = Session::new(config(&fake, &dir), Handle::current());
    assert_eq!(again.state(), AuthState::LoggedIn { user: Some("Ada Lovelace".into()) });
}

#[tokio::test]
async fn forged_replayed_and_malformed_callbacks_are_refused_and_the_login_goes_on() {
    let fake = FakeServer::start(vec![
        Reply::json(200, &token_json("A1", Some("R1"))),
        Reply::json(200, r#"{"display_name":"Ada"}"#),
    ]);
    let dir = temp_dir("forged");
    let session = Session::new(config(&fake, &dir), Handle::current());
    let first = session.start_login().unwrap();
    let second = session.start_login().unwrap();
    assert_eq!(port_of(&first), port_of(&second), "one server for both");
    let base = first.redirect_uri.clone();
    let state1 = query(first.authorize_url.secret())["state"].clone();
    let state2 = query(second.authorize_url.secret())["state"].clone();

    let (status, body) = browse(&format!("{base}?code=x&state=forged")).await;
    assert_eq!(status, 400);
    assert!(body.contains("does not belong to a login in progress"), "{body}");
    let (status, _) = browse(&format!("{base}?code=x")).await;
    assert_eq!(status, 400);
    let (status, body) = browse(&format!("{base}?code=x&state={state1}&state={state1}")).await;
    assert_eq!(status, 400, "{body}");
    // Wrong Host (DNS rebinding): refused before the state is looked at.
    let http = reqwest::Client::new();
    let r = http
        .get(format!("{base}?code=x&state={state1}"))
        .header("Host", "evil.example:80")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 421);
    let (status, _) = browse(&base.replace("/callback", "/nope")).await;
    assert_eq!(status, 404);
    assert!(matches!(session.state(), AuthState::WaitingForBrowser { .. }));

    // /login starts yet another flow and sends the browser to the authorize page.
    let (status, _) = browse(&first.login_url).await;
    assert_eq!(status, 302);

    // The second flow completes; the first is cleared with it.
    let (status, body) = browse(&format!("{base}?code=C&state={state2}")).await;
    assert_eq!(status, 200, "{body}");
    wait_for(&session, |v| matches!(v.state, AuthState::LoggedIn { .. })).await;
    assert_eq!(fake.requests().len(), 2, "forged callbacks never reached the token endpoint");

    // Replaying the used state on a new login's server is refused as such.
    let third = session.start_login().unwrap();
    let (status, body) = browse(&format!("{}?code=C&state={state2}", third.redirect_uri)).await;
    assert_eq!(status, 400);
    assert!(body.contains("already used"), "{body}");
    session.logout().await.unwrap();
}

#[tokio::test]
async fn denying_access_keeps_the_previous_session() {
    let fake = FakeServer::start(vec![]);
    let dir = temp_dir("deny");
    let store = TokenStore::new(Some(&dir), CLIENT).unwrap();
    store.save(&record("A0", "R0", 3600)).unwrap();
    let before = fs::read(store.path()).unwrap();
    let session = Session::new(config(&fake, &dir), Handle::current());
    assert_eq!(session.state(), AuthState::LoggedIn { user: Some("Ada".into()) });
    let start = session.start_login().unwrap();
    let state = query(start.authorize_url.secret())["state"].clone();
    let (status, body) = browse(&format!("{}?error=access_denied&state={state}", start.redirect_uri)).await;
    assert_eq!(status, 200);
    assert!(body.contains("Login cancelled"), "{body}");
    // The browser is answered first (a CLI waiting on the view must not exit before that).
    let view = wait_for(&session, |v| v.problem.is_some()).await;
    assert_eq!(view.state, AuthState::LoggedIn { user: Some("Ada".into()) });
    assert!(view.problem.unwrap().contains("not allowed"));
    assert!(!view.needs_fix);
    assert_eq!(fs::read(store.path()).unwrap(), before);
    assert_eq!(session.valid_token().await.unwrap().secret(), "A0");
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn a_callback_without_code_or_with_another_error_ends_the_login() {
    let fake = FakeServer::start(vec![]);
    let dir = temp_dir("nocode");
    let session = Session::new(config(&fake, &dir), Handle::current());
    let start = session.start_login().unwrap();
    let state = query(start.authorize_url.secret())["state"].clone();
    let (status, body) = browse(&format!("{}?state={state}", start.redirect_uri)).await;
    assert_eq!(status, 400);
    assert!(body.contains("no authorization code"), "{body}");
    wait_for(&session, |v| v.state == AuthState::LoggedOut).await;

    let start = session.start_login().unwrap();
    let state = query(start.authorize_url.secret())["state"].clone();
    let (status, body) = browse(&format!("{}?error=invalid_client&state={state}", start.redirect_uri)).await;
    assert_eq!(status, 400);
    assert!(body.contains("check Clientid"), "{body}");
    wait_for(&session, |v| v.needs_fix).await;
}

#[tokio::test]
async fn an_unfinished_login_expires_after_ten_minutes() {
    let fake = FakeServer::start(vec![]);
    let dir = temp_dir("expire");
    let session = Session::new(config(&fake, &dir), Handle::current());
    let start = session.start_login().unwrap();
    session.tick_at(Instant::now() + Duration::from_secs(11 * 60));
    let view = session.view();
    assert_eq!(view.state, AuthState::LoggedOut);
    assert!(view.problem.unwrap().contains("10 minutes"));
    assert!(std::net::TcpStream::connect(("127.0.0.1", port_of(&start))).is_err());
}

#[tokio::test]
async fn a_taken_port_is_a_clear_error() {
    let fake = FakeServer::start(vec![]);
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port();
    let session = Session::new(SessionConfig { port, ..config(&fake, &temp_dir("port")) }, Handle::current());
    let err = session.start_login().unwrap_err();
    assert!(matches!(err, AuthError::PortInUse { .. }));
    let view = session.view();
    assert!(view.problem.unwrap().contains(&port.to_string()));
    assert!(view.needs_fix);
    assert_eq!(view.state, AuthState::LoggedOut);
}

#[tokio::test]
async fn refresh_keeps_a_rotated_token_and_the_old_one_when_omitted() {
    let fake = FakeServer::start(vec![
        Reply::json(200, &token_json("A2", Some("R2"))),
        Reply::json(200, &token_json("A3", None)),
    ]);
    let dir = temp_dir("rotate");
    let store = TokenStore::new(Some(&dir), CLIENT).unwrap();
    store.save(&record("A1", "R1", 60)).unwrap();
    let session = Session::new(config(&fake, &dir), Handle::current());
    // Due within five minutes of expiry: refreshed proactively.
    assert_eq!(session.valid_token().await.unwrap().secret(), "A2");
    assert_eq!(store.load(CLIENT).unwrap().unwrap().refresh_token.unwrap().secret(), "R2");
    // Not due: no request.
    assert_eq!(session.valid_token().await.unwrap().secret(), "A2");
    // A 401 on A2 refreshes once; the response omits the refresh token, R2 stays.
    assert_eq!(session.token_after_unauthorized("A2").await.unwrap().secret(), "A3");
    // A stale 401 (for a token already replaced) does not refresh again.
    assert_eq!(session.token_after_unauthorized("A2").await.unwrap().secret(), "A3");
    let saved = store.load(CLIENT).unwrap().unwrap();
    assert_eq!(saved.access_token.secret(), "A3");
    assert_eq!(saved.refresh_token.unwrap().secret(), "R2");
    assert_eq!(saved.user.as_deref(), Some("Ada"));
    let sent: Vec<_> = fake.requests().iter().map(|r| r.form_decoded("refresh_token").unwrap()).collect();
    assert_eq!(sent, ["R1", "R2"]);
    assert_eq!(fake.requests()[0].form_decoded("client_id").as_deref(), Some(CLIENT));
    assert_eq!(session.state(), AuthState::LoggedIn { user: Some("Ada".into()) });
}

#[tokio::test]
async fn invalid_grant_clears_the_session_and_asks_for_a_login() {
    let fake = FakeServer::start(vec![Reply::json(
        400,
        r#"{"error":"invalid_grant","error_description":"Refresh token revoked"}"#,
    )]);
    let dir = temp_dir("invalid");
    let store = TokenStore::new(Some(&dir), CLIENT).unwrap();
    store.save(&record("A1", "R1", -5)).unwrap();
    let session = Session::new(config(&fake, &dir), Handle::current());
    let err = session.valid_token().await.unwrap_err();
    assert!(matches!(err, AuthError::InvalidGrant { .. }));
    let view = session.view();
    assert!(matches!(&view.state, AuthState::LoginRequired { reason } if reason.contains("pulse Login")));
    assert_eq!(store.load(CLIENT).unwrap(), None);
    let err = session.access_token().await.unwrap_err();
    assert!(matches!(err, TokenError::LoginRequired { .. }));
    let rows = crate::engine::spotify::auth_state(&view).auth.unwrap();
    assert_eq!(rows.state, "login required");
}

#[tokio::test]
async fn transient_refresh_failures_never_wipe_the_session() {
    let fake = FakeServer::start(vec![
        Reply::json(503, "<html>down</html>"),
        Reply::json(429, "{}").header("Retry-After", "3"),
        Reply::hang(),
        Reply::json(200, &token_json("A2", Some("R2"))),
    ]);
    let dir = temp_dir("transient");
    let store = TokenStore::new(Some(&dir), CLIENT).unwrap();
    store.save(&record("A1", "R1", 120)).unwrap();
    let before = fs::read(store.path()).unwrap();
    let session = Session::new(
        SessionConfig { request_timeout: Duration::from_millis(300), ..config(&fake, &dir) },
        Handle::current(),
    );
    // Proactive refresh fails with 503: the still-valid token is handed out.
    assert_eq!(session.valid_token().await.unwrap().secret(), "A1");
    assert!(session.view().problem.unwrap().contains("503"));
    // A 401 forces a refresh: 429, then a timeout; both are errors but the login stays.
    let err = session.token_after_unauthorized("A1").await.unwrap_err();
    assert!(matches!(err, AuthError::RateLimited { .. }));
    let err = session.token_after_unauthorized("A1").await.unwrap_err();
    assert!(matches!(err, AuthError::Network { timed_out: true, .. }), "{err:?}");
    assert!(matches!(session.access_token().await, Ok(t) if t == "A1"), "backoff hands out the valid token");
    assert_eq!(fs::read(store.path()).unwrap(), before);
    assert!(matches!(session.state(), AuthState::LoggedIn { .. }));
    assert_eq!(session.token_after_unauthorized("A1").await.unwrap().secret(), "A2");
    assert_eq!(session.view().problem, None, "recovery clears the warning");
}

#[tokio::test]
async fn a_cancelled_caller_does_not_lose_the_rotated_token() {
    let fake = FakeServer::start(vec![
        Reply::json(200, &token_json("A2", Some("R2"))).delayed(Duration::from_millis(300))
    ]);
    let dir = temp_dir("cancel");
    let store = TokenStore::new(Some(&dir), CLIENT).unwrap();
    store.save(&record("A1", "R1", 1)).unwrap();
    let session = Session::new(config(&fake, &dir), Handle::current());
    let cut_short = tokio::time::timeout(Duration::from_millis(50), session.valid_token()).await;
    assert!(cut_short.is_err(), "the caller gave up");
    // The refresh finishes anyway and its rotated token is saved.
    assert_eq!(session.valid_token().await.unwrap().secret(), "A2");
    assert_eq!(store.load(CLIENT).unwrap().unwrap().refresh_token.unwrap().secret(), "R2");
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn another_process_refresh_is_adopted_not_repeated() {
    let fake = FakeServer::start(vec![]);
    let dir = temp_dir("adopt");
    let store = TokenStore::new(Some(&dir), CLIENT).unwrap();
    store.save(&record("A1", "R1", 30)).unwrap();
    let session = Session::new(config(&fake, &dir), Handle::current());
    // The CLI refreshed meanwhile and rotated R1 away.
    store.save(&record("A2", "R2", 3600)).unwrap();
    assert_eq!(session.valid_token().await.unwrap().secret(), "A2");
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn logout_during_the_exchange_wins() {
    let fake = FakeServer::start(vec![
        Reply::json(200, &token_json("A1", Some("R1"))).delayed(Duration::from_millis(1500)),
        Reply::json(200, "{}"),
    ]);
    let dir = temp_dir("logout");
    let session = Session::new(config(&fake, &dir), Handle::current());
    let start = session.start_login().unwrap();
    let state = query(start.authorize_url.secret())["state"].clone();
    let callback = tokio::spawn(browse_owned(format!("{}?code=C&state={state}", start.redirect_uri)));
    // Log out once the exchange is under way (the token endpoint holds its answer meanwhile).
    let deadline = Instant::now() + Duration::from_secs(10);
    while fake.requests().is_empty() {
        assert!(Instant::now() < deadline, "the exchange never started");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    session.logout().await.unwrap();
    let (status, body) = callback.await.unwrap();
    assert_eq!(status, 409, "{body}");
    assert_eq!(session.state(), AuthState::LoggedOut);
    assert!(!session.store_path().unwrap().exists());
}

#[tokio::test]
async fn requests_for_the_login_page_cannot_crowd_out_the_artists_login() {
    let fake = FakeServer::start(vec![
        Reply::json(200, &token_json("A1", Some("R1"))),
        Reply::json(200, r#"{"display_name":"Ada"}"#),
    ]);
    let dir = temp_dir("crowd");
    let session = Session::new(config(&fake, &dir), Handle::current());
    let start = session.start_login().unwrap();
    let state = query(start.authorize_url.secret())["state"].clone();
    // A page elsewhere makes the browser ask for /login over and over.
    for _ in 0..40 {
        let (status, _) = browse(&start.login_url).await;
        assert_eq!(status, 302);
    }
    // Browsers mark requests another page made; those do not even start a login.
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    for site in ["cross-site", "same-site"] {
        let r = http.get(&start.login_url).header("Sec-Fetch-Site", site).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 403, "{site}");
    }
    let r = http.get(&start.login_url).header("Sec-Fetch-Site", "none").send().await.unwrap();
    assert_eq!(r.status().as_u16(), 302, "the artist opening the link");
    // The artist's own login still completes.
    let (status, body) = browse(&format!("{}?code=C&state={state}", start.redirect_uri)).await;
    assert_eq!(status, 200, "{body}");
    wait_for(&session, |v| matches!(v.state, AuthState::LoggedIn { .. })).await;
}

#[tokio::test]
async fn a_failed_save_keeps_the_rotated_token_in_memory_and_saves_it_later() {
    let fake = FakeServer::start(vec![Reply::json(200, &token_json("A2", Some("R2")))]);
    let dir = temp_dir("unsaved");
    let store = TokenStore::new(Some(&dir), CLIENT).unwrap();
    store.save(&record("A1", "R1", 1)).unwrap();
    let session = Session::new(config(&fake, &dir), Handle::current());
    // The file cannot be replaced now (works as root too, unlike a read-only folder).
    fs::remove_file(store.path()).unwrap();
    fs::create_dir(store.path()).unwrap();
    assert_eq!(session.valid_token().await.unwrap().secret(), "A2");
    let view = session.view();
    assert!(matches!(view.state, AuthState::LoggedIn { .. }));
    let problem = view.problem.unwrap();
    assert!(problem.contains("kept in memory"), "{problem}");
    assert!(view.needs_fix);
    // R1 is spent: the next refresh would need R2, which only memory holds. It is saved as
    // soon as the file can be written again.
    fs::remove_dir(store.path()).unwrap();
    wait_for(&session, |v| v.problem.is_none()).await;
    assert_eq!(store.load(CLIENT).unwrap().unwrap().refresh_token.unwrap().secret(), "R2");
}

#[tokio::test]
async fn invalid_grant_rereads_the_file_before_asking_for_a_login() {
    let fake = FakeServer::start(vec![
        Reply::json(400, r#"{"error":"invalid_grant"}"#).delayed(Duration::from_millis(300)),
        Reply::json(200, &token_json("A3", Some("R3"))),
    ]);
    let dir = temp_dir("reread");
    let store = TokenStore::new(Some(&dir), CLIENT).unwrap();
    store.save(&record("A1", "R1", 1)).unwrap();
    let session = Session::new(config(&fake, &dir), Handle::current());
    let refresh = session.valid_token();
    // A process that does not take the lock (an older td-spotify) spends R1 meanwhile.
    let other = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        fs::write(
            store.path(),
            serde_json::to_vec(&TokenRecord { saved_at: 5, ..record("A2", "R2", 1) }).unwrap(),
        )
        .unwrap();
    };
    let (token, ()) = tokio::join!(refresh, other);
    assert_eq!(token.unwrap().secret(), "A3");
    let seen = fake.requests();
    assert_eq!(seen[0].form_decoded("refresh_token").as_deref(), Some("R1"));
    assert_eq!(seen[1].form_decoded("refresh_token").as_deref(), Some("R2"));
    assert!(matches!(session.state(), AuthState::LoggedIn { .. }));
    assert_eq!(store.load(CLIENT).unwrap().unwrap().refresh_token.unwrap().secret(), "R3");
}

#[tokio::test]
async fn an_older_file_never_replaces_the_newer_login_in_memory() {
    let fake = FakeServer::start(vec![Reply::json(200, &token_json("A2", Some("R2")))]);
    let dir = temp_dir("older");
    let store = TokenStore::new(Some(&dir), CLIENT).unwrap();
    store.save(&record("A1", "R1", 1)).unwrap();
    let session = Session::new(config(&fake, &dir), Handle::current());
    // Someone restores an old copy of the file (a backup, a synced folder).
    store.save(&TokenRecord { saved_at: 1, ..record("A0", "R0", -3600) }).unwrap();
    assert_eq!(session.valid_token().await.unwrap().secret(), "A2");
    assert_eq!(fake.requests()[0].form_decoded("refresh_token").as_deref(), Some("R1"));
    assert_eq!(store.load(CLIENT).unwrap().unwrap().refresh_token.unwrap().secret(), "R2");
}

#[tokio::test]
async fn a_file_corrupted_while_logged_in_is_kept_aside_and_the_login_saved_again() {
    let fake = FakeServer::start(vec![Reply::json(200, &token_json("A2", Some("R2")))]);
    let dir = temp_dir("corrupt-live");
    let store = TokenStore::new(Some(&dir), CLIENT).unwrap();
    store.save(&record("A1", "R1", 1)).unwrap();
    let session = Session::new(config(&fake, &dir), Handle::current());
    fs::write(store.path(), b"{\"version\":1,\"access_tok").unwrap();
    assert_eq!(session.valid_token().await.unwrap().secret(), "A2");
    assert_eq!(fake.requests()[0].form_decoded("refresh_token").as_deref(), Some("R1"));
    assert_eq!(store.load(CLIENT).unwrap().unwrap().refresh_token.unwrap().secret(), "R2");
    let kept: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains(".corrupt-"))
        .collect();
    assert_eq!(kept.len(), 1, "kept aside, not deleted");
    assert_eq!(fs::read(&kept[0]).unwrap(), b"{\"version\":1,\"access_tok");
}

#[tokio::test]
async fn the_store_lock_is_exclusive_across_sessions() {
    let dir = temp_dir("lock");
    let store = TokenStore::new(Some(&dir), CLIENT).unwrap();
    let held = store.try_lock().unwrap().expect("free at first");
    // Another open file description (another process, or another session) must wait...
    assert!(store.try_lock().unwrap().is_none());
    let waited = Instant::now();
    let err = store.lock(Duration::from_millis(100)).await.unwrap_err();
    assert!(matches!(err, AuthError::StoreBusy { .. }), "{err:?}");
    assert!(waited.elapsed() >= Duration::from_millis(100));
    // ...until the holder lets go.
    drop(held);
    let _again = store.lock(Duration::from_millis(100)).await.unwrap();
}

async fn browse_owned(url: String) -> (u16, String) {
    browse(&url).await
}

/// A buffer the tracing subscriber writes into.
#[derive(Clone, Default)]
struct LogBuffer(Arc<StdMutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Sentinel secrets go through a login, a refresh, a refusal and a logout; they must not
/// appear in logs, views, rows, warnings, errors or Debug output.
#[test]
fn secrets_never_leak() {
    const ACCESS: &str = "SENTINEL-ACCESS-5be1";
    const REFRESH: &str = "SENTINEL-REFRESH-77c0";
    const CODE: &str = "SENTINEL-CODE-0a9f";
    let logs = LogBuffer::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let mut shown: Vec<String> = Vec::new();
    let mut states: Vec<String> = Vec::new();
    tracing::subscriber::with_default(subscriber, || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let fake = FakeServer::start(vec![
                Reply::json(200, &token_json(ACCESS, Some(REFRESH))),
                Reply::json(403, &format!("{{\"error\":\"{ACCESS}\"}}")),
                Reply::json(500, &format!("{{\"access_token\":\"{ACCESS}\"}}")),
                Reply::json(
                    400,
                    &format!("{{\"error\":\"invalid_grant\",\"error_description\":\"{REFRESH}\"}}"),
                ),
            ]);
            let dir = temp_dir("sentinel");
            let session = Session::new(config(&fake, &dir), Handle::current());
            let start = session.start_login().unwrap();
            shown.push(format!("{start:?} {session:?}"));
            let state = query(start.authorize_url.secret())["state"].clone();
            states.push(state.clone());
            let (_, page) = browse(&format!("{}?code={CODE}&state={state}", start.redirect_uri)).await;
            shown.push(page);
            let view = wait_for(&session, |v| matches!(v.state, AuthState::LoggedIn { .. })).await;
            shown.push(format!("{view:?} {:?}", crate::engine::spotify::auth_state(&view)));
            for _ in 0..2 {
                if let Err(e) = session.token_after_unauthorized(ACCESS).await {
                    shown.push(format!("{e} {e:?} {} {:?}", e.user_message(), TokenError::from(&e)));
                }
                let view = session.view();
                shown.push(format!("{view:?} {:?}", crate::engine::spotify::auth_state(&view)));
            }
            shown.push(format!("{session:?}"));
        });
    });
    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("Spotify login saved"), "logs were captured: {logs}");
    shown.push(logs);
    for text in &shown {
        for secret in [ACCESS, REFRESH, CODE, &states[0]] {
            assert!(!text.contains(secret), "{secret} leaked into: {text}");
        }
    }
}
