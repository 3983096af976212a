//! The Spotify login end to end: a strict local identity provider (node's oidc-provider, PKCE
//! required, refresh tokens rotated) and a real headless browser (Debian's chromium driven by
//! playwright-core) go through the provider's login and consent pages to td-spotify's loopback
//! callback, through the library, the TouchDesigner operator and the CLI.
//!
//! Needs node, chromium and `npm ci` in tests/oidc; skips loudly without them, fails without
//! them under CI. Run: `cargo test --test it -- login_e2e --nocapture`.

use crate::harness;
use crate::support;
use crate::support::isolation::serial;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use harness::{free_port, Browser, Provider, Tools};
use td_spotify::auth::flows::PendingFlows;
use td_spotify::auth::loopback::{Connection, LoopbackServer, Request, Response};
use td_spotify::auth::oauth::{self, Endpoints};
use td_spotify::auth::pkce::Pkce;
use td_spotify::auth::secret::AuthCode;
use td_spotify::auth::store::{TokenRecord, TokenStore};
use td_spotify::auth::{AuthError, AuthState, LoginOutcome, Session, SessionConfig, SCOPES};
use td_spotify::engine::spotify::auth_state;
use tokio::runtime::Handle;

const CLIENT: &str = "td-spotify-e2e";

fn temp_dir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("td-spotify-e2e-{name}-{}-{}", std::process::id(), free_port()));
    let _ = fs::remove_dir_all(&dir);
    dir
}

fn callback(port: u16) -> String {
    format!("http://127.0.0.1:{port}/callback")
}

fn session_config(provider: &Provider, port: u16, dir: &Path) -> SessionConfig {
    SessionConfig {
        client_id: CLIENT.into(),
        port,
        cache_dir: Some(dir.to_path_buf()),
        accounts_url: provider.issuer.clone(),
        api_url: provider.issuer.clone(),
        open_browser: false,
        request_timeout: Duration::from_secs(10),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// Drives the browser off the runtime's thread (the exchange runs on it meanwhile).
async fn browse(browser: Browser, url: String, action: &'static str) -> (Browser, harness::Seen) {
    tokio::task::spawn_blocking(move || {
        let mut browser = browser;
        let seen = browser.run(&url, action);
        (browser, seen)
    })
    .await
    .unwrap()
}

async fn wait_for_login(session: &Session) -> td_spotify::auth::AuthView {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        session.tick();
        let view = session.view();
        if view.last_login.is_some() {
            return view;
        }
        assert!(Instant::now() < deadline, "login did not finish: {view:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn stored(dir: &Path) -> TokenRecord {
    TokenStore::new(Some(dir), CLIENT).unwrap().load(CLIENT).unwrap().expect("a saved login")
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

async fn me_status(provider: &Provider, token: &str) -> u16 {
    let http = reqwest::Client::new();
    let r = http.get(format!("{}/v1/me", provider.issuer)).bearer_auth(token).send().await.unwrap();
    r.status().as_u16()
}

/// Logs in through the browser with the library; returns the browser for more.
async fn log_in(session: &Session, browser: Browser, provider: &Provider) -> Browser {
    let start = session.start_login().unwrap();
    let (browser, seen) = browse(browser, start.authorize_url.secret().to_owned(), "allow").await;
    assert!(seen.ok, "browser: {seen:?}\nprovider: {}", provider.log());
    assert_eq!(seen.title, "td-spotify — Logged in", "{seen:?}");
    assert!(seen.text.contains("as Test Artist"), "{seen:?}");
    let view = wait_for_login(session).await;
    assert_eq!(view.last_login, Some(LoginOutcome::Succeeded), "{view:?}");
    assert_eq!(view.state, AuthState::LoggedIn { user: Some("Test Artist".into()) });
    browser
}

fn setup(test: &str) -> Option<(Tools, u16, Provider)> {
    let tools = harness::tools(test)?;
    let port = free_port();
    let provider = Provider::start(&tools, CLIENT, &[callback(port)]);
    Some((tools, port, provider))
}

/// What the guide has the artist register for Port Auto: no port, so any port matches.
const PORTLESS: &str = "http://127.0.0.1/callback";

fn setup_auto(test: &str) -> Option<(Tools, Provider)> {
    let tools = harness::tools(test)?;
    let provider = Provider::start(&tools, CLIENT, &[PORTLESS.to_owned()]);
    Some((tools, provider))
}

/// The provider's answer to an authorize request for `redirect_uri` (no browser needed: a
/// refused redirect URI is answered with an error page, never redirected to).
async fn authorize_status(provider: &Provider, redirect_uri: &str) -> (u16, String) {
    let endpoints = Endpoints::new(&provider.issuer, &provider.issuer).unwrap();
    let flow = PendingFlows::default().start(Instant::now());
    let url = oauth::authorize_url(&endpoints, CLIENT, redirect_uri, SCOPES, &flow);
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r = http.get(url.secret()).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.text().await.unwrap())
}

#[test]
fn login_stores_0600_refresh_rotates_and_an_old_refresh_token_is_refused() {
    let _serial = serial();
    let Some((tools, port, provider)) = setup("login_stores_0600_refresh_rotates") else { return };
    let dir = temp_dir("rotate");
    runtime().block_on(async {
        let session = Session::new(session_config(&provider, port, &dir), Handle::current());
        let browser = log_in(&session, Browser::start(&tools), &provider).await;
        drop(browser);

        let first = stored(&dir);
        #[cfg(unix)]
        assert_eq!(mode(&session.store_path().unwrap()), 0o600);
        let r1 = first.refresh_token.clone().expect("a refresh token");
        let a1 = first.access_token.clone();
        assert_eq!(me_status(&provider, a1.secret()).await, 200);
        assert!(first.scope.contains("user-read-playback-state"), "{}", first.scope);

        // The API said 401: one refresh; the provider rotates the refresh token.
        let a2 = session.token_after_unauthorized(a1.secret()).await.expect("refresh");
        assert_ne!(a2, a1);
        let second = stored(&dir);
        let r2 = second.refresh_token.clone().unwrap();
        assert_ne!(r2, r1, "the rotated refresh token is saved");
        assert_eq!(second.access_token, a2);
        assert_eq!(me_status(&provider, a2.secret()).await, 200);
        // The rotated token is the one used next: the provider accepts it and rotates again.
        let a3 = session.token_after_unauthorized(a2.secret()).await.expect("second refresh");
        let r3 = stored(&dir).refresh_token.unwrap();
        assert_ne!(r3, r2);
        assert_eq!(me_status(&provider, a3.secret()).await, 200);

        // A copy of the first login (as if restored from a backup) holds the used R1.
        let stale_dir = temp_dir("stale");
        TokenStore::new(Some(&stale_dir), CLIENT)
            .unwrap()
            .save(&TokenRecord { expires_at: 0, ..first.clone() })
            .unwrap();
        let stale = Session::new(session_config(&provider, free_port(), &stale_dir), Handle::current());
        let err = stale.valid_token().await.unwrap_err();
        assert!(matches!(err, AuthError::InvalidGrant { .. }), "{err:?}\n{}", provider.log());
        let view = stale.view();
        assert!(matches!(&view.state, AuthState::LoginRequired { reason } if reason.contains("pulse Login")));
        let rows = auth_state(&view).auth.unwrap();
        assert_eq!(rows.state, "login required");
        assert!(rows.error.contains("pulse Login"));
        assert!(
            !TokenStore::new(Some(&stale_dir), CLIENT).unwrap().path().exists(),
            "the dead login is cleared"
        );

        // Reuse detection revoked the whole grant, so the live session is told to log in too.
        let err = session.token_after_unauthorized(a3.secret()).await.unwrap_err();
        assert!(matches!(err, AuthError::InvalidGrant { .. }), "{err:?}");
        assert!(matches!(session.state(), AuthState::LoginRequired { .. }));
        let _ = fs::remove_dir_all(&stale_dir);
    });
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_wrong_verifier_and_a_forged_state_are_refused() {
    let _serial = serial();
    let Some((tools, port, provider)) = setup("a_wrong_verifier_and_a_forged_state_are_refused") else {
        return;
    };
    let dir = temp_dir("verifier");
    runtime().block_on(async {
        // A real code, caught on its way to the callback by a bare loopback server of our own,
        // then exchanged with another verifier.
        let endpoints = Endpoints::new(&provider.issuer, &provider.issuer).unwrap();
        let mut flows = PendingFlows::default();
        let flow = flows.start(Instant::now());
        let url = oauth::authorize_url(&endpoints, CLIENT, &callback(port), SCOPES, &flow);
        let (tx, rx) = std::sync::mpsc::channel();
        let catcher = LoopbackServer::start(
            port,
            Box::new(move |req: Request, conn: Connection| {
                let _ = tx.send(req.query.clone());
                conn.respond(&Response::html(200, "<title>caught</title>".into()));
            }),
        )
        .unwrap();
        let (browser, seen) = browse(Browser::start(&tools), url.secret().to_owned(), "allow").await;
        assert_eq!(seen.title, "caught", "{seen:?}");
        catcher.stop();
        let query: std::collections::HashMap<String, String> = rx.recv().unwrap().into_iter().collect();
        assert_eq!(query["state"], flow.state.secret());
        let http = oauth::http_client(Duration::from_secs(10));
        let code = AuthCode::new(query["code"].clone());
        let wrong = Pkce::new_random().verifier;
        let err = oauth::exchange_code(&http, &endpoints, CLIENT, &code, &wrong, &callback(port))
            .await
            .unwrap_err();
        assert!(matches!(err, AuthError::InvalidGrant { .. }), "{err:?}\n{}", provider.log());

        // Registered with a port: that port only (as Spotify), and never `localhost`.
        let other = callback(free_port());
        let (status, body) = authorize_status(&provider, &other).await;
        assert_eq!(status, 400, "{other} must be refused: {body}");
        assert!(body.contains("redirect_uri"), "{body}");
        let localhost = format!("http://localhost:{port}/callback");
        assert_eq!(authorize_status(&provider, &localhost).await.0, 400);
        assert_eq!(authorize_status(&provider, &callback(port)).await.0, 303, "{}", provider.log());

        // A forged state at the callback while a login is in progress: refused, and the login
        // still completes.
        let session = Session::new(session_config(&provider, port, &dir), Handle::current());
        let start = session.start_login().unwrap();
        let forged = format!("{}?code=attacker-code&state=forged-state", start.redirect_uri);
        let (browser, seen) = browse(browser, forged, "visit").await;
        assert_eq!(seen.status, 400, "{seen:?}");
        assert_eq!(seen.title, "td-spotify — Login link not valid");
        assert!(matches!(session.state(), AuthState::WaitingForBrowser { .. }));
        let (_browser, seen) = browse(browser, start.authorize_url.secret().to_owned(), "allow").await;
        assert!(seen.ok && seen.title == "td-spotify — Logged in", "{seen:?}");
        assert_eq!(wait_for_login(&session).await.last_login, Some(LoginOutcome::Succeeded));
        assert!(!provider.log().contains("attacker-code"));
    });
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn denying_consent_shows_the_denial_page_and_keeps_the_previous_session() {
    let _serial = serial();
    let Some((tools, port, provider)) = setup("denying_consent") else { return };
    let dir = temp_dir("deny");
    runtime().block_on(async {
        let session = Session::new(session_config(&provider, port, &dir), Handle::current());
        let browser = log_in(&session, Browser::start(&tools), &provider).await;
        let path = session.store_path().unwrap();
        let before = fs::read(&path).unwrap();
        let token = stored(&dir).access_token;

        let start = session.start_login().unwrap();
        let (_browser, seen) = browse(browser, start.authorize_url.secret().to_owned(), "deny").await;
        assert!(seen.ok, "{seen:?}");
        assert_eq!(seen.title, "td-spotify — Login cancelled", "{seen:?}");
        assert!(seen.text.contains("Nothing was changed"), "{seen:?}");
        let view = wait_for_login(&session).await;
        assert_eq!(view.last_login, Some(LoginOutcome::Failed));
        assert_eq!(view.state, AuthState::LoggedIn { user: Some("Test Artist".into()) });
        assert!(view.problem.unwrap().contains("Login cancelled"));
        assert_eq!(fs::read(&path).unwrap(), before, "the saved login is untouched");
        assert_eq!(session.valid_token().await.unwrap(), token);
        assert_eq!(me_status(&provider, token.secret()).await, 200);
    });
    let _ = fs::remove_dir_all(&dir);
}

/// The TouchDesigner path: an operator's parameters and pulses, its rows and channels.
#[test]
fn the_operator_logs_in_and_out_through_its_rows() {
    use td_spotify::operator::Operator;
    use td_spotify::schema::{family, Channel, Param, Row};

    // Sets the environment overrides the operator reads, and counts this process's threads.
    if !support::isolation::own_process() {
        return;
    }
    let _serial = serial();
    let Some((tools, provider)) = setup_auto("the_operator_logs_in_and_out") else { return };
    let dir = temp_dir("operator");
    // The plugin would open the system browser; here the test's browser does it instead.
    // The operator reads the same environment overrides as the CLI.
    std::env::set_var("TD_SPOTIFY_NO_BROWSER", "1");
    std::env::set_var("TD_SPOTIFY_ACCOUNTS_URL", &provider.issuer);
    std::env::set_var("TD_SPOTIFY_API_URL", &provider.issuer);
    let mut op = Operator::new(family::CHOP | family::DAT);
    op.set_string(Param::Source as usize, "Spotify");
    op.set_string(Param::Clientid as usize, CLIENT);
    // Port stays at its default, Auto.
    op.set_string(Param::Tokencache as usize, dir.to_str().unwrap());
    let cook_until = |op: &mut Operator, what: &dyn Fn(&Operator) -> bool| {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            op.cook(Instant::now());
            if what(op) {
                return;
            }
            assert!(Instant::now() < deadline, "rows: {:?}", op.snapshot().rows);
            std::thread::sleep(Duration::from_millis(16));
        }
    };
    cook_until(&mut op, &|op| op.snapshot().row(Row::AuthState) == "logged out");
    assert_eq!(op.channels()[Channel::Connected as usize], 0.0);
    assert!(op.pulse("Login"));
    cook_until(&mut op, &|op| op.snapshot().row(Row::AuthState) == "waiting for browser");
    let link = op.snapshot().row(Row::AuthUrl).to_owned();
    let port = url::Url::parse(&link).unwrap().port().expect("an explicit port");
    assert!(port != 0 && link == format!("http://127.0.0.1:{port}/login"), "{link}");
    let mut browser = Browser::start(&tools);
    let seen = browser.run(&link, "allow");
    assert!(seen.ok && seen.title == "td-spotify — Logged in", "{seen:?}\n{}", provider.log());
    cook_until(&mut op, &|op| op.snapshot().row(Row::AuthState) == "logged in");
    assert_eq!(op.snapshot().row(Row::User), "Test Artist");
    assert_eq!(op.snapshot().row(Row::Error), "");
    assert_eq!(op.channels()[Channel::Connected as usize], 1.0);
    assert!(TokenStore::new(Some(&dir), CLIENT).unwrap().path().exists());

    assert!(op.pulse("Logout"));
    cook_until(&mut op, &|op| op.snapshot().row(Row::AuthState) == "logged out");
    assert_eq!(op.channels()[Channel::Connected as usize], 0.0);
    assert!(!TokenStore::new(Some(&dir), CLIENT).unwrap().path().exists());
    drop(op);
    // The last operator took the engine, the session and the login server with it.
    #[cfg(target_os = "linux")]
    {
        let names: Vec<String> = fs::read_dir("/proc/self/task")
            .unwrap()
            .filter_map(|t| fs::read_to_string(t.ok()?.path().join("comm")).ok())
            .map(|n| n.trim().to_owned())
            .collect();
        assert!(!names.iter().any(|n| n.starts_with("td-spotify-")), "threads left: {names:?}");
    }
    for var in ["TD_SPOTIFY_NO_BROWSER", "TD_SPOTIFY_ACCOUNTS_URL", "TD_SPOTIFY_API_URL"] {
        std::env::remove_var(var);
    }
    let _ = fs::remove_dir_all(&dir);
}

/// Port Auto: two TouchDesigner instances (two sessions with their own token folders) log in at
/// the same time, each on a free port, against an app that registered the port-less URI once.
#[test]
fn two_instances_log_in_at_once_with_port_auto() {
    let _serial = serial();
    let Some((tools, provider)) = setup_auto("two_instances_log_in_at_once") else { return };
    let (dir_a, dir_b) = (temp_dir("auto-a"), temp_dir("auto-b"));
    runtime().block_on(async {
        let a = Session::new(session_config(&provider, 0, &dir_a), Handle::current());
        let b = Session::new(session_config(&provider, 0, &dir_b), Handle::current());
        let start_a = a.start_login().unwrap();
        let start_b = b.start_login().unwrap();
        assert_ne!(start_a.redirect_uri, start_b.redirect_uri, "each on its own port");
        assert_eq!(start_a.register_uri, PORTLESS);
        // Both wait for their browsers at once; B's finishes first.
        let (browser, seen) =
            browse(Browser::start(&tools), start_b.authorize_url.secret().to_owned(), "allow").await;
        assert!(seen.ok && seen.title == "td-spotify — Logged in", "{seen:?}\n{}", provider.log());
        drop(browser);
        let (_browser, seen) =
            browse(Browser::start(&tools), start_a.authorize_url.secret().to_owned(), "allow").await;
        assert!(seen.ok && seen.title == "td-spotify — Logged in", "{seen:?}\n{}", provider.log());
        for session in [&a, &b] {
            assert_eq!(wait_for_login(session).await.last_login, Some(LoginOutcome::Succeeded));
        }
        assert_ne!(stored(&dir_a).refresh_token, stored(&dir_b).refresh_token);
        // The rule is Spotify's, not "anything on loopback": another path, `localhost` or
        // https is refused.
        for wrong in [
            "http://127.0.0.1:4567/other",
            "http://localhost:4567/callback",
            "https://127.0.0.1:4567/callback",
        ] {
            assert_eq!(authorize_status(&provider, wrong).await.0, 400, "{wrong}");
        }
        assert_eq!(authorize_status(&provider, "http://127.0.0.1:4567/callback").await.0, 303);
    });
    let _ = fs::remove_dir_all(&dir_a);
    let _ = fs::remove_dir_all(&dir_b);
}

/// A fixed Port that is busy says what to register instead.
#[test]
fn a_busy_fixed_port_says_to_use_auto() {
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port();
    let rt = runtime();
    let dir = temp_dir("busy");
    let config = SessionConfig {
        client_id: CLIENT.into(),
        port,
        cache_dir: Some(dir.clone()),
        accounts_url: "http://127.0.0.1:9".into(),
        api_url: "http://127.0.0.1:9".into(),
        open_browser: false,
        request_timeout: Duration::from_secs(1),
    };
    let session = Session::new(config, rt.handle().clone());
    let err = session.start_login().unwrap_err();
    let message = err.user_message();
    assert!(message.contains(&port.to_string()) && message.contains(PORTLESS), "{message}");
    assert!(session.view().needs_fix);
}

fn cli(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_td-spotify"));
    cmd.args(args).env_remove("TD_SPOTIFY_CLIENT_ID").env_remove("TD_SPOTIFY_CACHE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

#[test]
fn the_cli_logs_in_shows_status_and_logs_out() {
    let _serial = serial();
    let Some((tools, provider)) = setup_auto("the_cli_logs_in") else { return };
    let dir = temp_dir("cli");
    let dir_s = dir.to_str().unwrap();
    // No --port: Auto, against an app that registered the port-less URI.
    let mut login = cli(
        &["login", "--no-browser", "--client-id", CLIENT, "--cache", dir_s],
        &[("TD_SPOTIFY_ACCOUNTS_URL", &provider.issuer), ("TD_SPOTIFY_API_URL", &provider.issuer)],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let mut stdout = std::io::BufReader::new(login.stdout.take().unwrap());
    let mut login = Reap(Some(login));
    let mut url = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut url).unwrap();
    let url = url.trim_end();
    assert!(url.starts_with(&format!("{}/authorize?", provider.issuer)), "{url}");
    let mut browser = Browser::start(&tools);
    let seen = browser.run(url, "allow");
    assert!(seen.ok && seen.title == "td-spotify — Logged in", "{seen:?}\n{}", provider.log());
    let out = login.0.take().unwrap().wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("Logged in to Spotify as Test Artist"), "{stderr}");
    assert!(stderr.contains(&format!("register this in your Spotify app): {PORTLESS}")), "{stderr}");
    let path = TokenStore::new(Some(&dir), CLIENT).unwrap().path().to_path_buf();
    #[cfg(unix)]
    assert_eq!(mode(&path), 0o600);

    let env = [
        ("TD_SPOTIFY_CLIENT_ID", CLIENT),
        ("TD_SPOTIFY_CACHE", dir_s),
        ("TD_SPOTIFY_ACCOUNTS_URL", provider.issuer.as_str()),
        ("TD_SPOTIFY_API_URL", provider.issuer.as_str()),
    ];
    let status = cli(&["status"], &env).output().unwrap();
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(status.status.success() && text.starts_with("logged in as Test Artist"), "{text}");
    let logout = cli(&["logout"], &env).output().unwrap();
    assert!(logout.status.success(), "{}", String::from_utf8_lossy(&logout.stderr));
    assert!(!path.exists());
    let status = cli(&["status"], &env).output().unwrap();
    assert!(!status.status.success());
    assert!(String::from_utf8_lossy(&status.stdout).starts_with("logged out"));
    let _ = fs::remove_dir_all(&dir);
}

/// Kills a child that a failed test left waiting.
struct Reap(Option<std::process::Child>);

impl Drop for Reap {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
